"""The wire itself, with the standard library's HTTP client instead of boto3: error shapes of
both protocols, requests SDKs other than botocore send, malformed requests, request ids.

These do not depend on the installed botocore, so under scripts/test-python.sh they run in both
virtualenvs; they are cheap.
"""

import hashlib
import http.client
import json
import urllib.parse
import xml.etree.ElementTree as ElementTree

import pytest

from sqs_support import ACCOUNT_ID, auth_off_only

pytestmark = auth_off_only  # unsigned requests: the auth tests send their own

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
SQS_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body)

    def xml(self) -> ElementTree.Element:
        return ElementTree.fromstring(self.body)

    def __repr__(self) -> str:
        return f"HTTP {self.status} {self.headers} {self.body[:300]!r}"


def call(server, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Answer:
    """One HTTP exchange; asserts the request id header every AWS answer carries."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        answer = Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, response.read())
    finally:
        connection.close()
    assert answer.headers.get("x-amzn-requestid"), f"no x-amzn-RequestId on {method} {path}: {answer}"
    return answer


def json_call(server, operation: str, payload: dict | bytes) -> Answer:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-Amz-Target": f"AmazonSQS.{operation}", "Content-Type": JSON_CONTENT_TYPE}
    return call(server, "POST", "/", body, headers)


def query_call(server, params: dict | bytes, path: str = "/") -> Answer:
    body = params if isinstance(params, bytes) else urllib.parse.urlencode(params).encode()
    return call(server, "POST", path, body, {"Content-Type": FORM_CONTENT_TYPE})


def find(element: ElementTree.Element, path: str) -> ElementTree.Element:
    """Finds by local names, whatever namespace the document uses."""
    found = element.find("/".join(f"{{*}}{step}" for step in path.split("/")))
    assert found is not None, f"no {path} in {ElementTree.tostring(element)[:400]!r}"
    return found


def local_name(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def make_queue(server, name: str) -> str:
    answer = json_call(server, "CreateQueue", {"QueueName": name})
    assert answer.status == 200, answer
    return answer.json()["QueueUrl"]


# ----- error shapes ----------------------------------------------------------------------------


def test_json_error_shape_for_a_missing_queue(wharf):
    answer = json_call(wharf, "GetQueueUrl", {"QueueName": "missing"})
    assert answer.status == 400
    assert answer.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert answer.headers["content-type"] == JSON_CONTENT_TYPE
    body = answer.json()
    assert body["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert body["message"]


@pytest.mark.parametrize(
    "operation, payload, status, query_error, json_type",
    [
        ("CreateQueue", {"QueueName": "q", "Attributes": {"Colour": "blue"}}, 400, "InvalidAttributeName;Sender", "com.amazonaws.sqs#InvalidAttributeName"),
        ("SendMessageBatch", {"QueueUrl": "QUEUE", "Entries": []}, 400, "AWS.SimpleQueueService.EmptyBatchRequest;Sender", "com.amazonaws.sqs#EmptyBatchRequest"),
        ("DeleteMessage", {"QueueUrl": "QUEUE", "ReceiptHandle": "bogus"}, 400, "ReceiptHandleIsInvalid;Sender", "com.amazonaws.sqs#ReceiptHandleIsInvalid"),
        # Unmodeled errors: AWS's JSON type names, the legacy codes in the header.
        ("SendMessage", {"QueueUrl": "QUEUE", "MessageBody": "x", "DelaySeconds": 901}, 400, "InvalidParameterValue;Sender", "com.amazonaws.sqs#InvalidParameterValueException"),
        ("SendMessage", {"QueueUrl": "QUEUE"}, 400, "MissingParameter;Sender", "com.amazonaws.sqs#MissingRequiredParameterException"),
    ],
)
def test_json_errors_carry_legacy_codes_in_x_amzn_query_error(wharf, operation, payload, status, query_error, json_type):
    queue_url = make_queue(wharf, "existing")
    payload = {key: (queue_url if value == "QUEUE" else value) for key, value in payload.items()}
    answer = json_call(wharf, operation, payload)
    assert (answer.status, answer.headers.get("x-amzn-query-error"), answer.json()["__type"]) == (status, query_error, json_type)


def test_json_purge_queue_in_progress_is_403(wharf):
    queue_url = make_queue(wharf, "purged")
    assert json_call(wharf, "PurgeQueue", {"QueueUrl": queue_url}).status == 200
    answer = json_call(wharf, "PurgeQueue", {"QueueUrl": queue_url})
    assert answer.status == 403
    assert answer.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.PurgeQueueInProgress;Sender"
    assert answer.json()["__type"] == "com.amazonaws.sqs#PurgeQueueInProgress"


def test_query_error_shape_for_a_missing_queue(wharf):
    answer = query_call(wharf, {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "missing"})
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/xml")
    root = answer.xml()
    assert local_name(root) == "ErrorResponse"
    assert find(root, "Error/Type").text == "Sender"
    assert find(root, "Error/Code").text == "AWS.SimpleQueueService.NonExistentQueue"
    assert find(root, "Error/Message").text == "The specified queue does not exist for this wsdl version."
    assert find(root, "RequestId").text == answer.headers["x-amzn-requestid"]


def test_unknown_query_action_is_invalid_action(wharf):
    answer = query_call(wharf, {"Action": "Frobnicate", "Version": "2012-11-05"})
    assert answer.status == 400
    assert find(answer.xml(), "Error/Code").text == "InvalidAction"


def test_unknown_json_target_is_unknown_operation(wharf):
    answer = json_call(wharf, "Frobnicate", {})
    assert answer.status == 400
    assert answer.json()["__type"].endswith("UnknownOperationException")


@pytest.mark.parametrize("body", [b'{"QueueName": ', b"not json at all", b'["a list"]', b'{"QueueName": 7}'])
def test_malformed_json_body_is_400(wharf, body):
    answer = json_call(wharf, "CreateQueue", body)
    assert answer.status == 400
    assert answer.json()["__type"]
    assert "QueueUrls" not in json_call(wharf, "ListQueues", {}).json(), "nothing was created"


def test_invalid_utf8_in_a_form_body_is_400(wharf):
    queue_url = make_queue(wharf, "utf8")
    body = b"Action=SendMessage&Version=2012-11-05&QueueUrl=" + urllib.parse.quote(queue_url, safe="").encode() + b"&MessageBody=%FF%FE"
    answer = query_call(wharf, body)
    assert answer.status == 400
    assert local_name(answer.xml()) == "ErrorResponse"
    assert find(answer.xml(), "Error/Type").text == "Sender"
    counts = json_call(wharf, "GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["ApproximateNumberOfMessages"]})
    assert counts.json()["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_post_without_action_or_target_is_400_with_a_request_id(wharf):
    answer = call(wharf, "POST", "/", b"Version=2012-11-05", {"Content-Type": FORM_CONTENT_TYPE})
    assert answer.status == 400


# ----- query requests other SDKs send ----------------------------------------------------------


def test_query_get_request_with_parameters_in_the_url(wharf):
    queue_url = make_queue(wharf, "listed")
    answer = call(wharf, "GET", "/?Action=ListQueues&Version=2012-11-05")
    assert answer.status == 200
    root = answer.xml()
    assert root.tag == f"{{{SQS_NAMESPACE}}}ListQueuesResponse"
    assert [element.text for element in root.iter(f"{{{SQS_NAMESPACE}}}QueueUrl")] == [queue_url]
    assert find(root, "ResponseMetadata/RequestId").text == answer.headers["x-amzn-requestid"]


def test_query_get_send_message_to_an_aws_queue_url(wharf):
    make_queue(wharf, "sqs-test-1")
    params = {
        "Action": "SendMessage",
        "QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/sqs-test-1",
        "MessageBody": "메시지 내용 <&>",
    }
    answer = call(wharf, "GET", "/?" + urllib.parse.urlencode(params))
    assert answer.status == 200, answer
    result = find(answer.xml(), "SendMessageResult")
    assert find(result, "MD5OfMessageBody").text == hashlib.md5("메시지 내용 <&>".encode()).hexdigest()


def test_query_request_posted_to_the_queue_path_without_queue_url(wharf):
    queue_url = make_queue(wharf, "q")
    answer = query_call(wharf, {"Action": "SendMessage", "MessageBody": "x"}, path=f"/{ACCOUNT_ID}/q")
    assert answer.status == 200, answer
    root = answer.xml()
    assert root.tag == f"{{{SQS_NAMESPACE}}}SendMessageResponse"
    message_id = find(root, "SendMessageResult/MessageId").text
    assert message_id

    received = query_call(wharf, {"Action": "ReceiveMessage", "AttributeName.1": "All"}, path=f"/{ACCOUNT_ID}/q")
    assert received.status == 200, received
    message = find(received.xml(), "ReceiveMessageResult/Message")
    assert find(message, "MessageId").text == message_id
    assert find(message, "Body").text == "x"
    counts = json_call(wharf, "GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["ApproximateNumberOfMessagesNotVisible"]})
    assert counts.json()["Attributes"] == {"ApproximateNumberOfMessagesNotVisible": "1"}


def test_query_success_shape(wharf):
    answer = query_call(wharf, {"Action": "CreateQueue", "Version": "2012-11-05", "QueueName": "shaped", "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "2"})
    assert answer.status == 200
    root = answer.xml()
    assert root.tag == f"{{{SQS_NAMESPACE}}}CreateQueueResponse"
    assert find(root, "CreateQueueResult/QueueUrl").text.endswith(f"/{ACCOUNT_ID}/shaped")
    assert find(root, "ResponseMetadata/RequestId").text == answer.headers["x-amzn-requestid"]


def test_json_success_shape_and_unique_request_ids(wharf):
    request_ids = set()
    created = json_call(wharf, "CreateQueue", {"QueueName": "ids"})
    assert created.status == 200 and created.headers["content-type"] == JSON_CONTENT_TYPE
    queue_url = created.json()["QueueUrl"]
    request_ids.add(created.headers["x-amzn-requestid"])
    for _ in range(5):
        answer = json_call(wharf, "SendMessage", {"QueueUrl": queue_url, "MessageBody": "x"})
        assert answer.status == 200
        assert set(answer.json()) == {"MessageId", "MD5OfMessageBody"}
        request_ids.add(answer.headers["x-amzn-requestid"])
    assert len(request_ids) == 6


def test_health_endpoint(wharf):
    connection = http.client.HTTPConnection("127.0.0.1", wharf.port, timeout=10)
    try:
        connection.request("GET", "/_wharf/health")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200
    assert body["status"] == "ok"
    assert body["services"]["sqs"] == "running"


def test_json_batch_results_leave_out_empty_lists(wharf):
    url = make_queue(wharf, "batch-shape")
    answer = json_call(wharf, "SendMessageBatch", {"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": "x"}]})
    assert answer.status == 200
    body = answer.json()
    assert "Failed" not in body, body
    assert [entry["Id"] for entry in body["Successful"]] == ["a"]
    answer = json_call(wharf, "DeleteMessageBatch", {"QueueUrl": url, "Entries": [{"Id": "d", "ReceiptHandle": "bogus"}]})
    body = answer.json()
    assert "Successful" not in body, body
    assert [entry["Id"] for entry in body["Failed"]] == ["d"]


def test_query_empty_results_are_self_closing(wharf):
    url = make_queue(wharf, "quiet-query")
    answer = query_call(wharf, {"Action": "ReceiveMessage", "Version": "2012-11-05", "QueueUrl": url})
    assert answer.status == 200
    assert b"<ReceiveMessageResult/>" in answer.body, answer.body
