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
