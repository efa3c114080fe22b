"""A user's test suite with the wharf-server plugin: nothing to set up, each test its own
account. The code under test makes its own boto3 clients with no endpoint: AWS_ENDPOINT_URL,
set by the plugin, points them at wharf."""

import io
import json
import zipfile

import boto3


def make_queue(name: str) -> str:
    """Application code: it knows nothing of wharf."""
    return boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def test_send_and_receive(wharf):
    url = make_queue("orders")
    sqs = wharf.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": 1}))
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"]) == {"order": 1}


def test_every_test_starts_empty(wharf_client):
    assert wharf_client("sqs").list_queues().get("QueueUrls", []) == []


def test_invoke_a_function(wharf):
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
    functions = wharf.client("lambda")
    functions.create_function(FunctionName="double", Runtime="python3.12", Handler="app.handler",
                              Role=f"arn:aws:iam::{wharf.account}:role/any", Code={"ZipFile": package.getvalue()})
    answer = functions.invoke(FunctionName="double", Payload=json.dumps({"n": 21}))
    assert json.loads(answer["Payload"].read()) == {"doubled": 42}


def test_a_schedule_fires_when_the_clock_moves(wharf):
    sqs, events = wharf.client("sqs"), wharf.client("events")
    url = sqs.create_queue(QueueName="ticks")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule="every-minute", Targets=[{"Id": "ticks", "Arn": arn}])
    wharf.advance_clock(61)
    [tick] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert json.loads(tick["Body"])["detail-type"] == "Scheduled Event"


def test_the_default_account_after_a_reset(wharf_reset):
    """Code that names the default account (000000000000) gets an emptied server instead."""
    sqs = wharf_reset.client("sqs")
    assert sqs.list_queues().get("QueueUrls", []) == []
    sqs.create_queue(QueueName="left-behind")


def test_the_next_reset_empties_it_again(wharf_reset):
    assert wharf_reset.client("sqs").list_queues().get("QueueUrls", []) == []
