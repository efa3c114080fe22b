"""CloudWatch Logs subscription filters delivering to a Lambda function in AWS's format (gzip,
base64, `awslogs.data`), and ListLogGroups, through boto3 against the real binary."""

from __future__ import annotations

import base64
import gzip
import json
import time

import pytest
from botocore.exceptions import ClientError

from lambda_support import ACCOUNT, REGION, client_of, receive
from sqs_support import auth_under_test

# The destination function: forwards the decoded subscription payload to a queue.
DECODER = """
import base64, gzip, json, os
import boto3
from botocore.config import Config

sqs = boto3.client("sqs", config=Config(retries={"total_max_attempts": 1}))

def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(data))
"""


def test_matching_events_reach_the_subscribed_function(wharf, create_function):
    sqs, logs, functions = client_of(wharf, "sqs"), client_of(wharf, "logs"), client_of(wharf, "lambda")
    url = sqs.create_queue(QueueName="decoded")["QueueUrl"]
    create_function("decoder", DECODER, Environment={"Variables": {"QUEUE_URL": url}}, timeout=10)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:decoder"
    logs.create_log_group(logGroupName="/app/orders")
    logs.create_log_stream(logGroupName="/app/orders", logStreamName="web-1")
    if auth_under_test() == "enforce":
        with pytest.raises(ClientError) as excinfo:
            logs.put_subscription_filter(logGroupName="/app/orders", filterName="errors", filterPattern="ERROR",
                                         destinationArn=function_arn)
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException", "no permission for Logs yet"
    functions.add_permission(FunctionName="decoder", StatementId="logs", Action="lambda:InvokeFunction",
                             Principal="logs.amazonaws.com",
                             SourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/orders:*")
    logs.put_subscription_filter(logGroupName="/app/orders", filterName="errors", filterPattern="ERROR",
                                 destinationArn=function_arn)
    [described] = logs.describe_subscription_filters(logGroupName="/app/orders")["subscriptionFilters"]
    assert (described["filterName"], described["filterPattern"], described["destinationArn"]) == (
        "errors", "ERROR", function_arn)
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/app/orders", logStreamName="web-1", logEvents=[
        {"timestamp": now, "message": "INFO order 1 paid"},
        {"timestamp": now + 1, "message": "ERROR order 2 failed"},
        {"timestamp": now + 2, "message": "ERROR order 3 failed"},
    ])
    [message] = receive(sqs, url, timeout=30)
    data = json.loads(message["Body"])
    assert data["messageType"] == "DATA_MESSAGE"
    assert (data["owner"], data["logGroup"], data["logStream"]) == (ACCOUNT, "/app/orders", "web-1")
    assert data["subscriptionFilters"] == ["errors"]
    assert [event["message"] for event in data["logEvents"]] == ["ERROR order 2 failed", "ERROR order 3 failed"]
    stored = logs.filter_log_events(logGroupName="/app/orders", filterPattern="ERROR")["events"]
    assert [event["id"] for event in data["logEvents"]] == [event["eventId"] for event in stored], \
        "the ids are the events' own"

    # Two filters per group at most.
    logs.put_subscription_filter(logGroupName="/app/orders", filterName="all", filterPattern="",
                                 destinationArn=function_arn)
    with pytest.raises(ClientError) as excinfo:
        logs.put_subscription_filter(logGroupName="/app/orders", filterName="third", filterPattern="",
                                     destinationArn=function_arn)
    assert excinfo.value.response["Error"]["Code"] == "LimitExceededException"
    logs.delete_subscription_filter(logGroupName="/app/orders", filterName="all")
    with pytest.raises(ClientError) as excinfo:
        logs.delete_subscription_filter(logGroupName="/app/orders", filterName="all")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        logs.put_subscription_filter(logGroupName="/app/orders", filterName="x", filterPattern="",
                                     destinationArn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:missing")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"

    wharf.restart()
    logs = client_of(wharf, "logs")
    assert [f["filterName"] for f in logs.describe_subscription_filters(logGroupName="/app/orders")["subscriptionFilters"]] == ["errors"]
    logs.delete_log_group(logGroupName="/app/orders")
    logs.create_log_group(logGroupName="/app/orders")
    assert logs.describe_subscription_filters(logGroupName="/app/orders")["subscriptionFilters"] == [], \
        "a group's filters go with it"


def test_list_log_groups_matches_names_and_pages(wharf):
    logs = client_of(wharf, "logs")
    for name in ("/app/web", "/app/worker", "/other/web", "/aws/events/x"):
        logs.create_log_group(logGroupName=name)
    every = logs.list_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in every] == ["/app/web", "/app/worker", "/aws/events/x", "/other/web"]
    assert every[0] == {"logGroupName": "/app/web", "logGroupClass": "STANDARD",
                        "logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/web"}
    web = logs.list_log_groups(logGroupNamePattern="web")["logGroups"]
    assert [g["logGroupName"] for g in web] == ["/app/web", "/other/web"]
    either = logs.list_log_groups(logGroupNamePattern="^/app|events")["logGroups"]
    assert [g["logGroupName"] for g in either] == ["/app/web", "/app/worker", "/aws/events/x"]
    first = logs.list_log_groups(limit=2)
    assert len(first["logGroups"]) == 2 and "nextToken" in first
    rest = logs.list_log_groups(limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["/aws/events/x", "/other/web"]
    with pytest.raises(ClientError) as excinfo:
        logs.list_log_groups(logGroupNamePattern="abc|de")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
