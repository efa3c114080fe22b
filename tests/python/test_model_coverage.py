"""wharf against the SQS service model that the installed botocore ships.

Every modeled operation must be routed, every top-level input member must be read, and every
modeled error shape must have a code in wharf's error table. The member check is black-box: a
member sent with a value of the wrong JSON type is rejected with a SerializationException that
names it only if wharf decodes that member; an unknown member would be ignored.
"""

from __future__ import annotations

import http.client
import json
import re

import botocore.session
import pytest

from sqs_support import REPO_ROOT

MODEL = botocore.session.get_session().get_service_model("sqs")

# A value of the wrong type for each shape type.
WRONG_VALUE = {"string": 12345, "integer": "not-a-number", "long": "not-a-number", "boolean": "maybe",
               "list": 7, "map": 7, "structure": 7, "blob": 7, "timestamp": [1]}


def call_json(endpoint: str, operation: str, body: object) -> tuple[int, dict, dict]:
    host = endpoint.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.request("POST", "/", body=json.dumps(body), headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AmazonSQS.{operation}",
    })
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), json.loads(payload or b"{}")


def test_every_operation_is_routed(wharf):
    for operation in MODEL.operation_names:
        status, _, body = call_json(wharf.endpoint, operation, {})
        assert "UnknownOperation" not in body.get("__type", ""), f"{operation}: {status} {body}"


@pytest.mark.parametrize("operation", sorted(MODEL.operation_names))
def test_every_input_member_is_decoded(wharf, operation):
    input_shape = MODEL.operation_model(operation).input_shape
    if input_shape is None:
        return
    for member, shape in input_shape.members.items():
        wrong = WRONG_VALUE[shape.type_name]
        status, _, body = call_json(wharf.endpoint, operation, {member: wrong})
        assert status == 400 and body.get("__type", "").endswith("SerializationException"), (
            f"{operation}.{member} ({shape.type_name}) sent as {wrong!r} was not rejected as a type error: "
            f"{status} {body}"
        )


def test_every_modeled_error_has_a_code():
    table = (REPO_ROOT / "crates/api/sqs/src/error.rs").read_text()
    mapped = set(re.findall(r'"com\.amazonaws\.sqs#(\w+)"', table))
    modeled = {name for name in MODEL.shape_names if MODEL.shape_for(name).metadata.get("exception")}
    # Kms* errors need SSE-KMS, which wharf does not perform; RequestThrottled and
    # InvalidSecurity need throttling and HTTPS, which wharf does not do either; the model marks
    # InvalidIdFormat deprecated (ReceiptHandleIsInvalid replaced it).
    not_applicable = {name for name in modeled if name.startswith("Kms")} | {
        "RequestThrottled", "InvalidSecurity", "InvalidIdFormat"}
    missing = modeled - mapped - not_applicable
    assert not missing, f"modeled errors without a wharf code: {sorted(missing)}"
