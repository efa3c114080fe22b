//! One queue's messages and where each sits: `visible` (by sequence number, so receives are
//! oldest-first), `hidden` (by the instant it becomes visible: delayed or in flight), and for
//! retention the messages that came out of enqueue order.

use super::fifo::FifoState;
use super::Change;
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use wharf_types::EpochMillis;

/// A stored message's mutable delivery state.
#[derive(Clone, Debug)]
pub(super) struct Slot {
    /// The content, or `None` once evicted from memory (a durable store reads it back).
    pub(super) data: Option<Arc<MessageData>>,
    /// Kept here too, for retention, when the content is evicted.
    pub(super) sent_ms: EpochMillis,
    pub(super) visible_at_ms: EpochMillis,
    pub(super) receive_count: u32,
    /// The FIFO message group (an id of [`FifoState`]), 0 for none.
    pub(super) group: u32,
    pub(super) first_receive_ms: EpochMillis,
    pub(super) token: u64,
}

#[derive(Debug)]
pub(super) struct QueueState {
    pub(super) record: QueueRecord,
    /// All messages by sequence number: the oldest first, for retention sweeps.
    pub(super) messages: BTreeMap<MessageSeq, Slot>,
    /// Messages available now, oldest first.
    pub(super) visible: BTreeSet<MessageSeq>,
    /// Messages hidden until an instant: delayed or in flight.
    pub(super) hidden: BTreeSet<(EpochMillis, MessageSeq)>,
    /// Of `hidden`, those never received (delayed).
    pub(super) n_hidden_unreceived: u64,
    /// Where the next read-ahead starts looking for content that is only on disk. Resident
    /// content is the oldest, so the cursor only moves forward; a message whose content was
    /// read for a receive but not kept is read again if it is received again.
    pub(super) readahead_cursor: MessageSeq,
    /// A read-ahead for this queue is under way.
    pub(super) readahead_pending: bool,
    /// Groups and deduplication, for FIFO queues.
    pub(super) fifo: Option<Box<FifoState>>,
    /// The latest enqueue time of a message that was in order when it came.
    pub(super) max_sent_ms: EpochMillis,
    /// Messages that came out of enqueue order (moved from a standard queue to this dead-letter
    /// queue, keeping their older enqueue time), by enqueue time: retention reaches them
    /// behind younger messages, so the sweep looks here as well as at the front.
    pub(super) late: BTreeSet<(EpochMillis, MessageSeq)>,
}

impl QueueState {
    pub(super) fn new(record: QueueRecord) -> Self {
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

    pub(super) fn retention_ms(&self) -> u64 {
        u64::from(self.record.settings.message_retention_period) * 1000
    }

    /// Moves every hidden message due at `now` to `visible`.
    pub(super) fn promote(&mut self, now: EpochMillis) {
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
    pub(super) fn insert(&mut self, seq: MessageSeq, slot: Slot, now: EpochMillis) {
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
    pub(super) fn join_group(&mut self, seq: MessageSeq) {
        if let (Some(fifo), Some(slot)) = (&mut self.fifo, self.messages.get(&seq)) {
            if slot.group != 0 {
                fifo.groups.entry(slot.group).or_default().members.insert(seq);
            }
        }
    }

    /// Files a message in `visible` or `hidden` by its state at `now`.
    pub(super) fn place(&mut self, seq: MessageSeq, now: EpochMillis) {
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
    pub(super) fn unplace(&mut self, seq: MessageSeq) {
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

    pub(super) fn remove(&mut self, seq: MessageSeq) -> Option<Slot> {
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
    pub(super) fn next_candidate(&self, cursor: &mut Option<(u32, MessageSeq)>) -> Option<MessageSeq> {
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

    /// When the oldest message was sent: the front of the queue or the oldest `late` one (the
    /// same two places retention looks).
    pub(super) fn oldest_sent_ms(&self) -> Option<EpochMillis> {
        let front = self.messages.first_key_value().map(|(_, slot)| slot.sent_ms);
        let late = self.late.first().map(|(sent_ms, _)| *sent_ms);
        [front, late].into_iter().flatten().min()
    }

    /// Drops messages past retention: at the front of the queue, where messages that came in
    /// order are oldest first (a message behind a younger one that came in order is younger
    /// still, or is `late`), and among the `late` ones.
    pub(super) fn expire(&mut self, now: EpochMillis, changes: &mut Vec<Change>, freed: &mut Vec<Slot>) -> u64 {
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
