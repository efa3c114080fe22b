//! The message operations of [`State`]: send, receive (with dead-letter moves), delete,
//! change visibility, purge, counts and retention. Each applies one operation and reports its
//! changes in order.

use super::queue::Slot;
use super::{resident_size, Change, Claimed, Claims, State};
use crate::model::*;
use crate::StoreError;
use std::sync::Arc;
use wharf_types::{EpochMillis, QueueKey};

impl State {
    /// See [`QueueStore::send`](crate::QueueStore::send).
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

    /// See [`QueueStore::receive`](crate::QueueStore::receive). `draw_token` supplies receipt tokens.
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

    /// See [`QueueStore::delete`](crate::QueueStore::delete).
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

    /// See [`QueueStore::change_visibility`](crate::QueueStore::change_visibility).
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

    /// See [`QueueStore::purge`](crate::QueueStore::purge).
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

    /// See [`QueueStore::stats`](crate::QueueStore::stats).
    pub fn stats(&mut self, queue: QueueId, now: EpochMillis) -> Result<QueueStats, StoreError> {
        let queue_state = self.queue_mut(queue)?;
        queue_state.promote(now);
        let delayed = queue_state.n_hidden_unreceived;
        Ok(QueueStats {
            visible: queue_state.visible.len() as u64,
            in_flight: queue_state.hidden.len() as u64 - delayed,
            delayed,
            oldest_sent_ms: queue_state.oldest_sent_ms(),
        })
    }

    /// See [`QueueStore::expire`](crate::QueueStore::expire).
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
