"""The AWS CLI against wharf, as a user runs it: `--endpoint-url` is the only change, with auth
off and with auth enforced (where the same commands pass, and a wrong secret or an unknown
key get AWS's codes). The CLI (v1, on the json virtualenv's botocore) is installed by
scripts/test-python.sh; the query run, which has no CLI, skips this file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "lambda"))

from lambda_support import ENFORCED, LAMBDA_TEST_CONFIG, LAMBDA_TRUST  # noqa: E402
from sqs_support import auth_under_test  # noqa: E402

AWS = Path(sys.executable).with_name("aws")
ACCOUNT = "000000000000"

pytestmark = pytest.mark.skipif(not AWS.exists(), reason="the AWS CLI is installed in the json virtualenv only")

@pytest.fixture(params=["off", "enforce"])
def server(request, wharf_factory):
    config = LAMBDA_TEST_CONFIG + (ENFORCED if request.param == "enforce" else "")
    wharf = wharf_factory(config=config)
    wharf.auth = "enforce" if auth_under_test() == "enforce" else request.param
    return wharf


def aws(server, *args: str, key: str = "x", secret: str = "x", ok: bool = True):
    """Runs `aws ARGS` against `server`; returns the parsed JSON output (or the completed
    process when `ok` is False)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run([str(AWS), "--endpoint-url", server.endpoint, "--output", "json", *args], env=env, capture_output=True, text=True, timeout=60)
    if not ok:
        return done
    assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_queue_quick_start(server):
    url = aws(server, "sqs", "create-queue", "--queue-name", "cli-queue",
              "--attributes", "VisibilityTimeout=45,DelaySeconds=0")["QueueUrl"]
    assert url.endswith(f"/{ACCOUNT}/cli-queue")
    assert aws(server, "sqs", "get-queue-url", "--queue-name", "cli-queue")["QueueUrl"] == url
    sent = aws(server, "sqs", "send-message", "--queue-url", url, "--message-body", '{"order": 1}',
               "--message-attributes", '{"kind": {"DataType": "String", "StringValue": "order"}}')
    assert sent["MD5OfMessageBody"] and sent["MessageId"]
    [message] = aws(server, "sqs", "receive-message", "--queue-url", url, "--attribute-names", "All",
                    "--message-attribute-names", "All", "--wait-time-seconds", "1")["Messages"]
    assert message["Body"] == '{"order": 1}'
    assert message["MessageAttributes"]["kind"]["StringValue"] == "order"
    assert message["Attributes"]["SenderId"] == ACCOUNT, "the root's SenderId is its account"
    assert aws(server, "sqs", "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"]) is None
    attributes = aws(server, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attributes["VisibilityTimeout"] == "45" and attributes["ApproximateNumberOfMessages"] == "0"
    assert url in aws(server, "sqs", "list-queues")["QueueUrls"]


def test_function_rule_logs_and_identity(server, tmp_path):
    assert aws(server, "sts", "get-caller-identity")["Account"] == ACCOUNT
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(LAMBDA_TRUST))
    role = aws(server, "iam", "create-role", "--role-name", "cli-function",
               "--assume-role-policy-document", f"file://{trust}")["Role"]["Arn"]
    aws(server, "iam", "attach-role-policy", "--role-name", "cli-function",
        "--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    package = tmp_path / "function.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    print('cli says', event)\n    return {'got': event}\n")
    created = aws(server, "lambda", "create-function", "--function-name", "cli-function", "--runtime", "python3.12",
                  "--role", role, "--handler", "app.handler", "--zip-file", f"fileb://{package}")
    assert created["State"] == "Active"
    out = tmp_path / "out.json"
    invoked = aws(server, "lambda", "invoke", "--function-name", "cli-function", "--payload", '{"n": 7}', str(out))
    assert invoked["StatusCode"] == 200 and "FunctionError" not in invoked
    assert json.loads(out.read_text()) == {"got": {"n": 7}}
    streams = aws(server, "logs", "describe-log-streams", "--log-group-name", "/aws/lambda/cli-function")["logStreams"]
    assert len(streams) == 1
    rule = aws(server, "events", "put-rule", "--name", "cli-every-minute", "--schedule-expression", "rate(1 minute)")
    assert rule["RuleArn"] == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/cli-every-minute"
    assert [r["Name"] for r in aws(server, "events", "list-rules")["Rules"]] == ["cli-every-minute"]


def test_bad_credentials_get_aws_codes_when_enforced(server):
    if server.auth != "enforce":
        assert aws(server, "sqs", "list-queues", secret="wrong", ok=False).returncode == 0, "auth off takes any key"
        return
    wrong = aws(server, "sqs", "list-queues", secret="wrong", ok=False)
    assert wrong.returncode != 0 and "SignatureDoesNotMatch" in wrong.stderr, wrong.stderr
    unknown = aws(server, "sqs", "list-queues", key="AKIAUNKNOWNCLIKEY000", ok=False)
    assert unknown.returncode != 0 and "InvalidClientTokenId" in unknown.stderr, unknown.stderr
    denied = aws(server, "lambda", "list-functions", secret="wrong", ok=False)
    assert denied.returncode != 0 and "InvalidSignatureException" in denied.stderr, denied.stderr
