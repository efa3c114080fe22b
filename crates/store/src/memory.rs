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

use crate::model::*;
use crate::{QueueStore, StoreError};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use wharf_types::{AccountId, EpochMillis, QueueKey, Region};

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
    /// Every message of a queue up to `max_seq` was deleted.
    Purge {
        /// Which queue.
        queue: QueueId,
        /// The largest sequence number at the purge.
        max_seq: MessageSeq,
    },
}

/// A stored message's mutable delivery state.
#[derive(Clone, Debug)]
struct Slot {
    /// The content, or `None` once evicted from memory (a durable store reads it back).
    data: Option<Arc<MessageData>>,
    /// Kept here too, for retention, when the content is evicted.
    sent_ms: EpochMillis,
    visible_at_ms: EpochMillis,
    receive_count: u32,
    /// The FIFO message group (an id of [`FifoState`]), 0 for none.
    group: u32,
    first_receive_ms: EpochMillis,
    token: u64,
}

/// One FIFO message group.
#[derive(Debug, Default)]
struct Group {
    /// Its messages, oldest first.
    members: BTreeSet<MessageSeq>,
    /// The key under which the group sits in [`FifoState::ready`], if it does.
    ready_at: Option<ReadyKey>,
}

/// A ready group's place: when its head became visible, whether the head was received before
/// (so an untouched group wins a tie), the head, the group.
type ReadyKey = (EpochMillis, bool, MessageSeq, u32);

/// The bookkeeping of a FIFO queue: groups and deduplication.
#[derive(Debug, Default)]
struct FifoState {
    /// Group names by id; ids start at 1 and are not reused while the process lives.
    names: HashMap<u32, Arc<str>>,
    /// Group ids by name.
    ids: HashMap<Arc<str>, u32>,
    next_group: u32,
    groups: HashMap<u32, Group>,
    /// Groups that can deliver now (their oldest message is visible), in the order their head
    /// became visible: a receive takes the group that has waited longest first, so a group
    /// whose messages became visible again (visibility 0, or changed to 0) goes behind groups
    /// never received, as on SQS.
    ready: BTreeSet<ReadyKey>,
    /// Deduplication ids seen within the window.
    dedup: HashMap<String, DedupEntry>,
}

impl FifoState {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        self.next_group += 1;
        let id = self.next_group;
        let name: Arc<str> = Arc::from(name);
        self.names.insert(id, Arc::clone(&name));
        self.ids.insert(name, id);
        id
    }

    /// Recomputes whether group `id` is ready, and forgets it when it is empty.
    ///
    /// Blocking is by order: the group delivers while its oldest message is visible, and a
    /// receive takes its visible messages in order up to the first one that is not (in flight
    /// or delayed). Messages before an in-flight one that are visible again are delivered.
    fn refresh(&mut self, id: u32, visible: &BTreeSet<MessageSeq>, messages: &BTreeMap<MessageSeq, Slot>) {
        let Some(group) = self.groups.get_mut(&id) else {
            return;
        };
        if let Some(key) = group.ready_at.take() {
            self.ready.remove(&key);
        }
        match group.members.first() {
            Some(&head) if visible.contains(&head) => {
                let (since, received) =
                    messages.get(&head).map_or((0, false), |slot| (slot.visible_at_ms, slot.receive_count > 0));
                let key = (since, received, head, id);
                self.ready.insert(key);
                group.ready_at = Some(key);
            }
            Some(_) => {}
            None => {
                self.groups.remove(&id);
                if let Some(name) = self.names.remove(&id) {
                    self.ids.remove(&name);
                }
            }
        }
    }
}

#[derive(Debug)]
struct QueueState {
    record: QueueRecord,
    /// All messages by sequence number: the oldest first, for retention sweeps.
    messages: BTreeMap<MessageSeq, Slot>,
    /// Messages available now, oldest first.
    visible: BTreeSet<MessageSeq>,
    /// Messages hidden until an instant: delayed or in flight.
    hidden: BTreeSet<(EpochMillis, MessageSeq)>,
    /// Of `hidden`, those never received (delayed).
    n_hidden_unreceived: u64,
    /// Where the next read-ahead starts looking for content that is only on disk. Resident
    /// content is the oldest, so the cursor only moves forward; a message whose content was
    /// read for a receive but not kept is read again if it is received again.
    readahead_cursor: MessageSeq,
    /// A read-ahead for this queue is under way.
    readahead_pending: bool,
    /// Groups and deduplication, for FIFO queues.
    fifo: Option<Box<FifoState>>,
    /// The latest enqueue time of a message that was in order when it came.
    max_sent_ms: EpochMillis,
    /// Messages that came out of enqueue order (moved from a standard queue to this dead-letter
    /// queue, keeping their older enqueue time), by enqueue time: retention reaches them
    /// behind younger messages, so the sweep looks here as well as at the front.
    late: BTreeSet<(EpochMillis, MessageSeq)>,
}

impl QueueState {
    fn new(record: QueueRecord) -> Self {
        let fifo = record.settings.fifo_queue.then(Box::default);
        QueueState {
            fifo,
            record,
            messages: BTreeMap::new(),
            visible: BTreeSet::new(),
            hidden: BTreeSet::new(),
            n_hidden_unreceived: 0,
            readahead_cursor: 0,
            readahead_pending: false,
            max_sent_ms: 0,
            late: BTreeSet::new(),
        }
    }

    fn retention_ms(&self) -> u64 {
        u64::from(self.record.settings.message_retention_period) * 1000
    }

    /// Moves every hidden message due at `now` to `visible`.
    fn promote(&mut self, now: EpochMillis) {
        while let Some(&(visible_at, seq)) = self.hidden.first() {
            if visible_at > now {
                break;
            }
            self.hidden.pop_first();
            if let Some(slot) = self.messages.get(&seq) {
                if slot.receive_count == 0 {
                    self.n_hidden_unreceived -= 1;
                }
                self.visible.insert(seq);
                if let Some(fifo) = &mut self.fifo {
                    fifo.refresh(slot.group, &self.visible, &self.messages);
                }
            }
        }
    }

    /// Adds a new message: its slot, its FIFO group, and its place by visibility at `now`.
    fn insert(&mut self, seq: MessageSeq, slot: Slot, now: EpochMillis) {
        if slot.sent_ms < self.max_sent_ms {
            self.late.insert((slot.sent_ms, seq));
        } else {
            self.max_sent_ms = slot.sent_ms;
        }
        self.messages.insert(seq, slot);
        self.join_group(seq);
        self.place(seq, now);
    }

    /// Adds a message that was just inserted into `messages` to its FIFO group.
    fn join_group(&mut self, seq: MessageSeq) {
        if let (Some(fifo), Some(slot)) = (&mut self.fifo, self.messages.get(&seq)) {
            if slot.group != 0 {
                fifo.groups.entry(slot.group).or_default().members.insert(seq);
            }
        }
    }

    /// Files a message in `visible` or `hidden` by its state at `now`.
    fn place(&mut self, seq: MessageSeq, now: EpochMillis) {
        let Some(slot) = self.messages.get(&seq) else {
            return;
        };
        if slot.visible_at_ms <= now {
            self.visible.insert(seq);
        } else {
            if slot.receive_count == 0 {
                self.n_hidden_unreceived += 1;
            }
            self.hidden.insert((slot.visible_at_ms, seq));
        }
        if let Some(fifo) = &mut self.fifo {
            fifo.refresh(slot.group, &self.visible, &self.messages);
        }
    }

    /// Takes a message out of whichever set holds it.
    fn unplace(&mut self, seq: MessageSeq) {
        let Some(slot) = self.messages.get(&seq) else {
            return;
        };
        let was_hidden = !self.visible.remove(&seq) && self.hidden.remove(&(slot.visible_at_ms, seq));
        if was_hidden && slot.receive_count == 0 {
            self.n_hidden_unreceived -= 1;
        }
        if let Some(fifo) = &mut self.fifo {
            fifo.refresh(slot.group, &self.visible, &self.messages);
        }
    }

    fn remove(&mut self, seq: MessageSeq) -> Option<Slot> {
        self.unplace(seq);
        let slot = self.messages.remove(&seq)?;
        self.late.remove(&(slot.sent_ms, seq));
        if let Some(fifo) = &mut self.fifo {
            if let Some(group) = fifo.groups.get_mut(&slot.group) {
                group.members.remove(&seq);
            }
            fifo.refresh(slot.group, &self.visible, &self.messages);
        }
        Some(slot)
    }

    /// The next message a receive should consider: on standard queues the oldest visible one;
    /// on FIFO queues the next visible member of the group being drained (`cursor`), else the
    /// head of the ready group with the oldest head.
    fn next_candidate(&self, cursor: &mut Option<(u32, MessageSeq)>) -> Option<MessageSeq> {
        let Some(fifo) = &self.fifo else {
            return self.visible.first().copied();
        };
        if let Some((group_id, last)) = *cursor {
            let next = fifo.groups.get(&group_id).and_then(|group| group.members.range(last + 1..).next().copied());
            if let Some(next) = next.filter(|next| self.visible.contains(next)) {
                *cursor = Some((group_id, next));
                return Some(next);
            }
        }
        let &(_, _, head, group_id) = fifo.ready.first()?;
        *cursor = Some((group_id, head));
        Some(head)
    }

    /// Drops messages past retention: at the front of the queue, where messages that came in
    /// order are oldest first (a message behind a younger one that came in order is younger
    /// still, or is `late`), and among the `late` ones.
    fn expire(&mut self, now: EpochMillis, changes: &mut Vec<Change>, freed: &mut Vec<Slot>) -> u64 {
        let retention_ms = self.retention_ms();
        let mut n_expired = 0;
        loop {
            let front = self.messages.first_key_value().map(|(&seq, slot)| (slot.sent_ms, seq));
            let late = self.late.first().copied();
            let Some((sent_ms, seq)) = [front, late].into_iter().flatten().min() else { break };
            if sent_ms.saturating_add(retention_ms) > now {
                break;
            }
            if let Some(slot) = self.remove(seq) {
                freed.push(slot);
            }
            changes.push(Change::DeleteMessage { seq });
            n_expired += 1;
        }
        n_expired
    }
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

    /// See [`QueueStore::send`].
    pub fn send(
        &mut self,
        queue: QueueId,
        messages: Vec<NewMessage>,
        now: EpochMillis,
        changes: &mut Vec<Change>,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        let queue_state = self.queues.get_mut(&queue).ok_or(StoreError::QueueGone(queue))?;
        let group_scope = queue_state.record.settings.deduplication_scope.as_deref() == Some("messageGroup");
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            let seq = self.next_seq;
            let mut group = 0;
            if let (Some(fifo), Some(fields)) = (&mut queue_state.fifo, &message.data.group) {
                if let Some(dedup_id) = &fields.deduplication_id {
                    let key = if group_scope { format!("{}\n{dedup_id}", fields.group_id) } else { dedup_id.clone() };
                    // After a switch from queue to message-group scope, ids seen queue-wide keep
                    // deduplicating across groups until they age out, as recorded on SQS.
                    let seen = fifo.dedup.get(&key).filter(|entry| entry.expires_ms > now).or_else(|| {
                        group_scope.then(|| fifo.dedup.get(dedup_id)).flatten().filter(|entry| entry.expires_ms > now)
                    });
                    match seen {
                        Some(entry) => {
                            outcomes.push(SendOutcome::Duplicate { message_id: entry.message_id, seq: entry.seq });
                            continue;
                        }
                        None => {
                            let entry = DedupEntry {
                                message_id: message.data.message_id,
                                seq,
                                expires_ms: now + DEDUPLICATION_WINDOW_MS,
                            };
                            changes.push(Change::Dedup { queue, key: key.clone(), entry: entry.clone() });
                            fifo.dedup.insert(key, entry);
                        }
                    }
                }
                group = fifo.intern(&fields.group_id);
            }
            self.next_seq += 1;
            changes.push(Change::InsertMessage {
                queue,
                seq,
                data: Arc::clone(&message.data),
                visible_at_ms: message.visible_at_ms,
            });
            let sent_ms = message.data.sent_ms;
            let size = resident_size(&message.data);
            let fits = self.cache_budget == usize::MAX || self.resident_bytes.saturating_add(size) <= self.cache_budget;
            let data = if fits {
                self.resident_bytes += size;
                Some(message.data)
            } else {
                // Journalled above; a receive or a read-ahead reads it back after that commit.
                None
            };
            let slot = Slot {
                data,
                sent_ms,
                visible_at_ms: message.visible_at_ms,
                receive_count: 0,
                group,
                first_receive_ms: 0,
                token: 0,
            };
            queue_state.insert(seq, slot, now);
            outcomes.push(SendOutcome::Enqueued(seq));
        }
        Ok(outcomes)
    }

    /// See [`QueueStore::receive`]. `draw_token` supplies receipt tokens.
    ///
    /// A message already received as many times as the queue's dead-letter policy allows is
    /// moved to the dead-letter queue instead of being delivered (if that queue exists).
    pub fn receive(
        &mut self,
        queue: QueueId,
        request: ReceiveRequest,
        draw_token: &mut dyn FnMut() -> u64,
        changes: &mut Vec<Change>,
    ) -> Result<Claims, StoreError> {
        let dead_letter = {
            let queue_state = self.queues.get(&queue).ok_or(StoreError::QueueGone(queue))?;
            queue_state.record.settings.dead_letter.as_ref().and_then(|policy| {
                let target = QueueKey::from_arn(&policy.target_arn)?;
                let target_id = *self.by_key.get(&target)?;
                (target_id != queue).then(|| (target_id, policy.max_receive_count, queue_state.record.key.arn()))
            })
        };
        let queue_state = self.queues.get_mut(&queue).ok_or(StoreError::QueueGone(queue))?;
        let now = request.now;
        queue_state.promote(now);
        let retention_ms = queue_state.retention_ms();
        let hidden_until = now.saturating_add(request.visibility_ms);
        let resets_enqueue_time = queue_state.record.settings.fifo_queue;
        let mut messages = Vec::with_capacity(request.max.min(10));
        let mut freed = Vec::new();
        let mut moving = Vec::new();
        let mut cursor = None;
        // Claims that are visible again at once (visibility timeout 0) are filed back only after
        // the loop, so one receive never takes a message twice.
        let mut visible_again = Vec::new();
        while messages.len() < request.max {
            let Some(seq) = queue_state.next_candidate(&mut cursor) else {
                break;
            };
            let Some(slot) = queue_state.messages.get(&seq) else {
                queue_state.visible.remove(&seq);
                continue;
            };
            if slot.sent_ms.saturating_add(retention_ms) <= now {
                freed.extend(queue_state.remove(seq));
                changes.push(Change::DeleteMessage { seq });
                continue;
            }
            if let Some((_, max_receive_count, _)) = &dead_letter {
                if slot.receive_count >= *max_receive_count {
                    let group_name = queue_state.fifo.as_ref().and_then(|fifo| fifo.names.get(&slot.group).cloned());
                    if let Some(slot) = queue_state.remove(seq) {
                        moving.push((seq, slot, group_name));
                    }
                    continue;
                }
            }
            queue_state.unplace(seq);
            let Some(slot) = queue_state.messages.get_mut(&seq) else {
                continue;
            };
            slot.receive_count = slot.receive_count.saturating_add(1);
            if slot.first_receive_ms == 0 {
                slot.first_receive_ms = now;
            }
            slot.visible_at_ms = hidden_until;
            slot.token = draw_token();
            changes.push(Change::UpdateMessage {
                seq,
                visible_at_ms: slot.visible_at_ms,
                receive_count: slot.receive_count,
                first_receive_ms: slot.first_receive_ms,
                token: slot.token,
            });
            messages.push(Claimed {
                data: slot.data.clone(),
                receipt: Receipt { seq, token: slot.token },
                receive_count: slot.receive_count,
                first_receive_ms: slot.first_receive_ms,
            });
            if hidden_until > now {
                queue_state.place(seq, now);
            } else {
                visible_again.push(seq);
            }
        }
        for seq in visible_again {
            queue_state.place(seq, now);
        }
        let next_visible_at = queue_state.hidden.first().map(|&(visible_at, _)| visible_at);
        self.release(freed);
        let mut dead_lettered_to = None;
        if let (Some((target, _, source_arn)), false) = (&dead_letter, moving.is_empty()) {
            dead_lettered_to = Some(*target);
            for (seq, slot, group_name) in moving {
                let new_seq = self.next_seq;
                self.next_seq += 1;
                let sent_ms = if resets_enqueue_time { now } else { slot.sent_ms };
                let data = slot.data.map(|data| {
                    let mut moved = MessageData::clone(&data);
                    moved.dead_letter_source = Some(source_arn.clone().into_boxed_str());
                    Arc::new(moved)
                });
                changes.push(Change::MoveMessage {
                    seq,
                    to_queue: *target,
                    new_seq,
                    sent_ms,
                    visible_at_ms: now,
                    source_arn: source_arn.clone().into_boxed_str(),
                });
                if let Some(target_state) = self.queues.get_mut(target) {
                    let group = match (&mut target_state.fifo, group_name) {
                        (Some(fifo), Some(name)) => fifo.intern(&name),
                        _ => 0,
                    };
                    // The receive count goes along (as recorded on SQS): the first receive from
                    // the dead-letter queue shows one more than the last on the source.
                    let moved = Slot {
                        data,
                        sent_ms,
                        visible_at_ms: now,
                        receive_count: slot.receive_count,
                        group,
                        first_receive_ms: slot.first_receive_ms,
                        token: 0,
                    };
                    target_state.insert(new_seq, moved, now);
                }
            }
        }
        Ok(Claims { claimed: messages, next_visible_at, dead_lettered_to })
    }

    /// See [`QueueStore::delete`].
    pub fn delete(
        &mut self,
        queue: QueueId,
        receipts: &[Receipt],
        now: EpochMillis,
        changes: &mut Vec<Change>,
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        let queue_state = self.queues.get_mut(&queue).ok_or(StoreError::QueueGone(queue))?;
        let fifo = queue_state.fifo.is_some();
        let mut outcomes = Vec::with_capacity(receipts.len());
        let mut freed = Vec::new();
        for receipt in receipts {
            let outcome = match queue_state.messages.get(&receipt.seq) {
                None => DeleteOutcome::Gone,
                Some(slot)
                    if fifo && !(slot.token == receipt.token && slot.receive_count > 0 && slot.visible_at_ms > now) =>
                {
                    DeleteOutcome::Expired
                }
                Some(slot) if slot.token != receipt.token && slot.visible_at_ms > now && slot.receive_count > 0 => {
                    DeleteOutcome::HeldByAnother
                }
                Some(_) => {
                    freed.extend(queue_state.remove(receipt.seq));
                    changes.push(Change::DeleteMessage { seq: receipt.seq });
                    DeleteOutcome::Deleted
                }
            };
            outcomes.push(outcome);
        }
        self.release(freed);
        Ok(outcomes)
    }

    /// See [`QueueStore::change_visibility`].
    pub fn change_visibility(
        &mut self,
        queue: QueueId,
        items: &[(Receipt, u64)],
        now: EpochMillis,
        changes: &mut Vec<Change>,
    ) -> Result<Vec<ChangeOutcome>, StoreError> {
        let queue_state = self.queue_mut(queue)?;
        let mut outcomes = Vec::with_capacity(items.len());
        for &(receipt, visibility_ms) in items {
            let Some(slot) = queue_state.messages.get(&receipt.seq) else {
                outcomes.push(ChangeOutcome::Gone);
                continue;
            };
            let in_flight = slot.token == receipt.token && slot.receive_count > 0 && slot.visible_at_ms > now;
            if !in_flight {
                outcomes.push(ChangeOutcome::NotInFlight);
                continue;
            }
            queue_state.unplace(receipt.seq);
            let Some(slot) = queue_state.messages.get_mut(&receipt.seq) else {
                continue;
            };
            slot.visible_at_ms = now.saturating_add(visibility_ms);
            changes.push(Change::UpdateMessage {
                seq: receipt.seq,
                visible_at_ms: slot.visible_at_ms,
                receive_count: slot.receive_count,
                first_receive_ms: slot.first_receive_ms,
                token: slot.token,
            });
            queue_state.place(receipt.seq, now);
            outcomes.push(ChangeOutcome::Changed);
        }
        Ok(outcomes)
    }

    /// See [`QueueStore::purge`].
    pub fn purge(&mut self, queue: QueueId, now: EpochMillis, changes: &mut Vec<Change>) -> Result<(), StoreError> {
        let max_seq = self.next_seq;
        let queue_state = self.queues.get_mut(&queue).ok_or(StoreError::QueueGone(queue))?;
        let freed = std::mem::take(&mut queue_state.messages);
        queue_state.late.clear();
        queue_state.visible.clear();
        queue_state.hidden.clear();
        queue_state.n_hidden_unreceived = 0;
        queue_state.readahead_cursor = 0;
        if let Some(fifo) = &mut queue_state.fifo {
            // As recorded on SQS, a purge also forgets the deduplication ids: a message sent
            // again after it is enqueued.
            fifo.dedup.clear();
            fifo.groups.clear();
            fifo.ready.clear();
            fifo.names.clear();
            fifo.ids.clear();
        }
        queue_state.record.last_purge_ms = Some(now);
        queue_state.record.version += 1;
        changes.push(Change::Purge { queue, max_seq });
        changes.push(Change::PutQueue(Box::new(queue_state.record.clone())));
        self.release(freed.into_values());
        Ok(())
    }

    /// See [`QueueStore::stats`].
    pub fn stats(&mut self, queue: QueueId, now: EpochMillis) -> Result<QueueStats, StoreError> {
        let queue_state = self.queue_mut(queue)?;
        queue_state.promote(now);
        let delayed = queue_state.n_hidden_unreceived;
        Ok(QueueStats {
            visible: queue_state.visible.len() as u64,
            in_flight: queue_state.hidden.len() as u64 - delayed,
            delayed,
        })
    }

    /// See [`QueueStore::expire`].
    pub fn expire(&mut self, now: EpochMillis, changes: &mut Vec<Change>) -> u64 {
        let mut freed = Vec::new();
        let count = self.queues.values_mut().map(|queue_state| queue_state.expire(now, changes, &mut freed)).sum();
        self.release(freed);
        let mut any_dedup_expired = false;
        for fifo in self.queues.values_mut().filter_map(|queue_state| queue_state.fifo.as_mut()) {
            let before = fifo.dedup.len();
            fifo.dedup.retain(|_, entry| entry.expires_ms > now);
            any_dedup_expired |= fifo.dedup.len() != before;
        }
        if any_dedup_expired {
            changes.push(Change::ExpireDedup { now });
        }
        count
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
}
