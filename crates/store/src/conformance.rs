//! The conformance suite every [`QueueStore`] backend runs.
//!
//! Each check takes a fresh store and drives it with explicit instants, so no check sleeps.
//! A backend's test module calls [`run_all`] with a constructor.
//! Assertions panic with a message naming the check: this module is test support.

use crate::model::*;
use crate::QueueStore;
use std::collections::BTreeMap;
use std::sync::Arc;
use wharf_types::{EpochMillis, QueueKey};

/// The instant the suite starts at.
pub const T0: EpochMillis = 1_700_000_000_000;

/// A queue key for tests.
pub fn key(name: &str) -> QueueKey {
    QueueKey {
        account: "000000000000".parse().expect("valid account"),
        region: "us-east-1".parse().expect("valid region"),
        name: name.parse().expect("valid queue name"),
    }
}

/// A message with `body`, sent at `now`, visible after `delay_ms`.
pub fn message(body: &str, now: EpochMillis, delay_ms: u64) -> NewMessage {
    NewMessage {
        data: Arc::new(MessageData {
            message_id: *uuid_like(now, body),
            body: body.into(),
            body_md5: [0; 16],
            attributes: None,
            system_attributes: None,
            sender_id: Arc::from("000000000000"),
            sent_ms: now,
            group: None,
            dead_letter_source: None,
        }),
        visible_at_ms: now + delay_ms,
    }
}

fn uuid_like(now: EpochMillis, body: &str) -> Box<[u8; 16]> {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&now.to_be_bytes());
    for (idx, byte) in body.bytes().take(8).enumerate() {
        bytes[8 + idx] = byte;
    }
    Box::new(bytes)
}

/// Creates a queue with default settings and returns it.
pub async fn create(store: &dyn QueueStore, name: &str) -> QueueRecord {
    let new_queue = NewQueue { key: key(name), settings: QueueSettings::default(), tags: BTreeMap::new(), now: T0 };
    match store.create_queue(new_queue, 60_000).await.expect("create") {
        CreateOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn bodies(outcome: &ReceiveOutcome) -> Vec<String> {
    outcome.messages.iter().map(|delivery| delivery.data.body.to_string()).collect()
}

fn receive_at(now: EpochMillis, max: usize, visibility_ms: u64) -> ReceiveRequest {
    ReceiveRequest { max, visibility_ms, now, wait_durable: true }
}

/// Runs every check, each on a store from `make`.
pub async fn run_all<S: QueueStore>(make: impl Fn() -> S) {
    queues_are_created_listed_updated_and_deleted(&make()).await;
    deleted_names_wait_before_reuse(&make()).await;
    messages_come_back_oldest_first_and_hide_while_in_flight(&make()).await;
    visibility_expiry_redelivers_with_a_new_receipt(&make()).await;
    delays_hide_new_messages(&make()).await;
    deletes_follow_receipts(&make()).await;
    visibility_changes_need_the_current_receipt(&make()).await;
    purge_removes_everything(&make()).await;
    retention_drops_old_messages(&make()).await;
    operations_on_deleted_queues_fail(&make()).await;
    dead_letter_moves_after_max_receives(&make()).await;
    fifo_groups_deliver_in_order_and_block_while_in_flight(&make()).await;
    fifo_deduplication_within_the_window(&make()).await;
    fifo_groups_visible_again_go_behind_untouched_groups(&make()).await;
    one_receive_never_returns_a_message_twice(&make()).await;
    a_purge_forgets_deduplication_ids_and_sequence_numbers_start_above_zero(&make()).await;
    ids_seen_queue_wide_still_deduplicate_after_a_switch_to_group_scope(&make()).await;
    clear_forgets_every_queue_and_name(&make()).await;
}

/// A reset: every queue and message is gone, a deleted name may be used again at once, and
/// new queues and messages get identifiers above the old ones.
pub async fn clear_forgets_every_queue_and_name(store: &dyn QueueStore) {
    let kept = create(store, "before").await;
    let sent = store.send(kept.id, vec![message("old", T0, 0)], T0).await.expect("send");
    let doomed = create(store, "deleted").await;
    assert!(store.delete_queue(&doomed.key, T0).await.expect("delete"));
    store.clear().await.expect("clear");
    assert!(store.all_queues().await.expect("all").is_empty(), "clear: no queue left");
    assert!(store.queue(&key("before")).await.expect("queue").is_none(), "clear: the queue is gone");
    let again = create(store, "deleted").await;
    assert!(again.id.0 > doomed.id.0, "clear: queue ids keep counting up");
    let resent = store.send(again.id, vec![message("new", T0, 0)], T0).await.expect("send");
    match (&sent[0], &resent[0]) {
        (SendOutcome::Enqueued(old), SendOutcome::Enqueued(new)) => {
            assert!(new > old, "clear: sequence numbers keep counting up")
        }
        other => panic!("clear: expected two enqueued messages, got {other:?}"),
    }
    let received = store.receive(again.id, receive_at(T0, 10, 30_000)).await.expect("receive");
    assert_eq!(bodies(&received), vec!["new"], "clear: only what came after");
}

/// A FIFO message of `group` with deduplication id `dedup`.
pub fn fifo_message(body: &str, group: &str, dedup: &str, now: EpochMillis) -> NewMessage {
    let mut new_message = message(body, now, 0);
    let mut data = MessageData::clone(&new_message.data);
    data.message_id = *uuid_like(now, &format!("{group}{dedup}{body}"));
    data.group = Some(Box::new(GroupFields { group_id: group.into(), deduplication_id: Some(dedup.into()) }));
    new_message.data = Arc::new(data);
    new_message
}

/// Creates a FIFO queue `name` (which must end in `.fifo`).
pub async fn create_fifo(store: &dyn QueueStore, name: &str, scope: Option<&str>) -> QueueRecord {
    let settings =
        QueueSettings { fifo_queue: true, deduplication_scope: scope.map(str::to_owned), ..QueueSettings::default() };
    let new_queue = NewQueue { key: key(name), settings, tags: BTreeMap::new(), now: T0 };
    match store.create_queue(new_queue, 60_000).await.expect("create") {
        CreateOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn queues_are_created_listed_updated_and_deleted(store: &dyn QueueStore) {
    let alpha = create(store, "alpha").await;
    create(store, "beta").await;
    create(store, "alpine").await;
    let again = NewQueue { key: key("alpha"), settings: QueueSettings::default(), tags: BTreeMap::new(), now: T0 + 5 };
    match store.create_queue(again, 60_000).await.expect("create again") {
        CreateOutcome::Exists(record) => assert_eq!(record.id, alpha.id),
        other => panic!("expected Exists, got {other:?}"),
    }
    let account = key("x").account;
    let region = key("x").region;
    let names: Vec<String> = store
        .list_queues(&account, &region, "al")
        .await
        .expect("list")
        .into_iter()
        .map(|record| record.key.name.to_string())
        .collect();
    assert_eq!(names, ["alpha", "alpine"]);

    let mut changed = alpha.clone();
    changed.settings.visibility_timeout = 99;
    let stored = store.update_queue(changed.clone()).await.expect("update");
    assert_eq!(stored.version, alpha.version + 1);
    assert!(
        matches!(store.update_queue(changed).await, Err(crate::StoreError::Conflict)),
        "stale update must conflict"
    );
    let read = store.queue(&key("alpha")).await.expect("read").expect("exists");
    assert_eq!(read.settings.visibility_timeout, 99);

    assert!(store.delete_queue(&key("alpha"), T0 + 10).await.expect("delete"));
    assert!(!store.delete_queue(&key("alpha"), T0 + 11).await.expect("delete twice"));
    assert!(store.queue(&key("alpha")).await.expect("read").is_none());
}

async fn deleted_names_wait_before_reuse(store: &dyn QueueStore) {
    create(store, "reuse").await;
    store.delete_queue(&key("reuse"), T0 + 1_000).await.expect("delete");
    let soon =
        NewQueue { key: key("reuse"), settings: QueueSettings::default(), tags: BTreeMap::new(), now: T0 + 30_000 };
    assert!(matches!(store.create_queue(soon, 60_000).await.expect("create"), CreateOutcome::DeletedRecently));
    let later =
        NewQueue { key: key("reuse"), settings: QueueSettings::default(), tags: BTreeMap::new(), now: T0 + 61_000 };
    assert!(matches!(store.create_queue(later, 60_000).await.expect("create"), CreateOutcome::Created(_)));
}

async fn messages_come_back_oldest_first_and_hide_while_in_flight(store: &dyn QueueStore) {
    let queue = create(store, "order").await;
    let batch = (0..5).map(|idx| message(&format!("m{idx}"), T0, 0)).collect();
    let outcomes = store.send(queue.id, batch, T0).await.expect("send");
    let seqs: Vec<MessageSeq> = outcomes.iter().map(|outcome| outcome.seq()).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "sequence numbers increase");
    let first = store.receive(queue.id, receive_at(T0, 3, 30_000)).await.expect("receive");
    assert_eq!(bodies(&first), ["m0", "m1", "m2"]);
    assert!(first.messages.iter().all(|delivery| delivery.receive_count == 1 && delivery.first_receive_ms == T0));
    let second = store.receive(queue.id, receive_at(T0 + 1, 10, 30_000)).await.expect("receive");
    assert_eq!(bodies(&second), ["m3", "m4"]);
    let third = store.receive(queue.id, receive_at(T0 + 2, 10, 30_000)).await.expect("receive");
    assert!(third.messages.is_empty());
    assert_eq!(third.next_visible_at, Some(T0 + 30_000));
    let stats = store.stats(queue.id, T0 + 2).await.expect("stats");
    assert_eq!((stats.visible, stats.in_flight, stats.delayed), (0, 5, 0));
    assert_eq!(stats.oldest_sent_ms, Some(T0), "in-flight messages are still in the queue");
    let empty = create(store, "empty").await;
    assert_eq!(store.stats(empty.id, T0).await.expect("stats").oldest_sent_ms, None);
}

async fn visibility_expiry_redelivers_with_a_new_receipt(store: &dyn QueueStore) {
    let queue = create(store, "expiry").await;
    store.send(queue.id, vec![message("once", T0, 0)], T0).await.expect("send");
    let first = store.receive(queue.id, receive_at(T0, 1, 1_000)).await.expect("receive");
    let early = store.receive(queue.id, receive_at(T0 + 999, 1, 1_000)).await.expect("receive");
    assert!(early.messages.is_empty(), "hidden until the timeout ends");
    let again = store.receive(queue.id, receive_at(T0 + 1_000, 1, 1_000)).await.expect("receive");
    assert_eq!(bodies(&again), ["once"]);
    assert_eq!(again.messages[0].receive_count, 2);
    assert_eq!(again.messages[0].first_receive_ms, T0, "first receive is kept");
    assert_ne!(again.messages[0].receipt, first.messages[0].receipt, "every receive has a new receipt");
}

async fn delays_hide_new_messages(store: &dyn QueueStore) {
    let queue = create(store, "delay").await;
    store.send(queue.id, vec![message("late", T0, 5_000)], T0).await.expect("send");
    let stats = store.stats(queue.id, T0).await.expect("stats");
    assert_eq!((stats.visible, stats.in_flight, stats.delayed), (0, 0, 1));
    let early = store.receive(queue.id, receive_at(T0 + 4_999, 1, 1_000)).await.expect("receive");
    assert!(early.messages.is_empty());
    assert_eq!(early.next_visible_at, Some(T0 + 5_000));
    let due = store.receive(queue.id, receive_at(T0 + 5_000, 1, 1_000)).await.expect("receive");
    assert_eq!(bodies(&due), ["late"]);
}

async fn deletes_follow_receipts(store: &dyn QueueStore) {
    let queue = create(store, "deletes").await;
    store.send(queue.id, vec![message("a", T0, 0), message("b", T0, 0)], T0).await.expect("send");
    let got = store.receive(queue.id, receive_at(T0, 2, 1_000)).await.expect("receive");
    let receipt_a = got.messages[0].receipt;
    let receipt_b = got.messages[1].receipt;
    let outcome = store.delete(queue.id, vec![receipt_a, receipt_a], T0 + 1).await.expect("delete");
    assert_eq!(outcome, [DeleteOutcome::Deleted, DeleteOutcome::Gone]);
    // b expires back to visible and is received by someone else: the old receipt may not delete it.
    let other = store.receive(queue.id, receive_at(T0 + 1_000, 1, 1_000)).await.expect("receive");
    assert_eq!(bodies(&other), ["b"]);
    let stale = store.delete(queue.id, vec![receipt_b], T0 + 1_001).await.expect("delete");
    assert_eq!(stale, [DeleteOutcome::HeldByAnother]);
    // Once visible again and held by nobody, the stale receipt deletes it.
    let late = store.delete(queue.id, vec![receipt_b], T0 + 2_000).await.expect("delete");
    assert_eq!(late, [DeleteOutcome::Deleted]);
    assert_eq!(store.stats(queue.id, T0 + 2_000).await.expect("stats"), QueueStats::default());
}

async fn visibility_changes_need_the_current_receipt(store: &dyn QueueStore) {
    let queue = create(store, "changes").await;
    store.send(queue.id, vec![message("c", T0, 0)], T0).await.expect("send");
    let got = store.receive(queue.id, receive_at(T0, 1, 1_000)).await.expect("receive");
    let receipt = got.messages[0].receipt;
    let wrong = Receipt { seq: receipt.seq, token: receipt.token ^ 2 };
    let outcome =
        store.change_visibility(queue.id, vec![(receipt, 10_000), (wrong, 0)], T0 + 500).await.expect("change");
    assert_eq!(outcome, [ChangeOutcome::Changed, ChangeOutcome::NotInFlight]);
    let hidden = store.receive(queue.id, receive_at(T0 + 5_000, 1, 1_000)).await.expect("receive");
    assert!(hidden.messages.is_empty(), "the timeout counts from the change");
    store.change_visibility(queue.id, vec![(receipt, 0)], T0 + 6_000).await.expect("change");
    let visible = store.receive(queue.id, receive_at(T0 + 6_000, 1, 1_000)).await.expect("receive");
    assert_eq!(bodies(&visible), ["c"]);
    let gone = Receipt { seq: receipt.seq + 1_000, token: 1 };
    let outcome = store.change_visibility(queue.id, vec![(gone, 0)], T0 + 6_001).await.expect("change");
    assert_eq!(outcome, [ChangeOutcome::Gone]);
}

async fn purge_removes_everything(store: &dyn QueueStore) {
    let queue = create(store, "purge").await;
    store.send(queue.id, vec![message("a", T0, 0), message("b", T0, 60_000)], T0).await.expect("send");
    store.receive(queue.id, receive_at(T0, 1, 1_000)).await.expect("receive");
    store.purge(queue.id, T0 + 1).await.expect("purge");
    assert_eq!(store.stats(queue.id, T0 + 1).await.expect("stats"), QueueStats::default());
    let record = store.queue(&key("purge")).await.expect("read").expect("exists");
    assert_eq!(record.last_purge_ms, Some(T0 + 1));
    store.send(queue.id, vec![message("after", T0 + 2, 0)], T0 + 2).await.expect("send");
    let got = store.receive(queue.id, receive_at(T0 + 2, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&got), ["after"]);
}

async fn retention_drops_old_messages(store: &dyn QueueStore) {
    let mut queue = create(store, "retention").await;
    queue.settings.message_retention_period = 60;
    let queue = store.update_queue(queue).await.expect("update");
    store.send(queue.id, vec![message("old", T0, 0)], T0).await.expect("send");
    store.send(queue.id, vec![message("new", T0 + 30_000, 0)], T0 + 30_000).await.expect("send");
    let got = store.receive(queue.id, receive_at(T0 + 60_000, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&got), ["new"], "a message past retention is never delivered");
    assert_eq!(store.expire(T0 + 90_000).await.expect("expire"), 1);
    assert_eq!(store.stats(queue.id, T0 + 90_000).await.expect("stats"), QueueStats::default());
}

async fn dead_letter_moves_after_max_receives(store: &dyn QueueStore) {
    let dead = create(store, "dead").await;
    let mut source = create(store, "source").await;
    source.settings.dead_letter = Some(DeadLetter { target_arn: dead.key.arn(), max_receive_count: 2 });
    let source = store.update_queue(source).await.expect("update");
    store.send(source.id, vec![message("poison", T0, 0)], T0).await.expect("send");
    let first = store.receive(source.id, receive_at(T0, 1, 0)).await.expect("receive");
    let second = store.receive(source.id, receive_at(T0 + 1, 1, 0)).await.expect("receive");
    assert_eq!(second.messages[0].receive_count, 2, "delivered up to maxReceiveCount times");
    let third = store.receive(source.id, receive_at(T0 + 2, 1, 0)).await.expect("receive");
    assert!(third.messages.is_empty(), "the next receive moves it instead");
    assert_eq!(third.dead_lettered_to, Some(dead.id));
    assert_eq!(store.stats(source.id, T0 + 2).await.expect("stats"), QueueStats::default());
    let moved = store.receive(dead.id, receive_at(T0 + 3, 1, 1_000)).await.expect("receive");
    let delivery = &moved.messages[0];
    assert_eq!(delivery.data.body.as_ref(), "poison");
    assert_eq!(delivery.data.message_id, first.messages[0].data.message_id, "same message id");
    assert_eq!(delivery.receive_count, 3, "the count goes along: one more than the last receive on the source");
    assert_eq!(delivery.data.sent_ms, T0, "a standard queue keeps the enqueue time");
    assert_eq!(delivery.data.dead_letter_source.as_deref(), Some(source.key.arn().as_str()));
}

async fn fifo_groups_deliver_in_order_and_block_while_in_flight(store: &dyn QueueStore) {
    let queue = create_fifo(store, "orders.fifo", None).await;
    let batch = vec![
        fifo_message("a1", "A", "1", T0),
        fifo_message("a2", "A", "2", T0),
        fifo_message("b1", "B", "3", T0),
        fifo_message("a3", "A", "4", T0),
    ];
    store.send(queue.id, batch, T0).await.expect("send");
    let first = store.receive(queue.id, receive_at(T0, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&first), ["a1", "a2", "a3", "b1"], "one group as far as it goes, then the next");
    let receipt =
        |body: &str| first.messages.iter().find(|delivery| &*delivery.data.body == body).expect("claimed").receipt;
    assert!(store.receive(queue.id, receive_at(T0 + 1, 10, 1_000)).await.expect("receive").messages.is_empty());

    store.delete(queue.id, vec![receipt("a1")], T0 + 2).await.expect("delete");
    store.change_visibility(queue.id, vec![(receipt("a2"), 0)], T0 + 2).await.expect("change");
    let before = store.receive(queue.id, receive_at(T0 + 3, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&before), ["a2"], "blocking is by order: a2 comes before the in-flight a3");
    assert!(store.receive(queue.id, receive_at(T0 + 4, 10, 1_000)).await.expect("receive").messages.is_empty());
    let expired = store.receive(queue.id, receive_at(T0 + 1_000, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&expired), ["b1"], "a3 is visible again but waits behind the in-flight a2");
    assert_eq!(expired.messages[0].receive_count, 2);
}

/// A group whose messages became visible again goes behind groups never received, and a
/// receive still fills up from the other groups.
async fn fifo_groups_visible_again_go_behind_untouched_groups(store: &dyn QueueStore) {
    let queue = create_fifo(store, "turns.fifo", None).await;
    store
        .send(queue.id, vec![fifo_message("a1", "A", "1", T0), fifo_message("a2", "A", "2", T0)], T0)
        .await
        .expect("send");
    store.send(queue.id, vec![fifo_message("b1", "B", "3", T0 + 1)], T0 + 1).await.expect("send");
    let first = store.receive(queue.id, receive_at(T0 + 2, 1, 0)).await.expect("receive");
    assert_eq!(bodies(&first), ["a1"]);
    let second = store.receive(queue.id, receive_at(T0 + 2, 1, 0)).await.expect("receive");
    assert_eq!(bodies(&second), ["b1"], "the untouched group B first, though A's head is older");
    let third = store.receive(queue.id, receive_at(T0 + 3, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&third), ["a1", "a2", "b1"], "both visible again at the same instant: the older head first");
}

async fn fifo_deduplication_within_the_window(store: &dyn QueueStore) {
    let queue = create_fifo(store, "dedup.fifo", None).await;
    let outcomes = store
        .send(queue.id, vec![fifo_message("x", "G", "same", T0), fifo_message("y", "H", "same", T0)], T0)
        .await
        .expect("send");
    let SendOutcome::Enqueued(seq) = outcomes[0] else { panic!("first is enqueued: {outcomes:?}") };
    assert!(matches!(outcomes[1], SendOutcome::Duplicate { seq: original, .. } if original == seq), "{outcomes:?}");
    let later = T0 + DEDUPLICATION_WINDOW_MS;
    let after = store.send(queue.id, vec![fifo_message("z", "G", "same", later)], later).await.expect("send");
    assert!(matches!(after[0], SendOutcome::Enqueued(_)), "the window is over");

    let scoped = create_fifo(store, "scoped.fifo", Some("messageGroup")).await;
    let outcomes = store
        .send(scoped.id, vec![fifo_message("x", "G", "same", T0), fifo_message("y", "H", "same", T0)], T0)
        .await
        .expect("send");
    assert!(outcomes.iter().all(|outcome| matches!(outcome, SendOutcome::Enqueued(_))), "per-group scope");
}

async fn operations_on_deleted_queues_fail(store: &dyn QueueStore) {
    let queue = create(store, "gone").await;
    store.delete_queue(&key("gone"), T0).await.expect("delete");
    assert!(store.send(queue.id, vec![message("x", T0, 0)], T0).await.is_err());
    assert!(store.receive(queue.id, receive_at(T0, 1, 0)).await.is_err());
    assert!(store.stats(queue.id, T0).await.is_err());
}

/// With a visibility timeout of 0 a claimed message is visible again at once; the same receive
/// still takes each message at most once, and fills up from the others.
async fn one_receive_never_returns_a_message_twice(store: &dyn QueueStore) {
    let queue = create(store, "zero").await;
    store.send(queue.id, vec![message("a", T0, 0), message("b", T0, 0)], T0).await.expect("send");
    let first = store.receive(queue.id, receive_at(T0, 10, 0)).await.expect("receive");
    assert_eq!(bodies(&first), ["a", "b"], "each message once");
    let again = store.receive(queue.id, receive_at(T0, 10, 0)).await.expect("receive");
    assert_eq!(bodies(&again), ["a", "b"], "visible again at once");
    assert_eq!(again.messages[0].receive_count, 2);

    let fifo = create_fifo(store, "zero.fifo", None).await;
    let batch = vec![
        fifo_message("g1-m1", "g1", "1", T0),
        fifo_message("g1-m2", "g1", "2", T0),
        fifo_message("g2-m1", "g2", "3", T0),
    ];
    store.send(fifo.id, batch, T0).await.expect("send");
    let first = store.receive(fifo.id, receive_at(T0, 10, 0)).await.expect("receive");
    assert_eq!(bodies(&first), ["g1-m1", "g1-m2", "g2-m1"], "each message once, every group served");
    let again = store.receive(fifo.id, receive_at(T0, 10, 0)).await.expect("receive");
    assert_eq!(again.messages.len(), 3, "all visible again: {:?}", bodies(&again));
}

async fn a_purge_forgets_deduplication_ids_and_sequence_numbers_start_above_zero(store: &dyn QueueStore) {
    let fifo = create_fifo(store, "purged.fifo", None).await;
    let sent = store.send(fifo.id, vec![fifo_message("x", "G", "once", T0)], T0).await.expect("send");
    let SendOutcome::Enqueued(seq) = sent[0] else { panic!("enqueued: {sent:?}") };
    assert!(seq > 0, "the first sequence number of a fresh store is not zero");
    store.purge(fifo.id, T0 + 1).await.expect("purge");
    let again = store.send(fifo.id, vec![fifo_message("x", "G", "once", T0 + 2)], T0 + 2).await.expect("send");
    assert!(matches!(again[0], SendOutcome::Enqueued(_)), "a re-send after a purge is enqueued: {again:?}");
    let got = store.receive(fifo.id, receive_at(T0 + 3, 10, 1_000)).await.expect("receive");
    assert_eq!(bodies(&got), ["x"]);
}

async fn ids_seen_queue_wide_still_deduplicate_after_a_switch_to_group_scope(store: &dyn QueueStore) {
    let mut queue = create_fifo(store, "switch.fifo", None).await;
    store.send(queue.id, vec![fifo_message("x", "G", "same", T0)], T0).await.expect("send");
    queue.settings.deduplication_scope = Some("messageGroup".into());
    let queue = store.update_queue(queue).await.expect("update");
    let other_group = store.send(queue.id, vec![fifo_message("y", "H", "same", T0 + 1)], T0 + 1).await.expect("send");
    assert!(matches!(other_group[0], SendOutcome::Duplicate { .. }), "seen queue-wide: {other_group:?}");
    let later = T0 + DEDUPLICATION_WINDOW_MS;
    let aged = store.send(queue.id, vec![fifo_message("z", "H", "same", later)], later).await.expect("send");
    assert!(matches!(aged[0], SendOutcome::Enqueued(_)), "aged out: {aged:?}");
}

/// Polls a future to completion without a reactor: the memory store's futures never wait on
/// IO, so the suites need no runtime for it.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::memory::MemoryStore;

    #[test]
    fn memory_store_conforms() {
        super::block_on(super::run_all(MemoryStore::new));
    }
}
