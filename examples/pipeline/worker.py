"""The worker function: does the work one message asks for, then deletes the message.

It deletes only after the work succeeded: if it fails, Lambda retries the invocation, and if
those retries fail too the message comes back to the queue after its visibility timeout.
"""

import json

import boto3

sqs = boto3.client("sqs")


def handle(event, context):
    message = event["message"]
    order = json.loads(message["Body"])
    print(f"worker: processed order {order['order']} ({order['item']}) from message {message['MessageId']}")
    sqs.delete_message(QueueUrl=event["queueUrl"], ReceiptHandle=message["ReceiptHandle"])
    return {"order": order["order"]}
