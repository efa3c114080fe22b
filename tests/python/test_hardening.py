"""Hardening regressions: what an attacker or an unlucky operator did to wharf, done again.

Each test reproduces one finding of the hardening review against the real binary, through boto3
or raw sockets, and checks that wharf now answers as it should and stays up.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from sqs_support import LISTENING_MARKER, protocol_under_test, wharf_binary


def error_code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def health(server) -> dict:
    with urllib.request.urlopen(f"{server.endpoint}/_wharf/health", timeout=10) as response:
        return json.loads(response.read())


# ----- 1. one request must not abort the server -------------------------------------------------


@pytest.mark.skipif(protocol_under_test() == "query", reason="CloudWatch Logs runs with the JSON suite")
def test_a_huge_filter_pattern_is_refused_and_the_server_stays_up(wharf):
    import boto3
    from botocore.config import Config

    logs = boto3.client(
        "logs",
        endpoint_url=wharf.endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    logs.create_log_group(logGroupName="g")
    huge = "{ " + " || ".join(["$.a = 1"] * 30_000) + " }"
    with pytest.raises(ClientError) as refused:
        logs.filter_log_events(logGroupName="g", filterPattern=huge)
    assert error_code(refused.value) == "InvalidParameterException"
    assert "less than or equal to 1024" in refused.value.response["Error"]["Message"]
    # Deep nesting within the length limit is refused too, not recursed into.
    nested = "{ " + "(" * 500 + "$.a = 1" + ")" * 500 + " }"
    with pytest.raises(ClientError) as too_deep:
        logs.filter_log_events(logGroupName="g", filterPattern=nested)
    assert error_code(too_deep.value) == "InvalidParameterException"
    assert wharf.running
    assert health(wharf)["status"] == "ok"


def test_a_deeply_nested_json_body_is_refused_and_the_server_stays_up(wharf):
    body = ("[" * 100_000 + "]" * 100_000).encode()
    for target in ("AmazonSQS.ListQueues", "Logs_20140328.DescribeLogGroups", "AWSEvents.ListRules"):
        request = urllib.request.Request(
            wharf.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400, target
    assert wharf.running
    # Every background worker is supervised and shown.
    workers = health(wharf)["workers"]
    assert sorted(workers) == [
        "async-invocations", "delivery-retries", "idle-environments", "log-retention", "mapping-pollers",
        "message-retention", "rule-scheduler", "schedules", "source-reload",
    ], workers
    assert all(worker["state"] == "running" for worker in workers.values()), workers


# ----- 2. no unauthenticated listener on the network --------------------------------------------


def start_raw(args: list[str], tmp_path, **popen) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("WHARF_")}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [str(wharf_binary()), "serve", "--data-dir", str(tmp_path / "data"), *args],
        stdin=subprocess.DEVNULL,
        env=env,
        **popen,
    )


def test_listening_beyond_loopback_needs_an_explicit_flag(tmp_path):
    refused = start_raw(["--bind", "0.0.0.0:0"], tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = refused.communicate(timeout=20)
    assert refused.returncode != 0
    assert b"refusing to listen on 0.0.0.0:0" in err and b"--allow-unauthenticated-remote" in err

    allowed = start_raw(
        ["--bind", "0.0.0.0:0", "--allow-unauthenticated-remote"], tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        line = allowed.stdout.readline().decode()
        assert line.startswith(LISTENING_MARKER), line
    finally:
        allowed.terminate()
        _, err = allowed.communicate(timeout=20)
    assert b"WITHOUT AUTHENTICATION" in err


def test_enforced_auth_may_listen_beyond_loopback_and_needs_a_root_key(tmp_path):
    keyless = start_raw(["--bind", "0.0.0.0:0", "--auth", "enforce"], tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = keyless.communicate(timeout=20)
    assert keyless.returncode != 0
    assert b"needs at least one root key" in err and b"WHARF_ROOT_ACCESS_KEY_ID" in err
    env = {key: value for key, value in os.environ.items() if not key.startswith("WHARF_")}
    env.update(NO_COLOR="1", WHARF_ROOT_ACCESS_KEY_ID="AKIAROOT", WHARF_ROOT_SECRET_ACCESS_KEY="root-secret")
    enforced = subprocess.Popen(
        [str(wharf_binary()), "serve", "--data-dir", str(tmp_path / "data"), "--bind", "0.0.0.0:0", "--auth", "enforce"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        line = enforced.stdout.readline().decode()
        assert line.startswith(LISTENING_MARKER), line
    finally:
        enforced.terminate()
        _, err = enforced.communicate(timeout=20)
    assert b"WITHOUT AUTHENTICATION" not in err and b"root-secret" not in err


# ----- 3. receipt handles cannot be forged -------------------------------------------------------


def unpadded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_forged_receipt_handles_delete_nothing(wharf, sqs):
    url = sqs.create_queue(QueueName="forgery")["QueueUrl"]
    for index in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    real = received["ReceiptHandle"]
    raw = base64.urlsafe_b64decode(real + "=" * (-len(real) % 4))
    queue_id, seq = struct.unpack(">QQ", raw[1:17])
    forgeries = []
    for guess in range(max(0, seq - 2), seq + 8):
        # The retired unsigned formats (version 2 with the receive instant, version 1 without),
        # and the current one with a made-up tag.
        forgeries.append(unpadded(struct.pack(">BQQQQ", 2, queue_id, guess, 12345, int(time.time() * 1000))))
        forgeries.append(unpadded(struct.pack(">BQQQ", 1, queue_id, guess, 12345)))
        forgeries.append(unpadded(struct.pack(">BQQQQ", 3, queue_id, guess, 12345, 0) + bytes(16)))
    # The real handle with its receive instant moved (to escape the 12-hour limit).
    edited = bytearray(raw)
    edited[25:33] = struct.pack(">Q", int(time.time() * 1000) + 10**9)
    forgeries.append(unpadded(bytes(edited)))
    for forged in forgeries:
        with pytest.raises(ClientError) as refused:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=forged)
        assert error_code(refused.value) == "ReceiptHandleIsInvalid", forged
        with pytest.raises(ClientError):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=forged, VisibilityTimeout=43000)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "5"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    # The real handle still works, also after a restart (the key lives in the data directory).
    wharf.restart()
    sqs = wharf.client()
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=real, VisibilityTimeout=30)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=real)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("5", "0")
    key_file = wharf.data_dir / "receipt-key"
    assert key_file.stat().st_mode & 0o077 == 0, "the receipt key is readable by others"


# ----- 4. a broken stderr does not lose answers --------------------------------------------------


def test_requests_are_answered_when_stderr_and_stdout_are_closed(tmp_path):
    process = start_raw(
        ["--bind", "127.0.0.1:0", "--log", "debug"], tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        line = process.stdout.readline().decode()
        assert line.startswith(LISTENING_MARKER), line
        endpoint = line[len(LISTENING_MARKER):].strip()
        # As `wharf serve 2>&1 | head` once head has exited: both pipes closed.
        process.stderr.close()
        process.stdout.close()
        import boto3
        from botocore.config import Config

        sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=10),
        )
        for index in range(20):
            # Errors log a line each (and at debug, so does everything else).
            with pytest.raises(ClientError) as missing:
                sqs.get_queue_url(QueueName=f"missing-{index}")
            assert error_code(missing.value) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
            sqs.create_queue(QueueName=f"q{index}")
        with urllib.request.urlopen(f"{endpoint}/_wharf/health", timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["log"]["dropped_lines"] > 0
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


# ----- 7. stalled clients cannot exhaust descriptors or block others ----------------------------

LIMITS = """
[server]
max_connections = 40
idle_timeout_seconds = 2
body_timeout_seconds = 2
"""


def stalled_upload(port: int) -> socket.socket:
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    stalled.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 100000\r\n\r\n{\"Queue"
    )
    return stalled


def read_all(connection: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = connection.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_stalled_uploads_are_capped_and_timed_out(wharf_factory):
    server = wharf_factory(config=LIMITS)
    stalled = [stalled_upload(server.port) for _ in range(40)]
    # The limit is reached: one more client is told to come back, at once.
    extra = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    extra.sendall(b"GET /_wharf/health HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = read_all(extra)
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b"ServiceUnavailable" in answer
    # The stalled bodies time out (408) and their connections close, which frees the slots.
    for connection in stalled:
        answer = read_all(connection)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        connection.close()
    assert health(server)["status"] == "ok"


def test_idle_connections_are_closed(wharf_factory):
    server = wharf_factory(config=LIMITS)
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    started = time.monotonic()
    assert read_all(idle) == b""
    assert time.monotonic() - started < 9
    # Headers trickled in too slowly (slowloris) are cut off the same way.
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    slow.sendall(b"GET /_wharf/health HTTP/1.1\r\n")
    assert b"200 OK" not in read_all(slow)
    assert health(server)["status"] == "ok"


# ----- 11. a full disk is reported and recovered from --------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_health_and_recovers_when_space_is_freed(wharf_factory, small_disk):
    server = wharf_factory(start=False)
    server.data_dir = small_disk / "data"
    server.data_dir.mkdir()
    server.start()
    sqs = server.client()
    url = sqs.create_queue(QueueName="fill")["QueueUrl"]
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (8 << 20))
    body = "x" * 250_000
    acknowledged = 0
    for _ in range(200):
        try:
            sqs.send_message(QueueUrl=url, MessageBody=body)
            acknowledged += 1
        except ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
            break
    else:
        pytest.fail("the disk never filled")
    with pytest.raises(urllib.error.HTTPError) as failing:
        urllib.request.urlopen(f"{server.endpoint}/_wharf/health", timeout=10)
    assert failing.value.code == 503
    assert json.loads(failing.value.read())["status"] == "failing"
    # Free the space: the store retries by itself and takes changes again.
    ballast.unlink()
    deadline = time.monotonic() + 15
    while True:
        try:
            sqs.send_message(QueueUrl=url, MessageBody="after")
            break
        except ClientError:
            assert time.monotonic() < deadline, "the store did not recover after space was freed"
            time.sleep(0.2)
    assert health(server)["status"] == "ok"
    # Nothing acknowledged was lost, across a restart.
    server.restart()
    counts = server.client().get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(counts["Attributes"]["ApproximateNumberOfMessages"]) >= acknowledged + 1


# ----- 12. a clean stop checkpoints; a damaged log is not opened silently ------------------------


def test_a_clean_stop_leaves_no_write_ahead_log(wharf):
    sqs = wharf.client()
    url = sqs.create_queue(QueueName="clean")["QueueUrl"]
    for index in range(50):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    assert wharf.stop() == 0
    for wal in wharf.data_dir.rglob("*-wal"):
        assert wal.stat().st_size == 0, f"{wal} was not checkpointed"


def test_a_damaged_write_ahead_log_is_refused_unless_accepted(wharf):
    sqs = wharf.client()
    url = sqs.create_queue(QueueName="damaged")["QueueUrl"]
    for index in range(300):
        sqs.send_message(QueueUrl=url, MessageBody=f"message {index} " + "y" * 3000)
    wharf.kill9()
    wal = wharf.data_dir / "wharf.sqlite3-wal"
    data = bytearray(wal.read_bytes())
    assert len(data) > 100_000
    data[len(data) // 3] ^= 0xFF
    wal.write_bytes(bytes(data))
    refused = subprocess.run(
        [str(wharf_binary()), "serve", "--bind", "127.0.0.1:0", "--data-dir", str(wharf.data_dir)],
        capture_output=True,
        timeout=30,
        env={key: value for key, value in os.environ.items() if not key.startswith("WHARF_")},
    )
    assert refused.returncode != 0
    assert b"write-ahead log is damaged" in refused.stderr, refused.stderr[-2000:]
    accepted = start_raw(
        ["--bind", "127.0.0.1:0", "--accept-damaged-wal"], wharf.data_dir.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        line = accepted.stdout.readline().decode()
        assert line.startswith(LISTENING_MARKER), line
    finally:
        accepted.terminate()
        accepted.communicate(timeout=20)


def test_the_clock_moves_only_on_a_server_started_with_the_test_clock(wharf_factory):
    """`/_wharf/clock` exists only with `--test-clock`: without it, no request can move time
    (which would expire every message)."""
    plain = wharf_factory(test_clock=False)
    sqs = plain.client()
    queue_url = sqs.create_queue(QueueName="kept", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="stays")
    request = urllib.request.Request(
        f"{plain.endpoint}/_wharf/clock", data=b'{"advance_seconds": 3600}', method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert b"MissingAction" in refused.value.read()  # a form POST no service claims
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"

    movable = wharf_factory()
    before = movable.advance_clock(0)
    assert movable.advance_clock(3600) >= before + 3_600_000
    bad = urllib.request.Request(f"{movable.endpoint}/_wharf/clock", data=b'{"advance_seconds": -5}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as invalid:
        urllib.request.urlopen(bad, timeout=10)
    assert invalid.value.code == 400
