//! The model-based test of the queue state machine: random sequences of send, receive (any
//! visibility, any batch size, FIFO groups), delete, change visibility, purge, clock advance,
//! restart and injected commit failures, each step checked against [`Reference`], a small
//! model written from the SQS developer guide. Every backend runs it through a [`Harness`];
//! the PostgreSQL store will be held to the same model.
//!
//! # The rules the reference encodes
//! - A message is *visible* when its visibility instant has passed; *in flight* when it was
//!   received and is not visible yet; *delayed* when it was never received and is not visible.
//! - Standard queues deliver visible messages oldest first (by enqueue order), at most `max`,
//!   never one message twice in one receive.
//! - FIFO queues deliver a group's messages in order. A group can deliver while its oldest
//!   message is visible; a receive takes its messages in order up to the first one that is not
//!   visible, then goes on with the next group. Groups are served by how long their oldest
//!   message has been visible, and an untouched group before one whose messages were received
//!   before (a group visible again goes behind groups never received).
//! - A message received `maxReceiveCount` times moves to the dead-letter queue at its next
//!   receive instead of being delivered, keeping its receive count and first receive; a FIFO
//!   message's enqueue time resets there, a standard one's does not.
//! - Deletes: a missing message is gone (success). On FIFO queues only the current receipt of
//!   a message in flight deletes; any other receipt has expired. On standard queues any receipt
//!   deletes unless the message is in flight under another receipt.
//! - Visibility changes need the current receipt of a message in flight.
//! - A purge removes every message and forgets the deduplication ids.
//! - Retention drops messages whose enqueue time is older than the retention period.
//! - FIFO deduplication: an id seen within five minutes is not enqueued again; the answer
//!   names the first message.
//! - An operation answered with a storage error has an open outcome: after the store recovers
//!   it happened; after a crash before it reached the disk it did not.
//!
//! Run with more seeds and steps: `WHARF_MODEL_SEEDS=2000 WHARF_MODEL_STEPS=1000 cargo test
//! -p wharf-store model_check` (and `-p wharf-store-sqlite`). A failure names its seed;
//! `WHARF_MODEL_SEED=N` replays that one.

use crate::model::*;
use crate::{QueueStore, StoreError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_types::{EpochMillis, QueueKey};

/// A store under test, and what its backend can do besides the store API.
#[async_trait]
pub trait Harness: Send {
    /// The store.
    fn store(&self) -> &dyn QueueStore;
    /// Closes the store and opens it again on the same data, at `now`. False for a backend
    /// without durable state, which skips restarts.
    async fn restart(&mut self, now: EpochMillis) -> bool;
    /// Makes the next `count` commits fail as a full or failing disk would. False for a
    /// backend that cannot inject failures.
    fn fail_commits(&self, count: u32) -> bool;
    /// How many injected failures have not happened yet.
    fn pending_failures(&self) -> u32;
}

/// The instant every run starts at.
pub const START: EpochMillis = 1_800_000_000_000;

/// A small deterministic generator (SplitMix64), so a seed replays exactly.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `bound` (which must not be zero).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The current receipt's token of a reference message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// Never received here.
    None,
    /// Received with this token.
    Known(u64),
    /// Received by an operation whose answer was lost (a storage error): some token the test
    /// never saw, so no receipt it holds matches it.
    Unknown,
}

#[derive(Clone)]
struct RefMessage {
    /// Unique per send: identifies the message in answers.
    body: String,
    message_id: [u8; 16],
    group: Option<String>,
    dedup: Option<String>,
    sent_ms: EpochMillis,
    visible_at: EpochMillis,
    receive_count: u32,
    first_receive: EpochMillis,
    token: Token,
    /// The store's sequence number, once an answer told it.
    seq: Option<MessageSeq>,
}

impl std::fmt::Debug for RefMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.body)?;
        if let (Some(group), Some(dedup)) = (&self.group, &self.dedup) {
            write!(f, "[{group}/{dedup}]")?;
        }
        if self.visible_at > self.sent_ms {
            write!(f, "+{}ms", self.visible_at - self.sent_ms)?;
        }
        Ok(())
    }
}

impl RefMessage {
    fn visible(&self, now: EpochMillis) -> bool {
        self.visible_at <= now
    }

    fn in_flight(&self, now: EpochMillis) -> bool {
        !self.visible(now) && self.receive_count > 0
    }

    fn holds(&self, receipt: Receipt) -> bool {
        self.token == Token::Known(receipt.token)
    }
}

#[derive(Clone, Debug)]
struct DedupRef {
    message_id: [u8; 16],
    expires: EpochMillis,
}

/// One queue of the reference model.
#[derive(Clone, Debug)]
struct RefQueue {
    id: QueueId,
    fifo: bool,
    group_scope: bool,
    retention_ms: u64,
    /// The dead-letter queue (an index into [`Reference::queues`]) and the receive limit.
    dead_letter: Option<(usize, u32)>,
    /// Enqueue order.
    messages: Vec<RefMessage>,
    dedup: BTreeMap<String, DedupRef>,
}

/// What one delivery must be.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    body: String,
    receive_count: u32,
    first_receive: EpochMillis,
}

/// The reference model: obviously correct rather than fast.
#[derive(Clone, Debug)]
pub struct Reference {
    queues: Vec<RefQueue>,
}

impl Reference {
    /// Every message of every queue, relative to `now`, for failure reports.
    fn describe(&self, now: EpochMillis) -> String {
        let mut text = String::new();
        for (idx, q) in self.queues.iter().enumerate() {
            text.push_str(&format!("  queue {idx}:\n"));
            for message in &q.messages {
                text.push_str(&format!(
                    "    {:?} seq={:?} visible_in={}ms received={} first={} token={:?}\n",
                    message,
                    message.seq,
                    message.visible_at as i64 - now as i64,
                    message.receive_count,
                    message.first_receive,
                    message.token
                ));
            }
        }
        text
    }

    fn stats(&self, queue: usize, now: EpochMillis) -> QueueStats {
        let mut stats = QueueStats::default();
        for message in &self.queues[queue].messages {
            if message.visible(now) {
                stats.visible += 1;
            } else if message.receive_count > 0 {
                stats.in_flight += 1;
            } else {
                stats.delayed += 1;
            }
            stats.oldest_sent_ms =
                Some(stats.oldest_sent_ms.map_or(message.sent_ms, |oldest| oldest.min(message.sent_ms)));
        }
        stats
    }

    fn dedup_key(queue: &RefQueue, group: &str, id: &str) -> String {
        if queue.group_scope {
            format!("{group}\n{id}")
        } else {
            id.to_owned()
        }
    }

    /// Applies a send; returns per message `None` (enqueued) or the first message's id.
    fn send(&mut self, queue: usize, messages: Vec<RefMessage>, now: EpochMillis) -> Vec<Option<[u8; 16]>> {
        let q = &mut self.queues[queue];
        let mut outcomes = Vec::new();
        for message in messages {
            if let (true, Some(group), Some(id)) = (q.fifo, &message.group, &message.dedup) {
                let key = Self::dedup_key(q, group, id);
                if let Some(seen) = q.dedup.get(&key).filter(|seen| seen.expires > now) {
                    outcomes.push(Some(seen.message_id));
                    continue;
                }
                q.dedup
                    .insert(key, DedupRef { message_id: message.message_id, expires: now + DEDUPLICATION_WINDOW_MS });
            }
            q.messages.push(message);
            outcomes.push(None);
        }
        outcomes
    }

    /// Applies a receive; returns the deliveries, the dead-letter queue that got messages, and
    /// the next instant a hidden message becomes visible.
    fn receive(
        &mut self,
        queue: usize,
        max: usize,
        visibility_ms: u64,
        now: EpochMillis,
    ) -> (Vec<Expected>, Option<usize>, Option<EpochMillis>) {
        let dead_letter = self.queues[queue].dead_letter.filter(|(target, _)| *target != queue);
        let mut taken: Vec<usize> = Vec::new();
        let mut moved: Vec<usize> = Vec::new();
        let mut cursor = None;
        {
            let q = &mut self.queues[queue];
            while taken.len() < max {
                let next = if q.fifo {
                    // Moved messages are gone from the queue (`fifo_next` skips them).
                    Self::fifo_next(q, &taken, &moved, cursor, now)
                } else {
                    (0..q.messages.len())
                        .find(|&idx| q.messages[idx].visible(now) && !taken.contains(&idx) && !moved.contains(&idx))
                };
                let Some(idx) = next else { break };
                cursor = Some(idx);
                if let Some((_, max_receives)) = dead_letter {
                    if q.messages[idx].receive_count >= max_receives {
                        moved.push(idx);
                        continue;
                    }
                }
                taken.push(idx);
            }
        }
        let expected: Vec<Expected> = {
            let q = &mut self.queues[queue];
            taken
                .iter()
                .map(|&idx| {
                    let message = &mut q.messages[idx];
                    message.receive_count += 1;
                    if message.first_receive == 0 {
                        message.first_receive = now;
                    }
                    message.visible_at = now + visibility_ms;
                    message.token = Token::Unknown;
                    Expected {
                        body: message.body.clone(),
                        receive_count: message.receive_count,
                        first_receive: message.first_receive,
                    }
                })
                .collect()
        };
        let mut moved_to = None;
        if let (Some((target, _)), false) = (dead_letter, moved.is_empty()) {
            moved_to = Some(target);
            // They arrive in the order the receive met them.
            let removed: Vec<RefMessage> = moved.iter().map(|&idx| self.queues[queue].messages[idx].clone()).collect();
            moved.sort_unstable();
            for &idx in moved.iter().rev() {
                self.queues[queue].messages.remove(idx);
            }
            let fifo = self.queues[queue].fifo;
            for mut message in removed {
                if fifo {
                    message.sent_ms = now;
                }
                message.visible_at = now;
                message.token = Token::None;
                message.seq = None;
                self.queues[target].messages.push(message);
            }
        }
        let next_visible = self.queues[queue]
            .messages
            .iter()
            .filter(|message| !message.visible(now))
            .map(|message| message.visible_at)
            .min();
        (expected, moved_to, next_visible)
    }

    /// The next message a receive takes from a FIFO queue: the next member of the group being
    /// drained if it is visible, else the head of the ready group that waited longest. `gone`
    /// (dead-lettered in this receive) are no longer members; `skip` cannot be taken.
    fn fifo_next(
        q: &RefQueue,
        skip: &[usize],
        gone: &[usize],
        cursor: Option<usize>,
        now: EpochMillis,
    ) -> Option<usize> {
        let present = |idx: usize| !gone.contains(&idx);
        let usable = |idx: usize| present(idx) && q.messages[idx].visible(now) && !skip.contains(&idx);
        if let Some(last) = cursor {
            let group = &q.messages[last].group;
            let next = (last + 1..q.messages.len()).find(|&idx| present(idx) && &q.messages[idx].group == group);
            if let Some(next) = next.filter(|&idx| usable(idx)) {
                return Some(next);
            }
        }
        let mut best: Option<((EpochMillis, bool, usize), usize)> = None;
        let mut seen_groups: Vec<&Option<String>> = Vec::new();
        for (idx, message) in q.messages.iter().enumerate() {
            if !present(idx) || seen_groups.contains(&&message.group) {
                continue;
            }
            seen_groups.push(&message.group);
            if usable(idx) {
                let key = (message.visible_at, message.receive_count > 0, idx);
                if best.as_ref().is_none_or(|(best_key, _)| key < *best_key) {
                    best = Some((key, idx));
                }
            }
        }
        best.map(|(_, idx)| idx)
    }

    fn find(&self, queue: usize, seq: MessageSeq) -> Option<usize> {
        self.queues[queue].messages.iter().position(|message| message.seq == Some(seq))
    }

    fn delete(&mut self, queue: usize, receipts: &[Receipt], now: EpochMillis) -> Vec<DeleteOutcome> {
        let fifo = self.queues[queue].fifo;
        receipts
            .iter()
            .map(|&receipt| {
                let Some(idx) = self.find(queue, receipt.seq) else { return DeleteOutcome::Gone };
                let message = &self.queues[queue].messages[idx];
                let current = message.holds(receipt) && message.in_flight(now);
                if fifo && !current {
                    return DeleteOutcome::Expired;
                }
                if !fifo && !message.holds(receipt) && message.in_flight(now) {
                    return DeleteOutcome::HeldByAnother;
                }
                self.queues[queue].messages.remove(idx);
                DeleteOutcome::Deleted
            })
            .collect()
    }

    fn change_visibility(&mut self, queue: usize, changes: &[(Receipt, u64)], now: EpochMillis) -> Vec<ChangeOutcome> {
        changes
            .iter()
            .map(|&(receipt, visibility_ms)| {
                let Some(idx) = self.find(queue, receipt.seq) else { return ChangeOutcome::Gone };
                let message = &mut self.queues[queue].messages[idx];
                if !(message.holds(receipt) && message.in_flight(now)) {
                    return ChangeOutcome::NotInFlight;
                }
                message.visible_at = now + visibility_ms;
                ChangeOutcome::Changed
            })
            .collect()
    }

    fn purge(&mut self, queue: usize) {
        self.queues[queue].messages.clear();
        self.queues[queue].dedup.clear();
    }

    /// Drops what retention ended by `now`; returns how many messages.
    fn expire(&mut self, now: EpochMillis) -> u64 {
        let mut dropped = 0;
        for q in &mut self.queues {
            let retention = q.retention_ms;
            let before = q.messages.len();
            q.messages.retain(|message| message.sent_ms + retention > now);
            dropped += (before - q.messages.len()) as u64;
            q.dedup.retain(|_, entry| entry.expires > now);
        }
        dropped
    }
}

/// One operation of a run.
#[derive(Clone, Debug)]
enum Op {
    Send { queue: usize, messages: Vec<RefMessage> },
    Receive { queue: usize, max: usize, visibility_ms: u64 },
    Delete { queue: usize, receipts: Vec<Receipt> },
    Change { queue: usize, changes: Vec<(Receipt, u64)> },
    Purge { queue: usize },
}

/// The state of one run besides the model.
struct Run {
    rng: Rng,
    now: EpochMillis,
    model: Reference,
    /// Receipts handed out, per queue, including stale ones.
    receipts: Vec<Vec<Receipt>>,
    sent: u64,
    last_seq: MessageSeq,
    log: Vec<String>,
    /// The model before the current step, for the failure report.
    before: Option<Reference>,
    deliveries: u64,
    dead_lettered: u64,
}

impl Run {
    fn fail(&self, seed: u64, what: String) -> ! {
        let tail: Vec<&String> = self.log.iter().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect();
        let state = self.before.as_ref().map(|model| model.describe(self.now)).unwrap_or_default();
        panic!(
            "model check failed (seed {seed}, replay with WHARF_MODEL_SEED={seed}): {what}\nlast steps:\n  {}\n\
             model before the step (now = {}):\n{state}",
            tail.iter().map(|line| line.as_str()).collect::<Vec<_>>().join("\n  "),
            self.now
        );
    }

    fn new_message(&mut self, queue: usize) -> RefMessage {
        self.sent += 1;
        let body = format!("m{}", self.sent);
        let mut message_id = [0u8; 16];
        message_id[..8].copy_from_slice(&self.sent.to_be_bytes());
        let fifo = self.model.queues[queue].fifo;
        let delay_ms = if self.rng.chance(20) { self.rng.pick(&[500, 1_000, 2_000]) } else { 0 };
        RefMessage {
            body,
            message_id,
            group: fifo.then(|| format!("g{}", self.rng.below(3))),
            dedup: fifo.then(|| format!("d{}", self.rng.below(8))),
            sent_ms: self.now,
            visible_at: self.now + delay_ms,
            receive_count: 0,
            first_receive: 0,
            token: Token::None,
            seq: None,
        }
    }

    fn receipt(&mut self, queue: usize) -> Receipt {
        let pool = &self.receipts[queue];
        if pool.is_empty() || self.rng.chance(5) {
            return Receipt { seq: self.rng.below(1 << 40) + 1, token: self.rng.next_u64() | 1 };
        }
        // Recent receipts are likelier: most clients delete what they just received.
        let len = pool.len() as u64;
        let idx = if self.rng.chance(70) { len - 1 - self.rng.below(len.min(12)) } else { self.rng.below(len) };
        let mut receipt = pool[idx as usize];
        if self.rng.chance(3) {
            receipt.token = self.rng.next_u64() | 1;
        }
        receipt
    }

    fn next_op(&mut self) -> Op {
        let queue = if self.rng.chance(75) { 0 } else { 1 };
        match self.rng.below(100) {
            0..=29 => {
                let count = 1 + self.rng.below(3) as usize;
                let messages = (0..count).map(|_| self.new_message(queue)).collect();
                Op::Send { queue, messages }
            }
            30..=59 => Op::Receive {
                queue,
                max: 1 + self.rng.below(10) as usize,
                visibility_ms: self.rng.pick(&[0, 0, 1_000, 5_000, 30_000]),
            },
            60..=79 => {
                let count = 1 + self.rng.below(3) as usize;
                Op::Delete { queue, receipts: (0..count).map(|_| self.receipt(queue)).collect() }
            }
            80..=97 => {
                let count = 1 + self.rng.below(2) as usize;
                let changes = (0..count)
                    .map(|_| {
                        let visibility = self.rng.pick(&[0, 2_000, 10_000]);
                        (self.receipt(queue), visibility)
                    })
                    .collect();
                Op::Change { queue, changes }
            }
            _ => Op::Purge { queue },
        }
    }

    fn new_message_data(&self, message: &RefMessage) -> NewMessage {
        NewMessage {
            data: Arc::new(MessageData {
                message_id: message.message_id,
                body: message.body.as_str().into(),
                body_md5: [0; 16],
                attributes: None,
                system_attributes: None,
                sender_id: Arc::from("000000000000"),
                sent_ms: message.sent_ms,
                group: message.group.as_ref().map(|group| {
                    Box::new(GroupFields { group_id: group.clone(), deduplication_id: message.dedup.clone() })
                }),
                dead_letter_source: None,
            }),
            visible_at_ms: message.visible_at,
        }
    }

    /// Runs `op` on the store and checks its answer against the model, which it advances.
    /// `Err` is a storage error, before the model is touched.
    async fn apply(&mut self, seed: u64, store: &dyn QueueStore, op: &Op) -> Result<(), StoreError> {
        let now = self.now;
        self.before = Some(self.model.clone());
        match op {
            Op::Send { queue, messages } => {
                let id = self.model.queues[*queue].id;
                let batch = messages.iter().map(|message| self.new_message_data(message)).collect();
                let outcomes = store.send(id, batch, now).await?;
                let expected = self.model.send(*queue, messages.clone(), now);
                if outcomes.len() != expected.len() {
                    self.fail(seed, format!("send answered {} outcomes for {}", outcomes.len(), expected.len()));
                }
                for ((outcome, expected), message) in outcomes.iter().zip(&expected).zip(messages) {
                    match (outcome, expected) {
                        (SendOutcome::Enqueued(seq), None) => {
                            if *seq <= self.last_seq {
                                self.fail(seed, format!("sequence number {seq} not above {}", self.last_seq));
                            }
                            self.last_seq = *seq;
                            let q = &mut self.model.queues[*queue];
                            if let Some(stored) = q.messages.iter_mut().find(|stored| stored.body == message.body) {
                                stored.seq = Some(*seq);
                            }
                        }
                        (SendOutcome::Duplicate { message_id, .. }, Some(first)) if message_id == first => {}
                        (outcome, expected) => self.fail(
                            seed,
                            format!("send of {}: store {outcome:?}, model duplicate of {expected:?}", message.body),
                        ),
                    }
                }
            }
            Op::Receive { queue, max, visibility_ms } => {
                let id = self.model.queues[*queue].id;
                let request = ReceiveRequest { max: *max, visibility_ms: *visibility_ms, now, wait_durable: true };
                let outcome = store.receive(id, request).await?;
                let (expected, moved_to, next_visible) = self.model.receive(*queue, *max, *visibility_ms, now);
                let got: Vec<Expected> = outcome
                    .messages
                    .iter()
                    .map(|delivery| Expected {
                        body: delivery.data.body.to_string(),
                        receive_count: delivery.receive_count,
                        first_receive: delivery.first_receive_ms,
                    })
                    .collect();
                if got != expected {
                    self.fail(seed, format!("receive: store delivered {got:?}, model expects {expected:?}"));
                }
                let moved_id = moved_to.map(|target| self.model.queues[target].id);
                if outcome.dead_lettered_to != moved_id {
                    self.fail(
                        seed,
                        format!("receive dead-lettered to {:?}, model {moved_id:?}", outcome.dead_lettered_to),
                    );
                }
                if outcome.next_visible_at != next_visible {
                    self.fail(seed, format!("next visible at {:?}, model {next_visible:?}", outcome.next_visible_at));
                }
                self.deliveries += outcome.messages.len() as u64;
                if let (Some(target), Some(before)) = (moved_to, &self.before) {
                    self.dead_lettered +=
                        (self.model.queues[target].messages.len() - before.queues[target].messages.len()) as u64;
                }
                for delivery in &outcome.messages {
                    let body = delivery.data.body.to_string();
                    let q = &mut self.model.queues[*queue];
                    if let Some(message) = q.messages.iter_mut().find(|message| message.body == body) {
                        message.token = Token::Known(delivery.receipt.token);
                        message.seq = Some(delivery.receipt.seq);
                    }
                    self.receipts[*queue].push(delivery.receipt);
                }
            }
            Op::Delete { queue, receipts } => {
                let id = self.model.queues[*queue].id;
                let outcomes = store.delete(id, receipts.clone(), now).await?;
                let expected = self.model.delete(*queue, receipts, now);
                if outcomes != expected {
                    self.fail(seed, format!("delete {receipts:?}: store {outcomes:?}, model {expected:?}"));
                }
            }
            Op::Change { queue, changes } => {
                let id = self.model.queues[*queue].id;
                let outcomes = store.change_visibility(id, changes.clone(), now).await?;
                let expected = self.model.change_visibility(*queue, changes, now);
                if outcomes != expected {
                    self.fail(seed, format!("change visibility {changes:?}: store {outcomes:?}, model {expected:?}"));
                }
            }
            Op::Purge { queue } => {
                store.purge(self.model.queues[*queue].id, now).await?;
                self.model.purge(*queue);
            }
        }
        Ok(())
    }

    /// The model's effect of `op` when the store's answer was lost: it happened, and no
    /// receipt of it was seen.
    fn apply_unseen(&mut self, op: &Op) {
        let now = self.now;
        match op {
            Op::Send { queue, messages } => {
                self.model.send(*queue, messages.clone(), now);
            }
            Op::Receive { queue, max, visibility_ms } => {
                self.model.receive(*queue, *max, *visibility_ms, now);
            }
            Op::Delete { queue, receipts } => {
                self.model.delete(*queue, receipts, now);
            }
            Op::Change { queue, changes } => {
                self.model.change_visibility(*queue, changes, now);
            }
            Op::Purge { queue } => self.model.purge(*queue),
        }
    }

    async fn check_stats(&self, seed: u64, store: &dyn QueueStore) {
        for (idx, q) in self.model.queues.iter().enumerate() {
            let stats = match store.stats(q.id, self.now).await {
                Ok(stats) => stats,
                Err(err) => self.fail(seed, format!("stats failed: {err}")),
            };
            let expected = self.model.stats(idx, self.now);
            if stats != expected {
                self.fail(seed, format!("queue {idx} counts: store {stats:?}, model {expected:?}"));
            }
        }
    }
}

async fn create(store: &dyn QueueStore, name: &str, settings: QueueSettings) -> QueueRecord {
    let key = QueueKey {
        account: "000000000000".parse().expect("valid account"),
        region: "us-east-1".parse().expect("valid region"),
        name: name.parse().expect("valid queue name"),
    };
    let new_queue = NewQueue { key, settings, tags: BTreeMap::new(), now: START };
    match store.create_queue(new_queue, 60_000).await.expect("create") {
        CreateOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

/// What a run exercised, so a test can insist that its rare paths were taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Messages delivered.
    pub deliveries: u64,
    /// Messages moved to the dead-letter queue.
    pub dead_lettered: u64,
    /// Messages dropped by retention.
    pub expired: u64,
    /// Restarts.
    pub restarts: u64,
    /// Commits that failed on purpose, then were retried.
    pub recovered_failures: u64,
    /// Commits that failed on purpose, then the store crashed.
    pub crashed_failures: u64,
}

impl std::ops::AddAssign for Coverage {
    fn add_assign(&mut self, other: Coverage) {
        self.deliveries += other.deliveries;
        self.dead_lettered += other.dead_lettered;
        self.expired += other.expired;
        self.restarts += other.restarts;
        self.recovered_failures += other.recovered_failures;
        self.crashed_failures += other.crashed_failures;
    }
}

/// One run: a source queue and its dead-letter queue, both standard or both FIFO, and `steps`
/// random operations.
pub async fn run_seed(harness: &mut dyn Harness, seed: u64, steps: usize) -> Coverage {
    let mut coverage = Coverage::default();
    let mut rng = Rng::new(seed);
    let fifo = rng.chance(50);
    let suffix = if fifo { ".fifo" } else { "" };
    let retention_s = rng.pick(&[60, 90, 120]);
    let max_receives = 1 + rng.below(3) as u32;
    let group_scope = fifo && rng.chance(30);
    let base = QueueSettings {
        fifo_queue: fifo,
        message_retention_period: retention_s,
        deduplication_scope: group_scope.then(|| "messageGroup".to_owned()),
        ..QueueSettings::default()
    };
    let dead = create(harness.store(), &format!("dead{suffix}"), base.clone()).await;
    let source_settings = QueueSettings {
        dead_letter: Some(DeadLetter { target_arn: dead.key.arn(), max_receive_count: max_receives }),
        ..base
    };
    let source = create(harness.store(), &format!("source{suffix}"), source_settings).await;
    let ref_queue = |id, dead_letter| RefQueue {
        id,
        fifo,
        group_scope,
        retention_ms: u64::from(retention_s) * 1000,
        dead_letter,
        messages: Vec::new(),
        dedup: BTreeMap::new(),
    };
    let mut run = Run {
        rng,
        now: START,
        model: Reference { queues: vec![ref_queue(source.id, Some((1, max_receives))), ref_queue(dead.id, None)] },
        receipts: vec![Vec::new(), Vec::new()],
        sent: 0,
        last_seq: 0,
        before: None,
        deliveries: 0,
        dead_lettered: 0,
        log: vec![format!(
            "fifo={fifo} retention={retention_s}s maxReceiveCount={max_receives} group_scope={group_scope}"
        )],
    };
    for step in 0..steps {
        let roll = run.rng.below(100);
        if roll < 12 {
            let advance = run.rng.pick(&[100, 1_000, 3_000, 10_000, 31_000, 70_000]);
            run.now += advance;
            run.log.push(format!("{step}: advance {advance} ms"));
            let dropped = match harness.store().expire(run.now).await {
                Ok(dropped) => dropped,
                Err(err) => run.fail(seed, format!("expire failed: {err}")),
            };
            let expected = run.model.expire(run.now);
            if dropped != expected {
                run.fail(seed, format!("retention dropped {dropped}, model {expected}"));
            }
            coverage.expired += dropped;
        } else if roll < 14 {
            run.log.push(format!("{step}: restart"));
            if harness.restart(run.now).await {
                coverage.restarts += 1;
            }
        } else if roll < 17 && harness.fail_commits(0) {
            let op = run.next_op();
            run.log.push(format!("{step}: {op:?} with a failing commit"));
            let crash = run.rng.chance(50);
            harness.fail_commits(if crash { u32::MAX } else { 1 });
            let before = run.model.clone();
            let answered = run.apply(seed, harness.store(), &op).await;
            let failed = harness.pending_failures() < if crash { u32::MAX } else { 1 };
            match (answered, failed) {
                (Ok(()), false) => {
                    // Nothing to commit (the operation changed nothing): no failure happened.
                    harness.fail_commits(0);
                }
                (Err(StoreError::Unavailable(_)), true) => {
                    if harness.store().stats(run.model.queues[0].id, run.now).await.is_ok() {
                        run.fail(seed, "a store whose commit failed still answers".into());
                    }
                    run.model = before;
                    if crash {
                        // The change never reached the disk: after the restart it did not happen.
                        run.log.push(format!("{step}: crash before the retry"));
                        harness.restart(run.now).await;
                        coverage.crashed_failures += 1;
                    } else {
                        // The retry commits it: it happened, unseen.
                        harness.store().checkpoint().await.unwrap_or_else(|err| {
                            run.fail(seed, format!("the store did not recover after the failure: {err}"))
                        });
                        run.apply_unseen(&op);
                        coverage.recovered_failures += 1;
                    }
                }
                (answered, failed) => {
                    run.fail(seed, format!("injected failure: answer {answered:?}, failure consumed {failed}"))
                }
            }
            harness.fail_commits(0);
        } else {
            let op = run.next_op();
            run.log.push(format!("{step}: {op:?}"));
            if let Err(err) = run.apply(seed, harness.store(), &op).await {
                run.fail(seed, format!("{op:?} failed: {err}"));
            }
        }
        run.check_stats(seed, harness.store()).await;
    }
    coverage.deliveries = run.deliveries;
    coverage.dead_lettered = run.dead_lettered;
    coverage
}

/// The seeds and steps of a run: `WHARF_MODEL_SEED` replays one seed; `WHARF_MODEL_SEEDS` and
/// `WHARF_MODEL_STEPS` scale the run (defaults: `seeds`, `steps`).
pub fn plan(seeds: u64, steps: usize) -> (Vec<u64>, usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|value| value.parse::<u64>().ok());
    let steps = env("WHARF_MODEL_STEPS").map_or(steps, |steps| steps as usize);
    match env("WHARF_MODEL_SEED") {
        Some(seed) => (vec![seed], steps),
        None => ((0..env("WHARF_MODEL_SEEDS").unwrap_or(seeds)).collect(), steps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    struct Memory(MemoryStore);

    #[async_trait]
    impl Harness for Memory {
        fn store(&self) -> &dyn QueueStore {
            &self.0
        }
        async fn restart(&mut self, _now: EpochMillis) -> bool {
            false
        }
        fn fail_commits(&self, _count: u32) -> bool {
            false
        }
        fn pending_failures(&self) -> u32 {
            0
        }
    }

    #[test]
    fn memory_store_follows_the_model() {
        let (seeds, steps) = plan(300, 400);
        let mut coverage = Coverage::default();
        for seed in seeds {
            let mut harness = Memory(MemoryStore::new());
            coverage += crate::conformance::block_on(run_seed(&mut harness, seed, steps));
        }
        assert!(coverage.deliveries > 0 && coverage.dead_lettered > 0 && coverage.expired > 0, "{coverage:?}");
    }
}
