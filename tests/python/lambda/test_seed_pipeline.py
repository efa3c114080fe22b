"""The seed's pipeline end to end, with the example code in examples/pipeline: a producer puts
orders on `sqs-test-1`, and a worker function processes and deletes each one, reached either
through a consumer function that a once-a-minute rule runs (the seed's design) or through an
event source mapping.

Each order must be processed exactly once (no failure is injected), the worker's log must show
each one, and the queue must end empty.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from lambda_support import ENFORCED, client_of, log_messages, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "pipeline"))

import deploy  # noqa: E402  (the example, imported from its directory)
import producer  # noqa: E402

PROCESSED = re.compile(r"worker: processed order (\d+) \(item-\d+\) from message (\S+)")


def processed(logs_client) -> list[tuple[int, str]]:
    try:
        lines = log_messages(logs_client, "lambda_worker")
    except logs_client.exceptions.ResourceNotFoundException:
        return []
    return [(int(match.group(1)), match.group(2)) for line in lines for match in [PROCESSED.search(line)] if match]


def assert_all_processed_once(wharf, orders: int, message_ids: list[str], timeout: float) -> None:
    logs_client = client_of(wharf, "logs")
    wait_for(lambda: len(processed(logs_client)) >= orders, timeout=timeout, interval=0.5, what=f"{orders} orders processed")
    time.sleep(1.0)  # a duplicate would show up here
    done = processed(logs_client)
    assert sorted(order for order, _ in done) == list(range(1, orders + 1)), "every order once"
    assert sorted(message for _, message in done) == sorted(message_ids), "every message once"
    sqs = client_of(wharf, "sqs")
    queue_url = sqs.get_queue_url(QueueName="sqs-test-1")["QueueUrl"]

    def empty():
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"

    wait_for(empty, timeout=10, what="every message deleted")


def test_pipeline_with_an_event_source_mapping(wharf):
    # The quick start's queue of the same name exists already, with other settings; the
    # deploy script runs twice: it creates or updates.
    client_of(wharf, "sqs").create_queue(QueueName="sqs-test-1")
    deploy.deploy_mapping(wharf.endpoint, "us-east-1")
    deploy.deploy_mapping(wharf.endpoint, "us-east-1")
    message_ids = producer.send_orders(25, wharf.endpoint, "us-east-1")
    assert_all_processed_once(wharf, 25, message_ids, timeout=30)


def test_pipeline_with_a_schedule(wharf):
    """The seed's design: the rule fires a minute after it is created (the server's test clock
    moves the minute), and the consumer takes up to ten messages per run, so ten orders are all
    done after the first fire."""
    deploy.deploy_schedule(wharf.endpoint, "us-east-1")
    deploy.deploy_schedule(wharf.endpoint, "us-east-1")  # again: nothing changes
    message_ids = producer.send_orders(10, wharf.endpoint, "us-east-1")
    wharf.advance_clock(61)
    assert_all_processed_once(wharf, 10, message_ids, timeout=30)
    consumer_log = log_messages(client_of(wharf, "logs"), "lambda_consumer")
    assert any("consumer: handed 10 message(s) to lambda_worker" in line for line in consumer_log), consumer_log


def test_pipeline_with_an_eventbridge_scheduler_schedule(wharf):
    """The same consumer run by EventBridge Scheduler: a rate schedule without a StartDate
    runs at once, then every minute (the test clock moves the minute)."""
    deploy.deploy_scheduler(wharf.endpoint, "us-east-1")
    deploy.deploy_scheduler(wharf.endpoint, "us-east-1")  # again: updated, not duplicated
    message_ids = producer.send_orders(10, wharf.endpoint, "us-east-1")
    wharf.advance_clock(61)
    assert_all_processed_once(wharf, 10, message_ids, timeout=30)


def test_pipeline_with_a_scheduler_schedule_and_auth_enforced(wharf_factory):
    """Scheduler invokes the consumer with its own role (trusting scheduler.amazonaws.com,
    allowed only to invoke the consumer), as on AWS."""
    from conftest import lambda_server  # noqa: PLC0415 (the suite's server maker)

    wharf = lambda_server(wharf_factory, ENFORCED)
    deploy.deploy_scheduler(wharf.endpoint, "us-east-1")
    message_ids = producer.send_orders(10, wharf.endpoint, "us-east-1")
    wharf.advance_clock(61)
    assert_all_processed_once(wharf, 10, message_ids, timeout=30)
    assert "access denied" not in wharf.log_tail(200_000), "the roles allow everything the pipeline does"


def test_pipeline_with_a_schedule_and_auth_enforced(wharf_factory):
    """The same pipeline with every signature checked and every call authorized: the example's
    keys are the account's root keys, the functions call SQS and Lambda with the temporary
    credentials of their execution roles (the seed's two: the consumer may receive and invoke,
    the worker only delete), and the rule reaches the consumer through its AddPermission."""
    from conftest import lambda_server  # noqa: PLC0415 (the suite's server maker)

    wharf = lambda_server(wharf_factory, ENFORCED)
    deploy.deploy_schedule(wharf.endpoint, "us-east-1")
    message_ids = producer.send_orders(10, wharf.endpoint, "us-east-1")
    wharf.advance_clock(61)
    assert_all_processed_once(wharf, 10, message_ids, timeout=30)
    lines = wharf.log_tail(200_000)
    assert "access denied" not in lines, "the roles allow everything the pipeline does"


def test_pipeline_with_a_mapping_and_auth_enforced(wharf_factory):
    """Lambda's pollers receive and delete with the batch worker's role
    (AWSLambdaSQSQueueExecutionRole)."""
    from conftest import lambda_server  # noqa: PLC0415

    wharf = lambda_server(wharf_factory, ENFORCED)
    deploy.deploy_mapping(wharf.endpoint, "us-east-1")
    message_ids = producer.send_orders(15, wharf.endpoint, "us-east-1")
    assert_all_processed_once(wharf, 15, message_ids, timeout=30)
    assert "access denied" not in wharf.log_tail(200_000)


def test_create_function_refuses_a_role_lambda_cannot_assume_when_enforced(wharf_factory):
    import json

    from conftest import lambda_server  # noqa: PLC0415

    wharf = lambda_server(wharf_factory, ENFORCED)
    iam = client_of(wharf, "iam")
    iam.create_role(RoleName="not-for-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    functions = client_of(wharf, "lambda")
    for role in ["arn:aws:iam::000000000000:role/not-for-lambda", "arn:aws:iam::000000000000:role/missing"]:
        with pytest.raises(functions.exceptions.InvalidParameterValueException) as raised:
            functions.create_function(FunctionName="f", Runtime="python3.12", Role=role, Handler="m.handle",
                                      Code={"ZipFile": deploy.package("worker.py")})
        assert raised.value.response["Error"]["Message"] == "The role defined for the function cannot be assumed by Lambda."
