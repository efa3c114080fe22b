"""A producer and a consumer for wharf's SQS, in the shape of the pipeline wharf grew from.

Start wharf first (`cargo run --release -- serve`), then:

    python3 examples/sqs_pipeline.py

The producer puts a few work orders on `sqs-test-1`; the consumer takes up to ten at a time
with every system attribute, does the work, and deletes each message by its receipt handle.
The queue URL keeps an AWS host name on purpose: wharf finds the queue by the account and name
in its path, so code written for AWS runs unchanged apart from `endpoint_url`.
"""

import json
import os

import boto3

ENDPOINT = os.environ.get("WHARF_ENDPOINT", "http://127.0.0.1:4566")
REGION = "ap-northeast-2"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/000000000000/sqs-test-1"


def client():
    return boto3.client(
        "sqs",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def produce(sqs, orders):
    for order in orders:
        answer = sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(order, ensure_ascii=False))
        print("queued", order["order"], answer["MessageId"], answer["MD5OfMessageBody"])


def consume(sqs):
    handled = 0
    while True:
        answer = sqs.receive_message(
            QueueUrl=QUEUE_URL,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            WaitTimeSeconds=1,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return handled
        for message in messages:
            work = json.loads(message["Body"])
            seen = message["Attributes"]["ApproximateReceiveCount"]
            print(f"working on order {work['order']} ({work['item']}), delivery #{seen}")
            sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
            handled += 1


def main():
    sqs = client()
    sqs.create_queue(QueueName="sqs-test-1")
    produce(sqs, [{"order": number, "item": item} for number, item in enumerate(["사과", "pear", "fig"], 1)])
    print("handled", consume(sqs), "messages")


if __name__ == "__main__":
    main()
