"""EventBridge (CloudWatch Events) through boto3 against the real binary: rules, targets,
buses, tags, PutEvents, TestEventPattern, restarts, and one real-time scheduled delivery."""

from __future__ import annotations

import calendar
import json
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

_SESSION = boto3.session.Session()
_SESSION_LOCK = threading.Lock()
ACCOUNT = "000000000000"
REGION = "us-east-1"
PATTERN = json.dumps({"source": ["shop"], "detail": {"state": ["paid"]}})


def events_client(server, region: str = REGION):
    """A boto3 EventBridge client of `server` with dummy credentials and no retries."""
    with _SESSION_LOCK:
        return _SESSION.client(
            "events",
            region_name=region,
            endpoint_url=server.endpoint,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )


@pytest.fixture
def events(wharf):
    return events_client(wharf)


def error_of(excinfo) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error.get("Message", "")


def account_of(events) -> str:
    """The account wharf answers with, read from a rule ARN."""
    arn = events.put_rule(Name="probe-account", EventPattern=PATTERN)["RuleArn"]
    events.delete_rule(Name="probe-account")
    return arn.split(":")[4]


def queue_arn(sqs, name: str) -> tuple[str, str]:
    """A queue rules may send to: its policy lets EventBridge send, as AWS requires (and wharf
    with auth enforced)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def receive_one(sqs, url: str, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wait = max(1, min(20, int(deadline - time.monotonic())))
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=1).get("Messages", [])
        if messages:
            return messages[0]
    return None


def test_health_lists_events(wharf):
    with urllib.request.urlopen(f"{wharf.endpoint}/_wharf/health", timeout=5) as response:
        assert json.load(response)["services"]["events"] == "running"


def test_rule_lifecycle_and_errors(events):
    account = account_of(events)
    arn = events.put_rule(Name="orders", EventPattern=PATTERN, Description="paid orders")["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{account}:rule/orders"
    rule = events.describe_rule(Name="orders")
    assert rule["Name"] == "orders" and rule["Arn"] == arn
    assert rule["State"] == "ENABLED" and rule["EventBusName"] == "default"
    assert json.loads(rule["EventPattern"]) == json.loads(PATTERN)
    assert rule["Description"] == "paid orders"
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 3 * * ? *)", State="DISABLED")
    assert events.describe_rule(Name="nightly")["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert events.describe_rule(Name="nightly")["State"] == "DISABLED"

    events.disable_rule(Name="orders")
    assert events.describe_rule(Name="orders")["State"] == "DISABLED"
    events.enable_rule(Name="orders")
    assert events.describe_rule(Name="orders")["State"] == "ENABLED"
    # PutRule again replaces the rule: omitted members are cleared.
    events.put_rule(Name="orders", EventPattern=PATTERN)
    assert "Description" not in events.describe_rule(Name="orders")

    for op in (events.describe_rule, events.enable_rule, events.disable_rule):
        with pytest.raises(ClientError) as excinfo:
            op(Name="missing")
        assert error_of(excinfo) == ("ResourceNotFoundException", "Rule missing does not exist on EventBus default.")
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="bad", EventPattern='{"source": "shop"}')
    assert error_of(excinfo)[0] == "InvalidEventPatternException"
    assert error_of(excinfo)[1].startswith("Event pattern is not valid. Reason:")
    for expression in ("rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate( 10 minutes )", "cron(0 12 * * * *)",
                       "every day"):
        with pytest.raises(ClientError) as excinfo:
            events.put_rule(Name="bad", ScheduleExpression=expression)
        assert error_of(excinfo) == ("ValidationException", "Parameter ScheduleExpression is not valid."), expression
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="bad")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="bad", EventPattern=PATTERN, State="SOMETIMES")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="bad name", EventPattern=PATTERN)
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="bad", EventPattern=PATTERN, EventBusName="no-such-bus")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Event bus no-such-bus does not exist.")

    events.delete_rule(Name="orders")
    events.delete_rule(Name="orders")  # deleting a missing rule succeeds, as on AWS
    with pytest.raises(ClientError) as excinfo:
        events.describe_rule(Name="orders")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_list_rules_prefix_and_paging(events):
    for idx in range(5):
        events.put_rule(Name=f"page-{idx}", EventPattern=PATTERN)
    events.put_rule(Name="other", EventPattern=PATTERN)
    first = events.list_rules(NamePrefix="page-", Limit=2)
    assert [rule["Name"] for rule in first["Rules"]] == ["page-0", "page-1"]
    assert first["Rules"][0]["State"] == "ENABLED"
    names, token = [], None
    while True:
        page = events.list_rules(NamePrefix="page-", Limit=2, **({"NextToken": token} if token else {}))
        names += [rule["Name"] for rule in page["Rules"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"page-{idx}" for idx in range(5)]
    assert len(events.list_rules()["Rules"]) == 6
    paginated = [rule["Name"] for page in events.get_paginator("list_rules").paginate(PaginationConfig={"PageSize": 4}) for rule in page["Rules"]]
    assert len(paginated) == 6
    with pytest.raises(ClientError) as excinfo:
        events.list_rules(NextToken="not-a-token")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.list_rules(Limit=1000)
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.list_rules(EventBusName="no-such-bus")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_targets(events, sqs):
    _, arn = queue_arn(sqs, "targets-q")
    events.put_rule(Name="r", EventPattern=PATTERN)
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:consumer"
    answer = events.put_targets(
        Rule="r",
        Targets=[
            {"Id": "queue", "Arn": arn, "InputPath": "$.detail"},
            {
                "Id": "fn",
                "Arn": function,
                "InputTransformer": {
                    "InputPathsMap": {"state": "$.detail.state"},
                    "InputTemplate": '{"state": <state>, "rule": "<aws.events.rule-name>"}',
                },
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
            },
            {"Id": "const", "Arn": arn, "Input": '{"fixed": 1}'},
        ],
    )
    assert answer["FailedEntryCount"] == 0 and answer["FailedEntries"] == []
    targets = {target["Id"]: target for target in events.list_targets_by_rule(Rule="r")["Targets"]}
    assert targets["queue"] == {"Id": "queue", "Arn": arn, "InputPath": "$.detail"}
    assert targets["fn"]["InputTransformer"]["InputPathsMap"] == {"state": "$.detail.state"}
    assert targets["fn"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}
    assert targets["const"]["Input"] == '{"fixed": 1}'
    page = events.list_targets_by_rule(Rule="r", Limit=2)
    assert len(page["Targets"]) == 2 and "NextToken" in page
    assert events.list_rule_names_by_target(TargetArn=function)["RuleNames"] == ["r"]
    assert events.list_rule_names_by_target(TargetArn="arn:aws:sqs:us-east-1:1:none")["RuleNames"] == []

    # A target wharf cannot deliver to is reported per entry; the others are applied.
    answer = events.put_targets(
        Rule="r",
        Targets=[{"Id": "topic", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic"}, {"Id": "q2", "Arn": arn}],
    )
    assert answer["FailedEntryCount"] == 1
    assert answer["FailedEntries"][0]["TargetId"] == "topic"
    assert answer["FailedEntries"][0]["ErrorCode"]
    assert len(events.list_targets_by_rule(Rule="r")["Targets"]) == 4
    events.put_targets(Rule="r", Targets=[{"Id": "q3", "Arn": arn}])
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "q6", "Arn": arn}])
    assert error_of(excinfo)[0] == "LimitExceededException"
    # Replacing an existing id is not a new target.
    events.put_targets(Rule="r", Targets=[{"Id": "q3", "Arn": arn, "Input": "{}"}])

    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "x", "Arn": arn, "Input": "{}", "InputPath": "$"}])
    assert error_of(excinfo) == (
        "ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided for target x.")
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "ok", "Arn": arn}, {"Id": "has space", "Arn": arn},
                                              {"Id": "x" * 65, "Arn": arn}])
    assert error_of(excinfo) == ("ValidationException", (
        "2 validation errors detected: "
        "Value 'has space' at 'targets.2.member.id' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; "
        f"Value '{'x' * 65}' at 'targets.3.member.id' failed to satisfy constraint: "
        "Member must have length less than or equal to 64"))
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "x", "Arn": arn, "Input": "{not json"}])
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="r", Targets=[{"Id": "x", "Arn": arn + ".fifo"}])
    assert error_of(excinfo) == ("ValidationException", "Parameter(s) SqsParameters must be specified for target: x.")
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="missing", Targets=[{"Id": "x", "Arn": arn}])
    assert error_of(excinfo) == ("ResourceNotFoundException", "Rule missing does not exist on EventBus default.")
    with pytest.raises(ClientError) as excinfo:
        events.list_targets_by_rule(Rule="missing")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        events.remove_targets(Rule="missing", Ids=["x"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"

    with pytest.raises(ClientError) as excinfo:
        events.delete_rule(Name="r")
    assert error_of(excinfo) == ("ValidationException", "Rule can't be deleted since it has targets.")
    ids = [target["Id"] for target in events.list_targets_by_rule(Rule="r")["Targets"]]
    answer = events.remove_targets(Rule="r", Ids=ids)
    assert answer["FailedEntryCount"] == 0
    assert events.list_targets_by_rule(Rule="r")["Targets"] == []
    events.delete_rule(Name="r")


def test_event_buses(events):
    account = account_of(events)
    created = events.create_event_bus(Name="orders", Description="order events", Tags=[{"Key": "team", "Value": "core"}])
    bus_arn = f"arn:aws:events:{REGION}:{account}:event-bus/orders"
    assert created["EventBusArn"] == bus_arn
    with pytest.raises(ClientError) as excinfo:
        events.create_event_bus(Name="orders")
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", "Event bus orders already exists.")
    with pytest.raises(ClientError) as excinfo:
        events.create_event_bus(Name="default")
    assert error_of(excinfo)[0] == "ResourceAlreadyExistsException"
    described = events.describe_event_bus(Name="orders")
    assert described["Name"] == "orders" and described["Arn"] == bus_arn
    assert described["Description"] == "order events"
    assert events.describe_event_bus()["Name"] == "default"
    assert events.describe_event_bus(Name=bus_arn)["Name"] == "orders"
    with pytest.raises(ClientError) as excinfo:
        events.describe_event_bus(Name="missing")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Event bus missing does not exist.")
    assert [bus["Name"] for bus in events.list_event_buses()["EventBuses"]] == ["default", "orders"]
    assert [bus["Name"] for bus in events.list_event_buses(NamePrefix="ord")["EventBuses"]] == ["orders"]
    page = events.list_event_buses(Limit=1)
    assert len(page["EventBuses"]) == 1 and "NextToken" in page
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "team", "Value": "core"}]

    rule_arn = events.put_rule(Name="on-orders", EventPattern=PATTERN, EventBusName="orders")["RuleArn"]
    assert rule_arn == f"arn:aws:events:{REGION}:{account}:rule/orders/on-orders"
    assert events.describe_rule(Name="on-orders", EventBusName=bus_arn)["EventBusName"] == "orders"
    assert [rule["Name"] for rule in events.list_rules(EventBusName="orders")["Rules"]] == ["on-orders"]
    assert events.list_rules(NamePrefix="on-")["Rules"] == [], "the default bus does not list it"
    with pytest.raises(ClientError) as excinfo:
        events.describe_rule(Name="on-orders")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Rule on-orders does not exist on EventBus default.")
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="sched", ScheduleExpression="rate(5 minutes)", EventBusName="orders")
    assert error_of(excinfo)[0] == "ValidationException"

    with pytest.raises(ClientError) as excinfo:
        events.delete_event_bus(Name="default")
    assert error_of(excinfo) == ("ValidationException", "Cannot delete event bus default.")
    events.delete_rule(Name="on-orders", EventBusName="orders")
    events.delete_event_bus(Name="orders")
    events.delete_event_bus(Name="orders")  # deleting a missing bus succeeds
    assert [bus["Name"] for bus in events.list_event_buses()["EventBuses"]] == ["default"]


def test_tags(events):
    account = account_of(events)
    arn = events.put_rule(Name="tagged", EventPattern=PATTERN, Tags=[{"Key": "a", "Value": "1"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = {tag["Key"]: tag["Value"] for tag in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    events.untag_resource(ResourceARN=arn, TagKeys=["a", "never"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    default_bus = f"arn:aws:events:{REGION}:{account}:event-bus/default"
    events.tag_resource(ResourceARN=default_bus, Tags=[{"Key": "k", "Value": "v"}])
    assert events.list_tags_for_resource(ResourceARN=default_bus)["Tags"] == [{"Key": "k", "Value": "v"}]
    missing = f"arn:aws:events:{REGION}:{account}:rule/missing"
    for call in (
        lambda: events.tag_resource(ResourceARN=missing, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: events.untag_resource(ResourceARN=missing, TagKeys=["k"]),
        lambda: events.list_tags_for_resource(ResourceARN=missing),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ResourceNotFoundException", "Rule missing does not exist on EventBus default.")
    with pytest.raises(ClientError) as excinfo:
        events.list_tags_for_resource(ResourceARN=f"arn:aws:events:{REGION}:{account}:event-bus/missing")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        events.list_tags_for_resource(ResourceARN="arn:aws:sqs:us-east-1:1:q")
    assert error_of(excinfo)[0] == "ValidationException"


def test_put_events_entries_and_errors(events):
    answer = events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"state": "paid"})},
            {"DetailType": "Order", "Detail": "{}"},
            {"Source": "shop", "Detail": "{}"},
            {"Source": "shop", "DetailType": "Order"},
            {"Source": "shop", "DetailType": "Order", "Detail": "[1, 2]"},
            {"Source": "shop", "DetailType": "Order", "Detail": "{}", "EventBusName": "missing"},
        ]
    )
    entries = answer["Entries"]
    assert answer["FailedEntryCount"] == 4
    assert len(entries[0]["EventId"]) == 36
    assert [entry.get("ErrorCode") for entry in entries[1:5]] == [
        "InvalidArgument",
        "InvalidArgument",
        "InvalidArgument",
        "MalformedDetail",
    ]
    # An event for a bus that does not exist is accepted, as AWS accepts it, and matches nothing.
    assert len(entries[5]["EventId"]) == 36 and "ErrorCode" not in entries[5]
    assert entries[1]["ErrorMessage"] == "Parameter Source is not valid. Reason: Source is a required argument."
    with pytest.raises(ClientError) as excinfo:
        events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": "{}"}] * 11)
    assert error_of(excinfo)[0] == "ValidationException"
    # 256 KiB in all, counted as AWS counts entries (Source, DetailType, Detail, resources).
    big = json.dumps({"pad": "x" * (64 * 1024)})
    with pytest.raises(ClientError) as excinfo:
        events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": big}] * 4)
    assert error_of(excinfo) == ("ValidationException", "Total size of the entries in the request is over the limit.")
    small = json.dumps({"pad": "x" * (60 * 1024)})
    assert events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": small}] * 4)["FailedEntryCount"] == 0


def test_test_event_pattern(events):
    event = {
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Order",
        "source": "shop",
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"state": "paid", "amount": 12},
    }
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event))["Result"] is True
    numeric = json.dumps({"detail": {"amount": [{"numeric": [">", 100]}]}})
    assert events.test_event_pattern(EventPattern=numeric, Event=json.dumps(event))["Result"] is False
    with pytest.raises(ClientError) as excinfo:
        events.test_event_pattern(EventPattern='{"source": "shop"}', Event=json.dumps(event))
    assert error_of(excinfo)[0] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as excinfo:
        events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps({"source": "shop"}))
    assert error_of(excinfo) == ("ValidationException", "Parameter Event is not valid.")
    # A detail-type given as a list is accepted, as AWS accepts it.
    listed = {**event, "detail-type": ["Order", "Refund"]}
    assert events.test_event_pattern(EventPattern=json.dumps({"detail-type": ["Refund"]}), Event=json.dumps(listed))["Result"]
    # A dotted field name and the nested path are one field.
    dotted = json.dumps({"detail.state": ["paid"]})
    assert events.test_event_pattern(EventPattern=dotted, Event=json.dumps(event))["Result"] is True
    # anything-but with a list of prefixes; CIDR errors in AWS's words.
    prefixes = json.dumps({"source": [{"anything-but": {"prefix": ["sh", "test"]}}]})
    assert events.test_event_pattern(EventPattern=prefixes, Event=json.dumps(event))["Result"] is False
    for pattern, reason in [
        ({"ip": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
        ({"ip": [{"cidr": "10.0.0.0/x"}]}, "Malformed CIDR, mask bits must be an integer"),
        ({"ip": [{"cidr": "10.0.0.256/8"}]}, "Nonstandard IP address: 10.0.0.256"),
        ({"s": [{"anything-but": {"suffix": 5}}]}, "suffix match pattern must be a string"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))
        code, message = error_of(excinfo)
        assert code == "InvalidEventPatternException" and message.endswith(reason), message


def test_put_events_delivers_to_a_queue(events, sqs):
    url, arn = queue_arn(sqs, "matched")
    events.put_rule(Name="paid", EventPattern=PATTERN)
    events.put_targets(
        Rule="paid",
        Targets=[
            {
                "Id": "q",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.order"},
                    "InputTemplate": '{"order": <order>, "rule": <aws.events.rule-name>}',
                },
            }
        ],
    )
    answer = events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"state": "open", "order": 1})},
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"state": "paid", "order": 2})},
        ]
    )
    assert answer["FailedEntryCount"] == 0
    message = receive_one(sqs, url, 10)
    assert message is not None, "the matched event reaches the queue"
    assert json.loads(message["Body"]) == {"order": 2, "rule": "paid"}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert receive_one(sqs, url, 2) is None, "the unmatched event is not delivered"


def test_rules_and_targets_survive_a_restart(wharf, sqs):
    events = events_client(wharf)
    _, arn = queue_arn(sqs, "durable")
    events.create_event_bus(Name="kept")
    events.put_rule(Name="kept-rule", ScheduleExpression="rate(7 days)", Description="d")
    events.put_targets(Rule="kept-rule", Targets=[{"Id": "q", "Arn": arn, "Input": '{"a": 1}'}])
    events.tag_resource(ResourceARN=events.describe_rule(Name="kept-rule")["Arn"], Tags=[{"Key": "k", "Value": "v"}])
    wharf.restart()
    events = events_client(wharf)
    rule = events.describe_rule(Name="kept-rule")
    assert rule["ScheduleExpression"] == "rate(7 days)" and rule["Description"] == "d"
    assert events.list_targets_by_rule(Rule="kept-rule")["Targets"] == [{"Id": "q", "Arn": arn, "Input": '{"a": 1}'}]
    assert events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"] == [{"Key": "k", "Value": "v"}]
    assert "kept" in [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]


def test_unknown_operation_and_malformed_body(wharf):
    def raw(target: str, body: bytes) -> dict:
        request = urllib.request.Request(
            wharf.endpoint,
            data=body,
            method="POST",
            headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return {"status": response.status, **json.load(response)}
        except urllib.error.HTTPError as err:
            return {"status": err.code, **json.load(err)}

    assert raw("AWSEvents.Frobnicate", b"{}")["__type"].endswith("UnknownOperationException")
    answer = raw("AWSEvents.PutRule", b'{"Name": "x", "Bogus": 1}')
    assert answer["status"] == 400 and answer["__type"].endswith("SerializationException")


def test_rate_schedule_delivers_the_scheduled_event_to_a_queue(wharf, events, sqs):
    """`rate(1 minute)` fires one minute after the rule is created, then every minute; the
    server's test clock stands in for the minutes."""
    account = account_of(events)
    url, arn = queue_arn(sqs, "scheduled")
    created_ms = wharf.advance_clock(0)
    rule_arn = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule="every-minute", Targets=[{"Id": "q", "Arn": arn}])
    wharf.advance_clock(58)
    assert receive_one(sqs, url, 1) is None, "fired before its minute"
    wharf.advance_clock(3)
    message = receive_one(sqs, url, 10)
    assert message is not None, "no scheduled event once the minute passed"
    event = json.loads(message["Body"])
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == account
    assert event["region"] == REGION
    assert event["resources"] == [rule_arn]
    assert event["detail"] == {}
    assert len(event["id"]) == 36
    fired_s = calendar.timegm(time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ"))
    assert created_ms // 1000 + 59 <= fired_s <= created_ms // 1000 + 61, (event["time"], created_ms)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    wharf.advance_clock(60)
    second = receive_one(sqs, url, 10)
    assert second is not None, "no second event a minute later"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    events.disable_rule(Name="every-minute")
    wharf.advance_clock(180)
    assert receive_one(sqs, url, 1) is None, "a disabled rule fired"


def test_a_target_that_does_not_exist_is_dead_lettered_at_once(events, sqs):
    """A missing queue is not an error a retry can mend: EventBridge sends the event to the
    target's dead-letter queue without retrying (default RetryPolicy: 185 attempts in a day)."""
    dead_url, dead_arn = queue_arn(sqs, "events-dlq")
    missing_arn = dead_arn.replace("events-dlq", "never-created")
    events.put_rule(Name="to-nowhere", EventPattern=PATTERN)
    events.put_targets(Rule="to-nowhere", Targets=[{"Id": "gone", "Arn": missing_arn, "DeadLetterConfig": {"Arn": dead_arn}}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"state": "paid"})}])
    message = receive_one(sqs, dead_url, timeout=10)
    assert message is not None, "dead-lettered without waiting for retries"
    assert json.loads(message["Body"])["detail"] == {"state": "paid"}
