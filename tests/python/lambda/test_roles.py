"""What functions' execution roles and services' resource policies allow, with auth enforced.

Lambda acts with a function's execution role when the function calls AWS (its credentials),
when its output goes to CloudWatch Logs, when an event source mapping reads a queue and when a
destination or dead-letter queue gets a record; EventBridge reaches a rule's targets only
through their resource policies (the function's AddPermission, the queue's Policy). Denials that
no caller sees are found in wharf's log ("access denied").
"""

from __future__ import annotations

import json

import pytest

from conftest import lambda_server
from lambda_support import (
    ACCOUNT,
    ENFORCED,
    LAMBDA_TRUST,
    REGION,
    client_of,
    creator,
    error_code,
    invoke_json,
    queue_arn,
    receive,
    wait_for,
)

LOGS = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

PROBE = """
import boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    try:
        sqs.receive_message(QueueUrl=event["queueUrl"], WaitTimeSeconds=0)
        return {"allowed": True}
    except Exception as error:
        return {"allowed": False, "code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
"""


def role(iam, name: str, statements: list[dict], managed: tuple[str, ...] = ()) -> str:
    """A role Lambda may assume, allowed `statements` and the `managed` policies."""
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    for policy in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def allow(*actions: str, resource: str = "*") -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


@pytest.fixture
def enforced(wharf_factory):
    return lambda_server(wharf_factory, ENFORCED)


def denied_in_log(wharf, *parts: str) -> bool:
    """Whether wharf logged a denial whose line holds every one of `parts`."""
    return any("access denied" in line and all(part in line for part in parts) for line in wharf.log_tail(500_000).splitlines())


def test_a_function_calls_aws_with_its_roles_permissions(enforced):
    iam, functions, sqs = client_of(enforced, "iam"), client_of(enforced, "lambda"), client_of(enforced, "sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    create = creator(functions)
    create("reader", PROBE, Role=role(iam, "reader", [allow("sqs:ReceiveMessage", resource=queue_arn("work"))]))
    create("deleter", PROBE, Role=role(iam, "deleter", [allow("sqs:DeleteMessage", resource=queue_arn("work"))]))
    _, answer = invoke_json(functions, "reader", {"queueUrl": url})
    assert answer == {"allowed": True}
    _, answer = invoke_json(functions, "deleter", {"queueUrl": url})
    assert answer["allowed"] is False
    assert answer["code"] in ("AccessDenied", "AccessDeniedException")
    assert answer["message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/deleter/deleter is not authorized to perform: "
        f"sqs:ReceiveMessage on resource: {queue_arn('work')} because no identity-based policy allows the "
        "sqs:ReceiveMessage action"
    )


def test_a_function_whose_role_may_not_write_logs_gets_no_log_stream(enforced):
    iam, functions, logs = client_of(enforced, "iam"), client_of(enforced, "lambda"), client_of(enforced, "logs")
    create = creator(functions)
    code = "def handler(event, context):\n    print('hello from', context.function_name)\n    return 1\n"
    create("quiet", code, Role=role(iam, "quiet", [allow("sqs:ReceiveMessage")]))
    create("chatty", code, Role=role(iam, "chatty", [], managed=(LOGS,)))
    for name in ("quiet", "chatty"):
        assert invoke_json(functions, name)[1] == 1

    def chatty_logged():
        events = logs.filter_log_events(logGroupName="/aws/lambda/chatty")["events"]
        return any("hello from chatty" in event["message"] for event in events)

    wait_for(chatty_logged, timeout=10, what="the chatty function's log")
    # The group exists from the function's creation; the role may not make a stream in it.
    assert logs.describe_log_streams(logGroupName="/aws/lambda/quiet")["logStreams"] == []
    assert denied_in_log(enforced, "logs:CreateLogStream", "assumed-role/quiet/quiet")


def test_a_mapping_needs_a_role_that_may_read_the_queue(enforced):
    iam, functions, sqs = client_of(enforced, "iam"), client_of(enforced, "lambda"), client_of(enforced, "sqs")
    sqs.create_queue(QueueName="feed")
    create = creator(functions)
    create("blind", "def handler(event, context):\n    return None\n", Role=role(iam, "blind", [allow("sqs:ReceiveMessage")]))
    with pytest.raises(functions.exceptions.InvalidParameterValueException) as raised:
        functions.create_event_source_mapping(EventSourceArn=queue_arn("feed"), FunctionName="blind")
    assert raised.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call DeleteMessage on SQS"
    )
    iam.attach_role_policy(RoleName="blind", PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")
    mapping = functions.create_event_source_mapping(EventSourceArn=queue_arn("feed"), FunctionName="blind")
    assert mapping["State"] == "Creating"


def test_a_mapping_whose_role_loses_the_queue_stops_until_iam_changes(enforced):
    iam, functions, sqs = client_of(enforced, "iam"), client_of(enforced, "lambda"), client_of(enforced, "sqs")
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs_policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    create = creator(functions)
    create("consumer", "def handler(event, context):\n    print('got', len(event['Records']))\n",
           Role=role(iam, "consumer", [], managed=(sqs_policy, LOGS)))
    uuid = functions.create_event_source_mapping(EventSourceArn=queue_arn("jobs"), FunctionName="consumer")["UUID"]

    def left() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    sqs.send_message(QueueUrl=url, MessageBody="first")
    wait_for(lambda: left() == 0, timeout=20, what="the first message consumed")
    iam.detach_role_policy(RoleName="consumer", PolicyArn=sqs_policy)
    sqs.send_message(QueueUrl=url, MessageBody="second")
    wait_for(lambda: functions.get_event_source_mapping(UUID=uuid)["LastProcessingResult"].startswith("PROBLEM"),
             timeout=20, what="the mapping's problem")
    assert "assumed-role/consumer/consumer is not authorized" in functions.get_event_source_mapping(UUID=uuid)["LastProcessingResult"]
    assert left() == 1, "the role may not delete or receive: the message stays"
    # Granted again, the poller wakes on the IAM change; the message is back after its timeout.
    iam.attach_role_policy(RoleName="consumer", PolicyArn=sqs_policy)
    enforced.advance_clock(31)
    wait_for(lambda: left() == 0, timeout=20, what="the second message consumed")


def test_a_dead_letter_queue_needs_a_role_that_may_send_to_it(enforced):
    iam, functions, sqs = client_of(enforced, "iam"), client_of(enforced, "lambda"), client_of(enforced, "sqs")
    sqs.create_queue(QueueName="dead")
    create = creator(functions)
    arn = role(iam, "no-send", [allow("sqs:ReceiveMessage")])
    with pytest.raises(functions.exceptions.InvalidParameterValueException) as raised:
        create("f", "def handler(event, context):\n    return 1\n", Role=arn, DeadLetterConfig={"TargetArn": queue_arn("dead")})
    assert raised.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call SendMessage on SQS"
    )
    iam.put_role_policy(RoleName="no-send", PolicyName="send", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("sqs:SendMessage", resource=queue_arn("dead"))]}))
    create("f", "def handler(event, context):\n    return 1\n", Role=arn, DeadLetterConfig={"TargetArn": queue_arn("dead")})


def test_destination_records_are_sent_with_the_functions_role(enforced):
    iam, functions, sqs = client_of(enforced, "iam"), client_of(enforced, "lambda"), client_of(enforced, "sqs")
    url = sqs.create_queue(QueueName="done")["QueueUrl"]
    create = creator(functions)
    create("job", "def handler(event, context):\n    return {'ok': True}\n", Role=role(iam, "job", [], managed=(LOGS,)))
    functions.put_function_event_invoke_config(
        FunctionName="job", DestinationConfig={"OnSuccess": {"Destination": queue_arn("done")}}
    )
    functions.invoke(FunctionName="job", InvocationType="Event", Payload=b'{"n": 1}')
    wait_for(lambda: denied_in_log(enforced, "sqs:SendMessage", queue_arn("done")), timeout=20, what="the denial")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None

    iam.put_role_policy(RoleName="job", PolicyName="send", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("sqs:SendMessage", resource=queue_arn("done"))]}))
    functions.invoke(FunctionName="job", InvocationType="Event", Payload=b'{"n": 2}')
    [message] = receive(sqs, url, 1)
    assert json.loads(message["Body"])["requestPayload"] == {"n": 2}
    # SQS reports a role session as ROLE_ID:SESSION_NAME, and Lambda's session is the function.
    role_id = iam.get_role(RoleName="job")["Role"]["RoleId"]
    assert message["Attributes"]["SenderId"] == f"{role_id}:job"


def test_rule_targets_need_their_resource_policies(enforced):
    functions, sqs, events = client_of(enforced, "lambda"), client_of(enforced, "sqs"), client_of(enforced, "events")
    logs = client_of(enforced, "logs")
    iam = client_of(enforced, "iam")
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    create = creator(functions)
    create("on-order", "def handler(event, context):\n    print('got', event['detail'])\n", Role=role(iam, "on-order", [], managed=(LOGS,)))
    rule_arn = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    events.put_targets(Rule="orders", Targets=[
        {"Id": "queue", "Arn": queue_arn("inbox")},
        {"Id": "function", "Arn": functions.get_function(FunctionName="on-order")["Configuration"]["FunctionArn"]},
    ])
    order = [{"Source": "shop", "DetailType": "order", "Detail": json.dumps({"n": 1})}]
    assert events.put_events(Entries=order)["FailedEntryCount"] == 0
    wait_for(lambda: denied_in_log(enforced, "events.amazonaws.com", "sqs:SendMessage", queue_arn("inbox")), timeout=10, what="the queue's denial")
    wait_for(lambda: denied_in_log(enforced, "events.amazonaws.com", "lambda:InvokeFunction", "on-order"), timeout=10, what="the function's denial")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    assert logs.describe_log_streams(logGroupName="/aws/lambda/on-order")["logStreams"] == [], "never invoked"

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                       "Resource": queue_arn("inbox"), "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}],
    })})
    functions.add_permission(FunctionName="on-order", StatementId="orders", Action="lambda:InvokeFunction",
                             Principal="events.amazonaws.com", SourceArn=rule_arn)
    order = [{"Source": "shop", "DetailType": "order", "Detail": json.dumps({"n": 2})}]
    assert events.put_events(Entries=order)["FailedEntryCount"] == 0
    [message] = receive(sqs, url, 1)
    assert json.loads(message["Body"])["detail"] == {"n": 2}

    def invoked():
        try:
            found = logs.filter_log_events(logGroupName="/aws/lambda/on-order")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return False
        return any("got {'n': 2}" in event["message"] for event in found)

    wait_for(invoked, timeout=20, what="the function's invocation")


def test_a_user_may_invoke_only_the_functions_its_policy_names(enforced):
    iam, functions = client_of(enforced, "iam"), client_of(enforced, "lambda")
    create = creator(functions)
    arn = role(iam, "plain", [])
    create("allowed", "def handler(event, context):\n    return 'a'\n", Role=arn)
    create("other", "def handler(event, context):\n    return 'b'\n", Role=arn)
    iam.create_user(UserName="caller")
    allowed_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:allowed"
    iam.put_user_policy(UserName="caller", PolicyName="invoke", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("lambda:InvokeFunction", resource=allowed_arn)]}))
    key = iam.create_access_key(UserName="caller")["AccessKey"]
    import boto3  # noqa: PLC0415

    as_user = boto3.client("lambda", region_name=REGION, endpoint_url=enforced.endpoint,
                           aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert invoke_json(as_user, "allowed")[1] == "a"
    with pytest.raises(as_user.exceptions.ClientError) as raised:
        as_user.invoke(FunctionName="other")
    assert error_code(raised) == "AccessDeniedException"
    assert raised.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/caller is not authorized to perform: lambda:InvokeFunction on resource: "
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other because no identity-based policy allows the "
        "lambda:InvokeFunction action"
    )


def test_an_environment_retires_before_its_credentials_expire(wharf_factory):
    """Environment variables cannot be renewed in a running process: an environment is reused
    while its role credentials have more than 15 minutes left (they last 12 hours), then a new
    one starts with new credentials. (Auth `log`: the test clock moves hours, and the client's
    own signatures would be out of date with it enforced.)"""
    wharf = lambda_server(wharf_factory, '[auth]\nmode = "log"\n')
    iam, functions = client_of(wharf, "iam"), client_of(wharf, "lambda")
    code = "import os\n\ndef handler(event, context):\n    return [os.getpid(), os.environ['AWS_ACCESS_KEY_ID']]\n"
    creator(functions)("keys", code, Role=role(iam, "keys", []))
    pid, key = invoke_json(functions, "keys")[1]
    assert key.startswith("ASIA")
    wharf.advance_clock(11 * 3600)
    assert invoke_json(functions, "keys")[1] == [pid, key], "11 hours in, the environment is reused"
    wharf.advance_clock(3600)
    new_pid, new_key = invoke_json(functions, "keys")[1]
    assert (new_pid, new_key) != (pid, key) and new_key.startswith("ASIA")
    assert new_key != key
