"""Function logs in CloudWatch Logs, read through boto3: the /aws/lambda/NAME group, one stream
per execution environment, Lambda's START/END/REPORT lines, the Python runtime's log format, and
the `aws logs tail` loop (FilterLogEvents with startTime)."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

from lambda_support import invoke_json, log_messages, wait_for

STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(\$LATEST|\d+)\][0-9a-f]{32}$")
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+(\.\d+)? ms\tBilled Duration: \d+ ms"
    r"\tMemory Size: (?P<memory>\d+) MB\tMax Memory Used: \d+ MB(?P<init>\tInit Duration: \d+(\.\d+)? ms)?"
)

LOGGING = """
import logging, os, time

logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("cold start")

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    print("printed", event.get("n"))
    logger.info("logged %s", event.get("n"))
    return {"request_id": context.aws_request_id, "stream": context.log_stream_name,
            "group": context.log_group_name}
"""


def group(name: str) -> str:
    return f"/aws/lambda/{name}"


def test_group_streams_and_platform_lines(lambda_client, logs_client, create_function):
    create_function("logged", LOGGING, MemorySize=192)
    first = invoke_json(lambda_client, "logged", {"n": 1})[1]
    second = invoke_json(lambda_client, "logged", {"n": 2})[1]
    assert first["group"] == group("logged")
    assert first["stream"] == second["stream"], "one stream per environment"
    assert STREAM.match(first["stream"]), first["stream"]
    assert first["stream"].startswith(time.strftime("%Y/%m/%d/", time.gmtime()))

    groups = logs_client.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group("logged")]
    streams = logs_client.describe_log_streams(logGroupName=group("logged"))["logStreams"]
    assert [s["logStreamName"] for s in streams] == [first["stream"]]

    def complete():
        messages = log_messages(logs_client, "logged")
        return messages if sum(m.startswith("REPORT ") for m in messages) >= 2 else None

    messages = wait_for(complete, 10, what="two REPORT lines")
    text = [m.rstrip("\n") for m in messages]
    assert "cold start" in text
    for index, (result, n) in enumerate(((first, 1), (second, 2))):
        request_id = result["request_id"]
        start = text.index(f"START RequestId: {request_id} Version: $LATEST")
        end = text.index(f"END RequestId: {request_id}")
        report_index, report = next((i, m) for i, m in enumerate(text) if m.startswith(f"REPORT RequestId: {request_id}"))
        assert start < text.index(f"printed {n}") < end < report_index
        match = REPORT.match(report)
        assert match, repr(report)
        assert match["memory"] == "192"
        if index == 0:
            assert match["init"], "the cold start reports its Init Duration"
        else:
            assert not match["init"], "a warm invoke has no Init Duration"
        logged = next(m for m in text if m.endswith(f"\tlogged {n}"))
        assert re.match(rf"^\[INFO\]\t\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}\.\d{{3}}Z\t{request_id}\tlogged {n}$", logged), logged
    # Lambda writes what the module prints at import (the Init phase) before the first START.
    assert text.index("cold start") < text.index(f"START RequestId: {first['request_id']} Version: $LATEST")


def test_concurrent_environments_write_separate_streams(lambda_client, logs_client, create_function):
    create_function("fanout", LOGGING)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda n: invoke_json(lambda_client, "fanout", {"n": n, "sleep": 0.5})[1], range(3)))
    streams = {result["stream"] for result in results}
    assert len(streams) == 3
    described = wait_for(
        lambda: {s["logStreamName"] for s in logs_client.describe_log_streams(logGroupName=group("fanout"))["logStreams"]}
        >= streams,
        10,
        what="three streams",
    )
    assert described
    for result in results:
        events = logs_client.get_log_events(logGroupName=group("fanout"), logStreamName=result["stream"])["events"]
        assert any(e["message"].startswith(f"START RequestId: {result['request_id']}") for e in events)


def test_published_version_streams(lambda_client, logs_client, create_function):
    create_function("versioned-logs", LOGGING, Publish=True)
    result = invoke_json(lambda_client, "versioned-logs:1", {"n": 1})[1]
    assert re.match(r"^\d{4}/\d{2}/\d{2}/\[1\][0-9a-f]{32}$", result["stream"]), result["stream"]
    messages = wait_for(lambda: log_messages(logs_client, "versioned-logs"), 10, what="log events")
    assert any(m.startswith(f"START RequestId: {result['request_id']} Version: 1") for m in messages)


def test_timeout_and_error_lines(lambda_client, logs_client, create_function):
    create_function(
        "timesout",
        "import time\n\ndef handler(event, context):\n    if event.get('raise'):\n        raise KeyError('nope')\n    time.sleep(5)\n",
        timeout=1,
    )
    response, body = invoke_json(lambda_client, "timesout", {})
    assert body["errorType"] == "Sandbox.Timedout"
    invoke_json(lambda_client, "timesout", {"raise": True})

    def settled():
        messages = log_messages(logs_client, "timesout")
        return messages if sum(m.startswith("REPORT ") for m in messages) >= 2 else None

    messages = wait_for(settled, 10, what="two REPORT lines")
    assert any("Task timed out after 1.00 seconds" in m for m in messages), messages
    error_lines = [m for m in messages if "[ERROR]" in m]
    assert error_lines and "KeyError" in error_lines[0], messages


def test_tail_loop_with_start_time(lambda_client, logs_client, create_function):
    """What `aws logs tail --follow` does: FilterLogEvents from a start time, then again from
    the last event seen, never losing or repeating a line."""
    create_function("tailed", LOGGING)
    before = int(time.time() * 1000) - 1
    seen: list[dict] = []
    start_time = before
    seen_ids: set[str] = set()
    for n in range(3):
        invoke_json(lambda_client, "tailed", {"n": n})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            page = logs_client.filter_log_events(logGroupName=group("tailed"), startTime=start_time, interleaved=True)
            fresh = [e for e in page["events"] if e["eventId"] not in seen_ids]
            for event in fresh:
                seen_ids.add(event["eventId"])
                seen.append(event)
                start_time = max(start_time, event["timestamp"])
            if any(e["message"].rstrip().endswith(f"logged {n}") for e in fresh) or any(
                e["message"].rstrip().endswith(f"logged {n}") for e in seen
            ):
                break
            time.sleep(0.2)
    messages = [e["message"].rstrip("\n") for e in seen]
    for n in range(3):
        assert sum(m == f"printed {n}" for m in messages) == 1, messages
    assert sum(m.startswith("REPORT ") for m in messages) >= 2
    assert all(e["timestamp"] >= before for e in seen)
    assert [e["timestamp"] for e in seen] == sorted(e["timestamp"] for e in seen)

    later = int(time.time() * 1000) + 60_000
    assert logs_client.filter_log_events(logGroupName=group("tailed"), startTime=later)["events"] == []
    only = logs_client.filter_log_events(logGroupName=group("tailed"), filterPattern='"printed 1"')["events"]
    assert [e["message"].rstrip("\n") for e in only] == ["printed 1"]
    assert json.dumps(seen)  # events are plain JSON-able dicts


def test_the_log_group_exists_as_soon_as_the_function(lambda_client, logs_client, create_function):
    """`aws logs tail --follow` started before the first invocation finds the group."""
    create_function("early", "def handler(event, context):\n    return 1\n")
    [group] = logs_client.describe_log_groups(logGroupNamePrefix="/aws/lambda/early")["logGroups"]
    assert group["logGroupName"] == "/aws/lambda/early"
    assert logs_client.describe_log_streams(logGroupName="/aws/lambda/early")["logStreams"] == []
