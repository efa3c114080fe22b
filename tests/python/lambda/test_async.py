"""Asynchronous invocation (InvocationType=Event) through boto3: delivery, retries, destinations
(SQS queues and functions) and durability across a crash of wharf.

The suite's servers retry after 1 s and 2 s (`[functions] async_retry_delay_seconds = 1`, see
conftest.py) where Lambda waits about one and two minutes.
"""

from __future__ import annotations

import json
import re
import time

from lambda_support import (
    SQS_WRITER,
    client_of,
    creator,
    function_arn,
    queue_arn,
    receive,
)

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

# Sends every event it gets, as it got it, to the queue in its QUEUE_URL variable.
RELAY = """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
    return {"relayed": True}
"""


def event_invoke(lambda_client, name: str, event: dict, latencies: list | None = None) -> str:
    """An Event invoke; returns its request id (the first, should wharf send the header twice:
    test_event_reaches_the_function checks there is one)."""
    started = time.monotonic()
    response = lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    if latencies is not None:
        latencies.append(time.monotonic() - started)
    assert response["StatusCode"] == 202
    return response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"].split(", ")[0]


def test_event_reaches_the_function(lambda_client, sqs_client, create_function):
    queue_url = sqs_client.create_queue(QueueName="async-out")["QueueUrl"]
    create_function("async-writer", SQS_WRITER, timeout=10)
    response = lambda_client.invoke(
        FunctionName="async-writer", InvocationType="Event", Payload=json.dumps({"queue_url": queue_url})
    )
    latencies: list[float] = []
    request_ids = [
        event_invoke(lambda_client, "async-writer", {"queue_url": queue_url, "n": n}, latencies) for n in range(3)
    ]
    # The first event's function is starting (importing boto3) while the others are accepted.
    assert max(latencies) < 1.0, f"Event invokes answer at once: {latencies}"
    messages = [json.loads(message["Body"]) for message in receive(sqs_client, queue_url, count=4, timeout=20)]
    messages = [message for message in messages if "n" in message["event"]]
    assert sorted(message["event"]["n"] for message in messages) == [0, 1, 2]
    assert sorted(message["request_id"] for message in messages) == sorted(request_ids), (
        "the function sees the request id the 202 carried"
    )
    header = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert ", " not in header, f"one x-amzn-RequestId header: {header}"


def test_failing_event_is_retried_twice_then_sent_to_on_failure(lambda_client, sqs_client, create_function):
    attempts_url = sqs_client.create_queue(QueueName="attempts")["QueueUrl"]
    failed_url = sqs_client.create_queue(QueueName="failed")["QueueUrl"]
    create_function("always-fails", SQS_WRITER, timeout=10)
    lambda_client.put_function_event_invoke_config(
        FunctionName="always-fails", DestinationConfig={"OnFailure": {"Destination": queue_arn("failed")}}
    )
    event = {"queue_url": attempts_url, "fail": True, "id": "e-1"}
    request_id = event_invoke(lambda_client, "always-fails", event)

    attempts = receive(sqs_client, attempts_url, count=3, timeout=30)
    assert {json.loads(message["Body"])["request_id"] for message in attempts} == {request_id}, (
        "retries keep the request id"
    )
    sent = sorted(int(message["Attributes"]["SentTimestamp"]) for message in attempts)
    assert sent[1] - sent[0] >= 900 and sent[2] - sent[1] >= 900, f"retries wait (1 s, then 2 s here): {sent}"

    (failure,) = receive(sqs_client, failed_url, timeout=20)
    record = json.loads(failure["Body"])
    assert record["version"] == "1.0"
    assert TIMESTAMP.match(record["timestamp"]), record["timestamp"]
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": function_arn("always-fails") + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "asked to fail"

    time.sleep(1.5)
    extra = sqs_client.receive_message(QueueUrl=attempts_url, WaitTimeSeconds=1).get("Messages", [])
    assert extra == [], "no fourth attempt"


def test_retry_attempts_zero_and_success_destination(lambda_client, sqs_client, create_function):
    attempts_url = sqs_client.create_queue(QueueName="attempts")["QueueUrl"]
    outcomes_url = sqs_client.create_queue(QueueName="outcomes")["QueueUrl"]
    create_function("once", SQS_WRITER, timeout=10)
    lambda_client.put_function_event_invoke_config(
        FunctionName="once",
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnSuccess": {"Destination": queue_arn("outcomes")},
            "OnFailure": {"Destination": queue_arn("outcomes")},
        },
    )
    ok_id = event_invoke(lambda_client, "once", {"queue_url": attempts_url, "id": "ok"})
    failed_id = event_invoke(lambda_client, "once", {"queue_url": attempts_url, "id": "bad", "fail": True})
    records = {}
    for message in receive(sqs_client, outcomes_url, count=2, timeout=20):
        record = json.loads(message["Body"])
        records[record["requestContext"]["requestId"]] = record

    success = records[ok_id]
    assert success["version"] == "1.0"
    assert success["requestContext"] == {
        "requestId": ok_id,
        "functionArn": function_arn("once") + ":$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert success["requestPayload"] == {"queue_url": attempts_url, "id": "ok"}
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert success["responsePayload"] == {"sent": True}

    failure = records[failed_id]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1, "MaximumRetryAttempts=0: no retry"
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert len(receive(sqs_client, attempts_url, count=2, timeout=10)) == 2
    time.sleep(1.5)
    assert sqs_client.receive_message(QueueUrl=attempts_url, WaitTimeSeconds=1).get("Messages", []) == []


def test_function_destination_gets_the_record(lambda_client, sqs_client, create_function):
    relay_url = sqs_client.create_queue(QueueName="relay-out")["QueueUrl"]
    create_function("relay", RELAY, timeout=10, Environment={"Variables": {"QUEUE_URL": relay_url}})
    create_function("source", "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
    lambda_client.put_function_event_invoke_config(
        FunctionName="source", DestinationConfig={"OnSuccess": {"Destination": function_arn("relay")}}
    )
    request_id = event_invoke(lambda_client, "source", {"n": 21})
    (message,) = receive(sqs_client, relay_url, timeout=20)
    record = json.loads(message["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"] == function_arn("source") + ":$LATEST"
    assert record["requestPayload"] == {"n": 21}
    assert record["responsePayload"] == {"doubled": 42}


def test_timeouts_count_as_failures(lambda_client, sqs_client, create_function):
    failed_url = sqs_client.create_queue(QueueName="timeouts")["QueueUrl"]
    create_function("sleepy", "import time\n\ndef handler(event, context):\n    time.sleep(5)\n", timeout=1)
    lambda_client.put_function_event_invoke_config(
        FunctionName="sleepy",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn("timeouts")}},
    )
    request_id = event_invoke(lambda_client, "sleepy", {"x": 1})
    (message,) = receive(sqs_client, failed_url, timeout=20)
    record = json.loads(message["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"


def test_event_survives_kill_9(wharf, lambda_client, sqs_client, create_function):
    """An accepted Event invocation is durable: kill -9 wharf right after the 202, restart it on
    the same data directory, and the function still runs."""
    queue_url = sqs_client.create_queue(QueueName="durable-out")["QueueUrl"]
    create_function("durable", SQS_WRITER, timeout=10)
    request_id = event_invoke(lambda_client, "durable", {"queue_url": queue_url, "sleep": 2})
    wharf.kill9()
    # Longer than the handler's sleep: a function process that outlived wharf would find no
    # server to send to (its client does not retry), so only a run after the restart counts.
    time.sleep(3)
    wharf.start_again(wharf.port)
    # Past the hold, in case the killed process had pulled the event already. If it had not,
    # the restarted worker may be running it during the jump and run it once more: delivery is
    # at least once, as on Lambda.
    wharf.advance_clock(11)
    messages = receive(client_of(wharf, "sqs"), queue_url, timeout=15)
    assert {json.loads(message["Body"])["request_id"] for message in messages} == {request_id}


def test_event_in_flight_at_kill_9_runs_again(wharf, lambda_client, sqs_client, create_function):
    """kill -9 while the function is running the event: after a restart the event runs again
    (Lambda is at-least-once), and soon.

    wharf's worker holds an event it runs for PULL_HOLD_SECONDS (10 s, crates/functions/src/
    ports.rs), extending the hold every 3 s while the function runs; once the process that held
    it is gone, the event is due again when the hold ends. The restarted server's test clock
    moves past the hold instead of waiting for it.
    """
    started_url = sqs_client.create_queue(QueueName="started")["QueueUrl"]
    queue_url = sqs_client.create_queue(QueueName="inflight-out")["QueueUrl"]
    create_function("inflight", SQS_WRITER, timeout=10)
    request_id = event_invoke(lambda_client, "inflight", {"queue_url": queue_url, "announce": started_url, "sleep": 2})
    (started,) = receive(sqs_client, started_url, timeout=10)
    assert started["Body"] == request_id
    wharf.kill9()
    wharf.start_again(wharf.port)
    wharf.advance_clock(11)
    (message,) = receive(client_of(wharf, "sqs"), queue_url, timeout=15)
    assert json.loads(message["Body"])["request_id"] == request_id


def test_event_survives_graceful_restart(wharf, lambda_client, sqs_client, create_function):
    queue_url = sqs_client.create_queue(QueueName="graceful-out")["QueueUrl"]
    create_function("graceful", SQS_WRITER, timeout=10)
    request_id = event_invoke(lambda_client, "graceful", {"queue_url": queue_url, "sleep": 2})
    wharf.restart()
    wharf.advance_clock(11)  # past the hold of an event the stopped process was running
    messages = receive(client_of(wharf, "sqs"), queue_url, timeout=15)
    assert json.loads(messages[0]["Body"])["request_id"] == request_id


def test_events_queue_while_reserved_concurrency_is_busy(wharf, lambda_client, sqs_client):
    """With reserved concurrency 1, a burst of Event invokes is queued and run one at a time."""
    create = creator(lambda_client)
    queue_url = sqs_client.create_queue(QueueName="serial-out")["QueueUrl"]
    create("serial", SQS_WRITER, timeout=10)
    lambda_client.put_function_concurrency(FunctionName="serial", ReservedConcurrentExecutions=1)
    for n in range(4):
        event_invoke(lambda_client, "serial", {"queue_url": queue_url, "n": n, "sleep": 0.3})
    messages = [json.loads(message["Body"]) for message in receive(sqs_client, queue_url, count=4, timeout=30)]
    assert sorted(message["event"]["n"] for message in messages) == [0, 1, 2, 3]
    assert len({message["environment"] for message in messages}) == 1, "one environment at a time, reused"


def test_failed_events_go_to_the_functions_dead_letter_queue(lambda_client, sqs_client, create_function):
    """DeadLetterConfig: after the last retry, the original event goes to the queue with
    Lambda's RequestID, ErrorCode and ErrorMessage attributes."""
    attempts_url = sqs_client.create_queue(QueueName="attempts")["QueueUrl"]
    dead_url = sqs_client.create_queue(QueueName="function-dlq")["QueueUrl"]
    create_function(
        "dead-lettered", SQS_WRITER, timeout=10, DeadLetterConfig={"TargetArn": queue_arn("function-dlq")}
    )
    lambda_client.put_function_event_invoke_config(FunctionName="dead-lettered", MaximumRetryAttempts=0)
    event = {"queue_url": attempts_url, "fail": True, "id": "dlq-1"}
    request_id = event_invoke(lambda_client, "dead-lettered", event)
    (dead,) = receive(sqs_client, dead_url, timeout=20)
    assert json.loads(dead["Body"]) == event, "the original event"
    attributes = dead["MessageAttributes"]
    assert attributes["RequestID"] == {"StringValue": request_id, "DataType": "String"}
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    assert "asked to fail" in attributes["ErrorMessage"]["StringValue"]
    assert len(receive(sqs_client, attempts_url, count=1, timeout=5)) == 1, "no retry with MaximumRetryAttempts 0"
