"""EventBridge Scheduler through boto3 against the real binary: groups, schedules and their
errors, and invocations of SQS, Lambda, bus and universal targets, moved by the test clock."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from conftest import lambda_server
from lambda_support import ACCOUNT, REGION, SQS_WRITER, client_of, creator, ensure_test_role, receive

# Scheduler may assume it and it may do anything: the role a schedule names.
SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
OFF = {"Mode": "OFF"}


def error_of(excinfo) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error.get("Message", "")


@pytest.fixture
def wharf(wharf_factory):
    server = lambda_server(wharf_factory)
    ensure_test_role(server.endpoint)
    return server


@pytest.fixture
def scheduler(wharf):
    return client_of(wharf, "scheduler")


@pytest.fixture
def role(wharf) -> str:
    """A role Scheduler may assume, allowed everything."""
    iam = client_of(wharf, "iam")
    iam.create_role(RoleName="scheduler-role", AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST))
    iam.put_role_policy(RoleName="scheduler-role", PolicyName="all", PolicyDocument=json.dumps(EVERYTHING))
    return f"arn:aws:iam::{ACCOUNT}:role/scheduler-role"


def queue(wharf, name: str) -> tuple[str, str]:
    sqs = client_of(wharf, "sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def at_in(minutes: int, zone: str = "UTC") -> str:
    """`at(...)` for `minutes` from now, in `zone`'s local time."""
    when = datetime.now(ZoneInfo(zone)) + timedelta(minutes=minutes)
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def test_groups_and_schedules_round_trip_with_their_errors(scheduler, role):
    target = {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "RoleArn": role, "Input": '{"hello": 1}'}
    group_arn = scheduler.create_schedule_group(Name="jobs", Tags=[{"Key": "team", "Value": "core"}])["ScheduleGroupArn"]
    assert group_arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/jobs"
    arn = scheduler.create_schedule(Name="nightly", GroupName="jobs", ScheduleExpression="cron(0 3 * * ? *)",
                                    ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow={"Mode": "FLEXIBLE",
                                    "MaximumWindowInMinutes": 15}, Target=target, Description="d",
                                    State="DISABLED")["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/jobs/nightly"
    got = scheduler.get_schedule(Name="nightly", GroupName="jobs")
    assert got["ScheduleExpressionTimezone"] == "Europe/Paris" and got["State"] == "DISABLED"
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert got["Target"]["Input"] == '{"hello": 1}' and got["Description"] == "d"
    assert got["ActionAfterCompletion"] == "NONE"

    # UpdateSchedule replaces everything: what is left out goes back to its default.
    scheduler.update_schedule(Name="nightly", GroupName="jobs", ScheduleExpression="rate(2 hours)",
                              FlexibleTimeWindow=OFF, Target={"Arn": target["Arn"], "RoleArn": role})
    got = scheduler.get_schedule(Name="nightly", GroupName="jobs")
    assert "Description" not in got and got["State"] == "ENABLED" and "Input" not in got["Target"]

    scheduler.create_schedule(Name="other", ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow=OFF, Target=target)
    names = [(s["GroupName"], s["Name"]) for s in scheduler.list_schedules()["Schedules"]]
    assert names == [("default", "other"), ("jobs", "nightly")]
    assert [s["Name"] for s in scheduler.list_schedules(GroupName="jobs")["Schedules"]] == ["nightly"]
    assert [s["Name"] for s in scheduler.list_schedules(NamePrefix="oth")["Schedules"]] == ["other"]
    first = scheduler.list_schedules(MaxResults=1)
    assert len(first["Schedules"]) == 1 and "NextToken" in first
    second = scheduler.list_schedules(MaxResults=1, NextToken=first["NextToken"])
    assert second["Schedules"][0]["Name"] == "nightly"
    assert [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]] == ["default", "jobs"]
    assert scheduler.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "core"}]
    scheduler.tag_resource(ResourceArn=group_arn, Tags=[{"Key": "stage", "Value": "dev"}])
    scheduler.untag_resource(ResourceArn=group_arn, TagKeys=["team"])
    assert scheduler.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]

    cases = [
        (lambda: scheduler.create_schedule(Name="other", ScheduleExpression="rate(5 minutes)",
                                           FlexibleTimeWindow=OFF, Target=target), "ConflictException"),
        (lambda: scheduler.create_schedule(Name="x", GroupName="missing", ScheduleExpression="rate(5 minutes)",
                                           FlexibleTimeWindow=OFF, Target=target), "ResourceNotFoundException"),
        (lambda: scheduler.create_schedule(Name="x", ScheduleExpression="rate(5 weeks)", FlexibleTimeWindow=OFF,
                                           Target=target), "ValidationException"),
        (lambda: scheduler.create_schedule(Name="x", ScheduleExpression="cron(0 3 * * ? *)",
                                           ScheduleExpressionTimezone="Mars/Olympus", FlexibleTimeWindow=OFF,
                                           Target=target), "ValidationException"),
        (lambda: scheduler.create_schedule(Name="x", ScheduleExpression="rate(5 minutes)",
                                           FlexibleTimeWindow={"Mode": "FLEXIBLE"}, Target=target), "ValidationException"),
        (lambda: scheduler.create_schedule(Name="bad name", ScheduleExpression="rate(5 minutes)",
                                           FlexibleTimeWindow=OFF, Target=target), "ValidationException"),
        (lambda: scheduler.get_schedule(Name="missing"), "ResourceNotFoundException"),
        (lambda: scheduler.update_schedule(Name="missing", ScheduleExpression="rate(5 minutes)",
                                           FlexibleTimeWindow=OFF, Target=target), "ResourceNotFoundException"),
        (lambda: scheduler.delete_schedule_group(Name="default"), "ValidationException"),
        (lambda: scheduler.create_schedule_group(Name="jobs"), "ConflictException"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo)[0] == code, error_of(excinfo)

    # Deleting a group deletes its schedules.
    scheduler.delete_schedule_group(Name="jobs")
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == ["other"]
    scheduler.delete_schedule(Name="other")
    assert scheduler.list_schedules()["Schedules"] == []


def test_a_one_time_schedule_sends_its_input_once_in_its_time_zone_and_deletes_itself(wharf, scheduler, role):
    url, arn = queue(wharf, "once")
    expression = at_in(3, "Asia/Tokyo")
    scheduler.create_schedule(
        Name="once", ScheduleExpression=expression, ScheduleExpressionTimezone="Asia/Tokyo", FlexibleTimeWindow=OFF,
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": role, "Input": json.dumps({
            "arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>",
            "attempt": "<aws.scheduler.attempt-number>", "id": "<aws.scheduler.execution-id>"})})
    sqs = client_of(wharf, "sqs")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    wharf.advance_clock(4 * 60)
    [message] = receive(sqs, url)
    body = json.loads(message["Body"])
    local = datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    assert body["at"] == local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["arn"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/once"
    assert body["attempt"] == "1" and len(body["id"]) == 16
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and scheduler.list_schedules()["Schedules"]:
        time.sleep(0.05)
    assert scheduler.list_schedules()["Schedules"] == [], "deleted after its invocation"
    wharf.advance_clock(24 * 3600)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == [], "once only"


def test_rate_schedules_start_at_once_and_disabled_ones_wait(wharf, scheduler, role):
    url, arn = queue(wharf, "ticks")
    sqs = client_of(wharf, "sqs")
    scheduler.create_schedule(Name="tick", ScheduleExpression="rate(10 minutes)", FlexibleTimeWindow=OFF,
                              Target={"Arn": arn, "RoleArn": role, "Input": "tick"})
    scheduler.create_schedule(Name="paused", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow=OFF,
                              State="DISABLED", Target={"Arn": arn, "RoleArn": role, "Input": "paused"})
    [first] = receive(sqs, url)
    assert first["Body"] == "tick", "a rate schedule without a StartDate starts at once"
    wharf.advance_clock(5 * 60)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    wharf.advance_clock(5 * 60 + 1)
    [second] = receive(sqs, url)
    assert second["Body"] == "tick"


def test_a_cron_schedule_fires_at_its_local_hour(wharf, scheduler, role):
    url, arn = queue(wharf, "cron")
    zone = ZoneInfo("America/New_York")
    target_local = (datetime.now(zone) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    scheduler.create_schedule(Name="hourly", ScheduleExpression=f"cron(0 {target_local.hour} * * ? *)",
                              ScheduleExpressionTimezone="America/New_York", FlexibleTimeWindow=OFF,
                              Target={"Arn": arn, "RoleArn": role, "Input": '"<aws.scheduler.scheduled-time>"'})
    wharf.advance_clock(3 * 3600)
    sqs = client_of(wharf, "sqs")
    [message] = receive(sqs, url)
    assert json.loads(message["Body"]) == target_local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_lambda_bus_and_universal_targets(wharf, scheduler, role):
    create = creator(client_of(wharf, "lambda"))
    create("writer", SQS_WRITER, timeout=10)
    url, arn = queue(wharf, "from-targets")
    events = client_of(wharf, "events")
    bus_url, bus_queue = queue(wharf, "from-bus")
    sqs = client_of(wharf, "sqs")
    sqs.set_queue_attributes(QueueUrl=bus_url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": bus_queue}]})})
    events.put_rule(Name="scheduled", EventPattern=json.dumps({"source": ["my.scheduler"]}))
    events.put_targets(Rule="scheduled", Targets=[{"Id": "q", "Arn": bus_queue}])
    once = at_in(2)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:writer"
    scheduler.create_schedule(Name="to-lambda", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
        "Arn": function_arn, "RoleArn": role, "Input": json.dumps({"queue_url": url, "via": "lambda"})})
    scheduler.create_schedule(Name="to-bus", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
        "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", "RoleArn": role, "Input": '{"via": "bus"}',
        "EventBridgeParameters": {"DetailType": "Tick", "Source": "my.scheduler"}})
    scheduler.create_schedule(Name="universal", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
        "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": role,
        "Input": json.dumps({"QueueUrl": url, "MessageBody": "via universal"})})
    wharf.advance_clock(3 * 60)
    bodies = [message["Body"] for message in receive(sqs, url, count=2, timeout=30)]
    assert "via universal" in bodies
    [from_lambda] = [json.loads(body) for body in bodies if body != "via universal"]
    assert from_lambda["event"] == {"queue_url": url, "via": "lambda"}
    [routed] = receive(sqs, bus_url)
    event = json.loads(routed["Body"])
    assert (event["source"], event["detail-type"], event["detail"]) == ("my.scheduler", "Tick", {"via": "bus"})


def test_more_universal_targets_and_read_only_actions_refused(wharf, scheduler, role):
    url, _ = queue(wharf, "batch")
    bus_url, bus_queue = queue(wharf, "batch-bus")
    sqs = client_of(wharf, "sqs")
    sqs.set_queue_attributes(QueueUrl=bus_url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": bus_queue}]})})
    events = client_of(wharf, "events")
    events.put_rule(Name="from-universal", EventPattern=json.dumps({"source": ["universal.put"]}))
    events.put_targets(Rule="from-universal", Targets=[{"Id": "q", "Arn": bus_queue}])
    once = at_in(2)
    scheduler.create_schedule(Name="batch", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
        "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessageBatch", "RoleArn": role,
        "Input": json.dumps({"QueueUrl": url, "Entries": [{"Id": "1", "MessageBody": "one"}, {"Id": "2", "MessageBody": "two"}]})})
    scheduler.create_schedule(Name="put", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
        "Arn": "arn:aws:scheduler:::aws-sdk:eventbridge:putEvents", "RoleArn": role,
        "Input": json.dumps({"Entries": [{"Source": "universal.put", "DetailType": "T", "Detail": "{\"n\": 1}"}]})})
    with pytest.raises(ClientError) as excinfo:
        scheduler.create_schedule(Name="foreign-role", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
            "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": "arn:aws:iam::999999999999:role/other",
            "Input": "{}"})
    assert error_of(excinfo)[0] == "ValidationException", "a role of another account"
    for action in ("sqs:receiveMessage", "lambda:getFunction", "eventbridge:listRules"):
        with pytest.raises(ClientError) as excinfo:
            scheduler.create_schedule(Name="reader", ScheduleExpression=once, FlexibleTimeWindow=OFF, Target={
                "Arn": f"arn:aws:scheduler:::aws-sdk:{action}", "RoleArn": role, "Input": "{}"})
        assert error_of(excinfo)[0] == "ValidationException", action
    wharf.advance_clock(3 * 60)
    assert sorted(message["Body"] for message in receive(sqs, url, count=2)) == ["one", "two"]
    [routed] = receive(sqs, bus_url)
    assert json.loads(routed["Body"])["detail"] == {"n": 1}


def test_a_schedule_fires_in_real_time(wharf, scheduler, role):
    """No clock moved: a one-time schedule two seconds ahead fires on the wall clock."""
    url, arn = queue(wharf, "real-time")
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    scheduler.create_schedule(Name="soon", ScheduleExpression=f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})",
                              FlexibleTimeWindow=OFF, Target={"Arn": arn, "RoleArn": role, "Input": "now"})
    [message] = receive(client_of(wharf, "sqs"), url, timeout=15)
    assert message["Body"] == "now"
    assert int(message["Attributes"]["SentTimestamp"]) >= when.timestamp() * 1000, "not before its time"


def test_an_invocation_the_target_refuses_goes_to_the_dead_letter_queue(wharf, scheduler, role):
    dlq_url, dlq_arn = queue(wharf, "dead")
    scheduler.create_schedule(Name="lost", ScheduleExpression=at_in(2), FlexibleTimeWindow=OFF, Target={
        "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:does-not-exist", "RoleArn": role, "Input": "payload",
        "DeadLetterConfig": {"Arn": dlq_arn}})
    wharf.advance_clock(3 * 60)
    sqs = client_of(wharf, "sqs")
    deadline = time.monotonic() + 15
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get(
            "Messages", [])
    [message] = messages
    assert message["Body"] == "payload"
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["SCHEDULE_ARN"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/lost"
    assert attributes["TARGET_ARN"].endswith(":does-not-exist") and attributes["ERROR_CODE"] == "ResourceNotFound"
    assert attributes["IS_PAYLOAD_TRUNCATED"] == "false"


def test_schedules_survive_a_restart(wharf, scheduler, role):
    scheduler.create_schedule(Name="kept", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow=OFF,
                              Target={"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "RoleArn": role})
    wharf.stop()
    wharf.start()
    assert client_of(wharf, "scheduler").get_schedule(Name="kept")["ScheduleExpression"] == "rate(1 hour)"


def test_with_auth_enforced_the_role_must_trust_scheduler_and_allow_the_send(wharf_factory):
    from lambda_support import ENFORCED, LAMBDA_TRUST  # noqa: PLC0415

    wharf = lambda_server(wharf_factory, ENFORCED)
    iam, scheduler, sqs = client_of(wharf, "iam"), client_of(wharf, "scheduler"), client_of(wharf, "sqs")
    dlq_url, dlq_arn = queue(wharf, "refused")
    url, arn = queue(wharf, "wanted")
    # Lambda's trust, not Scheduler's: Scheduler cannot assume it.
    iam.create_role(RoleName="lambda-only", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.put_role_policy(RoleName="lambda-only", PolicyName="all", PolicyDocument=json.dumps(EVERYTHING))
    # Scheduler's trust, but only the dead-letter queue may be sent to.
    iam.create_role(RoleName="dlq-only", AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST))
    iam.put_role_policy(RoleName="dlq-only", PolicyName="dlq", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq_arn}]}))
    for name, role in [("untrusted", "lambda-only"), ("unallowed", "dlq-only")]:
        scheduler.create_schedule(Name=name, ScheduleExpression=at_in(2), FlexibleTimeWindow=OFF, Target={
            "Arn": arn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "Input": name,
            "DeadLetterConfig": {"Arn": dlq_arn}})
    wharf.advance_clock(3 * 60)
    # The second reaches its dead-letter queue (its role may send there); the first cannot even do that.
    [dead] = receive(sqs, dlq_url, timeout=15)
    assert dead["Body"] == "unallowed"
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDenied"
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    assert "scheduler.amazonaws.com cannot assume the role" in wharf.log_tail(1_000_000)
