"""Small helpers shared by the tests: expected errors, digests computed independently, counts."""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import time
from pathlib import Path
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

# The repository root (test modules import these from here, not from conftest: the suites in
# subdirectories have conftest modules of their own, and `conftest` names whichever came last).
REPO_ROOT = Path(__file__).resolve().parents[2]


# The line wharf prints once it accepts requests.
LISTENING_MARKER = "wharf: listening on "


def wharf_binary() -> Path:
    """The binary under test: WHARF_BIN, or target/debug/wharf of the repository."""
    binary = Path(os.environ.get("WHARF_BIN", "target/debug/wharf"))
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    return binary


def protocol_under_test() -> str | None:
    """`json` or `query` as scripts/test-python.sh says, or None when run by hand."""
    return os.environ.get("WHARF_PROTOCOL") or None

ACCOUNT_ID = "000000000000"


@contextlib.contextmanager
def aws_error(code: str, status: int | None = None) -> Iterator[pytest.ExceptionInfo]:
    """Expects the block to fail with AWS error `code` (botocore's `Error.Code`).

    For the JSON protocol botocore takes that code from the `x-amzn-query-error` header (the
    legacy query code); for the query protocol from `<Error><Code>`.
    """
    with pytest.raises(ClientError) as info:
        yield info
    response = info.value.response
    assert response["Error"]["Code"] == code, f"expected {code}, got {response['Error']} (HTTP {status_of(response)})"
    if status is not None:
        assert status_of(response) == status, f"{code}: expected HTTP {status}, got {status_of(response)}"


def status_of(response: dict) -> int:
    return response["ResponseMetadata"]["HTTPStatusCode"]


def md5_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def message_attributes_md5(attributes: dict) -> str:
    """MD5OfMessageAttributes as AWS documents it.

    Attributes sorted by name; for each: 4-byte big-endian length + UTF-8 name, length + data
    type, transport byte (1 for String/Number values, 2 for Binary values), length + value
    (UTF-8 string or raw bytes). `attributes` has boto3's shape:
    `{name: {"DataType": ..., "StringValue": ...}}` or `{"BinaryValue": bytes}`.
    """
    encoded = b""
    for name in sorted(attributes, key=lambda attribute_name: attribute_name.encode("utf-8")):
        value = attributes[name]
        encoded += _length_prefixed(name.encode("utf-8"))
        encoded += _length_prefixed(value["DataType"].encode("utf-8"))
        if "StringValue" in value:
            encoded += b"\x01" + _length_prefixed(value["StringValue"].encode("utf-8"))
        else:
            binary = value["BinaryValue"]
            if isinstance(binary, str):
                binary = binary.encode("utf-8")
            encoded += b"\x02" + _length_prefixed(binary)
    return hashlib.md5(encoded).hexdigest()


def queue_counts(client, queue_url: str) -> dict[str, int]:
    """The three ApproximateNumberOfMessages* counts, as ints."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"]),
    }


def create_queue(client, name: str, **attributes: object) -> str:
    """Creates a queue with attributes given as keywords (values turned into strings)."""
    response = client.create_queue(QueueName=name, Attributes={key: str(value) for key, value in attributes.items()})
    return response["QueueUrl"]


def receive(client, queue_url: str, **kwargs) -> list[dict]:
    """One ReceiveMessage call; the messages (an empty list when there are none)."""
    return client.receive_message(QueueUrl=queue_url, **kwargs).get("Messages", [])


def receive_until(client, queue_url: str, count: int, timeout: float = 5.0, **kwargs) -> list[dict]:
    """Receives until `count` messages came or `timeout` passed (a standard queue may return
    fewer messages than are available on one call)."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        wait = max(0, min(1, int(deadline - time.monotonic())))
        messages += receive(client, queue_url, MaxNumberOfMessages=min(10, count - len(messages)), WaitTimeSeconds=wait, **kwargs)
    return messages


def queue_url_for(endpoint: str, name: str, region: str = "us-east-1") -> str:
    """wharf's queue URL: the region, the account and the name in the path."""
    return f"{endpoint}/queue/{region}/{ACCOUNT_ID}/{name}"


def auth_under_test() -> str:
    """`enforce` when the suite runs with auth enforced (WHARF_TEST_AUTH), else `off`."""
    return "enforce" if os.environ.get("WHARF_TEST_AUTH") == "enforce" else "off"


# For tests of what holds only with auth off: unsigned raw HTTP requests, and access keys that
# are not configured (any key works, a 12-digit one selecting its account).
auth_off_only = pytest.mark.skipif(
    auth_under_test() == "enforce", reason="sends requests only auth off accepts (unsigned or with unknown keys)"
)
