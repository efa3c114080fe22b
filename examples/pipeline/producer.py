"""The producer: puts work orders on the queue.

    python3 examples/pipeline/producer.py 25
"""

import json
import os
import sys

import boto3

ENDPOINT = os.environ.get("WHARF_ENDPOINT", "http://127.0.0.1:4566")
REGION = os.environ.get("AWS_REGION", "us-east-1")


def send_orders(count: int, endpoint: str = ENDPOINT, region: str = REGION, queue_name: str = "sqs-test-1") -> list[str]:
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region, aws_access_key_id="local", aws_secret_access_key="local")
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    ids = []
    for order in range(1, count + 1):
        body = json.dumps({"order": order, "item": f"item-{order:03d}"})
        ids.append(sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"])
    return ids


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for message_id in send_orders(count):
        print(message_id)
