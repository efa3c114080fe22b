//! The exact bytes of every operation's answer in both protocols, for outputs that use every
//! member the operation has.

use crate::output::*;
use std::sync::Arc;
use wharf_queue::{AttributeValue, MessageAttribute, MessageData, ReceivedMessage};

const HEAD: &str = "<?xml version=\"1.0\"?>";
const NS: &str = "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"";

fn json(output: &Output) -> String {
    String::from_utf8(super::json::encode(output)).expect("utf-8")
}

fn xml(action: &str, output: &Output) -> String {
    String::from_utf8(super::query::encode(action, output, "rid")).expect("utf-8")
}

/// The XML answer of `action` with `result` as the inner text of its result element (`None`:
/// no result element).
fn xml_answer(action: &str, result: Option<&str>) -> String {
    let result = match result {
        None => String::new(),
        Some("") => format!("<{action}Result/>"),
        Some(inner) => format!("<{action}Result>{inner}</{action}Result>"),
    };
    format!(
        "{HEAD}<{action}Response {NS}>{result}<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></{action}Response>"
    )
}

#[test]
fn empty_outputs() {
    for action in [
        "DeleteQueue",
        "SetQueueAttributes",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "PurgeQueue",
        "TagQueue",
        "UntagQueue",
        "AddPermission",
        "RemovePermission",
    ] {
        assert_eq!(json(&Output::EMPTY), "{}");
        assert_eq!(xml(action, &Output::EMPTY), xml_answer(action, None));
    }
}

#[test]
fn create_queue_and_get_queue_url() {
    let output = Output::QueueUrl(QueueUrlResult { queue_url: "http://h:1/queue/us-east-1/000000000000/q".into() });
    assert_eq!(json(&output), r#"{"QueueUrl":"http://h:1/queue/us-east-1/000000000000/q"}"#);
    for action in ["CreateQueue", "GetQueueUrl"] {
        assert_eq!(
            xml(action, &output),
            xml_answer(action, Some("<QueueUrl>http://h:1/queue/us-east-1/000000000000/q</QueueUrl>"))
        );
    }
}

#[test]
fn list_queues() {
    let output = Output::ListQueues(ListQueuesResult {
        queue_urls: vec!["http://h/queue/r/1/a".into(), "http://h/queue/r/1/b".into()],
        next_token: Some("tok".into()),
    });
    assert_eq!(json(&output), r#"{"QueueUrls":["http://h/queue/r/1/a","http://h/queue/r/1/b"],"NextToken":"tok"}"#);
    assert_eq!(
        xml("ListQueues", &output),
        xml_answer(
            "ListQueues",
            Some("<QueueUrl>http://h/queue/r/1/a</QueueUrl><QueueUrl>http://h/queue/r/1/b</QueueUrl><NextToken>tok</NextToken>")
        )
    );
    let none = Output::ListQueues(ListQueuesResult::default());
    assert_eq!(json(&none), "{}");
    assert_eq!(xml("ListQueues", &none), xml_answer("ListQueues", Some("")));
}

#[test]
fn list_dead_letter_source_queues() {
    let output = Output::ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesResult {
        queue_urls: vec!["http://h/queue/r/1/src".into()],
        next_token: None,
    });
    assert_eq!(json(&output), r#"{"queueUrls":["http://h/queue/r/1/src"]}"#);
    assert_eq!(
        xml("ListDeadLetterSourceQueues", &output),
        xml_answer("ListDeadLetterSourceQueues", Some("<QueueUrl>http://h/queue/r/1/src</QueueUrl>"))
    );
    let none = Output::ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesResult::default());
    assert_eq!(json(&none), r#"{"queueUrls":[]}"#, "the model requires the member");
    assert_eq!(xml("ListDeadLetterSourceQueues", &none), xml_answer("ListDeadLetterSourceQueues", Some("")));
}

#[test]
fn get_queue_attributes() {
    let output = Output::GetQueueAttributes(GetQueueAttributesResult {
        attributes: Pairs(vec![("VisibilityTimeout".into(), "30".into()), ("Policy".into(), "{\"a\":\"<b>\"}".into())]),
    });
    assert_eq!(json(&output), r#"{"Attributes":{"VisibilityTimeout":"30","Policy":"{\"a\":\"<b>\"}"}}"#);
    assert_eq!(
        xml("GetQueueAttributes", &output),
        xml_answer(
            "GetQueueAttributes",
            Some(
                "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>\
                 <Attribute><Name>Policy</Name><Value>{&quot;a&quot;:&quot;&lt;b&gt;&quot;}</Value></Attribute>"
            )
        )
    );
    let none = Output::GetQueueAttributes(GetQueueAttributesResult::default());
    assert_eq!(json(&none), "{}");
    assert_eq!(xml("GetQueueAttributes", &none), xml_answer("GetQueueAttributes", Some("")));
}

fn sent() -> SendMessageResult {
    SendMessageResult {
        message_id: "m-1".into(),
        md5_of_message_body: "b".into(),
        md5_of_message_attributes: Some("a".into()),
        md5_of_message_system_attributes: Some("s".into()),
        sequence_number: Some("10000000000000000001".into()),
    }
}

#[test]
fn send_message() {
    let output = Output::SendMessage(sent());
    assert_eq!(
        json(&output),
        r#"{"MessageId":"m-1","MD5OfMessageBody":"b","MD5OfMessageAttributes":"a","MD5OfMessageSystemAttributes":"s","SequenceNumber":"10000000000000000001"}"#
    );
    assert_eq!(
        xml("SendMessage", &output),
        xml_answer(
            "SendMessage",
            Some(
                "<MessageId>m-1</MessageId><MD5OfMessageBody>b</MD5OfMessageBody><MD5OfMessageAttributes>a</MD5OfMessageAttributes>\
                 <MD5OfMessageSystemAttributes>s</MD5OfMessageSystemAttributes><SequenceNumber>10000000000000000001</SequenceNumber>"
            )
        )
    );
    let plain = Output::SendMessage(SendMessageResult {
        md5_of_message_attributes: None,
        md5_of_message_system_attributes: None,
        sequence_number: None,
        ..sent()
    });
    assert_eq!(json(&plain), r#"{"MessageId":"m-1","MD5OfMessageBody":"b"}"#);
}

#[test]
fn send_message_batch() {
    let output = Output::SendMessageBatch(SendMessageBatchResult {
        successful: vec![SendMessageBatchResultEntry {
            id: "e1".into(),
            message_id: "m-1".into(),
            md5_of_message_body: "b".into(),
            md5_of_message_attributes: None,
            md5_of_message_system_attributes: None,
            sequence_number: None,
        }],
        failed: vec![BatchResultErrorEntry {
            id: "e2".into(),
            sender_fault: true,
            code: "InvalidParameterValue",
            message: "no".into(),
        }],
    });
    assert_eq!(
        json(&output),
        r#"{"Successful":[{"Id":"e1","MessageId":"m-1","MD5OfMessageBody":"b"}],"Failed":[{"Id":"e2","SenderFault":true,"Code":"InvalidParameterValue","Message":"no"}]}"#
    );
    assert_eq!(
        xml("SendMessageBatch", &output),
        xml_answer(
            "SendMessageBatch",
            Some(
                "<SendMessageBatchResultEntry><Id>e1</Id><MessageId>m-1</MessageId><MD5OfMessageBody>b</MD5OfMessageBody>\
                 </SendMessageBatchResultEntry><BatchResultErrorEntry><Id>e2</Id><SenderFault>true</SenderFault>\
                 <Code>InvalidParameterValue</Code><Message>no</Message></BatchResultErrorEntry>"
            )
        )
    );
    let all_ok = Output::SendMessageBatch(SendMessageBatchResult { failed: vec![], ..Default::default() });
    assert_eq!(json(&all_ok), "{}", "empty lists are left out");
}

#[test]
fn delete_and_change_visibility_batches() {
    let output = Output::Batch(BatchResult {
        successful: vec![BatchResultEntry { id: "a".into() }],
        failed: vec![BatchResultErrorEntry {
            id: "b".into(),
            sender_fault: true,
            code: "ReceiptHandleIsInvalid",
            message: "bad".into(),
        }],
    });
    assert_eq!(
        json(&output),
        r#"{"Successful":[{"Id":"a"}],"Failed":[{"Id":"b","SenderFault":true,"Code":"ReceiptHandleIsInvalid","Message":"bad"}]}"#
    );
    for action in ["DeleteMessageBatch", "ChangeMessageVisibilityBatch"] {
        assert_eq!(
            xml(action, &output),
            xml_answer(
                action,
                Some(&format!(
                    "<{action}ResultEntry><Id>a</Id></{action}ResultEntry><BatchResultErrorEntry><Id>b</Id>\
                     <SenderFault>true</SenderFault><Code>ReceiptHandleIsInvalid</Code><Message>bad</Message>\
                     </BatchResultErrorEntry>"
                ))
            )
        );
    }
}

fn received() -> ReceivedMessage {
    let attributes = wharf_queue::Attributes {
        entries: vec![
            MessageAttribute {
                name: "bin".into(),
                data_type: "Binary".into(),
                value: AttributeValue::Binary(vec![1, 2, 3]),
            },
            MessageAttribute {
                name: "s".into(),
                data_type: "String".into(),
                value: AttributeValue::String("v&".into()),
            },
        ],
        md5: [0xab; 16],
    };
    ReceivedMessage {
        data: Arc::new(MessageData {
            message_id: [0x11; 16],
            body: "<hi>".into(),
            body_md5: [0xcd; 16],
            attributes: Some(Box::new(attributes)),
            system_attributes: None,
            sender_id: Arc::from("000000000000"),
            sent_ms: 1,
            group: None,
            dead_letter_source: None,
        }),
        receipt_handle: "rh".into(),
        attributes: vec![("ApproximateReceiveCount", "1".into()), ("SenderId", "000000000000".into())],
        selected_attributes: vec![0, 1],
        selected_attributes_md5: Some([0xef; 16]),
    }
}

#[test]
fn receive_message() {
    let output = Output::ReceiveMessage(ReceiveMessageResult { messages: vec![Message(received())] });
    let id = "11111111-1111-1111-1111-111111111111";
    let body_md5 = "cd".repeat(16);
    let attributes_md5 = "ef".repeat(16);
    assert_eq!(
        json(&output),
        format!(
            r#"{{"Messages":[{{"MessageId":"{id}","ReceiptHandle":"rh","MD5OfBody":"{body_md5}","Body":"<hi>","Attributes":{{"ApproximateReceiveCount":"1","SenderId":"000000000000"}},"MD5OfMessageAttributes":"{attributes_md5}","MessageAttributes":{{"bin":{{"BinaryValue":"AQID","DataType":"Binary"}},"s":{{"StringValue":"v&","DataType":"String"}}}}}}]}}"#
        )
    );
    assert_eq!(
        xml("ReceiveMessage", &output),
        xml_answer(
            "ReceiveMessage",
            Some(&format!(
                "<Message><MessageId>{id}</MessageId><ReceiptHandle>rh</ReceiptHandle><MD5OfBody>{body_md5}</MD5OfBody>\
                 <Body>&lt;hi&gt;</Body><Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>\
                 <Attribute><Name>SenderId</Name><Value>000000000000</Value></Attribute>\
                 <MD5OfMessageAttributes>{attributes_md5}</MD5OfMessageAttributes>\
                 <MessageAttribute><Name>bin</Name><Value><BinaryValue>AQID</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>\
                 <MessageAttribute><Name>s</Name><Value><StringValue>v&amp;</StringValue><DataType>String</DataType></Value></MessageAttribute>\
                 </Message>"
            ))
        )
    );
    let bare = ReceivedMessage {
        attributes: vec![],
        selected_attributes: vec![],
        selected_attributes_md5: None,
        ..received()
    };
    let output = Output::ReceiveMessage(ReceiveMessageResult { messages: vec![Message(bare)] });
    assert_eq!(
        json(&output),
        format!(
            r#"{{"Messages":[{{"MessageId":"{id}","ReceiptHandle":"rh","MD5OfBody":"{body_md5}","Body":"<hi>"}}]}}"#
        )
    );
    let none = Output::ReceiveMessage(ReceiveMessageResult::default());
    assert_eq!(json(&none), "{}");
    assert_eq!(xml("ReceiveMessage", &none), xml_answer("ReceiveMessage", Some("")));
}

#[test]
fn list_queue_tags() {
    let output = Output::ListQueueTags(ListQueueTagsResult { tags: [("team".to_owned(), "core".to_owned())].into() });
    assert_eq!(json(&output), r#"{"Tags":{"team":"core"}}"#);
    assert_eq!(
        xml("ListQueueTags", &output),
        xml_answer("ListQueueTags", Some("<Tag><Key>team</Key><Value>core</Value></Tag>"))
    );
    let none = Output::ListQueueTags(ListQueueTagsResult::default());
    assert_eq!(json(&none), "{}");
    assert_eq!(xml("ListQueueTags", &none), xml_answer("ListQueueTags", Some("")));
}

#[test]
fn move_tasks() {
    let start = Output::StartMessageMoveTask(StartMessageMoveTaskResult { task_handle: "th".into() });
    assert_eq!(json(&start), r#"{"TaskHandle":"th"}"#);
    assert_eq!(
        xml("StartMessageMoveTask", &start),
        xml_answer("StartMessageMoveTask", Some("<TaskHandle>th</TaskHandle>"))
    );
    let cancel = Output::CancelMessageMoveTask(CancelMessageMoveTaskResult { approximate_number_of_messages_moved: 7 });
    assert_eq!(json(&cancel), r#"{"ApproximateNumberOfMessagesMoved":7}"#);
    assert_eq!(
        xml("CancelMessageMoveTask", &cancel),
        xml_answer(
            "CancelMessageMoveTask",
            Some("<ApproximateNumberOfMessagesMoved>7</ApproximateNumberOfMessagesMoved>")
        )
    );
    let list = Output::ListMessageMoveTasks(ListMessageMoveTasksResult {
        results: vec![ListMessageMoveTasksResultEntry {
            task_handle: None,
            status: "FAILED".into(),
            source_arn: "arn:aws:sqs:us-east-1:000000000000:dlq".into(),
            destination_arn: Some("arn:aws:sqs:us-east-1:000000000000:src".into()),
            max_number_of_messages_per_second: Some(5),
            approximate_number_of_messages_moved: 2,
            approximate_number_of_messages_to_move: Some(3),
            failure_reason: Some("AWS.SimpleQueueService.NonExistentQueue".into()),
            started_timestamp: 1700000000000,
        }],
    });
    assert_eq!(
        json(&list),
        r#"{"Results":[{"Status":"FAILED","SourceArn":"arn:aws:sqs:us-east-1:000000000000:dlq","DestinationArn":"arn:aws:sqs:us-east-1:000000000000:src","MaxNumberOfMessagesPerSecond":5,"ApproximateNumberOfMessagesMoved":2,"ApproximateNumberOfMessagesToMove":3,"FailureReason":"AWS.SimpleQueueService.NonExistentQueue","StartedTimestamp":1700000000000}]}"#
    );
    assert_eq!(
        xml("ListMessageMoveTasks", &list),
        xml_answer(
            "ListMessageMoveTasks",
            Some(
                "<ListMessageMoveTasksResultEntry><Status>FAILED</Status><SourceArn>arn:aws:sqs:us-east-1:000000000000:dlq</SourceArn>\
                 <DestinationArn>arn:aws:sqs:us-east-1:000000000000:src</DestinationArn>\
                 <MaxNumberOfMessagesPerSecond>5</MaxNumberOfMessagesPerSecond>\
                 <ApproximateNumberOfMessagesMoved>2</ApproximateNumberOfMessagesMoved>\
                 <ApproximateNumberOfMessagesToMove>3</ApproximateNumberOfMessagesToMove>\
                 <FailureReason>AWS.SimpleQueueService.NonExistentQueue</FailureReason>\
                 <StartedTimestamp>1700000000000</StartedTimestamp></ListMessageMoveTasksResultEntry>"
            )
        )
    );
    let none = Output::ListMessageMoveTasks(ListMessageMoveTasksResult::default());
    assert_eq!(json(&none), r#"{"Results":[]}"#);
}

// ----- the two decoders agree ------------------------------------------------------------------

/// How a member travels, written from the query-era service model (botocore 1.34): the JSON
/// name, the query name, and the value's shape.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Text,
    Integer,
    /// A flattened list: `Query.N`.
    List(&'static str),
    /// A flattened map: `Query.N.Key` / `Query.N.Value`.
    Map(&'static str, &'static str, &'static str),
    /// Message attributes: `Query.N.Name`, `Query.N.Value.DataType`, `….StringValue` or
    /// `….BinaryValue`.
    Attributes(&'static str),
    /// Batch entries: `Query.N.<member>`.
    Entries(&'static str, &'static [(&'static str, Kind)]),
}

const SEND_ENTRY_MEMBERS: &[(&str, Kind)] = &[
    ("Id", Kind::Text),
    ("MessageBody", Kind::Text),
    ("DelaySeconds", Kind::Integer),
    ("MessageAttributes", Kind::Attributes("MessageAttribute")),
    ("MessageDeduplicationId", Kind::Text),
    ("MessageGroupId", Kind::Text),
];

/// The operations and members the property covers.
fn operations() -> Vec<(&'static str, Vec<(&'static str, Kind)>)> {
    vec![
        (
            "CreateQueue",
            vec![
                ("QueueName", Kind::Text),
                ("Attributes", Kind::Map("Attribute", "Name", "Value")),
                ("tags", Kind::Map("Tag", "Key", "Value")),
            ],
        ),
        ("GetQueueUrl", vec![("QueueName", Kind::Text), ("QueueOwnerAWSAccountId", Kind::Text)]),
        ("ListQueues", vec![("QueueNamePrefix", Kind::Text), ("NextToken", Kind::Text), ("MaxResults", Kind::Integer)]),
        ("GetQueueAttributes", vec![("QueueUrl", Kind::Text), ("AttributeNames", Kind::List("AttributeName"))]),
        ("SetQueueAttributes", vec![("QueueUrl", Kind::Text), ("Attributes", Kind::Map("Attribute", "Name", "Value"))]),
        (
            "SendMessage",
            vec![
                ("QueueUrl", Kind::Text),
                ("MessageBody", Kind::Text),
                ("DelaySeconds", Kind::Integer),
                ("MessageAttributes", Kind::Attributes("MessageAttribute")),
                ("MessageSystemAttributes", Kind::Attributes("MessageSystemAttribute")),
                ("MessageDeduplicationId", Kind::Text),
                ("MessageGroupId", Kind::Text),
            ],
        ),
        (
            "SendMessageBatch",
            vec![
                ("QueueUrl", Kind::Text),
                ("Entries", Kind::Entries("SendMessageBatchRequestEntry", SEND_ENTRY_MEMBERS)),
            ],
        ),
        (
            "ReceiveMessage",
            vec![
                ("QueueUrl", Kind::Text),
                ("AttributeNames", Kind::List("AttributeName")),
                ("MessageSystemAttributeNames", Kind::List("MessageSystemAttributeName")),
                ("MessageAttributeNames", Kind::List("MessageAttributeName")),
                ("MaxNumberOfMessages", Kind::Integer),
                ("VisibilityTimeout", Kind::Integer),
                ("WaitTimeSeconds", Kind::Integer),
                ("ReceiveRequestAttemptId", Kind::Text),
            ],
        ),
        ("DeleteMessage", vec![("QueueUrl", Kind::Text), ("ReceiptHandle", Kind::Text)]),
        (
            "DeleteMessageBatch",
            vec![
                ("QueueUrl", Kind::Text),
                (
                    "Entries",
                    Kind::Entries(
                        "DeleteMessageBatchRequestEntry",
                        &[("Id", Kind::Text), ("ReceiptHandle", Kind::Text)],
                    ),
                ),
            ],
        ),
        (
            "ChangeMessageVisibility",
            vec![("QueueUrl", Kind::Text), ("ReceiptHandle", Kind::Text), ("VisibilityTimeout", Kind::Integer)],
        ),
        (
            "ChangeMessageVisibilityBatch",
            vec![
                ("QueueUrl", Kind::Text),
                (
                    "Entries",
                    Kind::Entries(
                        "ChangeMessageVisibilityBatchRequestEntry",
                        &[("Id", Kind::Text), ("ReceiptHandle", Kind::Text), ("VisibilityTimeout", Kind::Integer)],
                    ),
                ),
            ],
        ),
        ("TagQueue", vec![("QueueUrl", Kind::Text), ("Tags", Kind::Map("Tag", "Key", "Value"))]),
        ("UntagQueue", vec![("QueueUrl", Kind::Text), ("TagKeys", Kind::List("TagKey"))]),
        (
            "AddPermission",
            vec![
                ("QueueUrl", Kind::Text),
                ("Label", Kind::Text),
                ("AWSAccountIds", Kind::List("AWSAccountId")),
                ("Actions", Kind::List("ActionName")),
            ],
        ),
        ("RemovePermission", vec![("QueueUrl", Kind::Text), ("Label", Kind::Text)]),
        (
            "ListDeadLetterSourceQueues",
            vec![("QueueUrl", Kind::Text), ("NextToken", Kind::Text), ("MaxResults", Kind::Integer)],
        ),
        (
            "StartMessageMoveTask",
            vec![
                ("SourceArn", Kind::Text),
                ("DestinationArn", Kind::Text),
                ("MaxNumberOfMessagesPerSecond", Kind::Integer),
            ],
        ),
        ("CancelMessageMoveTask", vec![("TaskHandle", Kind::Text)]),
        ("ListMessageMoveTasks", vec![("SourceArn", Kind::Text), ("MaxResults", Kind::Integer)]),
        ("PurgeQueue", vec![("QueueUrl", Kind::Text)]),
        ("DeleteQueue", vec![("QueueUrl", Kind::Text)]),
        ("ListQueueTags", vec![("QueueUrl", Kind::Text)]),
    ]
}

/// Draws values from a seed, so one proptest input decides a whole request.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn text(&mut self) -> String {
        const PIECES: &[&str] = &["a", "Z", "9", " ", "&", "=", "+", "%", ".", "메", "🎉", "\n", "-", "_", "/", "?"];
        (0..1 + self.below(8)).map(|_| PIECES[self.below(PIECES.len() as u64) as usize]).collect()
    }

    fn name(&mut self) -> String {
        const NAMES: &[&str] = &["a", "b", "Name", "x.y", "k1", "VisibilityTimeout", "All"];
        NAMES[self.below(NAMES.len() as u64) as usize].to_owned()
    }
}

/// Builds one member's JSON value and its query pairs under `prefix`.
fn member(draw: &mut Draw, kind: Kind, prefix: &str, pairs: &mut Vec<(String, String)>) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    match kind {
        Kind::Text => {
            let text = draw.text();
            pairs.push((prefix.to_owned(), text.clone()));
            json!(text)
        }
        Kind::Integer => {
            let number = draw.below(2000) as i64 - 100;
            pairs.push((prefix.to_owned(), number.to_string()));
            json!(number)
        }
        Kind::List(_) => {
            let items: Vec<String> = (0..1 + draw.below(4)).map(|_| draw.text()).collect();
            for (idx, item) in items.iter().enumerate() {
                pairs.push((format!("{prefix}.{}", idx + 1), item.clone()));
            }
            json!(items)
        }
        Kind::Map(_, key, value) => {
            let mut map = Map::new();
            for _ in 0..1 + draw.below(3) {
                map.insert(draw.name(), Value::String(draw.text()));
            }
            for (idx, (name, text)) in map.iter().enumerate() {
                pairs.push((format!("{prefix}.{}.{key}", idx + 1), name.clone()));
                pairs.push((format!("{prefix}.{}.{value}", idx + 1), text.as_str().unwrap_or_default().to_owned()));
            }
            Value::Object(map)
        }
        Kind::Attributes(_) => {
            let mut map = Map::new();
            for _ in 0..1 + draw.below(3) {
                let attribute = if draw.below(2) == 0 {
                    json!({"DataType": "String", "StringValue": draw.text()})
                } else {
                    json!({"DataType": "Binary", "BinaryValue": "AQID"})
                };
                map.insert(draw.name(), attribute);
            }
            for (idx, (name, attribute)) in map.iter().enumerate() {
                let n = idx + 1;
                pairs.push((format!("{prefix}.{n}.Name"), name.clone()));
                for field in ["DataType", "StringValue", "BinaryValue"] {
                    if let Some(text) = attribute.get(field).and_then(Value::as_str) {
                        pairs.push((format!("{prefix}.{n}.Value.{field}"), text.to_owned()));
                    }
                }
            }
            Value::Object(map)
        }
        Kind::Entries(_, members) => {
            let mut entries = Vec::new();
            for idx in 0..1 + draw.below(4) {
                let mut entry = Map::new();
                // An entry with no member has no form in the query protocol: each has its Id.
                for (position, &(name, kind)) in members.iter().enumerate() {
                    if position == 0 || draw.below(4) != 0 {
                        let query_name = query_name(name, kind);
                        let value = member(draw, kind, &format!("{prefix}.{}.{query_name}", idx + 1), pairs);
                        entry.insert(name.to_owned(), value);
                    }
                }
                entries.push(Value::Object(entry));
            }
            Value::Array(entries)
        }
    }
}

fn query_name(json_name: &'static str, kind: Kind) -> &'static str {
    match kind {
        Kind::List(query) | Kind::Map(query, _, _) | Kind::Attributes(query) | Kind::Entries(query, _) => query,
        Kind::Text | Kind::Integer => json_name,
    }
}

/// Percent-encodes a form value as botocore does (everything but unreserved characters).
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

proptest::proptest! {
    /// The same request through the JSON protocol and through the query protocol decodes to the
    /// same operation.
    #[test]
    fn json_and_query_decode_the_same_request_alike(seed in proptest::prelude::any::<u64>()) {
        let mut draw = Draw(seed);
        let operations = operations();
        let (action, members) = &operations[draw.below(operations.len() as u64) as usize];
        let mut object = serde_json::Map::new();
        let mut pairs = vec![("Action".to_owned(), (*action).to_owned()), ("Version".to_owned(), "2012-11-05".to_owned())];
        for &(name, kind) in members {
            if draw.below(3) != 0 {
                let value = member(&mut draw, kind, query_name(name, kind), &mut pairs);
                object.insert(name.to_owned(), value);
            }
        }
        let body = serde_json::to_vec(&serde_json::Value::Object(object)).expect("json");
        let from_json = super::json::decode(action, &body);
        let form: String = pairs.iter().map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value))).collect::<Vec<_>>().join("&");
        let params = wharf_api_common::request::form_pairs(form.as_bytes()).expect("utf-8");
        let from_query = super::query::decode(params, None);
        proptest::prop_assert_eq!(from_json, from_query, "{} {}", action, String::from_utf8_lossy(&body));
    }
}
