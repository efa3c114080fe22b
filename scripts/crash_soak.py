#!/usr/bin/env python3
"""Crash soak: wharf is killed with SIGKILL every 1-3 s under mixed standard and FIFO load,
restarted on the same data directory, and finally drained. Checks that:

- every acknowledged send is received in the drain, unless the soak deleted it (acknowledged);
- no acknowledged delete comes back;
- on the FIFO queue, each group's messages come out in send order and exactly once
  (producers retry a failed send with the same deduplication id, which dedup must absorb);
- every restart reaches its listening line within 1 s.

Usage: scripts/crash_soak.py [--seconds 60] [--binary target/release/wharf]
Prints the figures and exits non-zero on any violation.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MARKER = "wharf: listening on "


class Server:
    def __init__(self, binary: Path, data_dir: Path):
        self.binary, self.data_dir = binary, data_dir
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.restart_seconds: list[float] = []

    def start(self) -> None:
        started = time.monotonic()
        log = self.data_dir.parent / "wharf-stderr.log"
        with open(log, "ab") as stderr:
            self.process = subprocess.Popen(
                [str(self.binary), "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir), "--log", "warn"],
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        line = self.process.stdout.readline().decode()
        if not line.startswith(MARKER):
            tail = log.read_text("utf-8", "replace")[-2000:]
            raise SystemExit(f"wharf did not start: {line!r}\n{tail}")
        self.restart_seconds.append(time.monotonic() - started)
        self.port = int(line.strip().rsplit(":", 1)[1])

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait()


def client(port: int):
    return boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--binary", default="target/release/wharf")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="wharf-soak-"))
    server = Server(Path(args.binary).resolve(), data)
    server.start()
    setup = client(server.port)
    standard = setup.create_queue(QueueName="soak", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    fifo = setup.create_queue(
        QueueName="soak.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "2"}
    )["QueueUrl"]
    lock = threading.Lock()
    sent: set[str] = set()
    deleted: set[str] = set()
    # Deletes whose answer was lost in a crash: they may or may not have happened.
    uncertain: set[str] = set()
    fifo_acked: dict[str, list[int]] = {}
    stop = threading.Event()
    errors = {"send": 0, "delete": 0}

    def producer(index: int) -> None:
        counter = 0
        while not stop.is_set():
            body = f"p{index}-{counter}"
            try:
                client(server.port).send_message(QueueUrl=standard, MessageBody=body)
                with lock:
                    sent.add(body)
                counter += 1
            except (BotoCoreError, ClientError):
                errors["send"] += 1
                time.sleep(0.05)

    def fifo_producer(group: str) -> None:
        counter = 0
        sqs = None
        while not stop.is_set():
            try:
                sqs = sqs or client(server.port)
                sqs.send_message(
                    QueueUrl=fifo, MessageBody=f"{group}:{counter}", MessageGroupId=group,
                    MessageDeduplicationId=f"{group}-{counter}",
                )
                with lock:
                    fifo_acked.setdefault(group, []).append(counter)
                counter += 1
            except (BotoCoreError, ClientError):
                # Retry the same message: the deduplication id makes it count once.
                sqs = None
                errors["send"] += 1
                time.sleep(0.05)

    def consumer() -> None:
        sqs = None
        while not stop.is_set():
            try:
                sqs = sqs or client(server.port)
                for message in sqs.receive_message(QueueUrl=standard, MaxNumberOfMessages=10).get("Messages", []):
                    if random.random() < 0.5:
                        with lock:
                            uncertain.add(message["Body"])
                        sqs.delete_message(QueueUrl=standard, ReceiptHandle=message["ReceiptHandle"])
                        with lock:
                            uncertain.discard(message["Body"])
                            deleted.add(message["Body"])
            except (BotoCoreError, ClientError):
                sqs = None
                errors["delete"] += 1
                time.sleep(0.05)

    threads = [threading.Thread(target=producer, args=(index,)) for index in range(3)]
    threads += [threading.Thread(target=fifo_producer, args=(f"g{index}",)) for index in range(3)]
    threads.append(threading.Thread(target=consumer))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + args.seconds
    kills = 0
    while time.monotonic() < deadline:
        time.sleep(random.uniform(1, 3))
        server.kill9()
        kills += 1
        server.start()
    stop.set()
    for thread in threads:
        thread.join()

    # Drain everything that is left.
    time.sleep(2.5)  # visibility timeouts of messages received before the last crash
    sqs = client(server.port)
    drained: list[str] = []
    fifo_drained: dict[str, list[int]] = {}
    for url in (standard, fifo):
        empty = 0
        while empty < 3:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            empty = empty + 1 if not messages else 0
            for message in messages:
                body = message["Body"]
                if url == fifo:
                    group, counter = body.split(":")
                    fifo_drained.setdefault(group, []).append(int(counter))
                else:
                    drained.append(body)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    server.kill9()

    problems = []
    lost = sent - deleted - uncertain - set(drained)
    if lost:
        problems.append(f"{len(lost)} acknowledged sends lost, e.g. {sorted(lost)[:3]}")
    undone = deleted & set(drained)
    if undone:
        problems.append(f"{len(undone)} acknowledged deletes undone, e.g. {sorted(undone)[:3]}")
    for group, acked in fifo_acked.items():
        got = fifo_drained.get(group, [])
        if got != sorted(set(got)):
            problems.append(f"FIFO group {group} out of order or duplicated: {got[:20]}")
        missing = set(acked) - set(got)
        if missing:
            problems.append(f"FIFO group {group} lost {len(missing)} acknowledged sends")
    slowest = max(server.restart_seconds[1:] or [0])
    if slowest >= 1:
        problems.append(f"a restart took {slowest:.2f} s")
    fifo_total = sum(len(acked) for acked in fifo_acked.values())
    print(
        f"crash soak: {args.seconds:.0f} s, {kills} kill -9, {len(sent)} standard and {fifo_total} FIFO sends "
        f"acknowledged, {len(deleted)} deletes acknowledged, {len(drained)} drained, failed calls "
        f"{errors['send']} sends / {errors['delete']} receives-deletes, slowest restart {slowest * 1000:.0f} ms"
    )
    for problem in problems:
        print("VIOLATION:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
