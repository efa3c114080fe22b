"""`[auth] mode = "log"`: every request's SigV4 signature is checked against the configured
access keys and the outcome logged, nothing refused. Real SDK signatures of every protocol wharf
speaks must verify; a wrong secret, an unknown key and an unsigned request are logged with
AWS's codes. A configured key selects its account."""

import contextlib
import datetime
import http.client
import unittest.mock
import urllib.request

import boto3

KEY, SECRET, ACCOUNT = "AKIAWHARFLOGMODE", "s3cret/Key+with=odd chars", "123456789012"

CONFIG = f"""
[auth]
mode = "log"
[[auth.credentials]]
access_key_id = "{KEY}"
secret_access_key = "{SECRET}"
account_id = "{ACCOUNT}"
"""


def client(wharf, service: str, key: str = KEY, secret: str = SECRET, region: str = "eu-west-1"):
    return boto3.client(service, region_name=region, endpoint_url=wharf.endpoint,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def auth_lines(wharf) -> list[str]:
    return [line for line in wharf.log_tail(100_000).splitlines() if "wharf::auth" in line or "signature" in line]


def test_real_sdk_signatures_verify_in_every_protocol(wharf_factory):
    wharf = wharf_factory(config=CONFIG)
    sqs = client(wharf, "sqs")
    url = sqs.create_queue(QueueName="signed")["QueueUrl"]
    assert f"/{ACCOUNT}/signed" in url, "the configured key's account"
    sqs.send_message(QueueUrl=url, MessageBody="메시지 & more")
    sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])
    assert client(wharf, "sts").get_caller_identity()["Account"] == ACCOUNT
    logs = client(wharf, "logs")
    logs.create_log_group(logGroupName="/signed/group")
    logs.describe_log_groups(logGroupNamePrefix="/signed")
    client(wharf, "events").put_rule(Name="signed", ScheduleExpression="rate(1 hour)", State="DISABLED")
    functions = client(wharf, "lambda")
    functions.list_functions()
    try:
        # An ARN in the path: encoded twice in the canonical request.
        functions.get_function(FunctionName=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:none:live")
    except functions.exceptions.ResourceNotFoundException:
        pass
    lines = auth_lines(wharf)
    verified = [line for line in lines if "signature verified" in line]
    refused = [line for line in lines if "would be refused" in line]
    assert refused == [], refused
    assert len(verified) == 9, lines  # one per call above
    assert all(SECRET not in line for line in lines), "the secret is never logged"


def test_bad_signatures_are_logged_with_aws_codes_and_not_refused(wharf_factory):
    wharf = wharf_factory(config=CONFIG)
    wrong = client(wharf, "sqs", secret="not the secret")
    assert "QueueUrls" not in wrong.list_queues(), "log mode refuses nothing"
    client(wharf, "sqs", key="AKIAUNKNOWN").list_queues()
    connection = http.client.HTTPConnection("127.0.0.1", wharf.port, timeout=10)
    connection.request("POST", "/", body=b"Action=ListQueues", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert connection.getresponse().status == 200
    connection.close()
    refused = [line for line in auth_lines(wharf) if "would be refused" in line]
    codes = " ".join(refused)
    assert "SignatureDoesNotMatch" in codes and "InvalidClientTokenId" in codes and "MissingAuthenticationToken" in codes, refused


@contextlib.contextmanager
def signing_clock_behind(seconds: int):
    """botocore signs as if its clock were `seconds` behind (both installed versions: the newer
    asks botocore.compat's get_current_datetime, the older datetime.datetime.utcnow)."""
    import botocore.auth  # noqa: PLC0415

    behind = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=seconds)
    if hasattr(botocore.auth, "get_current_datetime"):
        with unittest.mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: behind):
            yield
        return

    class Behind(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return behind

    with unittest.mock.patch.object(botocore.auth.datetime, "datetime", Behind):
        yield


def test_presigned_urls_verify_and_skewed_signatures_are_logged(wharf_factory):
    wharf = wharf_factory(config=CONFIG)
    sts = client(wharf, "sts")
    # botocore presigns with the operation's method (POST for the query protocol), which the
    # signature covers: the URL is sent as a POST.
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=600)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10) as answer:
        assert answer.status == 200
        assert f"<Account>{ACCOUNT}</Account>" in answer.read().decode()
    tampered = url.replace("X-Amz-Expires=600", "X-Amz-Expires=601")
    with urllib.request.urlopen(urllib.request.Request(tampered, data=b"", method="POST"), timeout=10) as answer:
        assert answer.status == 200, "log mode refuses nothing"
    lines = auth_lines(wharf)
    assert sum("signature verified" in line for line in lines) == 1, lines
    assert sum("SignatureDoesNotMatch" in line for line in lines) == 1, lines
    # Moving wharf's test clock leaves signatures alone: clients sign with the real time.
    wharf.advance_clock(400)
    client(wharf, "sqs").list_queues()
    assert not any("RequestExpired" in line for line in auth_lines(wharf)), auth_lines(wharf)
    # A client whose clock is behind by more than five minutes is.
    with signing_clock_behind(400):
        client(wharf, "sqs").list_queues()
    assert any("RequestExpired" in line for line in auth_lines(wharf)), auth_lines(wharf)
