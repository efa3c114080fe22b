"""Behaviour tests for wharf's Python and Node.js runtime bootstraps.

Each test writes handler code into a temporary task root, starts the real
bootstrap as a subprocess against a mock Runtime API and checks what the
bootstrap sends and prints.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import textwrap
import time

import pytest

from mock_runtime_api import API, Runtime, node_argv, python_argv

HAVE_NODE = shutil.which("node") is not None
needs_node = pytest.mark.skipif(not HAVE_NODE, reason="node not installed")

ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"

PY_APP = '''
import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def ok(event, context):
    return {"echo": event, "unicode": "h\\u00e9llo"}


def none(event, context):
    return None


def ctx(event, context):
    ident = context.identity
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "identity": [ident.cognito_identity_id, ident.cognito_identity_pool_id],
        "client_context": None if cc is None else {
            "custom": cc.custom, "env": cc.env,
            "app_title": cc.client.app_title if cc.client else None},
    }


def boom(event, context):
    raise ValueError("boom")


def unserializable(event, context):
    return {"s": {1, 2}}


def decimal(event, context):
    import decimal
    return {"i": decimal.Decimal("3"), "f": decimal.Decimal("1.5")}


def printer(event, context):
    print("first line")
    print("second line")
    logger.info("info %s", "message")
    logger.debug("hidden debug")
    logger.warning("multi\\nline")
    return "done"
'''

NODE_APP = r'''
exports.ok = async (event) => ({ echo: event, unicode: "h\u00e9llo" });
exports.none = async () => undefined;
exports.ctx = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  awsRequestId: context.awsRequestId,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  remaining: context.getRemainingTimeInMillis(),
  trace: process.env._X_AMZN_TRACE_ID,
  identity: context.identity,
  clientContext: context.clientContext,
  waits: context.callbackWaitsForEmptyEventLoop,
});
exports.boom = async () => { throw new TypeError("boom"); };
exports.throwString = async () => { throw "just a string"; };
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: "callback", event }), 10);
};
exports.callbackError = (event, context, callback) => {
  callback(new Error("cb failed"));
};
exports.callbackWaits = (event, context, callback) => {
  // AWS waits for the event loop to be empty before answering.
  setTimeout(() => console.log("timer fired"), 50);
  callback(null, "answered");
};
exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  globalThis.__t = setTimeout(() => {}, 100000);
  callback(null, "fast");
};
exports.succeed = (event, context) => { context.succeed({ legacy: true }); };
exports.printer = async () => {
  console.log("first line");
  console.log("obj %j", { a: 1 });
  console.error("multi\nline");
  return "done";
};
exports.nested = { deeper: { fn: async () => "nested ok" } };
exports.bigint = async () => ({ n: 10n });
'''


def write(root, files):
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text) if name.endswith(".py") else text)


@pytest.fixture
def start(tmp_path):
    started = []

    def _start(runtime, handler, files, extra_env=None, python=None):
        root = tmp_path / "task"
        root.mkdir(exist_ok=True)
        write(root, files)
        argv = python_argv(python) if runtime == "python" else node_argv()
        rt = Runtime(argv, root, handler, extra_env)
        started.append(rt)
        return rt

    yield _start
    for rt in started:
        rt.close()


def app_for(runtime):
    return {"app.py": PY_APP} if runtime == "python" else {"app.js": NODE_APP}


RUNTIMES = ["python", pytest.param("node", marks=needs_node)]


# ---------------------------------------------------------------------------
# Both runtimes


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_success_returns_json(start, runtime):
    rt = start(runtime, "app.ok", app_for(runtime))
    rid = rt.api.invoke({"hello": "world", "n": [1, 2]})
    res = rt.api.result(rid)
    assert res.path == API + "/invocation/%s/response" % rid
    assert res.json() == {"echo": {"hello": "world", "n": [1, 2]}, "unicode": "h\u00e9llo"}
    assert res.headers["content-length"] == str(len(res.body))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_none_result_is_null(start, runtime):
    rt = start(runtime, "app.none", app_for(runtime))
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.path.endswith("/response")
    assert res.body == b"null"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_two_invokes_reuse_one_connection(start, runtime):
    rt = start(runtime, "app.ok", app_for(runtime))
    r1 = rt.api.invoke({"i": 1})
    assert rt.api.result(r1).json()["echo"] == {"i": 1}
    r2 = rt.api.invoke({"i": 2})
    assert rt.api.result(r2).json()["echo"] == {"i": 2}
    # wait for the third /next so that every request so far is recorded
    rt.api.wait_for(lambda r: r.method == "GET" and
                    sum(1 for q in rt.api.requests if q.method == "GET") >= 3)
    conns = {r.conn for r in rt.api.requests}
    assert len(conns) == 1, rt.api.requests
    assert [r.method for r in rt.api.requests[:5]] == ["GET", "POST", "GET", "POST", "GET"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exits_nonzero_when_next_returns_500(start, runtime):
    rt = start(runtime, "app.ok", app_for(runtime))
    rt.api.next_status = 500
    assert rt.wait_exit() != 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exits_nonzero_when_server_goes_away(start, runtime):
    rt = start(runtime, "app.ok", app_for(runtime))
    rt.api.wait_for(lambda r: r.method == "GET")
    rt.api.close()  # the pending /next gets a 500, further connects are refused
    assert rt.wait_exit() != 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_handler(start, runtime):
    rt = start(runtime, "app", app_for(runtime))
    err = rt.api.init_error()
    body = err.json()
    assert body["errorType"] == "Runtime.MalformedHandlerName"
    assert err.headers["lambda-runtime-function-error-type"] == "Runtime.MalformedHandlerName"
    if runtime == "python":
        assert body["errorMessage"] == (
            "Bad handler 'app': not enough values to unpack (expected 2, got 1)")
    else:
        assert body["errorMessage"] == "Bad handler"
    assert rt.wait_exit() != 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_missing_module(start, runtime):
    rt = start(runtime, "nosuch.handler", app_for(runtime))
    err = rt.api.init_error()
    body = err.json()
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert err.headers["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    if runtime == "python":
        assert body["errorMessage"] == (
            "Unable to import module 'nosuch': No module named 'nosuch'")
        assert body["requestId"] == ""
        assert body["stackTrace"] == []
    else:
        assert body["errorMessage"].startswith("Error: Cannot find module 'nosuch'\nRequire stack:")
    assert rt.wait_exit() != 0
    # the error is also logged, as one line
    if runtime == "python":
        assert ("[ERROR] Runtime.ImportModuleError: Unable to import module 'nosuch': "
                "No module named 'nosuch'\rTraceback (most recent call last):\n") in rt.stdout
    else:
        assert re.search(ISO_MS + r"\tundefined\tERROR\tInit Error \t\{\"errorType\":"
                         r"\"Runtime.ImportModuleError\"", rt.stdout)
        assert rt.stdout.count("\n") == 1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_missing_handler(start, runtime):
    rt = start(runtime, "app.nope", app_for(runtime))
    body = rt.api.init_error().json()
    assert body["errorType"] == "Runtime.HandlerNotFound"
    if runtime == "python":
        assert body["errorMessage"] == "Handler 'nope' missing on module 'app'"
    else:
        assert body["errorMessage"] == "app.nope is undefined or not exported"
    assert rt.wait_exit() != 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_syntax_error(start, runtime):
    files = {"app.py": "def handler(event, context)\n    return 1\n"} if runtime == "python" \
        else {"app.js": "exports.handler = async (event) => { return 1 ;\n"}
    rt = start(runtime, "app.handler", files)
    body = rt.api.init_error().json()
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    if runtime == "python":
        assert body["errorMessage"].startswith("Syntax error in module 'app': ")
        assert "app.py" in body["stackTrace"][0]
    else:
        assert body["errorMessage"].startswith("SyntaxError: ")
    assert rt.wait_exit() != 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exception_at_import_keeps_its_type(start, runtime):
    files = {"app.py": "raise KeyError('cfg')\n"} if runtime == "python" \
        else {"app.js": "throw new RangeError('cfg');\n"}
    rt = start(runtime, "app.handler", files)
    body = rt.api.init_error().json()
    if runtime == "python":
        assert body["errorType"] == "KeyError"
        assert body["errorMessage"] == "'cfg'"
        assert 'app.py", line 1, in <module>' in body["stackTrace"][0]
        assert not any("bootstrap.py" in f for f in body["stackTrace"])
    else:
        assert body["errorType"] == "RangeError"
        assert body["errorMessage"] == "cfg"
    assert rt.wait_exit() != 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_nested_handler_path(start, runtime):
    if runtime == "python":
        files = {"src/__init__.py": "", "src/lib/__init__.py": "",
                 "src/lib/app.py": "def handler(e, c):\n    return 'nested ok'\n"}
        handler = "src/lib/app.handler"
    else:
        files = {"src/lib/app.js": "exports.handler = async () => 'nested ok';\n"}
        handler = "src/lib/app.handler"
    rt = start(runtime, handler, files)
    rid = rt.api.invoke({})
    assert rt.api.result(rid).json() == "nested ok"


# ---------------------------------------------------------------------------
# Python


def test_python_context(start):
    rt = start("python", "app.ctx", app_for("python"))
    deadline = int(time.time() * 1000) + 5000
    rid = rt.api.invoke({}, deadline_ms=deadline, headers={
        "Lambda-Runtime-Cognito-Identity": json.dumps(
            {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}),
        "Lambda-Runtime-Client-Context": json.dumps(
            {"custom": {"k": "v"}, "env": {"e": "1"}, "client": {"app_title": "T"}}),
    })
    got = rt.api.result(rid).json()
    assert 3000 < got.pop("remaining") <= 5000
    assert got == {
        "function_name": "fn",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "memory_limit_in_mb": "128",  # a str in AWS's Python runtime too
        "aws_request_id": rid,
        "log_group_name": "/aws/lambda/fn",
        "log_stream_name": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "trace": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "identity": ["id-1", "pool-1"],
        "client_context": {"custom": {"k": "v"}, "env": {"e": "1"}, "app_title": "T"},
    }
    # without the optional headers
    rid = rt.api.invoke({})
    got = rt.api.result(rid).json()
    assert got["identity"] == [None, None]
    assert got["client_context"] is None


def test_python_handler_error(start):
    rt = start("python", "app.boom", app_for("python"))
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.path == API + "/invocation/%s/error" % rid
    assert res.headers["lambda-runtime-function-error-type"] == "ValueError"
    body = res.json()
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    assert body["requestId"] == rid
    assert len(body["stackTrace"]) == 1
    assert re.fullmatch(r'  File ".*/app\.py", line \d+, in boom\n    raise ValueError\("boom"\)\n',
                        body["stackTrace"][0]), body["stackTrace"]
    # logged as one record, before the POST
    assert re.search(r'\[ERROR\] ValueError: boom\rTraceback \(most recent call last\):\r'
                     r'\u00a0\u00a0File ".*app\.py", line \d+, in boom\r'
                     r'\u00a0{4}raise ValueError\("boom"\)\n', res.stdout_at), res.stdout_at
    # the process carries on
    rid2 = rt.api.invoke({})
    assert rt.api.result(rid2).path.endswith("/error")


def test_python_marshal_error(start):
    rt = start("python", "app.unserializable", app_for("python"))
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.path.endswith("/error")
    body = res.json()
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable")
    assert body["requestId"] == rid


def test_python_decimal_result(start):
    rt = start("python", "app.decimal", app_for("python"))
    rid = rt.api.invoke({})
    assert rt.api.result(rid).json() == {"i": 3, "f": 1.5}


def test_python_output_order_and_log_format(start):
    rt = start("python", "app.printer", app_for("python"))
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.json() == "done"
    lines = res.stdout_at.split("\n")
    assert lines[0] == "first line"
    assert lines[1] == "second line"
    assert re.fullmatch(r"\[INFO\]\t" + ISO_MS + r"\t" + rid + r"\tinfo message", lines[2]), lines
    assert re.fullmatch(r"\[WARNING\]\t" + ISO_MS + r"\t" + rid + r"\tmulti\rline", lines[3]), lines
    assert lines[4:] == [""]
    assert "hidden debug" not in rt.stdout


def test_python_log_level_env(start):
    rt = start("python", "app.handler", {"app.py": (
        "import logging\n"
        "def handler(e, c):\n"
        "    logging.getLogger('x').debug('dbg')\n"
        "    logging.getLogger('x').info('inf')\n"
        "    return 1\n")}, extra_env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
    res = rt.api.result(rt.api.invoke({}))
    assert "\tdbg\n" in res.stdout_at and "\tinf\n" in res.stdout_at


def test_python_default_log_level_is_warning(start):
    rt = start("python", "app.handler", {"app.py": (
        "import logging\n"
        "logging.info('init info')\n"
        "logging.warning('init warn')\n"
        "def handler(e, c):\n"
        "    return 1\n")})
    res = rt.api.result(rt.api.invoke({}))
    assert "init info" not in res.stdout_at
    # logged during init: no request id yet
    assert re.search(r"^\[WARNING\]\t" + ISO_MS + r"\t\tinit warn\n", res.stdout_at, re.M)


def test_python_task_root_first_sdk_path_last(start, tmp_path):
    sdk = tmp_path / "sdk"
    (sdk / "boto3").mkdir(parents=True)
    (sdk / "boto3" / "__init__.py").write_text("WHERE = 'sdk'\n")
    (sdk / "onlysdk.py").write_text("WHERE = 'sdk'\n")
    rt = start("python", "app.handler", {
        "boto3/__init__.py": "WHERE = 'package'\n",
        "app.py": ("import sys, os, boto3, onlysdk\n"
                   "def handler(e, c):\n"
                   "    return [boto3.WHERE, onlysdk.WHERE, sys.path[0], os.getcwd()]\n"),
    }, extra_env={"WHARF_PYTHON_SDK_PATH": str(sdk)})
    got = rt.api.result(rt.api.invoke({})).json()
    root = str(tmp_path / "task")
    assert got == ["package", "sdk", root, root]


def test_python_import_error_inside_module(start):
    rt = start("python", "app.handler", {"app.py": "import not_installed_pkg\n"})
    body = rt.api.init_error().json()
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == (
        "Unable to import module 'app': No module named 'not_installed_pkg'")


def _other_pythons():
    found = {}
    for v in range(8, 14):
        # real interpreters only: pyenv shims fail unless that version is selected
        for cand in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.%d.*/bin/python3" % v))) + [
                "/usr/bin/python3.%d" % v, "/usr/local/bin/python3.%d" % v]:
            if os.path.exists(cand):
                found.setdefault(v, cand)
                break
    return [pytest.param(p, id="3.%d" % v) for v, p in sorted(found.items())]


@pytest.mark.parametrize("python", _other_pythons())
def test_python_versions(start, python):
    rt = start("python", "app.ok", app_for("python"), python=python)
    rid = rt.api.invoke({"v": 1})
    assert rt.api.result(rid).json()["echo"] == {"v": 1}
    rid = rt.api.invoke({})
    rt.api.result(rid)
    rt2 = start("python", "app.boom", app_for("python"), python=python)
    rid = rt2.api.invoke({})
    body = rt2.api.result(rid).json()
    assert body["errorType"] == "ValueError" and len(body["stackTrace"]) == 1
    assert len({r.conn for r in rt.api.requests}) == 1


# ---------------------------------------------------------------------------
# Node


@needs_node
def test_node_context(start):
    rt = start("node", "app.ctx", app_for("node"))
    deadline = int(time.time() * 1000) + 5000
    rid = rt.api.invoke({}, deadline_ms=deadline, headers={
        "Lambda-Runtime-Cognito-Identity": json.dumps(
            {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}),
        "Lambda-Runtime-Client-Context": json.dumps({"custom": {"k": "v"}}),
    })
    got = rt.api.result(rid).json()
    assert 3000 < got.pop("remaining") <= 5000
    assert got == {
        "functionName": "fn",
        "functionVersion": "$LATEST",
        "invokedFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "memoryLimitInMB": "128",
        "awsRequestId": rid,
        "logGroupName": "/aws/lambda/fn",
        "logStreamName": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "trace": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "identity": {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
        "clientContext": {"custom": {"k": "v"}},
        "waits": True,
    }


@needs_node
def test_node_handler_error(start):
    rt = start("node", "app.boom", app_for("node"))
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.path == API + "/invocation/%s/error" % rid
    assert res.headers["lambda-runtime-function-error-type"] == "TypeError"
    body = res.json()
    assert body["errorType"] == "TypeError"
    assert body["errorMessage"] == "boom"
    assert body["trace"][0] == "TypeError: boom"
    assert "app.js" in body["trace"][1]
    line = res.stdout_at.rstrip("\n")
    assert "\n" not in line
    m = re.fullmatch(ISO_MS + r"\t" + rid + r"\tERROR\tInvoke Error \t(\{.*\})", line)
    assert m, line
    assert json.loads(m.group(1)) == {"errorType": "TypeError", "errorMessage": "boom",
                                      "stack": body["trace"]}
    rid2 = rt.api.invoke({})
    assert rt.api.result(rid2).path.endswith("/error")


@needs_node
def test_node_throw_non_error(start):
    rt = start("node", "app.throwString", app_for("node"))
    body = rt.api.result(rt.api.invoke({})).json()
    assert body == {"errorType": "string", "errorMessage": "just a string", "trace": []}


@needs_node
def test_node_callback_handlers(start):
    rt = start("node", "app.callback", app_for("node"))
    rid = rt.api.invoke({"x": 1})
    assert rt.api.result(rid).json() == {"via": "callback", "event": {"x": 1}}

    rt = start("node", "app.callbackError", app_for("node"))
    body = rt.api.result(rt.api.invoke({})).json()
    assert body["errorType"] == "Error" and body["errorMessage"] == "cb failed"


@needs_node
def test_node_callback_waits_for_empty_event_loop(start):
    rt = start("node", "app.callbackWaits", app_for("node"))
    res = rt.api.result(rt.api.invoke({}))
    assert res.json() == "answered"
    assert "\ttimer fired\n" in res.stdout_at

    rt = start("node", "app.callbackNoWait", app_for("node"))
    t0 = time.time()
    res = rt.api.result(rt.api.invoke({}))
    assert res.json() == "fast"
    assert time.time() - t0 < 5


@needs_node
def test_node_legacy_succeed(start):
    rt = start("node", "app.succeed", app_for("node"))
    assert rt.api.result(rt.api.invoke({})).json() == {"legacy": True}


@needs_node
def test_node_nested_export_and_bigint(start):
    rt = start("node", "app.nested.deeper.fn", app_for("node"))
    assert rt.api.result(rt.api.invoke({})).json() == "nested ok"
    rt = start("node", "app.bigint", app_for("node"))
    res = rt.api.result(rt.api.invoke({}))
    assert res.path.endswith("/error")


@needs_node
def test_node_esm_mjs(start):
    rt = start("node", "index.handler", {
        "index.mjs": ("import { join } from 'node:path';\n"
                      "const top = await Promise.resolve('tla');\n"
                      "export const handler = async (event) => ({ esm: true, top, j: join('a', 'b'), event });\n"),
    })
    assert rt.api.result(rt.api.invoke({"q": 1})).json() == {
        "esm": True, "top": "tla", "j": "a/b", "event": {"q": 1}}


@needs_node
def test_node_cjs_and_type_module_js(start, tmp_path):
    rt = start("node", "lib.handler", {
        "lib.cjs": "module.exports = { handler: async () => 'cjs' };\n"})
    assert rt.api.result(rt.api.invoke({})).json() == "cjs"


@needs_node
def test_node_js_as_esm_with_type_module(start):
    rt = start("node", "index.handler", {
        "package.json": '{"type": "module"}',
        "index.js": "export async function handler() { return 'esm js'; }\n"})
    assert rt.api.result(rt.api.invoke({})).json() == "esm js"


@needs_node
def test_node_console_output_order_and_format(start):
    rt = start("node", "app.printer", app_for("node"))
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.json() == "done"
    lines = res.stdout_at.split("\n")
    assert re.fullmatch(ISO_MS + r"\t" + rid + r"\tINFO\tfirst line", lines[0]), lines
    assert re.fullmatch(ISO_MS + r"\t" + rid + r'\tINFO\tobj \{"a":1\}', lines[1]), lines
    assert re.fullmatch(ISO_MS + r"\t" + rid + r"\tERROR\tmulti\rline", lines[2]), lines
    assert lines[3:] == [""]


@needs_node
def test_node_init_logs_say_undefined(start):
    rt = start("node", "app.handler", {
        "app.js": "console.log('at init');\nexports.handler = async () => 1;\n"})
    res = rt.api.result(rt.api.invoke({}))
    assert re.match(ISO_MS + r"\tundefined\tINFO\tat init\n", res.stdout_at)


@needs_node
def test_node_log_level_filter(start):
    rt = start("node", "app.handler", {
        "app.js": ("exports.handler = async () => { console.debug('dbg'); console.info('inf');"
                   " console.warn('wrn'); return 1; };\n")},
        extra_env={"AWS_LAMBDA_LOG_LEVEL": "WARN"})
    res = rt.api.result(rt.api.invoke({}))
    assert "\tdbg" not in res.stdout_at and "\tinf" not in res.stdout_at
    assert "\tWARN\twrn\n" in res.stdout_at


@needs_node
def test_node_import_error_inside_module(start):
    rt = start("node", "app.handler", {"app.js": "require('not-installed-pkg');\n"})
    body = rt.api.init_error().json()
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "Cannot find module 'not-installed-pkg'" in body["errorMessage"]


@needs_node
def test_node_uncaught_exception_during_invoke(start):
    rt = start("node", "app.handler", {
        "app.js": ("exports.handler = (e, c, cb) => {"
                   " setTimeout(() => { throw new Error('late'); }, 5); };\n")})
    rid = rt.api.invoke({})
    res = rt.api.result(rid)
    assert res.path.endswith("/error")
    assert res.json()["errorMessage"] == "late"
    assert rt.wait_exit() != 0


# ---------------------------------------------------------------------------
# The Python bootstrap's JSON facade over _json must agree with the json module.


def _load_py_bootstrap():
    import importlib.util
    from mock_runtime_api import PY_BOOTSTRAP
    spec = importlib.util.spec_from_file_location("wharf_py_bootstrap", PY_BOOTSTRAP)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("value", [
    None, True, 0, -12, 3.25, 1e300, "", "h\u00e9llo \"q\" \\ \n \u2028 \U0001F600", [], {},
    {"a": [1, 2.5, None, {"b": "c"}], "n": {"x": False}}, [float("inf")],
    list(range(50)), {"k%d" % i: i for i in range(20)},
])
def test_python_json_facade_matches_json_module(value):
    bs = _load_py_bootstrap()
    assert bs._dumps(value) == json.dumps(value, ensure_ascii=False).encode("utf-8")
    text = json.dumps(value)
    assert bs._loads(text) == json.loads(text) or text == "[Infinity]"
    assert bs._loads(" \n" + text + "\t ") == bs._loads(text.encode()) or text == "[Infinity]"


def test_python_json_facade_errors():
    bs = _load_py_bootstrap()
    for bad in ["", "{", "[1,]", "1 2", "nul", '{"a" 1}']:
        with pytest.raises(ValueError):
            bs._loads(bad)
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        bs._dumps({"s": {1}})
    with pytest.raises(ValueError):
        loop = []
        loop.append(loop)
        bs._dumps(loop)
