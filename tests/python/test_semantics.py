"""Queue semantics in time: visibility, delays, retention, purge and long polling.

Timeouts are 1 s wherever SQS allows it, and waits use long polls (which return as soon as a
message becomes visible) rather than sleeps, so the file runs in seconds, except the one
retention test, which needs SQS's minimum retention period of 60 s.
"""

import threading
import time

import pytest

from sqs_support import aws_error, create_queue, queue_counts, receive

NOT_INFLIGHT = "AWS.SimpleQueueService.MessageNotInflight"


def timed(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


# ----- visibility ------------------------------------------------------------------------------


def test_visibility_timeout_expiry_redelivers_with_a_new_receipt_handle(sqs):
    queue_url = create_queue(sqs, "visibility", VisibilityTimeout=1)
    sent_id = sqs.send_message(QueueUrl=queue_url, MessageBody="again")["MessageId"]

    [first] = receive(sqs, queue_url, AttributeNames=["All"])
    assert first["MessageId"] == sent_id
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert receive(sqs, queue_url) == [], "hidden while in flight"
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 1, "delayed": 0}

    messages, waited = timed(receive, sqs, queue_url, AttributeNames=["All"], WaitTimeSeconds=5)
    [second] = messages
    assert second["MessageId"] == sent_id
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateFirstReceiveTimestamp"] == first["Attributes"]["ApproximateFirstReceiveTimestamp"]
    assert second["Attributes"]["SentTimestamp"] == first["Attributes"]["SentTimestamp"]
    assert waited < 1.6, f"a long poll returns when the message becomes visible again ({waited:.2f} s)"

    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"])
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_receive_visibility_timeout_overrides_the_queue_default(sqs):
    queue_url = create_queue(sqs, "override", VisibilityTimeout=60)
    sqs.send_message(QueueUrl=queue_url, MessageBody="short")
    [first] = receive(sqs, queue_url, VisibilityTimeout=1)
    started = time.monotonic()
    [second] = receive(sqs, queue_url, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=5)
    assert 0.5 < time.monotonic() - started < 1.6
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_message_visibility_to_zero_makes_the_message_visible_at_once(sqs):
    queue_url = create_queue(sqs, "release")
    sqs.send_message(QueueUrl=queue_url, MessageBody="release me")
    [first] = receive(sqs, queue_url)
    assert receive(sqs, queue_url) == []
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    [second] = receive(sqs, queue_url, AttributeNames=["ApproximateReceiveCount"])
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_message_visibility_extends_the_timeout_from_now(sqs):
    queue_url = create_queue(sqs, "extend", VisibilityTimeout=1)
    sqs.send_message(QueueUrl=queue_url, MessageBody="keep hidden")
    [message] = receive(sqs, queue_url)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=3)
    assert receive(sqs, queue_url, WaitTimeSeconds=2) == [], "still hidden after the original 1 s"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert queue_counts(sqs, queue_url)["in_flight"] == 0


def test_change_message_visibility_of_a_deleted_message_is_invalid_parameter_value(sqs):
    queue_url = create_queue(sqs, "gone")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    with aws_error("InvalidParameterValue", status=400) as error:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=10)
    assert "Message does not exist or is not available for visibility timeout change" in str(error.value)


def test_a_stale_handle_changes_visibility_on_a_standard_queue_and_not_on_a_fifo_queue(wharf):
    """As recorded on SQS: a standard queue accepts a handle whose visibility ended; a FIFO
    queue answers MessageNotInflight, and refuses to delete with it."""
    sqs = wharf.client()
    queue_url = create_queue(sqs, "expired")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url, VisibilityTimeout=1)
    fifo_url = create_queue(sqs, "expired.fifo", FifoQueue="true")
    sqs.send_message(QueueUrl=fifo_url, MessageBody="y", MessageGroupId="g", MessageDeduplicationId="y")
    [fifo_message] = receive(sqs, fifo_url, VisibilityTimeout=1)
    wharf.advance_clock(2)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=10)
    with aws_error(NOT_INFLIGHT, status=400):
        sqs.change_message_visibility(QueueUrl=fifo_url, ReceiptHandle=fifo_message["ReceiptHandle"], VisibilityTimeout=10)
    with aws_error("InvalidParameterValue", status=400) as error:
        sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=fifo_message["ReceiptHandle"])
    assert "The receipt handle has expired." in str(error.value)
    assert queue_counts(sqs, fifo_url) == {"visible": 1, "in_flight": 0, "delayed": 0}, "not deleted"
    # A superseded standard handle is accepted too.
    [again] = receive(sqs, queue_url, VisibilityTimeout=30)
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert queue_counts(sqs, queue_url)["in_flight"] == 1, "the current receiver keeps it"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=again["ReceiptHandle"])


def test_change_message_visibility_batch_reports_deleted_entries(sqs):
    queue_url = create_queue(sqs, "gone-batch")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    response = sqs.change_message_visibility_batch(
        QueueUrl=queue_url, Entries=[{"Id": "deleted", "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 5}]
    )
    assert response.get("Successful", []) == []
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("deleted", "InvalidParameterValue", True)


def test_visibility_timeout_above_12_hours_is_refused(sqs):
    queue_url = create_queue(sqs, "twelve")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url)
    with aws_error("InvalidParameterValue", status=400):
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=43201)


@pytest.mark.parametrize("handle", ["garbage", "AQEBzbVv", "x" * 100])
def test_invalid_receipt_handle_is_receipt_handle_is_invalid(sqs, handle):
    queue_url = create_queue(sqs, "handles")
    with aws_error("ReceiptHandleIsInvalid", status=400) as error:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
    assert isinstance(error.value, sqs.exceptions.ReceiptHandleIsInvalid)
    with aws_error("ReceiptHandleIsInvalid", status=400):
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)


def test_receipt_handle_of_another_queue_is_invalid(sqs):
    first_url = create_queue(sqs, "first")
    second_url = create_queue(sqs, "second")
    sqs.send_message(QueueUrl=first_url, MessageBody="x")
    [message] = receive(sqs, first_url)
    with aws_error("ReceiptHandleIsInvalid", status=400):
        sqs.delete_message(QueueUrl=second_url, ReceiptHandle=message["ReceiptHandle"])
    assert queue_counts(sqs, first_url)["in_flight"] == 1


def test_deleting_a_message_twice_succeeds(sqs):
    queue_url = create_queue(sqs, "twice")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = receive(sqs, queue_url)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 0}


# ----- delays ----------------------------------------------------------------------------------


def test_per_message_delay_hides_the_message_until_it_passes(sqs):
    queue_url = create_queue(sqs, "delayed")
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=1)
    sqs.send_message(QueueUrl=queue_url, MessageBody="now")
    assert queue_counts(sqs, queue_url) == {"visible": 1, "in_flight": 0, "delayed": 1}
    [now] = receive(sqs, queue_url, MaxNumberOfMessages=10)
    assert now["Body"] == "now"
    started = time.monotonic()
    [later] = receive(sqs, queue_url, WaitTimeSeconds=5)
    waited = time.monotonic() - started
    assert later["Body"] == "later"
    assert 0.5 < waited < 1.6, f"visible about 1 s after the send ({waited:.2f} s)"


def test_queue_delay_seconds_applies_to_every_message_unless_overridden(sqs):
    queue_url = create_queue(sqs, "delay-queue", DelaySeconds=1)
    sqs.send_message(QueueUrl=queue_url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=queue_url, MessageBody="no delay", DelaySeconds=0)
    assert queue_counts(sqs, queue_url) == {"visible": 1, "in_flight": 0, "delayed": 1}
    assert [message["Body"] for message in receive(sqs, queue_url, MaxNumberOfMessages=10)] == ["no delay"]
    started = time.monotonic()
    [delayed] = receive(sqs, queue_url, WaitTimeSeconds=5)
    assert delayed["Body"] == "queue delay"
    assert 0.5 < time.monotonic() - started < 1.6
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 2, "delayed": 0}


def test_changing_queue_delay_seconds_does_not_delay_messages_already_sent(sqs):
    queue_url = create_queue(sqs, "delay-change")
    sqs.send_message(QueueUrl=queue_url, MessageBody="before")
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"DelaySeconds": "60"})
    sqs.send_message(QueueUrl=queue_url, MessageBody="after")
    assert queue_counts(sqs, queue_url) == {"visible": 1, "in_flight": 0, "delayed": 1}
    assert [message["Body"] for message in receive(sqs, queue_url, MaxNumberOfMessages=10)] == ["before"]


# ----- retention -------------------------------------------------------------------------------


def test_messages_past_the_retention_period_are_deleted(wharf, sqs):
    """60 s is the smallest MessageRetentionPeriod SQS allows; the server's test clock moves
    past it instead of waiting.

    The period is lowered after the first send: a reduction applies to messages already in the
    queue (SetQueueAttributes documentation). A message never received and one in flight past
    the period are both dropped; a message sent later is kept until its own period ends.
    """
    queue_url = create_queue(sqs, "retention")
    sqs.send_message(QueueUrl=queue_url, MessageBody="sent under the default retention")
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"MessageRetentionPeriod": "60"})
    sqs.send_message(QueueUrl=queue_url, MessageBody="sent under 60 s retention")
    assert len(receive(sqs, queue_url, VisibilityTimeout=600)) == 1
    assert queue_counts(sqs, queue_url) == {"visible": 1, "in_flight": 1, "delayed": 0}
    wharf.advance_clock(55)
    assert queue_counts(sqs, queue_url) == {"visible": 1, "in_flight": 1, "delayed": 0}, "kept until the period ends"
    sqs.send_message(QueueUrl=queue_url, MessageBody="sent 55 s later")
    wharf.advance_clock(6)
    assert queue_counts(sqs, queue_url) == {"visible": 1, "in_flight": 0, "delayed": 0}, "the two first expired"
    assert [message["Body"] for message in receive(sqs, queue_url)] == ["sent 55 s later"]
    wharf.advance_clock(60)
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert receive(sqs, queue_url) == []


# ----- purge -----------------------------------------------------------------------------------


def test_purge_deletes_every_message_and_a_second_purge_within_60_seconds_is_refused(sqs):
    queue_url = create_queue(sqs, "purged")
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": f"m{index}", "MessageBody": str(index)} for index in range(5)])
    sqs.send_message(QueueUrl=queue_url, MessageBody="delayed", DelaySeconds=60)
    [in_flight] = receive(sqs, queue_url)
    sqs.purge_queue(QueueUrl=queue_url)
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert receive(sqs, queue_url, MaxNumberOfMessages=10) == []
    with aws_error("AWS.SimpleQueueService.PurgeQueueInProgress", status=403) as error:
        sqs.purge_queue(QueueUrl=queue_url)
    assert isinstance(error.value, sqs.exceptions.PurgeQueueInProgress)
    sqs.send_message(QueueUrl=queue_url, MessageBody="after the purge")
    assert [message["Body"] for message in receive(sqs, queue_url)] == ["after the purge"]
    assert in_flight["Body"] in {str(index) for index in range(5)}


def test_purge_interval_can_be_configured_to_zero(wharf_factory):
    server = wharf_factory(config="[sqs]\npurge_interval_seconds = 0\n")
    sqs = server.client()
    queue_url = create_queue(sqs, "purged")
    for round_number in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"round {round_number}")
        sqs.purge_queue(QueueUrl=queue_url)
        assert queue_counts(sqs, queue_url)["visible"] == 0


# ----- long polling ----------------------------------------------------------------------------


def test_long_poll_returns_as_soon_as_a_message_is_sent(wharf):
    receiver = wharf.client()
    sender = wharf.client()
    queue_url = create_queue(sender, "long-poll")
    result: dict = {}

    def poll():
        result["messages"] = receive(receiver, queue_url, WaitTimeSeconds=10)
        result["returned_at"] = time.monotonic()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the long poll returned before any message was sent"
    sent_at = time.monotonic()
    sqs_response = sender.send_message(QueueUrl=queue_url, MessageBody="wake up")
    thread.join(timeout=12)
    assert not thread.is_alive()
    assert [message["MessageId"] for message in result["messages"]] == [sqs_response["MessageId"]]
    latency = result["returned_at"] - sent_at
    assert latency < 0.5, f"the waiting receive returned {latency:.3f} s after the send"


def test_empty_long_poll_returns_after_wait_time_seconds(sqs):
    queue_url = create_queue(sqs, "empty-poll")
    messages, waited = timed(receive, sqs, queue_url, WaitTimeSeconds=1)
    assert messages == []
    assert 0.9 <= waited < 2.0, f"WaitTimeSeconds=1 waited {waited:.2f} s"
    messages, waited = timed(receive, sqs, queue_url)
    assert messages == []
    assert waited < 0.5, f"a short poll waited {waited:.2f} s"


def test_queue_receive_message_wait_time_seconds_is_the_default_wait(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "queue-wait", ReceiveMessageWaitTimeSeconds=1)
    messages, waited = timed(receive, sqs, queue_url)
    assert messages == []
    assert 0.9 <= waited < 2.0, f"the queue's ReceiveMessageWaitTimeSeconds=1 waited {waited:.2f} s"
    messages, waited = timed(receive, sqs, queue_url, WaitTimeSeconds=0)
    assert messages == [] and waited < 0.5, "WaitTimeSeconds=0 overrides the queue's wait"

    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"ReceiveMessageWaitTimeSeconds": "20"})
    result: dict = {}

    def poll():
        result["messages"] = receive(wharf.client(), queue_url)
        result["returned_at"] = time.monotonic()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(1.2)
    assert thread.is_alive(), "a receive on a queue with a 20 s wait returned early"
    sent_at = time.monotonic()
    sqs.send_message(QueueUrl=queue_url, MessageBody="long polled by default")
    thread.join(timeout=22)
    assert [message["Body"] for message in result["messages"]] == ["long polled by default"]
    assert result["returned_at"] - sent_at < 0.5


def test_long_poll_wakes_when_a_message_is_released_by_change_visibility(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "released")
    sqs.send_message(QueueUrl=queue_url, MessageBody="held")
    [held] = receive(sqs, queue_url, VisibilityTimeout=30)
    result: dict = {}

    def poll():
        result["messages"] = receive(wharf.client(), queue_url, WaitTimeSeconds=10)
        result["returned_at"] = time.monotonic()

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    released_at = time.monotonic()
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=0)
    thread.join(timeout=12)
    assert [message["Body"] for message in result["messages"]] == ["held"]
    assert result["returned_at"] - released_at < 0.5


# ----- concurrent consumers --------------------------------------------------------------------


def test_concurrent_consumers_never_share_an_in_flight_message(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "shared-work")
    sent = set()
    for batch in range(20):
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": f"m{index}", "MessageBody": f"{batch}-{index}"} for index in range(10)])
        sent |= {entry["MessageId"] for entry in response["Successful"]}
    assert len(sent) == 200
    received: list[list[str]] = [[] for _ in range(4)]

    def consume(slot: int):
        client = wharf.client()
        while True:
            messages = receive(client, queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60)
            if not messages:
                return
            received[slot] += [message["MessageId"] for message in messages]

    threads = [threading.Thread(target=consume, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    every = [message_id for slot in received for message_id in slot]
    assert len(every) == len(set(every)), "a message was handed to two consumers within its visibility timeout"
    assert set(every) == sent
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 200, "delayed": 0}


def test_one_message_wakes_exactly_one_of_two_long_polls(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "one-for-two")
    results: list[list[dict]] = []
    lock = threading.Lock()

    def poll():
        messages = receive(wharf.client(), queue_url, WaitTimeSeconds=2, VisibilityTimeout=60)
        with lock:
            results.append(messages)

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    sqs.send_message(QueueUrl=queue_url, MessageBody="only one")
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(len(messages) for messages in results) == [0, 1]


def test_receive_request_attempt_id_is_accepted_and_ignored_on_a_standard_queue(sqs):
    queue_url = create_queue(sqs, "attempts")
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}])
    first = receive(sqs, queue_url, ReceiveRequestAttemptId="attempt-1")
    second = receive(sqs, queue_url, ReceiveRequestAttemptId="attempt-1")
    assert len(first) == len(second) == 1
    assert first[0]["MessageId"] != second[0]["MessageId"], "deduplication of receive attempts is FIFO-only"


def test_a_fifo_batch_delete_with_an_expired_handle_fails_that_entry(wharf):
    sqs = wharf.client()
    url = create_queue(sqs, "batch-expired.fifo", FifoQueue="true")
    sqs.send_message(QueueUrl=url, MessageBody="y", MessageGroupId="g", MessageDeduplicationId="y")
    [message] = receive(sqs, url, VisibilityTimeout=1)
    wharf.advance_clock(2)
    response = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "late", "ReceiptHandle": message["ReceiptHandle"]}])
    [failed] = response["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("late", "InvalidParameterValue", True)
    assert failed["Message"] == "The receipt handle has expired."
    assert queue_counts(sqs, url) == {"visible": 1, "in_flight": 0, "delayed": 0}, "not deleted"
