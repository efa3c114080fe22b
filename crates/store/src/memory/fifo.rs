//! FIFO bookkeeping of one queue: its message groups, the order in which ready groups are
//! served, and the deduplication ids seen within the window.

use super::queue::Slot;
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use wharf_types::EpochMillis;

/// One FIFO message group.
#[derive(Debug, Default)]
pub(super) struct Group {
    /// Its messages, oldest first.
    pub(super) members: BTreeSet<MessageSeq>,
    /// The key under which the group sits in [`FifoState::ready`], if it does.
    pub(super) ready_at: Option<ReadyKey>,
}

/// A ready group's place: when its head became visible, whether the head was received before
/// (so an untouched group wins a tie), the head, the group.
pub(super) type ReadyKey = (EpochMillis, bool, MessageSeq, u32);

/// The bookkeeping of a FIFO queue: groups and deduplication.
#[derive(Debug, Default)]
pub(super) struct FifoState {
    /// Group names by id; ids start at 1 and are not reused while the process lives.
    pub(super) names: HashMap<u32, Arc<str>>,
    /// Group ids by name.
    pub(super) ids: HashMap<Arc<str>, u32>,
    pub(super) next_group: u32,
    pub(super) groups: HashMap<u32, Group>,
    /// Groups that can deliver now (their oldest message is visible), in the order their head
    /// became visible: a receive takes the group that has waited longest first, so a group
    /// whose messages became visible again (visibility 0, or changed to 0) goes behind groups
    /// never received, as on SQS.
    pub(super) ready: BTreeSet<ReadyKey>,
    /// Deduplication ids seen within the window.
    pub(super) dedup: HashMap<String, DedupEntry>,
}

impl FifoState {
    pub(super) fn intern(&mut self, name: &str) -> u32 {
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
    pub(super) fn refresh(&mut self, id: u32, visible: &BTreeSet<MessageSeq>, messages: &BTreeMap<MessageSeq, Slot>) {
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
