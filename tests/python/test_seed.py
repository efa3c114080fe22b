"""The program wharf was built for, in its own style: a producer puts JSON work messages on
`sqs-test-1` in ap-northeast-2 with the queue's real AWS URL, a consumer receives up to ten
with all attributes, and a worker handles each one and deletes it.

The queue is declared in the configuration file, as a user of wharf would, and the clients keep
the AWS queue URL: wharf finds queues by the account and name in a URL's path, whatever its host.
"""

import json
import time

from sqs_support import aws_error, md5_hex, queue_counts

REGION = "ap-northeast-2"
QUEUE_NAME = "sqs-test-1"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/000000000000/{QUEUE_NAME}"

SEED_CONFIG = f"""
[[sqs.queues]]
name = "{QUEUE_NAME}"
region = "{REGION}"
attributes = {{ VisibilityTimeout = "60" }}
"""


def producer(sqs_client, payload: dict) -> dict:
    return sqs_client.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(payload, ensure_ascii=False))


def consumer(sqs_client) -> list[dict]:
    response = sqs_client.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=10, AttributeNames=["All"])
    return [{"message": message, "queueUrl": QUEUE_URL} for message in response.get("Messages", [])]


def worker(sqs_client, event: dict) -> dict:
    message_body = json.loads(event["message"]["Body"])
    sqs_client.delete_message(QueueUrl=event["queueUrl"], ReceiptHandle=event["message"]["ReceiptHandle"])
    return message_body


def consume_all(sqs_client, expected: int) -> list[dict]:
    """Runs the consumer until `expected` events were collected (a standard queue may answer one
    receive with fewer messages than it holds)."""
    events = []
    deadline = time.monotonic() + 5
    while len(events) < expected and time.monotonic() < deadline:
        events += consumer(sqs_client)
    return events


def test_producer_consumer_worker_round_trip(wharf_factory):
    server = wharf_factory(config=SEED_CONFIG)
    sqs_client = server.client(region=REGION)
    payloads = [
        {"job": "resize", "message": "메시지 내용", "id": 1},
        {"job": "markup", "text": "line one\r\nline two <b>&amp;</b> <&>", "id": 2},
        {"job": "plain", "id": 3},
    ]
    sent_before_ms = int(time.time() * 1000)
    sent = {}
    for payload in payloads:
        response = producer(sqs_client, payload)
        body = json.dumps(payload, ensure_ascii=False)
        assert response["MD5OfMessageBody"] == md5_hex(body)
        assert response["MessageId"]
        sent[response["MessageId"]] = body
    sent_after_ms = int(time.time() * 1000)

    events = consume_all(sqs_client, len(payloads))
    assert sorted(event["message"]["MessageId"] for event in events) == sorted(sent)
    for event in events:
        message = event["message"]
        body = sent[message["MessageId"]]
        assert message["Body"] == body, "body must round-trip byte for byte"
        assert message["MD5OfBody"] == md5_hex(message["Body"])
        attributes = message["Attributes"]
        assert {"SenderId", "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SentTimestamp"} <= set(attributes)
        assert attributes["SenderId"]
        assert attributes["ApproximateReceiveCount"] == "1"
        sent_ms = int(attributes["SentTimestamp"])
        assert sent_before_ms - 1000 <= sent_ms <= sent_after_ms + 1000, "SentTimestamp is epoch milliseconds"
        first_receive_ms = int(attributes["ApproximateFirstReceiveTimestamp"])
        assert sent_ms <= first_receive_ms <= int(time.time() * 1000) + 1000

    assert queue_counts(sqs_client, QUEUE_URL) == {"visible": 0, "in_flight": len(payloads), "delayed": 0}
    handled = [worker(sqs_client, event) for event in events]
    assert sorted(handled, key=lambda payload: payload["id"]) == payloads
    assert queue_counts(sqs_client, QUEUE_URL) == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert consumer(sqs_client) == []


def test_korean_and_markup_bodies_round_trip_byte_for_byte(wharf_factory):
    server = wharf_factory(config=SEED_CONFIG)
    sqs_client = server.client(region=REGION)
    bodies = ["메시지 내용", "carriage\r\nreturn\rand <&> \"quotes\" 'apos' ]]> &amp;", "\t tabs and trailing spaces  \n"]
    for body in bodies:
        response = sqs_client.send_message(QueueUrl=QUEUE_URL, MessageBody=body)
        assert response["MD5OfMessageBody"] == md5_hex(body)
        received = consumer(sqs_client)
        assert len(received) == 1
        message = received[0]["message"]
        assert message["Body"] == body
        assert message["Body"].encode("utf-8") == body.encode("utf-8")
        assert message["MD5OfBody"] == md5_hex(body)
        deleted = sqs_client.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_declared_queue_is_reachable_by_local_and_aws_urls(wharf_factory):
    server = wharf_factory(config=SEED_CONFIG)
    sqs_client = server.client(region=REGION)
    local_url = sqs_client.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
    assert local_url.endswith(f"/000000000000/{QUEUE_NAME}")
    attributes = sqs_client.get_queue_attributes(QueueUrl=QUEUE_URL, AttributeNames=["VisibilityTimeout", "QueueArn"])["Attributes"]
    assert attributes == {"VisibilityTimeout": "60", "QueueArn": f"arn:aws:sqs:{REGION}:000000000000:{QUEUE_NAME}"}

    producer(sqs_client, {"via": "aws url"})
    messages = sqs_client.receive_message(QueueUrl=local_url, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(message["Body"]) for message in messages] == [{"via": "aws url"}]


def test_queue_of_another_region_is_not_found(wharf_factory):
    server = wharf_factory(config=SEED_CONFIG)
    us_client = server.client(region="us-east-1")
    with aws_error("AWS.SimpleQueueService.NonExistentQueue"):
        us_client.get_queue_url(QueueName=QUEUE_NAME)
    with aws_error("AWS.SimpleQueueService.NonExistentQueue"):
        us_client.send_message(QueueUrl=QUEUE_URL.replace(REGION, "us-east-1"), MessageBody="wrong region")
    assert "QueueUrls" not in us_client.list_queues()
    # The seed's URL names its region, so it reaches the queue from a client of another region.
    us_client.send_message(QueueUrl=QUEUE_URL, MessageBody="right region")
    assert server.client(region=REGION).receive_message(QueueUrl=QUEUE_URL)["Messages"][0]["Body"] == "right region"
