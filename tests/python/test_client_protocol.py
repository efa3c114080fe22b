"""The suite runs once per SQS wire protocol: check that the installed botocore speaks the one
scripts/test-python.sh asked for, on the wire, to wharf."""

import pytest

from sqs_support import protocol_under_test


def test_client_speaks_the_protocol_under_test(wharf):
    expected = protocol_under_test()
    if expected is None:
        pytest.skip("WHARF_PROTOCOL is not set (run through scripts/test-python.sh)")
    client = wharf.client()
    assert client.meta.service_model.protocol == expected

    seen = []

    def text(value):
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def capture(request, **_):
        seen.append(({name: text(value) for name, value in request.headers.items()}, text(request.body)))

    client.meta.events.register("before-send.sqs.ListQueues", capture)
    response = client.list_queues()
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    headers, body = seen[0]
    if expected == "json":
        assert headers["X-Amz-Target"] == "AmazonSQS.ListQueues"
        assert headers["Content-Type"] == "application/x-amz-json-1.0"
        assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.0"
    else:
        assert "X-Amz-Target" not in headers
        assert "Action=ListQueues" in body
        assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"].startswith("text/xml")
