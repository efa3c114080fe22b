//! The in-memory state machine of queues and messages, and the `--in-memory` store built on it.
//!
//! [`State`] applies one operation at a time and reports each change as a [`Change`], so a
//! durable backend can journal exactly what happened, in order. [`MemoryStore`] drops the
//! changes. The embedded SQLite store keeps a [`State`] as its index and rebuilds it from disk
//! at start-up with [`State::restore_queue`] and [`State::restore_message`].
//!
//! Per queue, every message sits in exactly one of two sets: `visible` (ordered by sequence
//! number, so receives are oldest-first) or `hidden` (ordered by the instant it becomes
//! visible). A receive first moves every due hidden message to `visible`.
//!
//! # Layout (the lines the model-based test in [`crate::model_check`] draws)
//! - this file: [`Change`], [`State`] with its queues, sequence numbers, content cache and
//!   restore path, and [`MemoryStore`];
//! - `queue`: one queue's messages and their placement (visible, hidden, late for retention);
//! - `fifo`: message groups, the order ready groups are served in, deduplication ids;
//! - `operations`: send, receive with dead-letter moves, delete, change visibility, purge,
//!   counts and retention.

use crate::model::*;
use crate::{QueueStore, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wharf_types::{AccountId, EpochMillis, QueueKey, Region};

mod fifo;
mod operations;
mod queue;

use queue::{QueueState, Slot};

/// One durable change, in the order it happened.
#[derive(Clone, Debug)]
pub enum Change {
    /// A queue was created or its record replaced.
    PutQueue(Box<QueueRecord>),
    /// A queue and its messages were deleted.
    DeleteQueue {
        /// Which queue.
        id: QueueId,
        /// Its key, remembered for the name-reuse delay.
        key: QueueKey,
        /// When.
        deleted_ms: EpochMillis,
    },
    /// A message was appended.
    InsertMessage {
        /// Its queue.
        queue: QueueId,
        /// Its sequence number.
        seq: MessageSeq,
        /// Its content.
        data: Arc<MessageData>,
        /// When it becomes visible.
        visible_at_ms: EpochMillis,
    },
    /// A message's delivery state changed (receive or visibility change).
    UpdateMessage {
        /// Which message.
        seq: MessageSeq,
        /// When it becomes visible.
        visible_at_ms: EpochMillis,
        /// Receives so far.
        receive_count: u32,
        /// The first receive's instant, 0 before any.
        first_receive_ms: EpochMillis,
        /// The current receipt's token.
        token: u64,
    },
    /// A message was deleted or expired.
    DeleteMessage {
        /// Which message.
        seq: MessageSeq,
    },
    /// A message moved to a dead-letter queue under a new sequence number, its receive count
    /// and first receive kept, visible there at once.
    MoveMessage {
        /// Its sequence number in the source queue.
        seq: MessageSeq,
        /// The dead-letter queue.
        to_queue: QueueId,
        /// Its sequence number in the dead-letter queue.
        new_seq: MessageSeq,
        /// Its enqueue instant from now on (kept for standard queues, reset for FIFO).
        sent_ms: EpochMillis,
        /// When it becomes visible in the dead-letter queue.
        visible_at_ms: EpochMillis,
        /// The source queue's ARN, reported as `DeadLetterQueueSourceArn`.
        source_arn: Box<str>,
    },
    /// A FIFO deduplication id was recorded.
    Dedup {
        /// Its queue.
        queue: QueueId,
        /// The scoped id (`group` + newline + id under message-group scope).
        key: String,
        /// What it resolves to until it expires.
        entry: DedupEntry,
    },
    /// Deduplication ids that expired by `now` were forgotten.
    ExpireDedup {
        /// The sweep's instant.
        now: EpochMillis,
    },
    /// Every queue, message, deduplication id and name-reuse record was deleted (a reset);
    /// identifiers keep counting up, so nothing minted before it can name anything after.
    Clear,
    /// Every message of a queue up to `max_seq` was deleted.
    Purge {
        /// Which queue.
        queue: QueueId,
        /// The largest sequence number at the purge.
        max_seq: MessageSeq,
    },
}

/// A message claimed by a receive; `data` is `None` when it was evicted from memory and the
/// store must read it back.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// The message's content, if resident.
    pub data: Option<Arc<MessageData>>,
    /// This receive's receipt.
    pub receipt: Receipt,
    /// Receives so far, this one included.
    pub receive_count: u32,
    /// The first receive's instant.
    pub first_receive_ms: EpochMillis,
}

/// What [`State::receive`] claimed.
#[derive(Clone, Debug, Default)]
pub struct Claims {
    /// Oldest first.
    pub claimed: Vec<Claimed>,
    /// When the next hidden message becomes visible.
    pub next_visible_at: Option<EpochMillis>,
    /// The dead-letter queue that received messages, if any.
    pub dead_lettered_to: Option<QueueId>,
}

impl Claims {
    /// The receive's outcome, with the content of evicted claims taken from `loaded`; `Err`
    /// names a claim whose content is neither resident nor loaded.
    pub fn into_outcome(self, mut loaded: Vec<(MessageSeq, Arc<MessageData>)>) -> Result<ReceiveOutcome, MessageSeq> {
        let mut messages = Vec::with_capacity(self.claimed.len());
        for claimed in self.claimed {
            let data = match claimed.data {
                Some(data) => data,
                None => match loaded.iter().position(|(seq, _)| *seq == claimed.receipt.seq) {
                    Some(idx) => loaded.swap_remove(idx).1,
                    None => return Err(claimed.receipt.seq),
                },
            };
            messages.push(Delivery {
                data,
                receipt: claimed.receipt,
                receive_count: claimed.receive_count,
                first_receive_ms: claimed.first_receive_ms,
            });
        }
        Ok(ReceiveOutcome { messages, next_visible_at: self.next_visible_at, dead_lettered_to: self.dead_lettered_to })
    }
}

/// Roughly what a resident message costs besides its body and attributes: the shared content
/// record and its allocation.
const RESIDENT_OVERHEAD: usize = 128;

fn resident_size(data: &MessageData) -> usize {
    // Each entry also costs its three allocations.
    let attributes =
        |set: &Option<Box<Attributes>>| set.as_ref().map_or(0, |set| set.payload_size() + 64 * set.entries.len());
    RESIDENT_OVERHEAD + data.body.len() + attributes(&data.attributes) + attributes(&data.system_attributes)
}

/// Every queue and message, with no IO.
#[derive(Debug)]
pub struct State {
    next_queue_id: u64,
    next_seq: MessageSeq,
    by_key: HashMap<QueueKey, QueueId>,
    queues: HashMap<QueueId, QueueState>,
    /// Deleted queue keys and when, for the name-reuse delay.
    deleted: HashMap<QueueKey, EpochMillis>,
    /// Most bytes of message content to keep in memory (only a store that can read content
    /// back sets a finite budget). Receives take the oldest messages first, so the oldest
    /// content stays: a message sent while the budget is full keeps its content only on disk,
    /// and read-ahead brings content back as receives and deletes make room.
    cache_budget: usize,
    /// Bytes of message content in memory now.
    resident_bytes: usize,
}

impl Default for State {
    fn default() -> Self {
        State::with_cache_budget(usize::MAX)
    }
}

impl State {
    /// An empty state that keeps all content in memory.
    pub fn new() -> Self {
        State::default()
    }

    /// An empty state that keeps at most `cache_budget` bytes of content in memory.
    pub fn with_cache_budget(cache_budget: usize) -> Self {
        State {
            next_queue_id: 0,
            // SQS sequence numbers are never zero.
            next_seq: 1,
            by_key: HashMap::new(),
            queues: HashMap::new(),
            deleted: HashMap::new(),
            cache_budget,
            resident_bytes: 0,
        }
    }

    /// Forgets every queue and message (a reset), keeping the identifier counters.
    pub fn clear(&mut self, changes: &mut Vec<Change>) {
        self.by_key.clear();
        self.queues.clear();
        self.deleted.clear();
        self.resident_bytes = 0;
        changes.push(Change::Clear);
    }

    /// Bytes of message content in memory.
    pub fn resident_bytes(&self) -> usize {
        self.resident_bytes
    }

    /// Accounts for slots that left the state.
    fn release(&mut self, freed: impl IntoIterator<Item = Slot>) {
        for slot in freed {
            if let Some(data) = &slot.data {
                self.resident_bytes = self.resident_bytes.saturating_sub(resident_size(data));
            }
        }
    }

    /// Messages of `queue` worth reading back from disk, oldest first, at most `max`; empty
    /// unless the cache has a quarter of its budget free. Marks a read-ahead as under way until
    /// [`State::attach`] or [`State::readahead_failed`].
    pub fn readahead_candidates(&mut self, queue: QueueId, max: usize) -> Vec<MessageSeq> {
        let room = self.cache_budget > 0 && self.resident_bytes <= self.cache_budget / 4 * 3;
        let Some(queue_state) = self.queues.get_mut(&queue) else {
            return Vec::new();
        };
        if !room || queue_state.readahead_pending {
            return Vec::new();
        }
        let mut candidates = Vec::new();
        let mut next_cursor = queue_state.readahead_cursor;
        // Bounded, so one call never walks a long resident stretch in one go.
        for (&seq, slot) in queue_state.messages.range(queue_state.readahead_cursor..).take(max * 8) {
            next_cursor = seq + 1;
            if slot.data.is_none() {
                candidates.push(seq);
                if candidates.len() == max {
                    break;
                }
            }
        }
        queue_state.readahead_cursor = next_cursor;
        queue_state.readahead_pending = !candidates.is_empty();
        candidates
    }

    /// Puts content read back from disk into memory, as far as the budget allows.
    pub fn attach(&mut self, queue: QueueId, loaded: Vec<(MessageSeq, Arc<MessageData>)>) {
        let Some(queue_state) = self.queues.get_mut(&queue) else {
            return;
        };
        queue_state.readahead_pending = false;
        for (seq, data) in loaded {
            let size = resident_size(&data);
            let fits = self.cache_budget == usize::MAX || self.resident_bytes.saturating_add(size) <= self.cache_budget;
            if !fits {
                break;
            }
            if let Some(slot) = queue_state.messages.get_mut(&seq) {
                if slot.data.is_none() {
                    slot.data = Some(data);
                    self.resident_bytes += size;
                }
            }
        }
    }

    /// Ends a read-ahead that could not read.
    pub fn readahead_failed(&mut self, queue: QueueId) {
        if let Some(queue_state) = self.queues.get_mut(&queue) {
            queue_state.readahead_pending = false;
        }
    }

    /// Reloads a stored queue.
    pub fn restore_queue(&mut self, record: QueueRecord) {
        self.next_queue_id = self.next_queue_id.max(record.id.0 + 1);
        self.by_key.insert(record.key.clone(), record.id);
        self.queues.insert(record.id, QueueState::new(record));
    }

    /// Reloads a remembered FIFO deduplication id.
    pub fn restore_dedup(&mut self, queue: QueueId, key: String, entry: DedupEntry) {
        if let Some(fifo) = self.queues.get_mut(&queue).and_then(|queue_state| queue_state.fifo.as_mut()) {
            fifo.dedup.insert(key, entry);
        }
    }

    /// Reloads a deleted queue's tombstone.
    pub fn restore_tombstone(&mut self, key: QueueKey, deleted_ms: EpochMillis) {
        self.deleted.insert(key, deleted_ms);
    }

    /// Reloads a stored message; `now` decides whether it is visible.
    #[allow(clippy::too_many_arguments)] // one argument per stored column
    pub fn restore_message(
        &mut self,
        queue: QueueId,
        seq: MessageSeq,
        data: Option<Arc<MessageData>>,
        group_id: Option<&str>,
        sent_ms: EpochMillis,
        visible_at_ms: EpochMillis,
        receive_count: u32,
        first_receive_ms: EpochMillis,
        token: u64,
        now: EpochMillis,
    ) {
        self.next_seq = self.next_seq.max(seq + 1);
        let Some(queue_state) = self.queues.get_mut(&queue) else {
            return;
        };
        let size = data.as_deref().map_or(0, resident_size);
        let fits = self.cache_budget == usize::MAX || self.resident_bytes.saturating_add(size) <= self.cache_budget;
        let data = data.filter(|_| fits);
        if data.is_some() {
            self.resident_bytes += size;
        }
        let group = match (&mut queue_state.fifo, group_id) {
            (Some(fifo), Some(name)) => fifo.intern(name),
            _ => 0,
        };
        let slot = Slot { data, sent_ms, visible_at_ms, receive_count, group, first_receive_ms, token };
        queue_state.insert(seq, slot, now);
    }

    /// Whether restoring one more message's content may fit the cache budget.
    pub fn has_room(&self) -> bool {
        self.resident_bytes < self.cache_budget
    }

    /// Makes sure sequence numbers continue after `seq` (the journal's largest ever).
    pub fn reserve_seq(&mut self, seq: MessageSeq) {
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// The sequence number the next message will get.
    pub fn next_seq(&self) -> MessageSeq {
        self.next_seq
    }

    /// Makes sure queue ids continue after `id` (the journal's largest ever).
    pub fn reserve_queue_id(&mut self, id: u64) {
        self.next_queue_id = self.next_queue_id.max(id + 1);
    }

    fn queue_mut(&mut self, id: QueueId) -> Result<&mut QueueState, StoreError> {
        self.queues.get_mut(&id).ok_or(StoreError::QueueGone(id))
    }

    /// See [`QueueStore::create_queue`].
    pub fn create_queue(
        &mut self,
        new_queue: NewQueue,
        reuse_after_ms: u64,
        changes: &mut Vec<Change>,
    ) -> CreateOutcome {
        if let Some(id) = self.by_key.get(&new_queue.key) {
            return CreateOutcome::Exists(self.queues[id].record.clone());
        }
        if let Some(&deleted_ms) = self.deleted.get(&new_queue.key) {
            if deleted_ms.saturating_add(reuse_after_ms) > new_queue.now {
                return CreateOutcome::DeletedRecently;
            }
        }
        self.deleted.remove(&new_queue.key);
        let id = QueueId(self.next_queue_id);
        self.next_queue_id += 1;
        let record = QueueRecord {
            id,
            key: new_queue.key.clone(),
            settings: new_queue.settings,
            tags: new_queue.tags,
            created_ms: new_queue.now,
            modified_ms: new_queue.now,
            last_purge_ms: None,
            version: 1,
        };
        self.by_key.insert(new_queue.key, id);
        self.queues.insert(id, QueueState::new(record.clone()));
        changes.push(Change::PutQueue(Box::new(record.clone())));
        CreateOutcome::Created(record)
    }

    /// See [`QueueStore::queue`].
    pub fn queue(&self, key: &QueueKey) -> Option<QueueRecord> {
        let id = self.by_key.get(key)?;
        Some(self.queues[id].record.clone())
    }

    /// See [`QueueStore::list_queues`].
    pub fn list_queues(&self, account: &AccountId, region: &Region, prefix: &str) -> Vec<QueueRecord> {
        let mut records: Vec<QueueRecord> = self
            .by_key
            .iter()
            .filter(|(key, _)| {
                &key.account == account && &key.region == region && key.name.as_str().starts_with(prefix)
            })
            .map(|(_, id)| self.queues[id].record.clone())
            .collect();
        records.sort_by(|left, right| left.key.name.cmp(&right.key.name));
        records
    }

    /// See [`QueueStore::all_queues`].
    pub fn all_queues(&self) -> Vec<QueueRecord> {
        self.queues.values().map(|queue_state| queue_state.record.clone()).collect()
    }

    /// See [`QueueStore::update_queue`].
    pub fn update_queue(
        &mut self,
        mut record: QueueRecord,
        changes: &mut Vec<Change>,
    ) -> Result<QueueRecord, StoreError> {
        let queue_state = self.queue_mut(record.id)?;
        if queue_state.record.version != record.version {
            return Err(StoreError::Conflict);
        }
        record.version += 1;
        queue_state.record = record.clone();
        changes.push(Change::PutQueue(Box::new(record.clone())));
        Ok(record)
    }

    /// See [`QueueStore::delete_queue`].
    pub fn delete_queue(&mut self, key: &QueueKey, now: EpochMillis, changes: &mut Vec<Change>) -> bool {
        let Some(id) = self.by_key.remove(key) else {
            return false;
        };
        if let Some(queue_state) = self.queues.remove(&id) {
            self.release(queue_state.messages.into_values());
        }
        self.deleted.insert(key.clone(), now);
        changes.push(Change::DeleteQueue { id, key: key.clone(), deleted_ms: now });
        true
    }
}

/// The `--in-memory` store: a [`State`] behind a mutex, keeping nothing on disk.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// One lock for all queues: operations are short and never await while holding it.
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn with<T>(&self, apply: impl FnOnce(&mut State, &mut Vec<Change>) -> T) -> T {
        let mut changes = Vec::new();
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        apply(&mut state, &mut changes)
    }
}

#[async_trait]
impl QueueStore for MemoryStore {
    async fn create_queue(&self, new_queue: NewQueue, reuse_after_ms: u64) -> Result<CreateOutcome, StoreError> {
        Ok(self.with(|state, changes| state.create_queue(new_queue, reuse_after_ms, changes)))
    }

    async fn queue(&self, key: &QueueKey) -> Result<Option<QueueRecord>, StoreError> {
        Ok(self.with(|state, _| state.queue(key)))
    }

    async fn list_queues(
        &self,
        account: &AccountId,
        region: &Region,
        prefix: &str,
    ) -> Result<Vec<QueueRecord>, StoreError> {
        Ok(self.with(|state, _| state.list_queues(account, region, prefix)))
    }

    async fn all_queues(&self) -> Result<Vec<QueueRecord>, StoreError> {
        Ok(self.with(|state, _| state.all_queues()))
    }

    async fn update_queue(&self, record: QueueRecord) -> Result<QueueRecord, StoreError> {
        self.with(|state, changes| state.update_queue(record, changes))
    }

    async fn delete_queue(&self, key: &QueueKey, now: EpochMillis) -> Result<bool, StoreError> {
        Ok(self.with(|state, changes| state.delete_queue(key, now, changes)))
    }

    async fn send(
        &self,
        queue: QueueId,
        messages: Vec<NewMessage>,
        now: EpochMillis,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        self.with(|state, changes| state.send(queue, messages, now, changes))
    }

    async fn receive(&self, queue: QueueId, request: ReceiveRequest) -> Result<ReceiveOutcome, StoreError> {
        let claims =
            self.with(|state, changes| state.receive(queue, request, &mut || rand::random::<u64>() | 1, changes))?;
        // This store never evicts content, so every claim has its data.
        claims.into_outcome(Vec::new()).map_err(|seq| StoreError::Unavailable(format!("message {seq} has no content")))
    }

    async fn delete(
        &self,
        queue: QueueId,
        receipts: Vec<Receipt>,
        now: EpochMillis,
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        self.with(|state, changes| state.delete(queue, &receipts, now, changes))
    }

    async fn change_visibility(
        &self,
        queue: QueueId,
        items: Vec<(Receipt, u64)>,
        now: EpochMillis,
    ) -> Result<Vec<ChangeOutcome>, StoreError> {
        self.with(|state, changes| state.change_visibility(queue, &items, now, changes))
    }

    async fn purge(&self, queue: QueueId, now: EpochMillis) -> Result<(), StoreError> {
        self.with(|state, changes| state.purge(queue, now, changes))
    }

    async fn stats(&self, queue: QueueId, now: EpochMillis) -> Result<QueueStats, StoreError> {
        self.with(|state, _| state.stats(queue, now))
    }

    async fn expire(&self, now: EpochMillis) -> Result<u64, StoreError> {
        Ok(self.with(|state, changes| state.expire(now, changes)))
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.with(|state, changes| state.clear(changes));
        Ok(())
    }
}
