"""FIFO queues through both protocols: creation rules, order per group, group blocking,
deduplication, sequence numbers, ReceiveRequestAttemptId, dead-letter queues, and a seeded
random workload with many consumers, visibility expiries, duplicates and a kill -9."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time

from botocore.exceptions import ClientError, EndpointConnectionError

from sqs_support import ACCOUNT_ID, aws_error, create_queue, receive


def fifo_queue(sqs, name: str, **attributes) -> str:
    return create_queue(sqs, name, FifoQueue="true", **attributes)


def test_creation_rules(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "jobs.fifo", ContentBasedDeduplication="true")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["DeduplicationScope"] == "queue"
    assert attributes["FifoThroughputLimit"] == "perQueue"
    with aws_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName="no-suffix", Attributes={"FifoQueue": "true"})
    with aws_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName="missing-flag.fifo")
    # Restating the type is accepted; changing it is not (as recorded on SQS).
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    with aws_error("InvalidAttributeValue", 400) as error:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})
    assert "Modifying queue type is not supported." in str(error.value)
    with aws_error("InvalidAttributeValue", 400):
        fifo_queue(sqs, "hot.fifo", FifoThroughputLimit="perMessageGroupId", DeduplicationScope="queue")
    fifo_queue(sqs, "high-throughput.fifo", FifoThroughputLimit="perMessageGroupId", DeduplicationScope="messageGroup")
    standard = create_queue(sqs, "plain")
    with aws_error("InvalidAttributeName", 400):
        sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["FifoQueue"])
    with aws_error("InvalidAttributeName", 400) as error:
        sqs.set_queue_attributes(QueueUrl=standard, Attributes={"ContentBasedDeduplication": "true"})
    assert "You can specify the ContentBasedDeduplication only when FifoQueue is set to true." in str(error.value)


def test_send_rules(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "rules.fifo")
    with aws_error("MissingParameter", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    with aws_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    with aws_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=5)
    standard = create_queue(sqs, "plain")
    with aws_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=standard, MessageBody="x", MessageDeduplicationId="d")
    # A group id on a standard queue (a fair queue's tenant) is accepted and reported back.
    sqs.send_message(QueueUrl=standard, MessageBody="tenant", MessageGroupId="tenant-1")
    got = receive(sqs, standard, AttributeNames=["MessageGroupId"])
    assert got[0]["Attributes"]["MessageGroupId"] == "tenant-1"


def test_order_blocking_and_attributes(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "orders.fifo")
    sent = []
    for body, group in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A")]:
        answer = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
        sent.append(answer)
    numbers = [int(answer["SequenceNumber"]) for answer in sent]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4, "sequence numbers increase"

    got = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30)
    assert [message["Body"] for message in got] == ["a1", "a2", "a3", "b1"]
    first = got[0]["Attributes"]
    assert first["MessageGroupId"] == "A"
    assert first["MessageDeduplicationId"] == "a1"
    assert first["SequenceNumber"] == sent[0]["SequenceNumber"]
    assert receive(sqs, url, MaxNumberOfMessages=10) == [], "both groups are in flight"

    handles = {message["Body"]: message["ReceiptHandle"] for message in got}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles["a1"])
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles["a2"], VisibilityTimeout=0)
    # Blocking is by order, as recorded on SQS: a2 comes before the in-flight a3, so it is
    # delivered; only what comes after a3 would wait.
    again = receive(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert [message["Body"] for message in again] == ["a2"]
    assert receive(sqs, url, MaxNumberOfMessages=10) == [], "a2 and a3 in flight, b1 too"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles["a3"])
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert [message["Body"] for message in receive(sqs, url, MaxNumberOfMessages=10)] == ["a2"]


def test_a_group_visible_again_goes_behind_untouched_groups(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "turns.fifo")
    for body, group in [("g1-m1", "g1"), ("g1-m2", "g1"), ("g2-m1", "g2")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
    assert [message["Body"] for message in first] == ["g1-m1"]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
    assert [message["Body"] for message in second] == ["g2-m1"], "the untouched group first"


def test_deduplication(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "dedup.fifo", ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    explicit = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g", MessageDeduplicationId="other")
    assert explicit["MessageId"] != first["MessageId"], "an explicit id overrides the content hash"
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "one", "MessageBody": "batched", "MessageGroupId": "g"},
        {"Id": "two", "MessageBody": "batched", "MessageGroupId": "g"},
    ])
    ids = {entry["Id"]: entry["MessageId"] for entry in batch["Successful"]}
    assert ids["one"] == ids["two"], "a duplicate inside one batch"
    got = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["MessageDeduplicationId"])
    assert [message["Body"] for message in got] == ["same body", "same body", "batched"]
    assert got[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()


def test_deduplication_survives_restart(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "kept.fifo")
    first = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="once")
    wharf.restart()
    sqs = wharf.client()
    again = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="once")
    assert again["MessageId"] == first["MessageId"]
    got = receive(sqs, url, MaxNumberOfMessages=10)
    assert len(got) == 1


def test_receive_request_attempt_id_returns_the_same_messages(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "attempts.fifo", ContentBasedDeduplication="true")
    for body in ["m1", "m2"]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    first = receive(sqs, url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-1")
    retry = receive(sqs, url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-1")
    assert [message["ReceiptHandle"] for message in retry] == [message["ReceiptHandle"] for message in first]
    assert receive(sqs, url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-2") == []


def test_fifo_dead_letter_queue(wharf):
    sqs = wharf.client()
    dead = fifo_queue(sqs, "poison-dlq.fifo")
    create_queue(sqs, "plain-dlq")
    policy = json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:plain-dlq", "maxReceiveCount": 1})
    with aws_error("InvalidParameterValue", 400):
        fifo_queue(sqs, "mismatch.fifo", RedrivePolicy=policy)
    policy = json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:poison-dlq.fifo", "maxReceiveCount": 1})
    url = fifo_queue(sqs, "poison.fifo", RedrivePolicy=policy)
    sqs.send_message(QueueUrl=url, MessageBody="bad", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=url, MessageBody="good", MessageGroupId="g", MessageDeduplicationId="2")
    assert [message["Body"] for message in receive(sqs, url, VisibilityTimeout=0)] == ["bad"]
    assert [message["Body"] for message in receive(sqs, url)] == ["good"], "bad moved; the group goes on"
    moved = receive(sqs, dead, AttributeNames=["All"])
    assert [message["Body"] for message in moved] == ["bad"]
    assert moved[0]["Attributes"]["MessageGroupId"] == "g"


def test_random_workload_keeps_group_order_and_exactly_once_enqueue(wharf):
    """Seeded: 6 groups x 25 messages, each sent once or twice (same deduplication id); 4
    consumers with 1 s visibility that sometimes 'crash' (do not delete), and a kill -9 of the
    server halfway. A consumer may receive message k of a group only after messages 0..k-1 of
    that group were deleted; every message is enqueued exactly once."""
    rng = random.Random(20261125)
    sqs = wharf.client()
    url = fifo_queue(sqs, "workload.fifo")
    groups, per_group = 6, 25
    ids: dict[tuple[int, int], str] = {}
    plan = [(group, index) for index in range(per_group) for group in range(groups)]
    for group, index in plan:
        for _ in range(rng.choice([1, 1, 2])):
            answer = sqs.send_message(QueueUrl=url, MessageBody=json.dumps([group, index]),
                                      MessageGroupId=f"g{group}", MessageDeduplicationId=f"{group}-{index}")
            assert ids.setdefault((group, index), answer["MessageId"]) == answer["MessageId"]

    lock = threading.Lock()
    deleting: set[tuple[int, int]] = set()
    message_ids: dict[tuple[int, int], set[str]] = {}
    violations: list[str] = []
    done = threading.Event()
    endpoint_changed = threading.Event()

    def consumer(seed: int) -> None:
        local = random.Random(seed)
        client = wharf.client()
        while not done.is_set():
            if endpoint_changed.is_set():
                client = wharf.client()
            try:
                got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=local.randint(1, 5),
                                             VisibilityTimeout=1, WaitTimeSeconds=1).get("Messages", [])
            except (ClientError, EndpointConnectionError, Exception):  # the server is restarting
                time.sleep(0.05)
                continue
            in_this_batch: set[tuple[int, int]] = set()
            for message in got:
                group, index = json.loads(message["Body"])
                with lock:
                    message_ids.setdefault((group, index), set()).add(message["MessageId"])
                    # Earlier messages of the group must be deleted already, or come earlier in
                    # this same answer.
                    missing = [earlier for earlier in range(index)
                               if (group, earlier) not in deleting and (group, earlier) not in in_this_batch]
                    if missing:
                        violations.append(f"g{group} #{index} received before #{missing[0]} was deleted")
                in_this_batch.add((group, index))
            if local.random() < 0.15:
                continue  # crash before deleting: the messages come back after 1 s
            for message in got:
                group, index = json.loads(message["Body"])
                with lock:
                    deleting.add((group, index))
                try:
                    client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                except Exception:
                    # The server died around the delete: it may or may not have committed it. If
                    # not, the message comes back after its visibility timeout and is deleted
                    # again; the intent stays recorded either way.
                    break

    threads = [threading.Thread(target=consumer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    killed = False
    observer = None
    while time.monotonic() < deadline:
        with lock:
            finished = len(deleting)
        if not killed and finished >= len(plan) // 2:
            wharf.kill9()
            wharf.start_again(wharf.port)
            endpoint_changed.set()
            killed = True
            observer = wharf.client()
        if finished == len(plan) and observer is not None:
            # Every message was deleted at least once as far as the consumers know; messages
            # whose delete died with the server come back and are deleted again.
            counts = observer.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if counts["ApproximateNumberOfMessages"] == "0" and counts["ApproximateNumberOfMessagesNotVisible"] == "0":
                break
        time.sleep(0.05)
    done.set()
    for thread in threads:
        thread.join(timeout=10)
    assert killed
    assert not violations, violations[:5]
    assert len(deleting) == len(plan), f"{len(deleting)} of {len(plan)} processed"
    duplicates = {key: found for key, found in message_ids.items() if len(found) != 1}
    assert not duplicates, f"enqueued more than once: {list(duplicates.items())[:3]}"
    assert all(message_ids[key] == {ids[key]} for key in ids)
    assert receive(wharf.client(), url, MaxNumberOfMessages=10) == []


def test_a_receive_with_visibility_zero_returns_each_message_once(wharf):
    """Issue 10's worst case: with VisibilityTimeout=0 a receive took the oldest message up to
    ten times and never the others."""
    sqs = wharf.client()
    standard = create_queue(sqs, "zero-visibility")
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=standard, MessageBody=body)
    got = sqs.receive_message(QueueUrl=standard, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert sorted(message["Body"] for message in got) == ["a", "b"]

    url = fifo_queue(sqs, "zero-visibility.fifo")
    for body, group in (("g1-m1", "g1"), ("g1-m2", "g1"), ("g2-m1", "g2")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    bodies = [message["Body"] for message in got]
    assert sorted(bodies) == ["g1-m1", "g1-m2", "g2-m1"], bodies
    assert bodies.index("g1-m1") < bodies.index("g1-m2"), "a group's messages in order"


def test_a_purge_forgets_deduplication_ids(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "purged.fifo")
    first = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="once")
    assert int(first["SequenceNumber"]) > 0, "a fresh data directory's first sequence number is not zero"
    sqs.purge_queue(QueueUrl=url)
    again = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="once")
    assert again["MessageId"] != first["MessageId"], "enqueued again, not deduplicated"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [message["MessageId"] for message in got] == [again["MessageId"]]


def test_ids_seen_queue_wide_keep_deduplicating_after_a_switch_to_group_scope(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "switch.fifo")
    first = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="same")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup"})
    again = sqs.send_message(QueueUrl=url, MessageBody="y", MessageGroupId="h", MessageDeduplicationId="same")
    assert again["MessageId"] == first["MessageId"], "still a duplicate within the window"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in got] == ["x"]


def test_a_batch_entry_without_its_group_fails_the_whole_request(wharf):
    sqs = wharf.client()
    url = fifo_queue(sqs, "batch-rules.fifo")
    entries = [
        {"Id": "fine", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
        {"Id": "groupless", "MessageBody": "b", "MessageDeduplicationId": "2"},
    ]
    with aws_error("InvalidParameterValue", 400):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    no_dedup = [{"Id": "fine", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"}, {"Id": "x", "MessageBody": "b", "MessageGroupId": "g"}]
    with aws_error("InvalidParameterValue", 400):
        sqs.send_message_batch(QueueUrl=url, Entries=no_dedup)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == [], "nothing of a refused batch was enqueued"
    content = fifo_queue(sqs, "batch-content.fifo", ContentBasedDeduplication="true")
    response = sqs.send_message_batch(QueueUrl=content, Entries=[{"Id": "x", "MessageBody": "b", "MessageGroupId": "g"}])
    assert [entry["Id"] for entry in response["Successful"]] == ["x"]
