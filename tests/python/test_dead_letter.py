"""Dead-letter queues: RedrivePolicy, RedriveAllowPolicy, the move at maxReceiveCount + 1, and
ListDeadLetterSourceQueues, through both protocols."""

from __future__ import annotations

import json

from sqs_support import ACCOUNT_ID, aws_error, create_queue, queue_counts, receive


def arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}"


def redrive(target: str, count: int | str) -> str:
    return json.dumps({"deadLetterTargetArn": arn(target), "maxReceiveCount": count})


def test_message_moves_after_max_receive_count(wharf):
    sqs = wharf.client()
    dead_url = create_queue(sqs, "orders-dlq")
    source_url = create_queue(sqs, "orders", RedrivePolicy=redrive("orders-dlq", "2"))
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": arn("orders-dlq"), "maxReceiveCount": 2}

    sent = sqs.send_message(
        QueueUrl=source_url,
        MessageBody="poison",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "bad"}},
    )
    for expected_count in ("1", "2"):
        got = receive(sqs, source_url, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"])
        assert [message["MessageId"] for message in got] == [sent["MessageId"]]
        assert got[0]["Attributes"]["ApproximateReceiveCount"] == expected_count

    assert receive(sqs, source_url, VisibilityTimeout=0) == [], "the third receive moves it instead of delivering it"
    assert queue_counts(sqs, source_url) == {"visible": 0, "in_flight": 0, "delayed": 0}

    moved = receive(sqs, dead_url, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert len(moved) == 1
    message = moved[0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "poison"
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"]["kind"]["StringValue"] == "bad"
    # As recorded on SQS, the receive count goes along: one more than the last receive on the
    # source.
    assert message["Attributes"]["ApproximateReceiveCount"] == "3"
    assert message["Attributes"]["DeadLetterQueueSourceArn"] == arn("orders")


def test_dead_letter_queue_wakes_a_waiting_receiver(wharf):
    import threading

    sqs = wharf.client()
    dead_url = create_queue(sqs, "wake-dlq")
    source_url = create_queue(sqs, "wake", RedrivePolicy=redrive("wake-dlq", 1))
    sqs.send_message(QueueUrl=source_url, MessageBody="once")
    assert receive(sqs, source_url, VisibilityTimeout=0)
    result: list = []
    waiter = threading.Thread(target=lambda: result.extend(receive(wharf.client(), dead_url, WaitTimeSeconds=10)))
    waiter.start()
    assert receive(sqs, source_url) == []
    waiter.join(timeout=5)
    assert not waiter.is_alive() and [message["Body"] for message in result] == ["once"]


def test_moved_messages_survive_a_restart(wharf):
    sqs = wharf.client()
    dead_url = create_queue(sqs, "kept-dlq")
    source_url = create_queue(sqs, "kept", RedrivePolicy=redrive("kept-dlq", 1))
    sqs.send_message(QueueUrl=source_url, MessageBody="survivor")
    assert receive(sqs, source_url, VisibilityTimeout=0)
    assert receive(sqs, source_url) == []
    wharf.restart()
    sqs = wharf.client()
    moved = receive(sqs, dead_url, AttributeNames=["DeadLetterQueueSourceArn"])
    assert [message["Body"] for message in moved] == ["survivor"]
    assert moved[0]["Attributes"]["DeadLetterQueueSourceArn"] == arn("kept")


def test_invalid_policies_are_refused(wharf):
    sqs = wharf.client()
    create_queue(sqs, "target")
    url = create_queue(sqs, "source")
    for policy in [
        "not json",
        redrive("target", 0),
        redrive("target", 1001),
        redrive("missing-queue", 3),
        redrive("source", 3),
        json.dumps({"maxReceiveCount": 3}),
    ]:
        with aws_error("InvalidParameterValue", 400):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    with aws_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName="born-bad", Attributes={"RedrivePolicy": redrive("missing-queue", 3)})


def test_redrive_allow_policy_is_enforced(wharf):
    sqs = wharf.client()
    dead_url = create_queue(sqs, "guarded-dlq")
    allowed_url = create_queue(sqs, "allowed")
    other_url = create_queue(sqs, "other")
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn("allowed")]})
    sqs.set_queue_attributes(QueueUrl=dead_url, Attributes={"RedriveAllowPolicy": allow})
    sqs.set_queue_attributes(QueueUrl=allowed_url, Attributes={"RedrivePolicy": redrive("guarded-dlq", 3)})
    with aws_error("InvalidParameterValue", 400):
        sqs.set_queue_attributes(QueueUrl=other_url, Attributes={"RedrivePolicy": redrive("guarded-dlq", 3)})
    sqs.set_queue_attributes(QueueUrl=dead_url, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})
    with aws_error("InvalidParameterValue", 400):
        sqs.set_queue_attributes(QueueUrl=other_url, Attributes={"RedrivePolicy": redrive("guarded-dlq", 3)})
    for bad in ['{"redrivePermission":"byQueue"}', '{"redrivePermission":"sometimes"}', "[]"]:
        with aws_error("InvalidParameterValue", 400):
            sqs.set_queue_attributes(QueueUrl=dead_url, Attributes={"RedriveAllowPolicy": bad})
    # An empty value removes a policy.
    sqs.set_queue_attributes(QueueUrl=allowed_url, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=allowed_url, AttributeNames=["All"])["Attributes"]


def test_list_dead_letter_source_queues_pages(wharf):
    sqs = wharf.client()
    dead_url = create_queue(sqs, "shared-dlq")
    for name in ["src-a", "src-b", "src-c"]:
        create_queue(sqs, name, RedrivePolicy=redrive("shared-dlq", 5))
    create_queue(sqs, "unrelated")
    listed = sqs.list_dead_letter_source_queues(QueueUrl=dead_url)["queueUrls"]
    assert [url.rsplit("/", 1)[1] for url in listed] == ["src-a", "src-b", "src-c"]
    first = sqs.list_dead_letter_source_queues(QueueUrl=dead_url, MaxResults=2)
    assert [url.rsplit("/", 1)[1] for url in first["queueUrls"]] == ["src-a", "src-b"]
    second = sqs.list_dead_letter_source_queues(QueueUrl=dead_url, MaxResults=2, NextToken=first["NextToken"])
    assert [url.rsplit("/", 1)[1] for url in second["queueUrls"]] == ["src-c"]
    assert "NextToken" not in second


def test_retention_in_a_standard_dead_letter_queue_counts_from_the_original_enqueue(wharf):
    """A standard queue's message keeps its enqueue time when it moves (SQS developer guide), so
    it can expire in the dead-letter queue behind a younger message sent there directly."""
    sqs = wharf.client()
    dead_url = create_queue(sqs, "aging-dlq", MessageRetentionPeriod="60")
    source_url = create_queue(sqs, "aging", RedrivePolicy=redrive("aging-dlq", 1))
    sqs.send_message(QueueUrl=source_url, MessageBody="old")
    wharf.advance_clock(30)
    sqs.send_message(QueueUrl=dead_url, MessageBody="direct")
    wharf.advance_clock(10)
    assert [message["Body"] for message in receive(sqs, source_url, VisibilityTimeout=0)] == ["old"]
    assert receive(sqs, source_url) == [], "the second receive moves it"
    assert queue_counts(sqs, dead_url)["visible"] == 2
    wharf.advance_clock(21)
    assert queue_counts(sqs, dead_url) == {"visible": 1, "in_flight": 0, "delayed": 0}, "60 s after its first enqueue"
    assert [message["Body"] for message in receive(sqs, dead_url)] == ["direct"]
