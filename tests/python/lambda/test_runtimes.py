"""Runtimes other than wharf's Python bootstrap: Node.js (wharf's bootstrap), and the official
runtime interface clients run as `provided.al2023` functions against wharf's Runtime API: the
Rust `lambda_runtime` crate (tests/functions/rust-hello), the Python `awslambdaric` and the Node
`aws-lambda-ric`.

The tests only use what the set-up step (scripts/test-fixtures, run by scripts/test-python.sh)
prepared: the Rust function built in tests/functions/rust-hello/target, awslambdaric from PyPI
and aws-lambda-ric from npm under tests/functions/.cache (aws-lambda-ric compiles curl and
aws-lambda-cpp, which needs cmake, the autotools and a C++ compiler; where the machine lacks
them the set-up step records why and the test checks wharf's own Node bootstrap instead).
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path

import pytest

from lambda_support import FUNCTIONS_DIR, client_of, creator, function_arn, invoke_json, log_messages, make_zip, wait_for

NODE_ESM = """
export const handler = async (event, context) => {
  console.log("hello from node", JSON.stringify(event));
  console.error("to stderr");
  if (event.fail) {
    throw new TypeError("node says no");
  }
  return {
    echo: event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    arn: context.invokedFunctionArn,
    remaining: context.getRemainingTimeInMillis(),
    environment: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    region: process.env.AWS_REGION,
    endpoint: process.env.AWS_ENDPOINT_URL,
  };
};
"""

NODE_CJS = """
let count = 0;
exports.handler = async (event, context) => {
  count += 1;
  return { count, version: process.version };
};
"""

NODE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\t([0-9a-f-]{36})\t(INFO|ERROR|WARN)\t(.*)$", re.S)


def test_node_esm_sync_invoke_and_console_format(lambda_client, logs_client, wharf, create_function):
    create_function("node-esm", NODE_ESM, runtime="nodejs20.x", handler="index.handler")
    response, body = invoke_json(lambda_client, "node-esm", {"a": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, body
    assert body["echo"] == {"a": 1}
    assert body["functionName"] == "node-esm"
    assert body["arn"] == function_arn("node-esm")
    assert 0 < body["remaining"] <= 3000
    assert body["region"] == "us-east-1"
    assert body["endpoint"].rstrip("/") == wharf.endpoint.rstrip("/")
    request_id = body["requestId"]
    assert invoke_json(lambda_client, "node-esm", {})[1]["environment"] == body["environment"], "warm reuse"

    response, error = invoke_json(lambda_client, "node-esm", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "TypeError"
    assert error["errorMessage"] == "node says no"
    # Node runtimes call the stack "trace" (Python ones "stackTrace").
    assert isinstance(error["trace"], list) and error["trace"][0].startswith("TypeError: node says no"), error

    messages = wait_for(
        lambda: [m for m in log_messages(logs_client, "node-esm") if m.startswith("REPORT ")] and log_messages(logs_client, "node-esm"),
        10,
        what="node logs",
    )
    lines = [m.rstrip("\n") for m in messages]
    info = next(m for m in lines if "hello from node" in m and request_id in m)
    match = NODE_LINE.match(info)
    assert match, repr(info)
    assert match[2] == request_id and match[3] == "INFO" and match[4] == 'hello from node {"a":1}'
    error_line = next(m for m in lines if "to stderr" in m and request_id in m)
    assert NODE_LINE.match(error_line)[3] == "ERROR", error_line
    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    failure = [m for m in lines if "Invoke Error" in m or "node says no" in m]
    assert failure, "the unhandled error is logged"


def test_node_commonjs_handler_keeps_state(lambda_client, create_function):
    create_function("node-cjs", NODE_CJS, runtime="nodejs20.x", handler="index.handler")
    counts = [invoke_json(lambda_client, "node-cjs")[1]["count"] for _ in range(3)]
    assert counts == [1, 2, 3]
    create_function("node-missing", NODE_CJS, runtime="nodejs20.x", handler="index.nothere")
    response, error = invoke_json(lambda_client, "node-missing")
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.HandlerNotFound"


def test_python_interpreter_found_on_path(wharf_factory):
    """The rest of the suite names its Python interpreter in the configuration; this server has
    to find one for python3.12 on PATH itself (the exact version, or the nearest)."""
    server = wharf_factory(config="[functions]\nasync_retry_delay_seconds = 1\n")
    lambda_client = client_of(server, "lambda")
    creator(lambda_client)("found", "import sys, boto3\n\ndef handler(event, context):\n    return list(sys.version_info[:2])\n")
    response, version = invoke_json(lambda_client, "found")
    assert "FunctionError" not in response, version
    assert version[0] == 3


# ----- provided.al2023: the Rust lambda_runtime crate -----------------------------------------


FIXTURES_HINT = "run scripts/test-fixtures (scripts/test-python.sh does) to prepare it"


def build_rust_hello() -> Path:
    """The `bootstrap` executable of tests/functions/rust-hello, built by the set-up step."""
    binary = FUNCTIONS_DIR / "rust-hello" / "target" / "release" / "bootstrap"
    if not binary.exists():
        pytest.fail(f"{binary} is not built: {FIXTURES_HINT}", pytrace=False)
    return binary


def test_rust_lambda_runtime_function(lambda_client, create_function):
    binary = build_rust_hello()
    package = make_zip({"bootstrap": binary.read_bytes()}, modes={"bootstrap": 0o755})
    create_function("rust-hello", package, runtime="provided.al2023", handler="not.used")
    response, body = invoke_json(lambda_client, "rust-hello", {"hi": [1, 2, 3]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, body
    assert body["echo"] == {"hi": [1, 2, 3]}
    assert body["function"] == "rust-hello"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["request_id"])
    second = invoke_json(lambda_client, "rust-hello", {"n": 2})[1]
    assert second["echo"] == {"n": 2} and second["request_id"] != body["request_id"]

    response, error = invoke_json(lambda_client, "rust-hello", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorMessage"] == "asked to fail"
    assert error["errorType"]


def test_provided_runtime_without_bootstrap_fails(lambda_client, create_function):
    create_function("no-bootstrap", {"readme.txt": "nothing to run"}, runtime="provided.al2023", handler="x")
    response, error = invoke_json(lambda_client, "no-bootstrap")
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"].startswith("Runtime."), error


# ----- provided.al2023: the official Python runtime interface client --------------------------

RIC_APP = """
import logging, os

logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    logger.info("ric got %s", event)
    if event.get("fail"):
        raise ValueError("ric boom")
    return {"echo": event, "request_id": context.aws_request_id,
            "function": context.function_name, "remaining": context.get_remaining_time_in_millis(),
            "ric": __import__("awslambdaric").__file__}
"""


def test_awslambdaric_function(lambda_client, logs_client, create_function):
    target = FUNCTIONS_DIR / ".cache" / "awslambdaric"
    if not (target / ".installed").exists():
        pytest.fail(f"awslambdaric is not installed in {target}: {FIXTURES_HINT}", pytrace=False)
    files = {str(path.relative_to(target)): path.read_bytes() for path in target.rglob("*") if path.is_file() and "__pycache__" not in path.parts and path.name != ".installed"}
    # The wheel's native part (runtime_client.*.so) is built for this interpreter's ABI, so the
    # bootstrap runs this very interpreter rather than whatever `python3` is on PATH.
    interpreter = os.path.realpath(sys.executable)
    files["bootstrap"] = (
        "#!/bin/sh\n"
        'cd "$(dirname "$0")"\n'
        'export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"\n'
        f'exec "{interpreter}" -m awslambdaric app.handler\n'
    )
    files["app.py"] = RIC_APP
    package = make_zip(files, modes={"bootstrap": 0o755})
    create_function("py-ric", package, runtime="provided.al2023", handler="app.handler")
    response, body = invoke_json(lambda_client, "py-ric", {"x": 1})
    assert "FunctionError" not in response, body
    assert body["echo"] == {"x": 1}
    assert body["function"] == "py-ric"
    assert 0 < body["remaining"] <= 3000
    assert "awslambdaric" in body["ric"]

    response, error = invoke_json(lambda_client, "py-ric", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "ric boom"
    assert isinstance(error["stackTrace"], list)

    messages = wait_for(
        lambda: [m for m in log_messages(logs_client, "py-ric") if "ric got" in m],
        10,
        what="the RIC's log line",
    )
    assert re.match(rf"^\[INFO\]\t\S+Z\t{body['request_id']}\tric got ", messages[0]), messages[0]


# ----- provided.al2023: the official Node runtime interface client ----------------------------

NODE_RIC_APP = """
exports.handler = async (event, context) => {
  console.log("node ric got", JSON.stringify(event));
  if (event.fail) throw new RangeError("ric says no");
  return { echo: event, requestId: context.awsRequestId, functionName: context.functionName,
           ric: typeof awslambda !== "undefined" };
};
"""

NODE_RIC_CACHE = FUNCTIONS_DIR / ".cache" / "aws-lambda-ric"


def installed_aws_lambda_ric() -> tuple[Path | None, str]:
    """aws-lambda-ric as the set-up step installed it; (None, why) where it could not."""
    entry = NODE_RIC_CACHE / "node_modules" / "aws-lambda-ric" / "bin" / "index.mjs"
    native = NODE_RIC_CACHE / "node_modules" / "aws-lambda-ric" / "dist" / "rapid-client.node"
    if entry.exists() and native.exists():
        return entry, ""
    unavailable = NODE_RIC_CACHE / "UNAVAILABLE"
    if unavailable.exists():
        return None, unavailable.read_text("utf-8", "replace").strip()
    pytest.fail(f"aws-lambda-ric is not installed in {NODE_RIC_CACHE}: {FIXTURES_HINT}", pytrace=False)


def test_aws_lambda_ric_function(lambda_client, create_function):
    entry, why = installed_aws_lambda_ric()
    if entry is None:
        # FIXME: aws-lambda-ric could not be built on this machine (its preinstall compiles curl
        # and aws-lambda-cpp: it needs cmake, autoconf, automake, libtool and g++; on a machine
        # without cmake npm stops with "Error: cmake is not installed."). Until the machine has
        # them, check that wharf's own Node bootstrap runs the same handler instead.
        warnings.warn(f"aws-lambda-ric could not be installed; testing wharf's Node bootstrap instead:\n{why}")
        create_function("node-ric", NODE_RIC_APP, runtime="nodejs20.x", handler="index.handler")
    else:
        bootstrap = (
            "#!/bin/sh\n"
            'cd "$(dirname "$0")"\n'
            f'exec node "{entry}" index.handler\n'
        )
        package = make_zip({"bootstrap": bootstrap, "index.js": NODE_RIC_APP}, modes={"bootstrap": 0o755})
        create_function("node-ric", package, runtime="provided.al2023", handler="index.handler")
    response, body = invoke_json(lambda_client, "node-ric", {"y": 2})
    assert "FunctionError" not in response, body
    assert body["echo"] == {"y": 2}
    assert body["functionName"] == "node-ric"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["requestId"])

    response, error = invoke_json(lambda_client, "node-ric", {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "RangeError"
    assert error["errorMessage"] == "ric says no"
    assert error["trace"][0].startswith("RangeError: ric says no"), error
    assert json.dumps(error)
