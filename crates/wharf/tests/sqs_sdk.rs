//! Black-box tests of the SQS API through the official Rust SDK (awsJson1_0).

mod common;

use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use common::Wharf;
use md5::{Digest, Md5};
use std::collections::HashSet;
use std::time::{Duration, Instant};

async fn queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client.create_queue().queue_name(name).send().await.expect("create queue").queue_url.expect("url")
}

/// The seed's producer and consumer, in its style: a queue URL with a real AWS host, a
/// receive of up to ten with every system attribute, and a delete by receipt handle.
#[tokio::test]
async fn seed_style_send_receive_delete() {
    let wharf = Wharf::start();
    let sqs = wharf.sqs("ap-northeast-2");
    queue(&sqs, "sqs-test-1").await;
    let queue_url = "https://sqs.ap-northeast-2.amazonaws.com/000000000000/sqs-test-1";
    let body = r#"{"job": "resize", "note": "메시지 내용"}"#;
    let sent = sqs.send_message().queue_url(queue_url).message_body(body).send().await.expect("send");
    assert_eq!(sent.md5_of_message_body(), Some(hex::encode(Md5::digest(body.as_bytes())).as_str()));
    assert!(sent.md5_of_message_attributes().is_none(), "no attributes, no digest");

    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let messages = received.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.body(), Some(body));
    assert_eq!(message.message_id(), sent.message_id());
    let attributes = message.attributes().expect("attributes");
    assert_eq!(attributes[&MessageSystemAttributeName::ApproximateReceiveCount], "1");
    // The principal id of the root credentials (the account id), not the access key id.
    assert_eq!(attributes[&MessageSystemAttributeName::SenderId], "000000000000");
    assert!(attributes.contains_key(&MessageSystemAttributeName::SentTimestamp));
    assert!(attributes.contains_key(&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp));

    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(message.receipt_handle().expect("handle"))
        .send()
        .await
        .expect("delete");
    let counts = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attributes");
    let counts = counts.attributes().expect("attributes");
    assert_eq!(counts[&QueueAttributeName::ApproximateNumberOfMessages], "0");
    assert_eq!(counts[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible], "0");
    assert_eq!(counts[&QueueAttributeName::QueueArn], "arn:aws:sqs:ap-northeast-2:000000000000:sqs-test-1");
}

#[tokio::test]
async fn queues_live_per_region() {
    let wharf = Wharf::start();
    let seoul = wharf.sqs("ap-northeast-2");
    let virginia = wharf.sqs("us-east-1");
    queue(&seoul, "regional").await;
    let err = virginia.get_queue_url().queue_name("regional").send().await.expect_err("other region");
    assert!(err.into_service_error().is_queue_does_not_exist());
    let listed = seoul.list_queues().send().await.expect("list");
    assert_eq!(listed.queue_urls().len(), 1);
    assert!(listed.queue_urls()[0].starts_with(&wharf.endpoint), "URLs name the host the client used");
}

#[tokio::test]
async fn attributes_round_trip_with_the_digest_the_sdk_expects() {
    let wharf = Wharf::start();
    let sqs = wharf.sqs("us-east-1");
    let url = queue(&sqs, "attrs").await;
    let string = MessageAttributeValue::builder().data_type("String").string_value("v1").build().expect("attr");
    let number = MessageAttributeValue::builder().data_type("Number.float").string_value("3.14").build().expect("attr");
    let binary = MessageAttributeValue::builder()
        .data_type("Binary")
        .binary_value(aws_sdk_sqs::primitives::Blob::new(vec![0u8, 1, 2, 255]))
        .build()
        .expect("attr");
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("with attributes")
        .message_attributes("s", string)
        .message_attributes("n", number)
        .message_attributes("b", binary)
        .send()
        .await
        .expect("send");
    // Recompute the documented digest: attributes sorted by name, length-prefixed fields.
    let mut hasher = Md5::new();
    let field = |hasher: &mut Md5, bytes: &[u8]| {
        hasher.update((bytes.len() as u32).to_be_bytes());
        hasher.update(bytes);
    };
    field(&mut hasher, b"b");
    field(&mut hasher, b"Binary");
    hasher.update([2]);
    field(&mut hasher, &[0, 1, 2, 255]);
    field(&mut hasher, b"n");
    field(&mut hasher, b"Number.float");
    hasher.update([1]);
    field(&mut hasher, b"3.14");
    field(&mut hasher, b"s");
    field(&mut hasher, b"String");
    hasher.update([1]);
    field(&mut hasher, b"v1");
    assert_eq!(sent.md5_of_message_attributes(), Some(hex::encode(hasher.finalize()).as_str()));

    let received = sqs.receive_message().queue_url(&url).message_attribute_names("All").send().await.expect("receive");
    let message = &received.messages()[0];
    assert_eq!(message.md5_of_message_attributes(), sent.md5_of_message_attributes());
    let attributes = message.message_attributes().expect("attributes");
    assert_eq!(attributes["b"].binary_value().map(|blob| blob.as_ref()), Some(&[0u8, 1, 2, 255][..]));
    assert_eq!(attributes["n"].data_type(), "Number.float");
}

/// A waiting receive returns as soon as a message arrives, not at its deadline.
#[tokio::test]
async fn long_poll_wakes_on_send() {
    let wharf = Wharf::start();
    let sqs = wharf.sqs("us-east-1");
    let url = queue(&sqs, "long-poll").await;
    let waiter = {
        let sqs = sqs.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let received = sqs.receive_message().queue_url(&url).wait_time_seconds(20).send().await.expect("receive");
            (received.messages().len(), Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    sqs.send_message().queue_url(&url).message_body("wake up").send().await.expect("send");
    let (count, received_at) = waiter.await.expect("join");
    assert_eq!(count, 1);
    assert!(received_at.duration_since(sent_at) < Duration::from_secs(2), "woken by the send");

    let started = Instant::now();
    let empty = sqs.receive_message().queue_url(&url).wait_time_seconds(1).send().await.expect("receive");
    assert!(empty.messages().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(950), "an empty long poll waits its full time");
}

#[tokio::test]
async fn visibility_expiry_redelivers_with_rising_receive_count() {
    let wharf = Wharf::start();
    let sqs = wharf.sqs("us-east-1");
    let url = queue(&sqs, "visibility").await;
    sqs.send_message().queue_url(&url).message_body("again").send().await.expect("send");
    let first = sqs.receive_message().queue_url(&url).visibility_timeout(1).send().await.expect("receive");
    let first_handle = first.messages()[0].receipt_handle().expect("handle").to_owned();
    let hidden = sqs.receive_message().queue_url(&url).send().await.expect("receive");
    assert!(hidden.messages().is_empty(), "in flight");
    let second = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .expect("receive");
    let message = &second.messages()[0];
    assert_eq!(message.attributes().expect("attributes")[&MessageSystemAttributeName::ApproximateReceiveCount], "2");
    assert_ne!(message.receipt_handle(), Some(first_handle.as_str()), "a new handle on every receive");
}

#[tokio::test]
async fn batches_report_per_entry_outcomes() {
    let wharf = Wharf::start();
    let sqs = wharf.sqs("us-east-1");
    let url = queue(&sqs, "batches").await;
    let entry = |id: &str, body: &str| {
        SendMessageBatchRequestEntry::builder().id(id).message_body(body).build().expect("entry")
    };
    let sent = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("good", "fine"))
        .entries(entry("bad", "bell \u{7}"))
        .send()
        .await
        .expect("batch");
    assert_eq!(sent.successful().len(), 1);
    assert_eq!(sent.failed().len(), 1);
    assert_eq!(sent.failed()[0].id(), "bad");
    assert_eq!(sent.failed()[0].code(), "InvalidMessageContents");
    assert!(sent.failed()[0].sender_fault());

    let duplicate =
        sqs.send_message_batch().queue_url(&url).entries(entry("a", "x")).entries(entry("a", "y")).send().await;
    assert!(duplicate.expect_err("duplicate ids").into_service_error().is_batch_entry_ids_not_distinct());
}

/// Every send that was answered survives a SIGKILL of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sends_survive_kill_9() {
    let mut wharf = Wharf::start();
    let sqs = wharf.sqs("us-east-1");
    let url = queue(&sqs, "durable").await;
    let deadline = Instant::now() + Duration::from_millis(700);
    let mut producers = Vec::new();
    for producer in 0..8 {
        let sqs = sqs.clone();
        let url = url.clone();
        producers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut idx = 0;
            loop {
                let result = sqs.send_message().queue_url(&url).message_body(format!("{producer}-{idx}")).send().await;
                match result {
                    Ok(output) => acknowledged.push(output.message_id().expect("id").to_owned()),
                    Err(_) => return acknowledged,
                }
                idx += 1;
                if Instant::now() > deadline + Duration::from_secs(5) {
                    return acknowledged;
                }
            }
        }));
    }
    tokio::time::sleep(deadline - Instant::now()).await;
    wharf.kill9_and_restart();
    let mut acknowledged = HashSet::new();
    for producer in producers {
        acknowledged.extend(producer.await.expect("join"));
    }
    assert!(acknowledged.len() > 50, "the producers got going: {}", acknowledged.len());

    let sqs = wharf.sqs("us-east-1");
    let mut found = HashSet::new();
    loop {
        let received = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("receive");
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            found.insert(message.message_id().expect("id").to_owned());
        }
    }
    let lost: Vec<&String> = acknowledged.difference(&found).collect();
    assert!(lost.is_empty(), "{} acknowledged messages lost of {}", lost.len(), acknowledged.len());
}

#[tokio::test]
async fn restart_keeps_queues_messages_and_receive_counts() {
    let mut wharf = Wharf::start();
    let sqs = wharf.sqs("us-east-1");
    let url = sqs
        .create_queue()
        .queue_name("kept")
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .tags("team", "core")
        .send()
        .await
        .expect("create")
        .queue_url
        .expect("url");
    sqs.send_message().queue_url(&url).message_body("survivor").send().await.expect("send");
    sqs.receive_message().queue_url(&url).send().await.expect("receive");
    // A standard receive is answered before its commit (see ARCHITECTURE.md); any later change
    // that is answered after its commit makes the receive durable too, as the journal keeps order.
    sqs.tag_queue().queue_url(&url).tags("after", "receive").send().await.expect("tag");
    wharf.kill9_and_restart();
    let sqs = wharf.sqs("us-east-1");
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.expect("tags");
    assert_eq!(tags.tags().expect("tags")["team"], "core");
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .expect("receive");
    let message = &received.messages()[0];
    assert_eq!(message.body(), Some("survivor"));
    assert_eq!(message.attributes().expect("attributes")[&MessageSystemAttributeName::ApproximateReceiveCount], "2");
}
