"""Messages: attributes and their digests, system attributes, batches and the size and range
limits of sends and receives."""

import pytest

from sqs_support import ACCOUNT_ID, aws_error, create_queue, md5_hex, message_attributes_md5, queue_counts, receive, receive_until

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

ATTRIBUTES = {
    "app.id": {"DataType": "String", "StringValue": "order-17"},
    "app.count": {"DataType": "Number", "StringValue": "42"},
    "app.ratio": {"DataType": "Number.float", "StringValue": "3.14"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff binary"},
    "label": {"DataType": "String.custom", "StringValue": "hello\r\n<&> world"},
    "korean": {"DataType": "String", "StringValue": "메시지 내용"},
    "image": {"DataType": "Binary.gif", "BinaryValue": b"GIF89a"},
}


def test_own_md5_implementation_matches_the_published_vector():
    """The digest helper itself, against the vector of the npm package
    aws-md5-of-message-attributes, before it judges wharf."""
    vector = {"attribName1": {"DataType": "String", "StringValue": "attribValue 1"}}
    assert message_attributes_md5(vector) == "19e27d4e946b072f3f58da80d94fd778"


def test_send_returns_md5_of_message_attributes_computed_as_documented(sqs):
    queue_url = create_queue(sqs, "attributes")
    response = sqs.send_message(QueueUrl=queue_url, MessageBody="with attributes", MessageAttributes=ATTRIBUTES)
    assert response["MD5OfMessageBody"] == md5_hex("with attributes")
    assert response["MD5OfMessageAttributes"] == message_attributes_md5(ATTRIBUTES)


def test_message_attributes_round_trip_with_all(sqs):
    queue_url = create_queue(sqs, "attributes")
    sqs.send_message(QueueUrl=queue_url, MessageBody="with attributes", MessageAttributes=ATTRIBUTES)
    [message] = receive(sqs, queue_url, MessageAttributeNames=["All"])
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfMessageAttributes"] == message_attributes_md5(ATTRIBUTES)
    assert message["MD5OfBody"] == md5_hex("with attributes")


def test_message_attribute_prefix_pattern_selects_matching_names(sqs):
    queue_url = create_queue(sqs, "attributes")
    sqs.send_message(QueueUrl=queue_url, MessageBody="prefixed", MessageAttributes=ATTRIBUTES)
    [message] = receive(sqs, queue_url, MessageAttributeNames=["app.*"])
    selected = {name: value for name, value in ATTRIBUTES.items() if name.startswith("app.")}
    assert message["MessageAttributes"] == selected
    assert message["MD5OfMessageAttributes"] == message_attributes_md5(selected), "the digest covers what was returned"


def test_message_attributes_selected_by_exact_name(sqs):
    queue_url = create_queue(sqs, "attributes")
    sqs.send_message(QueueUrl=queue_url, MessageBody="named", MessageAttributes=ATTRIBUTES)
    [message] = receive(sqs, queue_url, MessageAttributeNames=["blob", "korean", "absent"])
    selected = {"blob": ATTRIBUTES["blob"], "korean": ATTRIBUTES["korean"]}
    assert message["MessageAttributes"] == selected
    assert message["MD5OfMessageAttributes"] == message_attributes_md5(selected)


def test_message_attributes_are_not_returned_unless_asked_for(sqs):
    queue_url = create_queue(sqs, "attributes")
    sqs.send_message(QueueUrl=queue_url, MessageBody="quiet", MessageAttributes=ATTRIBUTES)
    [message] = receive(sqs, queue_url)
    assert "MessageAttributes" not in message
    assert "MD5OfMessageAttributes" not in message


def test_send_without_attributes_has_no_md5_of_message_attributes(sqs):
    queue_url = create_queue(sqs, "plain")
    response = sqs.send_message(QueueUrl=queue_url, MessageBody="plain")
    assert "MD5OfMessageAttributes" not in response
    assert "MD5OfMessageSystemAttributes" not in response


@pytest.mark.parametrize(
    "attributes",
    [
        {"AWS.reserved": {"DataType": "String", "StringValue": "x"}},
        {"bad..name": {"DataType": "String", "StringValue": "x"}},
        {".leading": {"DataType": "String", "StringValue": "x"}},
        {"n": {"DataType": "Text", "StringValue": "x"}},
        {"n": {"DataType": "Number", "StringValue": "not a number"}},
        {"n": {"DataType": "String", "StringValue": ""}},
        {f"a{index}": {"DataType": "String", "StringValue": "x"} for index in range(11)},
    ],
    ids=["aws-prefix", "double-dot", "leading-dot", "unknown-type", "bad-number", "empty-string", "eleven"],
)
def test_invalid_message_attributes_are_refused(sqs, attributes):
    queue_url = create_queue(sqs, "strict-attributes")
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes=attributes)
    assert queue_counts(sqs, queue_url)["visible"] == 0


def test_aws_trace_header_system_attribute(sqs):
    queue_url = create_queue(sqs, "traced")
    system_attributes = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE_HEADER}}
    response = sqs.send_message(QueueUrl=queue_url, MessageBody="traced", MessageSystemAttributes=system_attributes)
    assert response["MD5OfMessageSystemAttributes"] == message_attributes_md5(system_attributes)
    assert "MD5OfMessageAttributes" not in response

    [message] = receive(sqs, queue_url, AttributeNames=["AWSTraceHeader"], VisibilityTimeout=0)
    assert message["Attributes"] == {"AWSTraceHeader": TRACE_HEADER}
    [message] = receive(sqs, queue_url, AttributeNames=["All"], VisibilityTimeout=0)
    assert message["Attributes"]["AWSTraceHeader"] == TRACE_HEADER
    if "MessageSystemAttributeNames" in sqs.meta.service_model.operation_model("ReceiveMessage").input_shape.members:
        [message] = receive(sqs, queue_url, MessageSystemAttributeNames=["AWSTraceHeader", "ApproximateReceiveCount"])
        assert message["Attributes"] == {"AWSTraceHeader": TRACE_HEADER, "ApproximateReceiveCount": "3"}


def test_only_aws_trace_header_is_a_sendable_system_attribute(sqs):
    queue_url = create_queue(sqs, "traced")
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody="x",
            MessageSystemAttributes={"SenderId": {"DataType": "String", "StringValue": "forged"}},
        )


def test_system_attribute_names_select_what_is_returned(sqs):
    queue_url = create_queue(sqs, "selected")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url, AttributeNames=["SentTimestamp", "ApproximateReceiveCount"])
    assert set(message["Attributes"]) == {"SentTimestamp", "ApproximateReceiveCount"}


def test_invalid_body_character_is_invalid_message_contents(sqs):
    queue_url = create_queue(sqs, "contents")
    for body in ["bell \x07", "nul \x00", "\x01", "\ufffe"]:
        with aws_error("InvalidMessageContents", status=400):
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    allowed = "tab\tlf\ncr\r ok ü 🎉 \ud7ff \ue000 \U0010ffff"
    response = sqs.send_message(QueueUrl=queue_url, MessageBody=allowed)
    assert response["MD5OfMessageBody"] == md5_hex(allowed)
    [message] = receive(sqs, queue_url)
    assert message["Body"] == allowed


def test_invalid_attribute_value_character_is_invalid_parameter_value(sqs):
    queue_url = create_queue(sqs, "attribute-contents")
    for data_type in ["String", "Number.x", "String.custom"]:
        value = "bell \x07" if data_type.startswith("String") else "1\x00"
        with aws_error("InvalidParameterValue", status=400):
            sqs.send_message(QueueUrl=queue_url, MessageBody="ok", MessageAttributes={"a": {"DataType": data_type, "StringValue": value}})
    response = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": "bad", "MessageBody": "ok", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "\x01"}}}],
    )
    assert [(entry["Id"], entry["Code"]) for entry in response["Failed"]] == [("bad", "InvalidParameterValue")]


# ----- batches ---------------------------------------------------------------------------------


def test_send_message_batch_entry_with_an_invalid_character_fails_alone(sqs):
    queue_url = create_queue(sqs, "batch")
    entries = [
        {"Id": "first", "MessageBody": "one"},
        {"Id": "bad", "MessageBody": "control \x01 character"},
        {"Id": "third", "MessageBody": "three", "DelaySeconds": 0, "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "fourth-is_OK", "MessageBody": "메시지"},
    ]
    response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    successful = {entry["Id"]: entry for entry in response["Successful"]}
    assert set(successful) == {"first", "third", "fourth-is_OK"}
    assert successful["first"]["MD5OfMessageBody"] == md5_hex("one")
    assert successful["fourth-is_OK"]["MD5OfMessageBody"] == md5_hex("메시지")
    assert successful["third"]["MD5OfMessageAttributes"] == message_attributes_md5(entries[2]["MessageAttributes"])
    assert len({entry["MessageId"] for entry in successful.values()}) == 3
    [failed] = response["Failed"]
    assert failed["Id"] == "bad"
    assert failed["SenderFault"] is True
    assert failed["Code"] == "InvalidMessageContents"
    assert failed["Message"]
    bodies = sorted(message["Body"] for message in receive_until(sqs, queue_url, 3))
    assert bodies == sorted(["one", "three", "메시지"])


def test_batch_with_duplicate_ids_is_batch_entry_ids_not_distinct(sqs):
    queue_url = create_queue(sqs, "batch")
    with aws_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", status=400) as error:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}])
    assert isinstance(error.value, sqs.exceptions.BatchEntryIdsNotDistinct)
    assert queue_counts(sqs, queue_url)["visible"] == 0, "nothing of a refused batch is sent"


def test_batch_with_eleven_entries_is_too_many_entries(sqs):
    queue_url = create_queue(sqs, "batch")
    entries = [{"Id": f"m{index}", "MessageBody": "x"} for index in range(11)]
    with aws_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", status=400) as error:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert isinstance(error.value, sqs.exceptions.TooManyEntriesInBatchRequest)
    with aws_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", status=400):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[{"Id": f"d{index}", "ReceiptHandle": "h"} for index in range(11)])
    assert queue_counts(sqs, queue_url)["visible"] == 0


def test_empty_batches_are_empty_batch_request(sqs):
    queue_url = create_queue(sqs, "batch")
    with aws_error("AWS.SimpleQueueService.EmptyBatchRequest", status=400) as error:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=[])
    assert isinstance(error.value, sqs.exceptions.EmptyBatchRequest)
    with aws_error("AWS.SimpleQueueService.EmptyBatchRequest", status=400):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[])
    with aws_error("AWS.SimpleQueueService.EmptyBatchRequest", status=400):
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[])


def test_batch_entry_id_with_invalid_characters_is_invalid_batch_entry_id(sqs):
    queue_url = create_queue(sqs, "batch")
    with aws_error("AWS.SimpleQueueService.InvalidBatchEntryId", status=400):
        sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "not valid!", "MessageBody": "x"}])
    with aws_error("AWS.SimpleQueueService.InvalidBatchEntryId", status=400):
        sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "x" * 81, "MessageBody": "x"}])


def test_batch_larger_than_one_mebibyte_in_total_is_batch_request_too_long(sqs):
    queue_url = create_queue(sqs, "batch")
    entries = [{"Id": f"m{index}", "MessageBody": "x" * 110_000} for index in range(10)]
    with aws_error("AWS.SimpleQueueService.BatchRequestTooLong", status=400):
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert queue_counts(sqs, queue_url)["visible"] == 0


def test_delete_message_batch_with_one_invalid_receipt_handle_fails_alone(sqs):
    queue_url = create_queue(sqs, "batch")
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}])
    messages = receive_until(sqs, queue_url, 2)
    assert len(messages) == 2
    entries = [
        {"Id": "first", "ReceiptHandle": messages[0]["ReceiptHandle"]},
        {"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle"},
        {"Id": "second", "ReceiptHandle": messages[1]["ReceiptHandle"]},
    ]
    response = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    assert sorted(entry["Id"] for entry in response["Successful"]) == ["first", "second"]
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("bogus", "ReceiptHandleIsInvalid", True)
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_change_message_visibility_batch_with_one_invalid_receipt_handle_fails_alone(sqs):
    queue_url = create_queue(sqs, "batch")
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}])
    messages = receive_until(sqs, queue_url, 2)
    assert queue_counts(sqs, queue_url)["in_flight"] == 2
    entries = [
        {"Id": "first", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle", "VisibilityTimeout": 0},
        {"Id": "second", "ReceiptHandle": messages[1]["ReceiptHandle"], "VisibilityTimeout": 0},
    ]
    response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
    assert sorted(entry["Id"] for entry in response["Successful"]) == ["first", "second"]
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("bogus", "ReceiptHandleIsInvalid", True)
    assert sorted(message["Body"] for message in receive_until(sqs, queue_url, 2)) == ["a", "b"], "visible again at once"


# ----- limits ----------------------------------------------------------------------------------


def test_message_larger_than_maximum_message_size_is_refused(sqs):
    queue_url = create_queue(sqs, "small", MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=queue_url, MessageBody="x" * 1024)
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody="x" * 1025)
    assert queue_counts(sqs, queue_url)["visible"] == 1


def test_message_size_counts_utf8_bytes_and_attributes(sqs):
    queue_url = create_queue(sqs, "small", MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=queue_url, MessageBody="메" * 341 + "x")  # 1,024 bytes
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody="메" * 342)  # 1,026 bytes in 342 characters
    # name (1) + data type (6) + value count toward the limit with the body.
    sqs.send_message(QueueUrl=queue_url, MessageBody="x" * 1000, MessageAttributes={"n": {"DataType": "String", "StringValue": "v" * 17}})
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody="x" * 1000, MessageAttributes={"n": {"DataType": "String", "StringValue": "v" * 18}})
    assert queue_counts(sqs, queue_url)["visible"] == 2


def test_default_maximum_message_size_is_one_mebibyte(sqs):
    queue_url = create_queue(sqs, "big")
    body = "x" * 1_048_576
    assert sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MD5OfMessageBody"] == md5_hex(body)
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body + "x")
    [message] = receive(sqs, queue_url)
    assert message["Body"] == body


@pytest.mark.parametrize("count", [0, 11])
def test_max_number_of_messages_out_of_range_is_refused(sqs, count):
    queue_url = create_queue(sqs, "ranges")
    with aws_error("InvalidParameterValue", status=400):
        sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=count)


def test_wait_time_seconds_above_20_is_refused(sqs):
    queue_url = create_queue(sqs, "ranges")
    with aws_error("InvalidParameterValue", status=400):
        sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=21)


def test_delay_seconds_above_900_is_refused(sqs):
    queue_url = create_queue(sqs, "ranges")
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody="x", DelaySeconds=901)
    response = sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "late", "MessageBody": "x", "DelaySeconds": 901}])
    assert [entry["Id"] for entry in response["Failed"]] == ["late"]
    assert response["Failed"][0]["Code"] == "InvalidParameterValue"
    sqs.send_message(QueueUrl=queue_url, MessageBody="x", DelaySeconds=900)
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 1}


def test_receive_returns_at_most_ten_and_every_message_once(sqs):
    queue_url = create_queue(sqs, "many")
    for batch in range(2):
        entries = [{"Id": f"m{index}", "MessageBody": f"{batch}-{index}"} for index in range(10)]
        assert len(sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)["Successful"]) == 10
    first = receive(sqs, queue_url, MaxNumberOfMessages=10)
    assert 1 <= len(first) <= 10
    rest = receive_until(sqs, queue_url, 20 - len(first))
    bodies = [message["Body"] for message in first + rest]
    assert sorted(bodies) == sorted(f"{batch}-{index}" for batch in range(2) for index in range(10))
    assert len({message["ReceiptHandle"] for message in first + rest}) == 20


def test_dot_star_pattern_selects_every_attribute(sqs):
    queue_url = create_queue(sqs, "attributes")
    sqs.send_message(QueueUrl=queue_url, MessageBody="all of them", MessageAttributes=ATTRIBUTES)
    [message] = receive(sqs, queue_url, MessageAttributeNames=[".*"])
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfMessageAttributes"] == message_attributes_md5(ATTRIBUTES)


def test_message_group_id_is_accepted_on_a_standard_queue(sqs):
    """Fair queues (2025): a standard queue takes MessageGroupId as the tenant of a message."""
    queue_url = create_queue(sqs, "fair")
    sqs.send_message(QueueUrl=queue_url, MessageBody="tenant message", MessageGroupId="tenant-1")
    [message] = receive(sqs, queue_url, AttributeNames=["All"])
    assert message["Body"] == "tenant message"
    assert message["Attributes"].get("MessageGroupId", "tenant-1") == "tenant-1"


def test_message_deduplication_id_is_refused_on_a_standard_queue(sqs):
    queue_url = create_queue(sqs, "standard")
    with aws_error("InvalidParameterValue", status=400):
        sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageDeduplicationId="dedup-1")
    assert queue_counts(sqs, queue_url)["visible"] == 0


def test_message_attribute_names_select_by_prefix_and_star_selects_all(sqs):
    """As recorded on SQS: `Hel.*` matches by prefix (no dot needed after it), and `*` is All."""
    queue_url = create_queue(sqs, "prefix-match")
    attributes = {name: {"DataType": "String", "StringValue": name} for name in ("Hello", "Help.Me", "Other")}
    sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes=attributes)
    [message] = receive(sqs, queue_url, MessageAttributeNames=["Hel.*"], VisibilityTimeout=0)
    assert sorted(message["MessageAttributes"]) == ["Hello", "Help.Me"]
    [message] = receive(sqs, queue_url, MessageAttributeNames=["*"], VisibilityTimeout=0)
    assert sorted(message["MessageAttributes"]) == ["Hello", "Help.Me", "Other"]


def test_sender_id_is_the_principal_not_the_access_key(sqs):
    queue_url = create_queue(sqs, "sender")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url, AttributeNames=["SenderId"])
    # The root credentials' principal id is the account id.
    assert message["Attributes"]["SenderId"] == ACCOUNT_ID


def test_the_x_amzn_trace_id_header_becomes_aws_trace_header(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "traced")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

    def add_trace(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    sqs.meta.events.register("before-send.sqs.SendMessage", add_trace)
    sqs.meta.events.register("before-send.sqs.SendMessageBatch", add_trace)
    sqs.send_message(QueueUrl=queue_url, MessageBody="from the header")
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{
        "Id": "own", "MessageBody": "own attribute",
        "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-own"}},
    }])
    got = receive_until(sqs, queue_url, 2, AttributeNames=["AWSTraceHeader"])
    traces = {message["Body"]: message["Attributes"]["AWSTraceHeader"] for message in got}
    assert traces == {"from the header": trace, "own attribute": "Root=1-own"}, "the attribute wins over the header"
