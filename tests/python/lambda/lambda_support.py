"""Helpers of the Lambda suite (tests/python/lambda): clients, zip packages, invocation and
polling. The fixtures that use them are in conftest.py beside this file."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Callable

import boto3
from botocore.config import Config

ACCOUNT = "000000000000"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-test-role"
FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

# More configuration for servers with auth enforced: the suite's keys ("x", and the examples'
# "local") are the default account's root credentials.
ENFORCED = """
[auth]
mode = "enforce"
[[auth.credentials]]
access_key_id = "local"
secret_access_key = "local"
[[auth.credentials]]
access_key_id = "x"
secret_access_key = "x"
"""

# A trust policy that lets Lambda assume a role.
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}

# The interpreter `python3.12` functions run on in this suite: the one running the tests. Naming
# it spares every server the search of PATH for python3.N interpreters, which costs ~1.5 s on
# the first cold start when they are version-manager shims (pyenv); the search itself is tested
# once, by test_runtimes.py::test_python_interpreter_found_on_path.
TEST_PYTHON = os.path.realpath(sys.executable)

# Configuration of every server of this suite: retries after 1 s and 2 s instead of about one
# and two minutes.
LAMBDA_TEST_CONFIG = (
    "[functions]\n"
    "async_retry_delay_seconds = 1\n"
    f"python_interpreters = {{ \"python3.12\" = {json.dumps(TEST_PYTHON)} }}\n"
    # The Node.js runtime interface client that test_runtimes.py's custom runtime runs lives
    # outside the function's package, as a tool a user's custom runtime calls would.
    f"sandbox_read_paths = [{json.dumps(str(FUNCTIONS_DIR / '.cache'))}]\n"
)

_SESSION = boto3.session.Session()
_SESSION_LOCK = threading.Lock()


def client_of(server, service: str, region: str = REGION, read_timeout: int = 60):
    """A boto3 client of `service` for `server`, with dummy credentials and no retries."""
    assert server.endpoint, "server not started"
    with _SESSION_LOCK:
        return _SESSION.client(
            service,
            region_name=region,
            endpoint_url=server.endpoint,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=5,
                read_timeout=read_timeout,
                max_pool_connections=32,
            ),
        )


# ----- packages ------------------------------------------------------------------------------


def make_zip(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    """A zip package of `files` (name → text or bytes); `modes` gives Unix modes (default 0644)."""
    modes = modes or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100000 | modes.get(name, 0o644)) << 16
            archive.writestr(info, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def zip_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by relative path, for `make_zip`."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def package_for(code: str | bytes | dict, runtime: str, handler: str) -> bytes:
    """`code` as a zip: a zip already (bytes), files (dict), or the source of the handler's
    module (str), named after the handler (`app.handler` → app.py, index.js for Node)."""
    if isinstance(code, bytes):
        return code
    if isinstance(code, dict):
        return make_zip(code)
    module = handler.rsplit(".", 1)[0]
    if runtime.startswith("python"):
        return make_zip({f"{module}.py": code})
    if runtime.startswith("nodejs"):
        extension = ".mjs" if "export " in code else ".js"
        return make_zip({f"{module}{extension}": code})
    raise AssertionError(f"give a zip or files for runtime {runtime}")


def ensure_test_role(endpoint: str) -> None:
    """With the suite's auth enforced (WHARF_TEST_AUTH), the role functions name by default must
    exist for Lambda to assume it: made (or made again) on the server, trusting Lambda, allowed
    everything. (Not remembered per endpoint: a later server may get the same port.)"""
    from sqs_support import auth_under_test  # noqa: PLC0415

    if auth_under_test() != "enforce":
        return
    with _SESSION_LOCK:
        iam = _SESSION.client("iam", region_name=REGION, endpoint_url=endpoint,
                              aws_access_key_id="x", aws_secret_access_key="x")
    name = ROLE.rsplit("/", 1)[1]
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    except iam.exceptions.EntityAlreadyExistsException:
        return
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=json.dumps(everything))


def creator(lambda_client) -> Callable[..., dict]:
    """A `create_function` bound to `lambda_client` (for tests that make their own clients)."""

    def create(name: str, code, runtime: str = "python3.12", handler: str = "app.handler", timeout: int = 3, **kw):
        if "Role" not in kw:
            ensure_test_role(lambda_client.meta.endpoint_url)
        response = lambda_client.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=kw.pop("Role", ROLE),
            Handler=handler,
            Code={"ZipFile": package_for(code, runtime, handler)},
            Timeout=timeout,
            **kw,
        )
        lambda_client.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        return response

    return create


# ----- invocation and polling helpers ---------------------------------------------------------


def invoke_json(lambda_client, name: str, event=None, **kw) -> tuple[dict, object]:
    """A synchronous invoke; returns (response without the stream, decoded JSON payload)."""
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kw)
    raw = response.pop("Payload").read()
    return response, (json.loads(raw) if raw else None)


def log_result(response: dict) -> str:
    return base64.b64decode(response["LogResult"]).decode("utf-8", "replace")


def host_pids(log_stream: str) -> list[int]:
    """The host's process ids of the function processes of the environment that writes
    `log_stream` (inside its PID namespace a function is process 1, so it cannot tell)."""
    wanted = f"AWS_LAMBDA_LOG_STREAM_NAME={log_stream}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() in ("setpriv", "unshare"):
                continue
            if wanted in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return sorted(found)


def wait_for(condition: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls `condition` until it returns something truthy, which it returns."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s (last value {value!r})")
        time.sleep(interval)


def receive(sqs_client, queue_url: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
    """Receives (and deletes) `count` messages from the queue within `timeout` seconds."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"received {len(messages)} of {count} messages within {timeout} s: {messages}")
        batch = sqs_client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(1, min(20, int(remaining))),
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        for message in batch:
            sqs_client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages


def queue_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"


def function_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def log_messages(logs_client, name: str) -> list[str]:
    """Every message of /aws/lambda/NAME in order (empty when the group does not exist yet)."""
    messages: list[str] = []
    try:
        for page in logs_client.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{name}"):
            messages.extend(event["message"] for event in page["events"])
    except logs_client.exceptions.ResourceNotFoundException:
        return []
    return messages


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def http_status(excinfo) -> int:
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


# Source of a Python function that sends its event, request id and pid to the queue
# event["queue_url"] with boto3 and no endpoint in its code (AWS_ENDPOINT_URL and AWS_REGION
# come from wharf). Optional: event["announce"] (a queue URL told the request id on entry),
# event["sleep"] (seconds, before sending), event["fail"] (raise after sending).
SQS_WRITER = """
import json, os, time
import boto3
from botocore.config import Config

sqs = boto3.client("sqs", config=Config(retries={"total_max_attempts": 1}))

def handler(event, context):
    if event.get("announce"):
        sqs.send_message(QueueUrl=event["announce"], MessageBody=context.aws_request_id)
    time.sleep(event.get("sleep", 0))
    sqs.send_message(QueueUrl=event["queue_url"], MessageBody=json.dumps({
        "event": event, "request_id": context.aws_request_id, "environment": context.log_stream_name,
    }))
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"sent": True}
"""
