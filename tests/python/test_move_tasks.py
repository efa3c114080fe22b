"""Message move tasks out of dead-letter queues: back to the original sources, to a named
destination at a limited rate, cancelled halfway, resumed after a restart, and their errors."""

from __future__ import annotations

import base64
import json
import time

from sqs_support import ACCOUNT_ID, aws_error, create_queue, queue_counts, receive


def arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}"


def dead_letter_setup(sqs, sources: list[str], per_source: int) -> str:
    """A dead-letter queue holding `per_source` messages dead-lettered from each source."""
    dead_url = create_queue(sqs, "dlq")
    policy = json.dumps({"deadLetterTargetArn": arn("dlq"), "maxReceiveCount": 1})
    for source in sources:
        url = create_queue(sqs, source, RedrivePolicy=policy)
        for index in range(per_source):
            sqs.send_message(QueueUrl=url, MessageBody=f"{source}-{index}",
                             MessageAttributes={"n": {"DataType": "Number", "StringValue": str(index)}})
        while receive(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=0):
            pass  # each receive counts once; the next one moves the messages
    assert queue_counts(sqs, dead_url)["visible"] == per_source * len(sources)
    return dead_url


def wait_for_status(sqs, source_arn: str, statuses: set[str], timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"][0]
        if task["Status"] in statuses or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def bodies(sqs, url: str) -> list[str]:
    found = []
    while batch := receive(sqs, url, MaxNumberOfMessages=10):
        found += [message["Body"] for message in batch]
    return sorted(found)


def test_redrive_back_to_the_original_sources(wharf):
    sqs = wharf.client()
    dead_url = dead_letter_setup(sqs, ["src-a", "src-b"], 3)
    handle = sqs.start_message_move_task(SourceArn=arn("dlq"))["TaskHandle"]
    assert json.loads(base64.b64decode(handle)) == {"taskId": json.loads(base64.b64decode(handle))["taskId"], "sourceArn": arn("dlq")}
    task = wait_for_status(sqs, arn("dlq"), {"COMPLETED", "FAILED"})
    assert task["Status"] == "COMPLETED", task
    assert task["ApproximateNumberOfMessagesMoved"] == 6
    assert task["ApproximateNumberOfMessagesToMove"] == 6
    assert "TaskHandle" not in task, "only running tasks show their handle"
    assert bodies(sqs, dead_url) == []
    base = wharf.endpoint + f"/{ACCOUNT_ID}/"
    assert bodies(sqs, base + "src-a") == ["src-a-0", "src-a-1", "src-a-2"]
    assert bodies(sqs, base + "src-b") == ["src-b-0", "src-b-1", "src-b-2"]


def test_rate_limited_move_to_a_destination_cancelled_halfway(wharf):
    sqs = wharf.client()
    dead_url = dead_letter_setup(sqs, ["src"], 30)
    destination_url = create_queue(sqs, "destination")
    handle = sqs.start_message_move_task(SourceArn=arn("dlq"), DestinationArn=arn("destination"),
                                         MaxNumberOfMessagesPerSecond=10)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=arn("dlq"))["Results"][0]
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    assert running["MaxNumberOfMessagesPerSecond"] == 10
    with aws_error("InvalidParameterValue", 400):
        sqs.start_message_move_task(SourceArn=arn("dlq"))
    time.sleep(1.2)
    moved_at_cancel = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    task = wait_for_status(sqs, arn("dlq"), {"CANCELLED"})
    assert task["Status"] == "CANCELLED", task
    moved = task["ApproximateNumberOfMessagesMoved"]
    assert 5 <= moved_at_cancel <= moved < 30, (moved_at_cancel, moved)
    in_destination = bodies(sqs, destination_url)
    left = bodies(sqs, dead_url)
    assert len(in_destination) == moved
    assert sorted(in_destination + left) == sorted(f"src-{index}" for index in range(30))
    with aws_error("InvalidParameterValue", 400):
        sqs.cancel_message_move_task(TaskHandle=handle)


def test_running_task_resumes_after_restart(wharf):
    sqs = wharf.client()
    dead_letter_setup(sqs, ["src"], 6)
    destination_url = create_queue(sqs, "destination")
    sqs.start_message_move_task(SourceArn=arn("dlq"), DestinationArn=arn("destination"), MaxNumberOfMessagesPerSecond=3)
    time.sleep(0.5)
    wharf.restart()
    sqs = wharf.client()
    task = wait_for_status(sqs, arn("dlq"), {"COMPLETED", "FAILED"})
    assert task["Status"] == "COMPLETED", task
    assert len(bodies(sqs, destination_url)) >= 6, "nothing lost (a move cut by the restart may repeat)"


def test_errors(wharf):
    sqs = wharf.client()
    create_queue(sqs, "plain")
    with aws_error("InvalidParameterValue", 400):
        sqs.start_message_move_task(SourceArn=arn("plain"))
    with aws_error("ResourceNotFoundException", 404):
        sqs.start_message_move_task(SourceArn=arn("missing"))
    with aws_error("InvalidParameterValue", 400) as error:
        sqs.cancel_message_move_task(TaskHandle="not-a-task")
    assert error.value.response["Error"]["Message"] == "Value for parameter TaskHandle is invalid."
    unknown = base64.b64encode(json.dumps({"taskId": "t-1", "sourceArn": arn("missing")}).encode()).decode()
    with aws_error("ResourceNotFoundException", 404) as error:
        sqs.cancel_message_move_task(TaskHandle=unknown)
    assert error.value.response["Error"]["Message"] == "The resource that you specified for the SourceArn parameter doesn't exist."
    with aws_error("ResourceNotFoundException", 404):
        sqs.list_message_move_tasks(SourceArn=arn("missing"))
    assert sqs.list_message_move_tasks(SourceArn=arn("plain")).get("Results", []) == []
    dead_letter_setup(sqs, ["src"], 1)
    with aws_error("ResourceNotFoundException", 404):
        sqs.start_message_move_task(SourceArn=arn("dlq"), DestinationArn=arn("missing"))
    with aws_error("InvalidParameterValue", 400):
        sqs.start_message_move_task(SourceArn=arn("dlq"), MaxNumberOfMessagesPerSecond=501)


def test_a_task_whose_destination_is_gone_fails_with_the_error_code_and_counts_what_moved(wharf):
    sqs = wharf.client()
    dead_url = dead_letter_setup(sqs, ["src-a", "src-b"], 3)
    sqs.delete_queue(QueueUrl=f"{wharf.endpoint}/{ACCOUNT_ID}/src-b")
    sqs.start_message_move_task(SourceArn=arn("dlq"))
    task = wait_for_status(sqs, arn("dlq"), {"COMPLETED", "FAILED"})
    assert task["Status"] == "FAILED", task
    assert task["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert task["ApproximateNumberOfMessagesMoved"] == 3, "the messages moved before the failure count"
    assert bodies(sqs, f"{wharf.endpoint}/{ACCOUNT_ID}/src-a") == ["src-a-0", "src-a-1", "src-a-2"]
    assert bodies(sqs, dead_url) == ["src-b-0", "src-b-1", "src-b-2"], "what could not move is visible again"
