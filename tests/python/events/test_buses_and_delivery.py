"""EventBridge bus policies, bus-to-bus targets (same account, other accounts, other regions),
log-group targets, dead letters with their attributes, and the input and pattern checks AWS
makes at PutTargets and PutRule; through boto3 against the real binary, in both auth modes."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from sqs_support import auth_under_test
from test_events import PATTERN, error_of, events_client, queue_arn, receive_one

ENFORCED = auth_under_test() == "enforce"
PAID = {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"state": "paid"})}


def client(server, service: str, key: str, region: str = "us-east-1"):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=server.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key="x",
    )


def test_put_permission_writes_the_bus_policy(events):
    events.put_permission(Action="events:PutEvents", Principal="111111111111", StatementId="first")
    events.put_permission(
        Action="events:PutEvents",
        Principal="*",
        StatementId="org",
        Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1234567890"},
    )
    events.put_permission(Action="events:PutEvents", Principal="222222222222", StatementId="first")
    described = events.describe_event_bus()
    policy = json.loads(described["Policy"])
    assert [statement["Sid"] for statement in policy["Statement"]] == ["first", "org"]
    first, org = policy["Statement"]
    assert first["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}, "a statement id is replaced"
    assert first["Action"] == "events:PutEvents" and first["Effect"] == "Allow"
    assert first["Resource"] == described["Arn"]
    assert org["Principal"] == "*"
    assert org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-1234567890"}}

    with pytest.raises(ClientError) as excinfo:
        events.remove_permission(StatementId="nope")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Statement with the provided id does not exist.")
    events.remove_permission(StatementId="org")
    assert [s["Sid"] for s in json.loads(events.describe_event_bus()["Policy"])["Statement"]] == ["first"]
    events.remove_permission(RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus()

    with pytest.raises(ClientError) as excinfo:
        events.put_permission(Action="events:PutRule", Principal="111111111111", StatementId="x")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        events.put_permission(EventBusName="missing", Action="events:PutEvents", Principal="*", StatementId="x")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Event bus missing does not exist.")
    whole = {"Version": "2012-10-17", "Statement": [{"Sid": "all", "Effect": "Allow", "Principal": "*",
                                                    "Action": "events:PutEvents", "Resource": described["Arn"]}]}
    events.put_permission(Policy=json.dumps(whole))
    assert json.loads(events.describe_event_bus()["Policy"]) == whole


def test_put_events_to_another_accounts_bus_follows_its_policy(wharf):
    owner, sender = client(wharf, "events", "222222222222"), client(wharf, "events", "111111111111")
    owner_sqs = client(wharf, "sqs", "222222222222")
    bus_arn = owner.create_event_bus(Name="shared")["EventBusArn"]
    url, arn = queue_arn(owner_sqs, "shared-inbox")
    owner.put_rule(Name="inbox", EventBusName="shared", EventPattern=PATTERN)
    owner.put_targets(Rule="inbox", EventBusName="shared", Targets=[{"Id": "q", "Arn": arn}])
    entry = dict(PAID, EventBusName=bus_arn)
    if ENFORCED:
        with pytest.raises(ClientError) as excinfo:
            sender.put_events(Entries=[entry])
        assert error_of(excinfo)[0] == "AccessDeniedException", "no bus policy lets the other account in"
        with pytest.raises(ClientError) as excinfo:
            sender.put_events(Entries=[PAID, entry])
        assert error_of(excinfo)[0] == "AccessDeniedException", "every entry's bus is checked, not only the first"
    owner.put_permission(EventBusName="shared", Action="events:PutEvents", Principal="111111111111", StatementId="a")
    assert sender.put_events(Entries=[entry])["FailedEntryCount"] == 0
    message = receive_one(owner_sqs, url, timeout=10)
    assert message is not None, "the owner's rule matched the sender's event"
    event = json.loads(message["Body"])
    assert event["account"] == "111111111111", "the event keeps the sender's account"


def test_a_bus_target_in_the_same_account_forwards_the_event_once(events, sqs):
    events.create_event_bus(Name="second")
    third_arn = events.create_event_bus(Name="third")["EventBusArn"]
    second_arn = events.describe_event_bus(Name="second")["Arn"]
    second_url, second_queue = queue_arn(sqs, "second-inbox")
    third_url, third_queue = queue_arn(sqs, "third-inbox")
    events.put_rule(Name="onwards", EventPattern=PATTERN)
    events.put_targets(Rule="onwards", Targets=[{"Id": "bus", "Arn": second_arn}])
    events.put_rule(Name="arrived", EventBusName="second", EventPattern=PATTERN)
    events.put_targets(Rule="arrived", EventBusName="second",
                       Targets=[{"Id": "q", "Arn": second_queue}, {"Id": "further", "Arn": third_arn}])
    events.put_rule(Name="third-hop", EventBusName="third", EventPattern=PATTERN)
    events.put_targets(Rule="third-hop", EventBusName="third", Targets=[{"Id": "q", "Arn": third_queue}])
    [entry] = events.put_events(Entries=[PAID])["Entries"]
    message = receive_one(sqs, second_url, timeout=10)
    assert message is not None, "the second bus's rule got the event"
    forwarded = json.loads(message["Body"])
    assert forwarded["id"] == entry["EventId"], "forwarded as it was"
    assert forwarded["detail"] == {"state": "paid"}
    assert receive_one(sqs, third_url, timeout=2) is None, "an event is not sent on to a third bus"


def test_a_bus_target_in_another_account_needs_the_receiving_bus_policy(wharf):
    sender, receiver = client(wharf, "events", "111111111111"), client(wharf, "events", "222222222222")
    sender_sqs, receiver_sqs = client(wharf, "sqs", "111111111111"), client(wharf, "sqs", "222222222222")
    receiver_bus = receiver.describe_event_bus()["Arn"]
    url, arn = queue_arn(receiver_sqs, "from-elsewhere")
    receiver.put_rule(Name="incoming", EventPattern=json.dumps({"account": ["111111111111"]}))
    receiver.put_targets(Rule="incoming", Targets=[{"Id": "q", "Arn": arn}])
    dead_url, dead_arn = queue_arn(sender_sqs, "undelivered")
    sender.put_rule(Name="to-partner", EventPattern=PATTERN)
    sender.put_targets(Rule="to-partner", Targets=[
        {"Id": "partner", "Arn": receiver_bus, "DeadLetterConfig": {"Arn": dead_arn}}])
    if ENFORCED:
        sender.put_events(Entries=[PAID])
        dead = sender_sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=10, MessageAttributeNames=["All"])
        [dead] = dead.get("Messages", [None])
        assert dead is not None, "refused by the receiving bus: dead-lettered at once"
        assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
        assert receive_one(receiver_sqs, url, timeout=1) is None
    receiver.put_permission(Action="events:PutEvents", Principal="111111111111", StatementId="partner")
    sender.put_events(Entries=[PAID])
    message = receive_one(receiver_sqs, url, timeout=10)
    assert message is not None, "delivered to the other account's bus and matched there"
    event = json.loads(message["Body"])
    assert (event["account"], event["detail"]) == ("111111111111", {"state": "paid"})


def test_a_bus_target_in_another_region_goes_through_the_targets_role(wharf):
    east = client(wharf, "events", "x")
    west = client(wharf, "events", "x", region="eu-west-1")
    west_sqs = client(wharf, "sqs", "x", region="eu-west-1")
    west_bus = west.describe_event_bus()["Arn"]
    assert ":eu-west-1:" in west_bus
    url, arn = queue_arn(west_sqs, "west-inbox")
    west.put_rule(Name="from-east", EventPattern=PATTERN)
    west.put_targets(Rule="from-east", Targets=[{"Id": "q", "Arn": arn}])
    iam = client(wharf, "iam", "x")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="cross-region", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="cross-region", PolicyName="put", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": west_bus}]}))
    east.put_rule(Name="westwards", EventPattern=PATTERN)
    east.put_targets(Rule="westwards", Targets=[{"Id": "west", "Arn": west_bus, "RoleArn": role}])
    east.put_events(Entries=[PAID])
    message = receive_one(west_sqs, url, timeout=10)
    assert message is not None, "the other region's bus got the event"
    assert json.loads(message["Body"])["region"] == "us-east-1", "the event keeps its region"


def test_a_rules_dead_letters_carry_the_attributes_aws_documents(events, sqs):
    dead_url, dead_arn = queue_arn(sqs, "rule-dlq")
    missing = dead_arn.replace("rule-dlq", "never-created")
    rule_arn = events.put_rule(Name="lost", EventPattern=PATTERN)["RuleArn"]
    events.put_targets(Rule="lost", Targets=[{"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dead_arn}}])
    events.put_events(Entries=[PAID])
    deadline_message = None
    for _ in range(10):
        messages = sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
        if messages:
            deadline_message = messages[0]
            break
    assert deadline_message is not None
    attributes = {name: value["StringValue"] for name, value in deadline_message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert attributes["ERROR_MESSAGE"]
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes, "not retried at all: no retry condition was exhausted"
    assert json.loads(deadline_message["Body"])["detail"] == {"state": "paid"}


def test_a_log_group_target_gets_each_event_in_a_stream_of_its_own(wharf, events):
    logs = client(wharf, "logs", "x")
    logs.create_log_group(logGroupName="/aws/events/orders")
    group_arn = logs.describe_log_groups(logGroupNamePrefix="/aws/events/orders")["logGroups"][0]["arn"]
    events.put_rule(Name="to-logs", EventPattern=PATTERN)
    events.put_targets(Rule="to-logs", Targets=[{"Id": "log", "Arn": group_arn}])
    if ENFORCED:
        events.put_events(Entries=[PAID])
        time.sleep(0.5)
        assert logs.describe_log_streams(logGroupName="/aws/events/orders")["logStreams"] == [], \
            "no Logs resource policy lets EventBridge write"
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "TrustEventsToStoreLogEvent", "Effect": "Allow",
        "Principal": {"Service": ["delivery.logs.amazonaws.com", "events.amazonaws.com"]},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/*:*"}]}
    logs.put_resource_policy(policyName="TrustEventsToStoreLogEvent", policyDocument=json.dumps(policy))
    assert [p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]] == ["TrustEventsToStoreLogEvent"]
    [entry] = events.put_events(Entries=[PAID])["Entries"]
    streams = []
    for _ in range(50):
        streams = logs.describe_log_streams(logGroupName="/aws/events/orders")["logStreams"]
        if streams:
            break
        time.sleep(0.1)
    assert [stream["logStreamName"] for stream in streams] == [entry["EventId"]]
    [event] = logs.get_log_events(logGroupName="/aws/events/orders", logStreamName=entry["EventId"])["events"]
    assert json.loads(event["message"])["detail"] == {"state": "paid"}


def test_put_targets_refuses_undefined_placeholders_and_fills_missing_paths(events, sqs):
    url, arn = queue_arn(sqs, "templated")
    events.put_rule(Name="templated", EventPattern=PATTERN)
    with pytest.raises(ClientError) as excinfo:
        events.put_targets(Rule="templated", Targets=[{"Id": "t", "Arn": arn, "InputTransformer": {
            "InputPathsMap": {"state": "$.detail.state"}, "InputTemplate": '{"s": <state>, "x": <undefined>}'}}])
    assert error_of(excinfo) == ("ValidationException", "InputTemplate for target t contains invalid placeholder undefined.")
    events.put_targets(Rule="templated", Targets=[{"Id": "t", "Arn": arn, "InputTransformer": {
        "InputPathsMap": {"state": "$.detail.state", "gone": "$.detail.nothing"},
        "InputTemplate": '{"s": <state>, "gone": <gone>, "meta": <aws.events.event>}'}}])
    events.put_events(Entries=[PAID])
    message = receive_one(sqs, url, timeout=10)
    assert message is not None
    body = json.loads(message["Body"])
    assert body["s"] == "paid" and body["gone"] == "", "a path the event lacks is an empty string"
    assert body["meta"]["detailType"] == "Order" and "detail" not in body["meta"]


def test_put_rule_refuses_too_complex_wildcards(events):
    with pytest.raises(ClientError) as excinfo:
        events.put_rule(Name="complex", EventPattern=json.dumps({"resources": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}))
    code, message = error_of(excinfo)
    assert code == "InvalidEventPatternException"
    assert message.endswith("Rule is too complex - try using fewer wildcard characters or fewer repeating "
                            "character sequences after a wildcard character")
    events.put_rule(Name="fine", EventPattern=json.dumps({"resources": [{"wildcard": "arn:aws:events:*:event-bus/*"}]}))


@pytest.fixture
def events(wharf):
    return events_client(wharf)


def test_archives_keep_matching_events_and_replays_send_them_again(wharf, events, sqs):
    url, arn = queue_arn(sqs, "replayed")
    bus_arn = events.describe_event_bus()["Arn"]
    created = events.create_archive(ArchiveName="paid-orders", EventSourceArn=bus_arn,
                                    EventPattern=json.dumps({"detail": {"state": ["paid"]}}), RetentionDays=7)
    assert created["State"] == "ENABLED"
    archive_arn = created["ArchiveArn"]
    assert archive_arn == bus_arn.replace("event-bus/default", "archive/paid-orders")
    with pytest.raises(ClientError) as excinfo:
        events.create_archive(ArchiveName="paid-orders", EventSourceArn=bus_arn)
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", "Archive paid-orders already exists.")
    with pytest.raises(ClientError) as excinfo:
        events.create_archive(ArchiveName="bad", EventSourceArn=bus_arn, EventPattern='{"source": "x"}')
    assert error_of(excinfo)[0] == "InvalidEventPatternException"
    start = time.time() - 60
    events.put_events(Entries=[PAID, dict(PAID, Detail=json.dumps({"state": "open"})), PAID])
    described = {}
    for _ in range(50):
        described = events.describe_archive(ArchiveName="paid-orders")
        if described["EventCount"] == 2:
            break
        time.sleep(0.05)
    assert described["EventCount"] == 2, "only the matching events are kept"
    assert described["SizeBytes"] > 0 and described["RetentionDays"] == 7
    assert [a["ArchiveName"] for a in events.list_archives(NamePrefix="paid")["Archives"]] == ["paid-orders"]

    # The rule is created after the events: only a replay can bring them to its target.
    rule_arn = events.put_rule(Name="late", EventPattern=PATTERN)["RuleArn"]
    events.put_targets(Rule="late", Targets=[{"Id": "q", "Arn": arn}])
    with pytest.raises(ClientError) as excinfo:
        events.start_replay(ReplayName="again", EventSourceArn=archive_arn, EventStartTime=start,
                            EventEndTime=time.time() + 60, Destination={"Arn": bus_arn.replace("default", "other")})
    assert error_of(excinfo)[0] == "ValidationException", "a replay goes to the archive's own bus"
    started = events.start_replay(ReplayName="again", EventSourceArn=archive_arn, EventStartTime=start,
                                  EventEndTime=time.time() + 60, Destination={"Arn": bus_arn, "FilterArns": [rule_arn]})
    assert started["State"] == "STARTING"
    bodies = []
    for _ in range(2):
        message = receive_one(sqs, url, timeout=10)
        assert message is not None, "the replayed events reach the rule's target"
        bodies.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [body["replay-name"] for body in bodies] == ["again", "again"]
    assert all(body["detail"] == {"state": "paid"} for body in bodies)
    replay = {}
    for _ in range(50):
        replay = events.describe_replay(ReplayName="again")
        if replay["State"] == "COMPLETED":
            break
        time.sleep(0.05)
    assert replay["State"] == "COMPLETED"
    assert replay["Destination"] == {"Arn": bus_arn, "FilterArns": [rule_arn]}
    assert "EventLastReplayedTime" in replay and "ReplayEndTime" in replay
    assert events.describe_archive(ArchiveName="paid-orders")["EventCount"] == 2, "replayed events are not archived again"
    assert [r["ReplayName"] for r in events.list_replays()["Replays"]] == ["again"]
    with pytest.raises(ClientError) as excinfo:
        events.cancel_replay(ReplayName="again")
    assert error_of(excinfo)[0] == "IllegalStatusException"
    with pytest.raises(ClientError) as excinfo:
        events.start_replay(ReplayName="again", EventSourceArn=archive_arn, EventStartTime=start,
                            EventEndTime=time.time(), Destination={"Arn": bus_arn})
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", "Replay again already exists.")

    wharf.restart()
    client_after = events_client(wharf)
    assert client_after.describe_archive(ArchiveName="paid-orders")["EventCount"] == 2, "archives are durable"
    assert client_after.describe_replay(ReplayName="again")["State"] == "COMPLETED"
    client_after.update_archive(ArchiveName="paid-orders", RetentionDays=1, Description="one day")
    assert client_after.describe_archive(ArchiveName="paid-orders")["Description"] == "one day"
    client_after.delete_archive(ArchiveName="paid-orders")
    with pytest.raises(ClientError) as excinfo:
        client_after.describe_archive(ArchiveName="paid-orders")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Archive paid-orders does not exist.")


def test_targets_and_buses_of_other_accounts_are_refused_where_aws_refuses_them(wharf):
    mine, theirs = client(wharf, "events", "111111111111"), client(wharf, "events", "222222222222")
    their_bus = theirs.describe_event_bus()["Arn"]
    mine.put_rule(Name="r", EventPattern=PATTERN)
    for target in (
        {"Id": "api", "Arn": "arn:aws:events:us-east-1:222222222222:api-destination/theirs/1"},
        {"Id": "logs", "Arn": "arn:aws:logs:us-east-1:222222222222:log-group:/theirs"},
        {"Id": "role", "Arn": their_bus, "RoleArn": "arn:aws:iam::222222222222:role/theirs"},
    ):
        with pytest.raises(ClientError) as excinfo:
            mine.put_targets(Rule="r", Targets=[target])
        assert error_of(excinfo)[0] == "ValidationException", target["Id"]
    for call in (lambda: mine.describe_event_bus(Name=their_bus),
                 lambda: mine.put_rule(Name="x", EventBusName=their_bus, EventPattern=PATTERN),
                 lambda: mine.put_permission(EventBusName=their_bus, Action="events:PutEvents", Principal="*",
                                             StatementId="s")):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo)[0] in ("ValidationException", "AccessDeniedException")
