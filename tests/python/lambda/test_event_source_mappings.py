"""SQS event source mappings: the Lambda API for them, and the pollers that feed queue messages
to functions in batches, as Lambda's SQS integration does."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from lambda_support import error_code, function_arn, queue_arn, wait_for

# Reports every batch it gets to the `observed` queue, then fails as the bodies ask:
# "raise" fails the whole batch, "bad-..." is reported as a failed item.
OBSERVER = """
import json, boto3
sqs = boto3.client("sqs")
observed = sqs.get_queue_url(QueueName="observed")["QueueUrl"]

def handler(event, context):
    records = event["Records"]
    sqs.send_message(QueueUrl=observed, MessageBody=json.dumps({
        "bodies": [r["body"] for r in records],
        "ids": [r["messageId"] for r in records],
        "groups": [r["attributes"].get("MessageGroupId") for r in records],
        "counts": [r["attributes"]["ApproximateReceiveCount"] for r in records],
        "first": records[0],
    }))
    if any(r["body"] == "raise" for r in records):
        raise RuntimeError("asked to fail")
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"].startswith("bad-")]}
"""


@pytest.fixture
def setup(sqs_client, create_function):
    observed = sqs_client.create_queue(QueueName="observed")["QueueUrl"]
    create_function("observer", OBSERVER, timeout=10)

    def batches(timeout: float = 20.0, expect: int = 1) -> list[dict]:
        seen: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(seen) < expect and time.monotonic() < deadline:
            answer = sqs_client.receive_message(QueueUrl=observed, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                seen.append(json.loads(message["Body"]))
                sqs_client.delete_message(QueueUrl=observed, ReceiptHandle=message["ReceiptHandle"])
        return seen

    return batches


def counts(sqs_client, queue_url: str) -> tuple[int, int]:
    attributes = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_mapping_api_shapes_and_validation(lambda_client, sqs_client, create_function):
    sqs_client.create_queue(QueueName="source")
    sqs_client.create_queue(QueueName="source.fifo", Attributes={"FifoQueue": "true"})
    create_function("target", "def handler(e, c):\n    return None\n")
    created = lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source"), FunctionName="target")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["BatchSize"] == 10
    assert created["FunctionArn"] == function_arn("target")
    assert created["EventSourceArn"] == queue_arn("source")
    uuid = created["UUID"]
    got = lambda_client.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Enabled"
    listed = lambda_client.list_event_source_mappings(FunctionName="target")["EventSourceMappings"]
    assert [mapping["UUID"] for mapping in listed] == [uuid]
    assert lambda_client.list_event_source_mappings(EventSourceArn=queue_arn("other"))["EventSourceMappings"] == []

    updated = lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False, BatchSize=5)
    assert updated["BatchSize"] == 5
    assert lambda_client.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"

    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source"), FunctionName="target")
    assert error_code(excinfo) == "ResourceConflictException"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source"), FunctionName="missing")
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.update_event_source_mapping(UUID=uuid, BatchSize=100)
    assert error_code(excinfo) == "InvalidParameterValueException", "a batch above 10 needs a window"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source.fifo"), FunctionName="target", BatchSize=20, MaximumBatchingWindowInSeconds=1)
    assert error_code(excinfo) == "InvalidParameterValueException", "FIFO batches are at most 10"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.update_event_source_mapping(UUID=uuid, FilterCriteria={"Filters": [{"Pattern": '{"body": "not-an-array"}'}]})
    assert error_code(excinfo) == "InvalidParameterValueException"

    deleted = lambda_client.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_event_source_mapping(UUID=uuid)
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_a_batch_is_delivered_as_lambdas_sqs_event_and_deleted(lambda_client, sqs_client, setup):
    source = sqs_client.create_queue(QueueName="source")["QueueUrl"]
    lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source"), FunctionName="observer")
    sent = sqs_client.send_message(
        QueueUrl=source,
        MessageBody="hello",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    batch = setup()[0]
    record = batch["first"]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == "hello"
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue_arn("source")
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record["attributes"]) >= {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "greeting", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    wait_for(lambda: counts(sqs_client, source) == (0, 0), timeout=5, what="the batch deleted")


def test_failed_batches_return_and_reach_the_dead_letter_queue(lambda_client, sqs_client, setup):
    dead = sqs_client.create_queue(QueueName="dead")["QueueUrl"]
    source = sqs_client.create_queue(
        QueueName="source",
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn("dead"), "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source"), FunctionName="observer")
    sqs_client.send_message(QueueUrl=source, MessageBody="raise")
    batches = setup(timeout=15, expect=2)
    assert [batch["counts"] for batch in batches] == [["1"], ["2"]], "retried after the visibility timeout"
    moved = wait_for(
        lambda: sqs_client.receive_message(QueueUrl=dead, WaitTimeSeconds=1).get("Messages"),
        timeout=10,
        what="the message in the dead-letter queue",
    )
    assert moved[0]["Body"] == "raise"


def test_only_reported_items_are_retried(lambda_client, sqs_client, setup):
    source = sqs_client.create_queue(QueueName="source", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs_client.send_message_batch(
        QueueUrl=source,
        Entries=[{"Id": str(index), "MessageBody": body} for index, body in enumerate(["ok-1", "bad-2", "ok-3"])],
    )
    lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn("source"),
        FunctionName="observer",
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
    )
    batches = setup(timeout=15, expect=2)
    assert sorted(batches[0]["bodies"]) == ["bad-2", "ok-1", "ok-3"]
    assert batches[1]["bodies"] == ["bad-2"], "only the reported item came back"


def test_filters_drop_messages_that_match_no_pattern(lambda_client, sqs_client, setup):
    source = sqs_client.create_queue(QueueName="source")["QueueUrl"]
    lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn("source"),
        FunctionName="observer",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["wanted"]}})}]},
    )
    sqs_client.send_message(QueueUrl=source, MessageBody=json.dumps({"kind": "unwanted"}))
    sqs_client.send_message(QueueUrl=source, MessageBody=json.dumps({"kind": "wanted"}))
    batches = setup(timeout=10, expect=1)
    time.sleep(1)
    batches += setup(timeout=1, expect=1)
    assert [json.loads(body)["kind"] for batch in batches for body in batch["bodies"]] == ["wanted"]
    wait_for(lambda: counts(sqs_client, source) == (0, 0), timeout=5, what="the filtered-out message deleted")


def test_fifo_order_holds_per_group(lambda_client, sqs_client, setup):
    source = sqs_client.create_queue(
        QueueName="source.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for index in range(12):
        group = "a" if index % 2 == 0 else "b"
        sqs_client.send_message(QueueUrl=source, MessageBody=f"{group}-{index:02d}", MessageGroupId=group)
    lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source.fifo"), FunctionName="observer", BatchSize=3)
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while len(seen) < 12 and time.monotonic() < deadline:
        for batch in setup(timeout=2, expect=1):
            seen.extend(batch["bodies"])
    for group in "ab":
        mine = [body for body in seen if body.startswith(group)]
        assert mine == sorted(mine), f"group {group} out of order: {mine}"
        assert len(mine) == 6


def test_a_disabled_mapping_stops_polling(lambda_client, sqs_client, setup):
    source = sqs_client.create_queue(QueueName="source")["QueueUrl"]
    uuid = lambda_client.create_event_source_mapping(EventSourceArn=queue_arn("source"), FunctionName="observer")["UUID"]
    sqs_client.send_message(QueueUrl=source, MessageBody="first")
    assert setup()[0]["bodies"] == ["first"]
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
    time.sleep(0.5)
    sqs_client.send_message(QueueUrl=source, MessageBody="second")
    assert setup(timeout=3) == [], "no batch while disabled"
    assert counts(sqs_client, source)[0] == 1
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert setup()[0]["bodies"] == ["second"]
