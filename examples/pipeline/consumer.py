"""The consumer function: runs on a schedule, takes up to ten waiting messages and hands each to
the worker function as an asynchronous invocation.

It names no endpoint: inside wharf, AWS_ENDPOINT_URL points the SDK at wharf, exactly as the
same code reaches AWS when it runs on Lambda.
"""

import json
import os

import boto3

QUEUE_NAME = os.environ.get("QUEUE_NAME", "sqs-test-1")
WORKER = os.environ.get("WORKER_FUNCTION", "lambda_worker")

sqs = boto3.client("sqs")
functions = boto3.client("lambda")


def handle(event, context):
    queue_url = sqs.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    handed_over = 0
    for message in answer.get("Messages", []):
        functions.invoke(
            FunctionName=WORKER,
            InvocationType="Event",
            Payload=json.dumps({"message": message, "queueUrl": queue_url}),
        )
        handed_over += 1
    print(f"consumer: handed {handed_over} message(s) to {WORKER}")
    return {"handedOver": handed_over}
