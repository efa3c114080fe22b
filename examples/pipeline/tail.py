"""Prints a function's log as `aws logs tail /aws/lambda/NAME --follow` does.

    python3 examples/pipeline/tail.py lambda_worker
"""

import os
import sys
import time

import boto3

ENDPOINT = os.environ.get("WHARF_ENDPOINT", "http://127.0.0.1:4566")
REGION = os.environ.get("AWS_REGION", "us-east-1")


def follow(function: str) -> None:
    logs = boto3.client("logs", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")
    start = int(time.time() * 1000) - 10 * 60 * 1000
    seen: set[str] = set()
    while True:
        try:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}", startTime=start, interleaved=True)
            for page in pages:
                for event in page["events"]:
                    if event["eventId"] not in seen:
                        seen.add(event["eventId"])
                        start = max(start, event["timestamp"])
                        print(event["message"].rstrip())
        except logs.exceptions.ResourceNotFoundException:
            pass
        time.sleep(1)


if __name__ == "__main__":
    follow(sys.argv[1] if len(sys.argv) > 1 else "lambda_worker")
