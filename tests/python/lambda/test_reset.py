"""POST /_wharf/reset: every service's state is emptied in one call, the configuration's
declared stack is applied again, and only the operator may do it when auth is enforced."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import lambda_server
from lambda_support import ENFORCED, LAMBDA_TRUST, client_of, creator, ensure_test_role, invoke_json
from sqs_support import auth_under_test

ECHO = "def handler(event, context):\n    return {'echo': event}\n"


def reset(server, access_key: str | None = None, secret: str = "x", token: str | None = None) -> tuple[int, dict]:
    """POSTs the reset, signed with `access_key` when given; returns (status, JSON body)."""
    if access_key is None and auth_under_test() == "enforce":
        access_key = "x"  # the suite's root key
    url = f"{server.endpoint}/_wharf/reset"
    headers = {}
    if access_key is not None:
        aws_request = AWSRequest(method="POST", url=url, data=b"")
        SigV4Auth(Credentials(access_key, secret, token), "wharf", "us-east-1").add_auth(aws_request)
        headers = dict(aws_request.headers.items())
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_a_reset_empties_every_service_and_names_can_be_used_again_at_once(wharf_factory):
    wharf = lambda_server(wharf_factory)
    ensure_test_role(wharf.endpoint)
    sqs, functions = client_of(wharf, "sqs"), client_of(wharf, "lambda")
    logs, events, iam = client_of(wharf, "logs"), client_of(wharf, "events"), client_of(wharf, "iam")
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="before the reset")
    create = creator(functions)
    create("echo", ECHO)
    invoke_json(functions, "echo", {"n": 1})
    functions.create_event_source_mapping(
        FunctionName="echo", EventSourceArn="arn:aws:sqs:us-east-1:000000000000:orders", Enabled=False)
    logs.create_log_group(logGroupName="kept-nowhere")
    events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
    events.create_event_bus(Name="side")
    iam.create_user(UserName="somebody")

    status, body = reset(wharf)
    assert status == 200, body
    assert body["reset"] is True and body["elapsed_ms"] < 5000

    assert sqs.list_queues().get("QueueUrls", []) == []
    assert functions.list_functions()["Functions"] == []
    assert functions.list_event_source_mappings()["EventSourceMappings"] == []
    assert logs.describe_log_groups()["logGroups"] == []
    assert [rule["Name"] for rule in events.list_rules()["Rules"]] == []
    assert [bus["Name"] for bus in events.list_event_buses()["EventBuses"]] == ["default"]
    users = iam.list_users()["Users"]
    assert users == []

    # The same names at once: no queue-name reuse delay, the function's code stored again.
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []
    ensure_test_role(wharf.endpoint)
    create("echo", ECHO)
    _, payload = invoke_json(functions, "echo", {"n": 2})
    assert payload == {"echo": {"n": 2}}


def test_a_reset_applies_the_declared_stack_again(wharf_factory):
    wharf = lambda_server(wharf_factory, '[[sqs.queues]]\nname = "declared"\n')
    sqs = client_of(wharf, "sqs")
    declared = sqs.get_queue_url(QueueName="declared")["QueueUrl"]
    sqs.send_message(QueueUrl=declared, MessageBody="gone after the reset")
    sqs.create_queue(QueueName="made-by-a-test")

    assert reset(wharf)[0] == 200
    assert sqs.list_queues()["QueueUrls"] == [declared]
    assert sqs.receive_message(QueueUrl=declared, WaitTimeSeconds=0).get("Messages", []) == []


def test_a_reset_is_durable_and_the_clock_stays(wharf_factory):
    wharf = lambda_server(wharf_factory)
    sqs = client_of(wharf, "sqs")
    sqs.create_queue(QueueName="before")
    moved = wharf.advance_clock(3600)
    assert reset(wharf)[0] == 200
    assert wharf.advance_clock(0) >= moved, "the test clock is not set back by a reset"
    sqs.create_queue(QueueName="after")

    wharf.stop()
    wharf.start()
    sqs = client_of(wharf, "sqs")
    assert [url.rsplit("/", 1)[1] for url in sqs.list_queues()["QueueUrls"]] == ["after"]


def test_a_long_poll_in_flight_answers_and_requests_during_a_reset_wait_for_it(wharf_factory):
    wharf = lambda_server(wharf_factory)
    sqs = client_of(wharf, "sqs")
    queue_url = sqs.create_queue(QueueName="polled")["QueueUrl"]
    answers: list[object] = []

    def poll():
        try:
            answers.append(sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20).get("Messages", []))
        except Exception as err:  # noqa: BLE001 (the queue is gone: an error is an answer too)
            answers.append(err)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)  # the poll is waiting on the server
    started = time.monotonic()
    assert reset(wharf)[0] == 200
    poller.join(timeout=10)
    assert answers, "the long poll answered when its stack stopped"
    assert time.monotonic() - started < 10
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_with_auth_enforced_only_a_root_key_may_reset(wharf_factory):
    wharf = lambda_server(wharf_factory, ENFORCED)
    iam = client_of(wharf, "iam")
    iam.create_user(UserName="admin")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(everything))
    key = iam.create_access_key(UserName="admin")["AccessKey"]

    unsigned = urllib.request.Request(f"{wharf.endpoint}/_wharf/reset", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code in (400, 403)
    assert json.loads(refused.value.read())["__type"] == "MissingAuthenticationTokenException"

    status, body = reset(wharf, access_key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert status == 403, body
    assert body["__type"] == "AccessDeniedException" and "wharf:Reset" in body["message"]
    assert [user["UserName"] for user in iam.list_users()["Users"]] == ["admin"], "nothing was reset"

    status, body = reset(wharf, access_key="x", secret="wrong")
    assert (status, body["__type"]) == (403, "InvalidSignatureException"), body

    status, body = reset(wharf, access_key="x", secret="x")
    assert status == 200, body
    assert iam.list_users()["Users"] == []


def test_the_role_of_a_function_after_a_reset_must_be_made_again(wharf_factory):
    """IAM is emptied too: with auth enforced a function's role is gone after a reset."""
    wharf = lambda_server(wharf_factory, ENFORCED)
    iam = client_of(wharf, "iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    assert reset(wharf, access_key="x")[0] == 200
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="r")
