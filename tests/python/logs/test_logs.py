"""CloudWatch Logs through boto3 against the real binary: groups, streams, events, paging,
filter patterns, the `aws logs tail` loop, retention and restarts."""

from __future__ import annotations

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


def logs_client(server, region: str = "us-east-1"):
    """A boto3 CloudWatch Logs client of `server` with dummy credentials and no retries."""
    with _SESSION_LOCK:
        return _SESSION.client(
            "logs",
            region_name=region,
            endpoint_url=server.endpoint,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )


@pytest.fixture
def logs(wharf):
    return logs_client(wharf)


def now_ms() -> int:
    return int(time.time() * 1000)


def error_of(excinfo) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error.get("Message", "")


def put(logs, group, stream, messages, start=None):
    base = now_ms() if start is None else start
    events = [{"timestamp": base + idx, "message": message} for idx, message in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def test_health_lists_logs(wharf):
    with urllib.request.urlopen(f"{wharf.endpoint}/_wharf/health", timeout=5) as response:
        assert json.load(response)["services"]["logs"] == "running"


def test_group_and_stream_lifecycle_and_errors(logs):
    logs.create_log_group(logGroupName="/app/web", tags={"team": "core"})
    with pytest.raises(ClientError) as excinfo:
        logs.create_log_group(logGroupName="/app/web")
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", "The specified log group already exists")
    logs.create_log_group(logGroupName="/other")
    groups = logs.describe_log_groups(logGroupNamePrefix="/app")["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["/app/web"]
    group = groups[0]
    assert group["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:*"
    assert group["logGroupArn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/app/web"
    assert "retentionInDays" not in group
    assert abs(group["creationTime"] - now_ms()) < 60_000
    assert logs.list_tags_log_group(logGroupName="/app/web")["tags"] == {"team": "core"}
    pattern = logs.describe_log_groups(logGroupNamePattern="APP")["logGroups"]
    assert [group["logGroupName"] for group in pattern] == ["/app/web"], "case-insensitive substring"

    with pytest.raises(ClientError) as excinfo:
        logs.create_log_stream(logGroupName="/missing", logStreamName="s")
    assert error_of(excinfo) == ("ResourceNotFoundException", "The specified log group does not exist.")
    logs.create_log_stream(logGroupName="/app/web", logStreamName="b")
    logs.create_log_stream(logGroupName="/app/web", logStreamName="a")
    with pytest.raises(ClientError) as excinfo:
        logs.create_log_stream(logGroupName="/app/web", logStreamName="a")
    assert error_of(excinfo)[0] == "ResourceAlreadyExistsException"
    streams = logs.describe_log_streams(logGroupName="/app/web")["logStreams"]
    assert [stream["logStreamName"] for stream in streams] == ["a", "b"]
    assert streams[0]["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/app/web:log-stream:a"
    logs.delete_log_stream(logGroupName="/app/web", logStreamName="a")
    with pytest.raises(ClientError) as excinfo:
        logs.delete_log_stream(logGroupName="/app/web", logStreamName="a")
    assert error_of(excinfo) == ("ResourceNotFoundException", "The specified log stream does not exist.")

    logs.delete_log_group(logGroupName="/app/web")
    with pytest.raises(ClientError) as excinfo:
        logs.delete_log_group(logGroupName="/app/web")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        logs.create_log_group(logGroupName="has space")
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_groups_are_per_region(wharf):
    east, west = logs_client(wharf, "us-east-1"), logs_client(wharf, "eu-west-1")
    east.create_log_group(logGroupName="/g")
    assert west.describe_log_groups()["logGroups"] == []
    west.create_log_group(logGroupName="/g")
    assert west.describe_log_groups()["logGroups"][0]["arn"].startswith("arn:aws:logs:eu-west-1:")


def test_describe_paging(logs):
    names = [f"/page/{idx:02}" for idx in range(7)]
    for name in names:
        logs.create_log_group(logGroupName=name)
        logs.create_log_stream(logGroupName=name, logStreamName="s")
    seen = []
    for page in logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 3}):
        assert len(page["logGroups"]) <= 3
        seen.extend(group["logGroupName"] for group in page["logGroups"])
    assert seen == names
    for idx in range(5):
        logs.create_log_stream(logGroupName="/page/00", logStreamName=f"extra-{idx}")
    streams = []
    for page in logs.get_paginator("describe_log_streams").paginate(
        logGroupName="/page/00", PaginationConfig={"PageSize": 2}
    ):
        streams.extend(stream["logStreamName"] for stream in page["logStreams"])
    assert streams == [f"extra-{idx}" for idx in range(5)] + ["s"]


def test_describe_streams_by_last_event_time(logs):
    logs.create_log_group(logGroupName="/g")
    base = now_ms()
    for name, offset in [("x", 30), ("y", 10), ("z", 20)]:
        logs.create_log_stream(logGroupName="/g", logStreamName=name)
        put(logs, "/g", name, ["m"], start=base + offset)
    newest_first = logs.describe_log_streams(logGroupName="/g", orderBy="LastEventTime", descending=True)
    assert [stream["logStreamName"] for stream in newest_first["logStreams"]] == ["x", "z", "y"]
    assert newest_first["logStreams"][0]["lastEventTimestamp"] == base + 30
    with pytest.raises(ClientError) as excinfo:
        logs.describe_log_streams(logGroupName="/g", orderBy="LastEventTime", logStreamNamePrefix="x")
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_put_log_events_validation_and_rejections(logs):
    logs.create_log_group(logGroupName="/g")
    with pytest.raises(ClientError) as excinfo:
        put(logs, "/g", "missing", ["x"])
    assert error_of(excinfo) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    logs.create_log_stream(logGroupName="/g", logStreamName="s")
    now = now_ms()
    with pytest.raises(ClientError) as excinfo:
        logs.put_log_events(
            logGroupName="/g",
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}],
        )
    assert error_of(excinfo)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        logs.put_log_events(
            logGroupName="/g", logStreamName="s", logEvents=[{"timestamp": now, "message": "x" * 1_048_560}]
        )
    assert error_of(excinfo)[0] == "InvalidParameterException", "26 bytes of overhead count"
    result = logs.put_log_events(
        logGroupName="/g",
        logStreamName="s",
        sequenceToken="ignored",
        logEvents=[
            {"timestamp": now - 15 * 86_400_000, "message": "too old"},
            {"timestamp": now, "message": "kept"},
            {"timestamp": now + 3 * 3_600_000, "message": "too new"},
        ],
    )
    assert result["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0, "tooNewLogEventStartIndex": 2}
    events = logs.get_log_events(logGroupName="/g", logStreamName="s", startFromHead=True)["events"]
    assert [event["message"] for event in events] == ["kept"]
    assert events[0]["ingestionTime"] >= now - 1000


def test_get_log_events_paging_terminates_both_ways(logs):
    logs.create_log_group(logGroupName="/g")
    logs.create_log_stream(logGroupName="/g", logStreamName="s")
    base = now_ms() - 100_000
    put(logs, "/g", "s", [f"e{idx:02}" for idx in range(25)], start=base)

    forward, token, calls = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName="/g", logStreamName="s", limit=10, **kwargs)
        calls += 1
        assert calls < 10, "forward paging must end"
        forward.extend(event["message"] for event in page["events"])
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert forward == [f"e{idx:02}" for idx in range(25)]

    pages, token, calls = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName="/g", logStreamName="s", limit=10, **kwargs)
        calls += 1
        assert calls < 10, "backward paging must end"
        pages.append([event["message"] for event in page["events"]])
        if page["nextBackwardToken"] == token:
            break
        token = page["nextBackwardToken"]
    assert pages[0] == [f"e{idx:02}" for idx in range(15, 25)], "newest page first, oldest event first"
    assert [message for page in reversed(pages) for message in page] == forward

    ranged = logs.get_log_events(
        logGroupName="/g", logStreamName="s", startTime=base + 5, endTime=base + 8, startFromHead=True
    )
    assert [event["message"] for event in ranged["events"]] == ["e05", "e06", "e07"]

    empty_group = logs.get_log_events(logGroupName="/g", logStreamName="s", startTime=base + 1_000_000)
    assert empty_group["events"] == []
    assert empty_group["nextForwardToken"] and empty_group["nextBackwardToken"]


def test_filter_log_events_patterns(logs):
    logs.create_log_group(logGroupName="/f")
    base = now_ms() - 60_000
    for stream in ("api", "worker"):
        logs.create_log_stream(logGroupName="/f", logStreamName=stream)
    put(logs, "/f", "api", ["INFO started", "ERROR disk full", "WARN slow request"], start=base)
    put(
        logs,
        "/f",
        "worker",
        [
            json.dumps({"level": "error", "latency": 250, "user": {"id": "u-1"}}),
            json.dumps({"level": "info", "latency": 20, "user": {"id": "u-2"}}),
            "ERROR timeout Retrying",
        ],
        start=base,
    )

    def messages(**kwargs):
        found = []
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName="/f", **kwargs):
            found.extend(event["message"] for event in page["events"])
        return found

    assert len(messages()) == 6
    assert messages(filterPattern="ERROR") == ["ERROR disk full", "ERROR timeout Retrying"]
    assert messages(filterPattern="ERROR -Retrying") == ["ERROR disk full"]
    assert messages(filterPattern="?WARN ?timeout") == ["WARN slow request", "ERROR timeout Retrying"]
    assert messages(filterPattern='"disk full"') == ["ERROR disk full"]
    assert messages(filterPattern="error") == [json.dumps({"level": "error", "latency": 250, "user": {"id": "u-1"}})]
    assert len(messages(filterPattern='{ $.level = "error" }')) == 1
    assert len(messages(filterPattern="{ $.latency > 100 }")) == 1
    assert len(messages(filterPattern='{ $.latency < 100 || $.user.id = "u-1" }')) == 2
    assert len(messages(filterPattern='{ $.user.id = "u-*" && $.level != "error" }')) == 1
    assert len(messages(filterPattern="{ $.missing NOT EXISTS }")) == 2
    assert messages(logStreamNames=["api"], filterPattern="ERROR") == ["ERROR disk full"]
    assert len(messages(logStreamNamePrefix="wor")) == 3

    inclusive = logs.filter_log_events(logGroupName="/f", startTime=base + 1, endTime=base + 1)
    assert sorted(event["message"] for event in inclusive["events"]) == sorted(
        ["ERROR disk full", json.dumps({"level": "info", "latency": 20, "user": {"id": "u-2"}})]
    ), "startTime and endTime are inclusive"
    everything = logs.filter_log_events(logGroupName="/f")
    timestamps = [event["timestamp"] for event in everything["events"]]
    assert timestamps == sorted(timestamps)
    assert len({event["eventId"] for event in everything["events"]}) == 6
    assert {stream["logStreamName"] for stream in everything["searchedLogStreams"]} == {"api", "worker"}
    again = logs.filter_log_events(logGroupName="/f")
    assert [event["eventId"] for event in again["events"]] == [event["eventId"] for event in everything["events"]]

    arn = logs.describe_log_groups(logGroupNamePrefix="/f")["logGroups"][0]["arn"]
    assert len(logs.filter_log_events(logGroupIdentifier=arn)["events"]) == 6
    with pytest.raises(ClientError) as excinfo:
        logs.filter_log_events(logGroupName="/f", filterPattern="{ $.level = ")
    assert error_of(excinfo)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        logs.filter_log_events(logGroupName="/missing")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_filter_paging_with_limit(logs):
    logs.create_log_group(logGroupName="/p")
    logs.create_log_stream(logGroupName="/p", logStreamName="s")
    base = now_ms() - 10_000
    put(logs, "/p", "s", [f"m{idx}" for idx in range(23)], start=base)
    seen, token, calls = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName="/p", limit=5, **kwargs)
        calls += 1
        assert calls < 10
        seen.extend(event["message"] for event in page["events"])
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [f"m{idx}" for idx in range(23)]


def tail_poll(logs, group, start_time, seen_ids):
    """One poll of the aws-cli `logs tail --follow` loop: filter_log_events with interleaved and
    startTime, following nextToken until it is absent; events de-duplicated by eventId."""
    found, token = [], None
    for _ in range(100):
        kwargs = {"logGroupName": group, "interleaved": True, "startTime": start_time}
        if token:
            kwargs["nextToken"] = token
        page = logs.filter_log_events(**kwargs)
        for event in page["events"]:
            if event["eventId"] not in seen_ids:
                seen_ids.add(event["eventId"])
                found.append(event)
        token = page.get("nextToken")
        if not token:
            return found
    raise AssertionError("nextToken never went away")


def test_tail_follow_algorithm(logs):
    logs.create_log_group(logGroupName="/tail")
    logs.create_log_stream(logGroupName="/tail", logStreamName="a")
    logs.create_log_stream(logGroupName="/tail", logStreamName="b")
    start = now_ms() - 600_000
    base = now_ms() - 5_000
    put(logs, "/tail", "a", ["a1", "a2"], start=base)
    put(logs, "/tail", "b", ["b1"], start=base + 1)
    seen_ids: set[str] = set()
    first = tail_poll(logs, "/tail", start, seen_ids)
    assert [event["message"] for event in first] == ["a1", "a2", "b1"]
    last_timestamp = max(event["timestamp"] for event in first)
    # New events, one at the same timestamp as the last seen: startTime is inclusive, so it is
    # found, and the eventIds keep the old ones from repeating.
    logs.put_log_events(logGroupName="/tail", logStreamName="b", logEvents=[{"timestamp": last_timestamp, "message": "b2"}])
    put(logs, "/tail", "a", ["a3"], start=last_timestamp + 10)
    second = tail_poll(logs, "/tail", last_timestamp, seen_ids)
    assert [event["message"] for event in second] == ["b2", "a3"]
    assert tail_poll(logs, "/tail", max(event["timestamp"] for event in second), seen_ids) == []


def test_retention_policy(logs):
    logs.create_log_group(logGroupName="/r")
    for invalid in (0, 2, 4000):
        with pytest.raises(ClientError) as excinfo:
            logs.put_retention_policy(logGroupName="/r", retentionInDays=invalid)
        assert error_of(excinfo)[0] == "InvalidParameterException", invalid
    logs.put_retention_policy(logGroupName="/r", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix="/r")["logGroups"][0]["retentionInDays"] == 7
    logs.create_log_stream(logGroupName="/r", logStreamName="s")
    result = logs.put_log_events(
        logGroupName="/r",
        logStreamName="s",
        logEvents=[
            {"timestamp": now_ms() - 8 * 86_400_000, "message": "expired"},
            {"timestamp": now_ms(), "message": "fresh"},
        ],
    )
    assert result["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    logs.delete_retention_policy(logGroupName="/r")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="/r")["logGroups"][0]
    with pytest.raises(ClientError) as excinfo:
        logs.put_retention_policy(logGroupName="/missing", retentionInDays=7)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_tags(logs):
    logs.create_log_group(logGroupName="/t")
    logs.tag_log_group(logGroupName="/t", tags={"a": "1", "b": "2"})
    logs.untag_log_group(logGroupName="/t", tags=["a"])
    assert logs.list_tags_log_group(logGroupName="/t")["tags"] == {"b": "2"}
    arn = logs.describe_log_groups(logGroupNamePrefix="/t")["logGroups"][0]["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"c": "3"})
    logs.untag_resource(resourceArn=arn, tagKeys=["b"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"c": "3"}


def test_restart_keeps_groups_streams_and_events(wharf):
    logs = logs_client(wharf)
    logs.create_log_group(logGroupName="/kept")
    logs.put_retention_policy(logGroupName="/kept", retentionInDays=30)
    logs.create_log_stream(logGroupName="/kept", logStreamName="s")
    put(logs, "/kept", "s", ["one", "two"])
    logs.create_log_group(logGroupName="/dropped")
    logs.delete_log_group(logGroupName="/dropped")
    before = logs.filter_log_events(logGroupName="/kept")["events"]
    wharf.restart()
    logs = logs_client(wharf)
    groups = logs.describe_log_groups()["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["/kept"]
    assert groups[0]["retentionInDays"] == 30
    after = logs.filter_log_events(logGroupName="/kept")["events"]
    assert [(event["eventId"], event["message"]) for event in after] == [
        (event["eventId"], event["message"]) for event in before
    ]
    put(logs, "/kept", "s", ["three"])
    assert len(logs.get_log_events(logGroupName="/kept", logStreamName="s")["events"]) == 3


def test_sigkill_keeps_acknowledged_events(wharf):
    logs = logs_client(wharf)
    logs.create_log_group(logGroupName="/crash")
    logs.create_log_stream(logGroupName="/crash", logStreamName="s")
    for batch in range(20):
        put(logs, "/crash", "s", [f"{batch}-{idx}" for idx in range(10)])
    wharf.kill9()
    wharf.start()
    logs = logs_client(wharf)
    total = 0
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName="/crash"):
        total += len(page["events"])
    assert total == 200


def test_space_delimited_filter_patterns(logs):
    logs.create_log_group(logGroupName="/web/access")
    logs.create_log_stream(logGroupName="/web/access", logStreamName="s")
    put(logs, "/web/access", "s", [
        '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 200 1534',
        '10.0.0.2 - ann [10/Oct/2000:13:25:16 -0700] "GET /missing HTTP/1.0" 404 310',
        '10.0.0.3 - bob [10/Oct/2000:13:25:17 -0700] "POST /upload HTTP/1.0" 500 5120',
    ])

    def found(pattern):
        events = logs.filter_log_events(logGroupName="/web/access", filterPattern=pattern)["events"]
        return [event["message"].split()[2] for event in events]

    assert found("[ip, identity, user, timestamp, request, status, bytes]") == ["frank", "ann", "bob"]
    assert found("[..., status = 4* || status = 5*, bytes]") == ["ann", "bob"]
    assert found("[..., status, bytes > 1000]") == ["frank", "bob"]
    assert found('[ip, identity, user, timestamp, request = "POST*", ...]') == ["bob"]
    assert found("[ip = 10.*, ..., status != 404, bytes]") == ["bob"]
    with pytest.raises(ClientError) as excinfo:
        logs.filter_log_events(logGroupName="/web/access", filterPattern="[ip user]")
    assert error_of(excinfo)[0] == "InvalidParameterException"


def test_limits_are_refused_in_aws_words(logs):
    logs.create_log_group(logGroupName="/limits")
    logs.create_log_stream(logGroupName="/limits", logStreamName="s")
    with pytest.raises(ClientError) as excinfo:
        logs.get_log_events(logGroupName="/limits", logStreamName="s", limit=10001)
    assert error_of(excinfo) == ("InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' "
                                 "failed to satisfy constraint: Member must have value less than or equal to 10000")
    with pytest.raises(ClientError) as excinfo:
        logs.describe_log_groups(limit=51)
    assert error_of(excinfo)[1].endswith("Member must have value less than or equal to 50")
