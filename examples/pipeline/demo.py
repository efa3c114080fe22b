"""The seed's pipeline in one command: starts wharf with this directory's wharf.toml (in memory,
on a free port, with its test clock), sends work orders, moves the clock past the next
one-minute schedule and prints what the worker logged, then stops wharf.

    python3 examples/pipeline/demo.py          # 5 orders
    python3 examples/pipeline/demo.py 20

It needs boto3 and the wharf binary: WHARF_BIN, else `wharf` on PATH, else the repository's
target/release or target/debug build.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import producer  # noqa: E402

MARKER = "wharf: listening on "


def wharf_binary() -> str:
    named = os.environ.get("WHARF_BIN") or shutil.which("wharf")
    if named:
        return named
    for build in ("release", "debug"):
        candidate = HERE.parents[1] / "target" / build / "wharf"
        if candidate.exists():
            return str(candidate)
    sys.exit("demo: no wharf binary (set WHARF_BIN, put wharf on PATH, or cargo build)")


def worker_lines(endpoint: str) -> list[str]:
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/lambda_worker")
        return [event["message"].rstrip() for page in pages for event in page["events"]
                if "processed order" in event["message"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def main(count: int) -> int:
    command = [wharf_binary(), "serve", "--config", str(HERE / "wharf.toml"), "--in-memory", "--test-clock",
               "--bind", "127.0.0.1:0", "--log", "error"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith(MARKER):
            print(f"demo: wharf did not start ({line.strip() or 'no output'})", file=sys.stderr)
            return 1
        endpoint = line[len(MARKER):].strip()
        print(f"wharf is up at {endpoint} with the pipeline of {HERE / 'wharf.toml'}")
        producer.send_orders(count, endpoint, "us-east-1")
        print(f"sent {count} orders to sqs-test-1; moving the clock past the next one-minute schedule")
        request = urllib.request.Request(f"{endpoint}/_wharf/clock", data=json.dumps({"advance_seconds": 61}).encode(),
                                         method="POST")
        urllib.request.urlopen(request, timeout=30).read()
        deadline = time.monotonic() + 60
        lines: list[str] = []
        while len(lines) < count and time.monotonic() < deadline:
            time.sleep(0.5)  # the worker's log is read through the Logs API, as a user would
            lines = worker_lines(endpoint)
        for text in lines:
            print(f"  {text}")
        print(f"{len(lines)} of {count} orders processed by lambda_worker")
        return 0 if len(lines) >= count else 1
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
