"""Invoke through boto3: invocation types, results and function errors, limits, warm reuse,
concurrency and reserved concurrency, and a function that calls SQS with boto3 and no endpoint."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from lambda_support import (
    REGION,
    SQS_WRITER,
    error_code,
    function_arn,
    host_pids,
    http_status,
    invoke_json,
    log_result,
    make_zip,
    receive,
)

ECHO = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0) if isinstance(event, dict) else 0)
    return {
        "event": event,
        "environment": context.log_stream_name,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {name: os.environ.get(name) for name in (
            "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
            "AWS_ENDPOINT_URL", "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
        "cwd_files": sorted(os.listdir(os.environ.get("LAMBDA_TASK_ROOT", "."))),
    }
"""

FAILING = """
import os, sys, time

def handler(event, context):
    kind = event.get("kind")
    print("about to", kind)
    if kind == "raise":
        raise ValueError("boom")
    if kind == "sleep":
        time.sleep(event["seconds"])
        return "woke up"
    if kind == "exit":
        sys.stdout.flush()
        os._exit(3)
    if kind == "environment":
        return context.log_stream_name
    if kind == "unserializable":
        return {1, 2}
    return "fine"
"""


def test_sync_invoke_returns_result_and_context(lambda_client, wharf, create_function):
    create_function("echo", ECHO, MemorySize=256, timeout=3)
    response, body = invoke_json(lambda_client, "echo", {"hello": "world", "n": [1, 2]})
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert body["event"] == {"hello": "world", "n": [1, 2]}
    assert body["function_name"] == "echo"
    assert int(body["memory"]) == 256
    assert 0 < body["remaining_ms"] <= 3000
    env = body["env"]
    assert env["AWS_REGION"] == REGION
    assert env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/echo"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].split("]")[0].endswith("[$LATEST")
    assert env["AWS_ENDPOINT_URL"].rstrip("/") == wharf.endpoint.rstrip("/")
    assert env["AWS_LAMBDA_RUNTIME_API"]
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert "app.py" in body["cwd_files"]

    raw = lambda_client.invoke(FunctionName="echo", Payload=b'"just a string"')
    assert json.loads(raw["Payload"].read())["event"] == "just a string"
    empty = lambda_client.invoke(FunctionName="echo")
    assert empty["StatusCode"] == 200
    assert json.loads(empty["Payload"].read())["event"] == {}, "no payload is an empty event"
    assert body["request_id"] == response["ResponseMetadata"]["RequestId"], "x-amzn-RequestId is the invocation's id"


def test_invocation_types(lambda_client, create_function):
    create_function("types", FAILING)
    event = lambda_client.invoke(FunctionName="types", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202
    assert event["Payload"].read() == b""
    dry = lambda_client.invoke(FunctionName="types", InvocationType="DryRun", Payload=b"{}")
    assert dry["StatusCode"] == 204
    assert dry["Payload"].read() == b""
    for invocation_type in ("Event", "DryRun"):
        with pytest.raises(ClientError) as excinfo:
            lambda_client.invoke(FunctionName="missing", InvocationType=invocation_type, Payload=b"{}")
        assert error_code(excinfo) == "ResourceNotFoundException", invocation_type


def test_log_tail(lambda_client, create_function):
    create_function("tail", FAILING)
    response = lambda_client.invoke(FunctionName="tail", Payload=json.dumps({"kind": "ok"}), LogType="Tail")
    log = log_result(response)
    started = re.search(r"START RequestId: ([0-9a-f-]{36}) ", log)
    assert started, log
    request_id = started.group(1)
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "about to ok" in log
    assert f"END RequestId: {request_id}" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    assert log.index("START") < log.index("about to ok") < log.index("END") < log.index("REPORT")

    noisy = "print('x' * 100)\n" * 100
    create_function("noisy", "def handler(event, context):\n" + "".join(f"    {line}\n" for line in noisy.splitlines()))
    response = lambda_client.invoke(FunctionName="noisy", Payload=b"{}", LogType="Tail")
    log = log_result(response)
    assert len(response["LogResult"]) <= 4096 * 4 // 3 + 4, "the last 4 KB, base64"
    assert len(log.encode()) <= 4096
    assert "REPORT RequestId: " in log, "the tail keeps the end"
    assert "START RequestId" not in log, "the start fell off"

    untailed = lambda_client.invoke(FunctionName="tail", Payload=b"{}")
    assert "LogResult" not in untailed


def test_function_errors(lambda_client, create_function):
    create_function("errors", FAILING, timeout=1)
    response, body = invoke_json(lambda_client, "errors", {"kind": "raise"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    assert isinstance(body["stackTrace"], list)
    assert any('raise ValueError("boom")' in line for line in body["stackTrace"]), body["stackTrace"]

    response, body = invoke_json(lambda_client, "errors", {"kind": "sleep", "seconds": 5})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]

    response, body = invoke_json(lambda_client, "errors", {"kind": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]

    response, body = invoke_json(lambda_client, "errors", {"kind": "unserializable"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"

    response, body = invoke_json(lambda_client, "errors", {"kind": "ok"})
    assert "FunctionError" not in response
    assert body == "fine", "the function recovers after a timeout and a crash"


def test_init_errors(lambda_client, create_function):
    create_function("importerror", "import nonexistent_module_xyz\n\ndef handler(event, context):\n    return 1\n")
    response, body = invoke_json(lambda_client, "importerror")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "nonexistent_module_xyz" in body["errorMessage"]
    assert "Unable to import module 'app'" in body["errorMessage"]

    create_function("nohandler", "def other(event, context):\n    return 1\n")
    response, body = invoke_json(lambda_client, "nohandler")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert "handler" in body["errorMessage"]

    create_function("syntax", "def handler(event, context)\n    return 1\n")
    response, body = invoke_json(lambda_client, "syntax")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"

    create_function("nomodule", {"other.py": "def handler(e, c):\n    return 1\n"})
    response, body = invoke_json(lambda_client, "nomodule")
    assert body["errorType"] == "Runtime.ImportModuleError"


def test_request_errors(lambda_client, create_function):
    create_function("limits", "def handler(event, context):\n    return len(event['data'])\n")
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="missing", Payload=b"{}")
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert http_status(excinfo) == 404
    assert "Function not found: " + function_arn("missing") in excinfo.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="limits", Payload=b"{not json")
    assert error_code(excinfo) == "InvalidRequestContentException"
    assert http_status(excinfo) == 400

    big = json.dumps({"data": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="limits", Payload=big)
    assert error_code(excinfo) == "RequestTooLargeException"
    assert http_status(excinfo) == 413

    medium = json.dumps({"data": "x" * (1024 * 1024)}).encode()
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="limits", InvocationType="Event", Payload=medium)
    assert error_code(excinfo) == "RequestTooLargeException"
    assert http_status(excinfo) == 413

    # Just under the synchronous limit works.
    fits = json.dumps({"data": "x" * (5 * 1024 * 1024)}).encode()
    response = lambda_client.invoke(FunctionName="limits", Payload=fits)
    assert json.loads(response["Payload"].read()) == 5 * 1024 * 1024


def test_response_too_large(lambda_client, create_function):
    create_function("bigresult", "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n")
    response, body = invoke_json(lambda_client, "bigresult")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"


def test_warm_environment_is_reused_and_reset_after_crash(lambda_client, create_function):
    create_function("warm", FAILING, timeout=1)
    # Each environment has a log stream of its own: its name tells environments apart (inside
    # its PID namespace every function process is process 1).
    environments = {invoke_json(lambda_client, "warm", {"kind": "environment"})[1] for _ in range(5)}
    assert len(environments) == 1, "sequential invokes reuse one warm environment"
    (first,) = environments
    assert host_pids(first), "the warm environment's process runs"
    invoke_json(lambda_client, "warm", {"kind": "exit"})
    after_crash = invoke_json(lambda_client, "warm", {"kind": "environment"})[1]
    assert after_crash != first, "a crash resets the environment"
    invoke_json(lambda_client, "warm", {"kind": "sleep", "seconds": 3})
    after_timeout = invoke_json(lambda_client, "warm", {"kind": "environment"})[1]
    assert after_timeout != after_crash, "a timeout resets the environment"
    assert not host_pids(first), "the crashed environment's processes are gone"


def test_concurrent_invokes_run_in_parallel_environments(lambda_client, create_function):
    create_function("parallel", ECHO)
    invoke_json(lambda_client, "parallel")  # one warm environment; the others start cold
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: invoke_json(lambda_client, "parallel", {"sleep": 0.5})[1], range(4)))
    elapsed = time.monotonic() - started
    assert len({result["environment"] for result in results}) == 4, "one environment per concurrent invoke"
    assert elapsed < 1.9, f"4 × 0.5 s in parallel took {elapsed:.2f} s"
    after = {invoke_json(lambda_client, "parallel")[1]["environment"] for _ in range(3)}
    assert after <= {result["environment"] for result in results}, "the environments stay warm"


def test_reserved_concurrency_throttles(lambda_client, create_function):
    create_function("reserved", FAILING, timeout=3)
    lambda_client.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=1)
    results = {}

    def slow():
        results["slow"] = invoke_json(lambda_client, "reserved", {"kind": "sleep", "seconds": 1.5})[1]

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="reserved", Payload=b"{}")
    assert error_code(excinfo) == "TooManyRequestsException"
    assert http_status(excinfo) == 429
    assert excinfo.value.response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    thread.join()
    assert results["slow"] == "woke up"
    assert invoke_json(lambda_client, "reserved", {"kind": "ok"})[1] == "fine", "free again"

    lambda_client.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="reserved", Payload=b"{}")
    assert error_code(excinfo) == "TooManyRequestsException"
    lambda_client.delete_function_concurrency(FunctionName="reserved")
    assert invoke_json(lambda_client, "reserved", {"kind": "ok"})[1] == "fine"


def test_function_sends_to_sqs_with_boto3_and_no_endpoint(lambda_client, sqs_client, create_function):
    queue_url = sqs_client.create_queue(QueueName="from-lambda")["QueueUrl"]
    create_function("writer", SQS_WRITER, timeout=10)
    assert "endpoint" not in SQS_WRITER.lower().replace("aws_endpoint_url", "")
    response, body = invoke_json(lambda_client, "writer", {"queue_url": queue_url, "n": 1})
    assert "FunctionError" not in response, body
    assert body == {"sent": True}
    (message,) = receive(sqs_client, queue_url)
    sent = json.loads(message["Body"])
    assert sent["event"] == {"queue_url": queue_url, "n": 1}


def test_package_layout_and_modes(lambda_client, create_function):
    package = make_zip(
        {
            "pkg/__init__.py": "",
            "pkg/handlers.py": "from pkg.util import twice\n\ndef run(event, context):\n    return twice(event['n'])\n",
            "pkg/util.py": "def twice(n):\n    return 2 * n\n",
            "data/config.json": '{"factor": 2}',
        }
    )
    create_function("nested", package, handler="pkg.handlers.run")
    assert invoke_json(lambda_client, "nested", {"n": 21})[1] == 42
