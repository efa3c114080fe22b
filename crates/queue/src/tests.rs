//! Engine tests over the in-memory store with a manual clock.

use super::*;
use wharf_store::memory::MemoryStore;
use wharf_types::ManualClock;

const T0: EpochMillis = 1_700_000_000_000;

fn engine() -> (Arc<Engine>, ManualClock) {
    let clock = ManualClock::new(T0);
    let engine = Engine::new(Arc::new(MemoryStore::new()), Arc::new(clock.clone()), EngineConfig::default());
    (Arc::new(engine), clock)
}

fn caller() -> Caller {
    Caller {
        account: "000000000000".parse().unwrap(),
        region: "us-east-1".parse().unwrap(),
        sender_id: Arc::from("AIDATEST"),
    }
}

fn key(name: &str) -> QueueKey {
    wharf_store::conformance::key(name)
}

fn send_input(body: &str) -> SendInput {
    SendInput { body: body.into(), ..SendInput::default() }
}

#[tokio::test]
async fn send_receive_delete_round_trip() {
    let (engine, _) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    let sent = engine.send(&key("q"), &caller(), send_input("hello")).await.unwrap();
    assert_eq!(sent.body_md5, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(sent.attributes_md5, None);
    let input = ReceiveInput { system_attribute_names: vec!["All".into()], ..ReceiveInput::default() };
    let got = engine.receive(&key("q"), input).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(&*got[0].data.body, "hello");
    let names: Vec<&str> = got[0].attributes.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp"]);
    engine.delete(&key("q"), &got[0].receipt_handle).await.unwrap();
    let stats = engine
        .get_attributes(
            &key("q"),
            &["ApproximateNumberOfMessages".into(), "ApproximateNumberOfMessagesNotVisible".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        stats,
        [
            ("ApproximateNumberOfMessages".to_string(), "0".to_string()),
            ("ApproximateNumberOfMessagesNotVisible".to_string(), "0".to_string())
        ]
    );
}

#[tokio::test]
async fn create_is_idempotent_only_for_equal_attributes() {
    let (engine, _) = engine();
    let attrs: BTreeMap<String, String> = [("VisibilityTimeout".to_string(), "40".to_string())].into();
    let first = engine.create_queue(key("q"), attrs.clone(), BTreeMap::new()).await.unwrap();
    let again = engine.create_queue(key("q"), attrs, BTreeMap::new()).await.unwrap();
    assert_eq!(first.id, again.id);
    let other: BTreeMap<String, String> = [("VisibilityTimeout".to_string(), "41".to_string())].into();
    let err = engine.create_queue(key("q"), other, BTreeMap::new()).await.unwrap_err();
    assert_eq!(err, QueueError::QueueNameExists("VisibilityTimeout".into()));
    engine
        .create_queue(key("q"), BTreeMap::new(), BTreeMap::new())
        .await
        .expect("no attributes given: nothing to differ");
}

#[tokio::test]
async fn long_poll_wakes_on_send() {
    let (engine, _) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    let receiver = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let input = ReceiveInput { wait_time_seconds: Some(20), ..ReceiveInput::default() };
            let got = engine.receive(&key("q"), input).await.unwrap();
            (got.len(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    engine.send(&key("q"), &caller(), send_input("wake")).await.unwrap();
    let (count, elapsed) = receiver.await.unwrap();
    assert_eq!(count, 1);
    assert!(elapsed < Duration::from_secs(5), "woken by the send, not the deadline: {elapsed:?}");
}

#[tokio::test]
async fn long_poll_returns_empty_at_shutdown() {
    let (engine, _) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    let receiver = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move {
            engine.receive(&key("q"), ReceiveInput { wait_time_seconds: Some(20), ..ReceiveInput::default() }).await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    engine.shut_down();
    assert!(receiver.await.unwrap().unwrap().is_empty());
}

#[tokio::test]
async fn receive_selects_attributes_and_digests_the_selection() {
    let (engine, _) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    let attribute = |name: &str| AttributeInput {
        name: name.into(),
        data_type: Some("String".into()),
        string_value: Some("v".into()),
        binary_value: None,
    };
    let input = SendInput {
        attributes: vec![attribute("app.one"), attribute("app.two"), attribute("other")],
        ..send_input("x")
    };
    let sent = engine.send(&key("q"), &caller(), input).await.unwrap();
    let receive = ReceiveInput { message_attribute_names: vec!["app.*".into()], ..ReceiveInput::default() };
    let got = engine.receive(&key("q"), receive).await.unwrap();
    let names: Vec<&str> = got[0].message_attributes().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names, ["app.one", "app.two"]);
    let subset: Vec<MessageAttribute> = got[0].message_attributes().cloned().collect();
    assert_eq!(got[0].selected_attributes_md5, Some(digest::attributes_md5(&subset)));
    assert_ne!(
        got[0].selected_attributes_md5.map(hex::encode),
        sent.attributes_md5,
        "digest covers only the selection"
    );
}

#[tokio::test]
async fn handles_are_bound_to_their_queue_and_validated() {
    let (engine, clock) = engine();
    engine.create_queue(key("a"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    engine.create_queue(key("b"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    engine.send(&key("a"), &caller(), send_input("x")).await.unwrap();
    let got = engine.receive(&key("a"), ReceiveInput::default()).await.unwrap();
    let handle = &got[0].receipt_handle;
    assert!(matches!(engine.delete(&key("b"), handle).await, Err(QueueError::ReceiptHandleIsInvalid(_))));
    assert!(matches!(engine.delete(&key("a"), "garbage").await, Err(QueueError::ReceiptHandleIsInvalid(_))));
    engine.change_visibility(&key("a"), handle, 100).await.unwrap();
    clock.advance(101_000);
    // A standard queue accepts a handle whose visibility ended, as recorded on SQS.
    assert_eq!(engine.change_visibility(&key("a"), handle, 5).await, Ok(()));
    assert!(matches!(
        engine.change_visibility(&key("a"), handle, 43_201).await,
        Err(QueueError::InvalidParameterValue(_))
    ));
}

#[tokio::test]
async fn visibility_changes_stop_twelve_hours_after_the_receive() {
    let (engine, clock) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    engine.send(&key("q"), &caller(), send_input("x")).await.unwrap();
    let input = ReceiveInput { visibility_timeout: Some(43_200), ..ReceiveInput::default() };
    let got = engine.receive(&key("q"), input).await.unwrap();
    let handle = &got[0].receipt_handle;
    clock.advance(3_600_000);
    engine.change_visibility(&key("q"), handle, 39_600).await.expect("exactly 12 hours after the receive");
    let err = engine.change_visibility(&key("q"), handle, 39_601).await.unwrap_err();
    assert!(err.to_string().contains("Total VisibilityTimeout"), "{err}");
}

#[tokio::test]
async fn purge_is_limited_to_once_a_minute() {
    let (engine, clock) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    engine.purge(&key("q")).await.unwrap();
    assert!(matches!(engine.purge(&key("q")).await, Err(QueueError::PurgeQueueInProgress(_))));
    clock.advance(60_000);
    engine.purge(&key("q")).await.unwrap();
}

#[tokio::test]
async fn batch_rules() {
    let (engine, _) = engine();
    engine.create_queue(key("q"), BTreeMap::new(), BTreeMap::new()).await.unwrap();
    let entry = |id: &str, body: &str| (id.to_string(), Ok(send_input(body)));
    assert!(matches!(engine.send_batch(&key("q"), &caller(), vec![]).await, Err(QueueError::EmptyBatchRequest(_))));
    let eleven = (0..11).map(|idx| entry(&format!("e{idx}"), "x")).collect();
    assert_eq!(
        engine.send_batch(&key("q"), &caller(), eleven).await.unwrap_err(),
        QueueError::TooManyEntriesInBatchRequest(11)
    );
    let twins = vec![entry("a", "x"), entry("a", "y")];
    assert_eq!(
        engine.send_batch(&key("q"), &caller(), twins).await.unwrap_err(),
        QueueError::BatchEntryIdsNotDistinct("a".into())
    );
    assert_eq!(
        engine.send_batch(&key("q"), &caller(), vec![entry("a b", "x")]).await.unwrap_err(),
        QueueError::InvalidBatchEntryId
    );
    let big = "x".repeat(600_000);
    let too_long = vec![entry("a", &big), entry("b", &big)];
    assert!(matches!(
        engine.send_batch(&key("q"), &caller(), too_long).await,
        Err(QueueError::BatchRequestTooLong { .. })
    ));
    let mixed = vec![entry("good", "x"), entry("bad", "\u{1}")];
    let outcomes = engine.send_batch(&key("q"), &caller(), mixed).await.unwrap();
    assert!(outcomes[0].1.is_ok());
    assert!(matches!(outcomes[1].1, Err(QueueError::InvalidMessageContents(_))));
}
