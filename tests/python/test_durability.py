"""Durability: what survives a graceful restart, and that a SIGKILL loses no acknowledged send."""

import threading
import time

from sqs_support import aws_error, create_queue, queue_counts, receive

TRACE = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}}
ATTRIBUTES = {
    "kind": {"DataType": "String", "StringValue": "메시지"},
    "size": {"DataType": "Number.int", "StringValue": "7"},
    "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
}


def test_restart_keeps_queues_attributes_tags_messages_and_in_flight_state(wharf):
    sqs = wharf.client()
    # A queue with settings, tags, a policy and a message received twice (still visible).
    durable_url = create_queue(sqs, "durable", VisibilityTimeout=40, MessageRetentionPeriod=3600, MaximumMessageSize=4096)
    sqs.tag_queue(QueueUrl=durable_url, Tags={"team": "core", "env": "test"})
    sqs.add_permission(QueueUrl=durable_url, Label="share", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    sent = sqs.send_message(QueueUrl=durable_url, MessageBody="survivor", MessageAttributes=ATTRIBUTES, MessageSystemAttributes=TRACE)
    for _ in range(2):
        [before] = receive(sqs, durable_url, VisibilityTimeout=0, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert before["Attributes"]["ApproximateReceiveCount"] == "2"
    # A message in flight for a minute, one delayed for a minute, one deleted.
    in_flight_url = create_queue(sqs, "in-flight")
    sqs.send_message(QueueUrl=in_flight_url, MessageBody="held")
    [held] = receive(sqs, in_flight_url, VisibilityTimeout=60)
    delayed_url = create_queue(sqs, "delayed")
    sqs.send_message(QueueUrl=delayed_url, MessageBody="later", DelaySeconds=60)
    sqs.send_message(QueueUrl=delayed_url, MessageBody="deleted before the restart")
    [deleted] = receive(sqs, delayed_url)
    sqs.delete_message(QueueUrl=delayed_url, ReceiptHandle=deleted["ReceiptHandle"])
    # A queue deleted before the restart.
    sqs.delete_queue(QueueUrl=create_queue(sqs, "removed"))

    queue_urls = sorted(sqs.list_queues()["QueueUrls"])
    all_attributes = sqs.get_queue_attributes(QueueUrl=durable_url, AttributeNames=["All"])["Attributes"]

    wharf.restart()
    sqs = wharf.client()

    assert sorted(url.rsplit("/", 1)[1] for url in sqs.list_queues()["QueueUrls"]) == [url.rsplit("/", 1)[1] for url in queue_urls]
    with aws_error("AWS.SimpleQueueService.NonExistentQueue"):
        sqs.get_queue_url(QueueName="removed")
    assert sqs.get_queue_attributes(QueueUrl=durable_url, AttributeNames=["All"])["Attributes"] == all_attributes
    assert sqs.list_queue_tags(QueueUrl=durable_url)["Tags"] == {"team": "core", "env": "test"}

    [after] = receive(sqs, durable_url, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert after["MessageId"] == sent["MessageId"]
    assert after["Body"] == "survivor"
    assert after["MessageAttributes"] == ATTRIBUTES
    assert after["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert after["Attributes"]["ApproximateReceiveCount"] == "3", "receive counts survive"
    for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId", "AWSTraceHeader"):
        assert after["Attributes"][name] == before["Attributes"][name], name
    assert after["ReceiptHandle"] != before["ReceiptHandle"]

    assert queue_counts(sqs, in_flight_url) == {"visible": 0, "in_flight": 1, "delayed": 0}
    assert receive(sqs, in_flight_url) == [], "still invisible after the restart"
    sqs.delete_message(QueueUrl=in_flight_url, ReceiptHandle=held["ReceiptHandle"])
    assert queue_counts(sqs, in_flight_url) == {"visible": 0, "in_flight": 0, "delayed": 0}, "a handle from before the restart deletes"

    assert queue_counts(sqs, delayed_url) == {"visible": 0, "in_flight": 0, "delayed": 1}


def test_declared_queue_keeps_its_messages_across_restarts(wharf_factory):
    server = wharf_factory(config='[[sqs.queues]]\nname = "declared"\nattributes = { VisibilityTimeout = "9" }\n')
    sqs = server.client()
    queue_url = sqs.get_queue_url(QueueName="declared")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    server.restart()
    sqs = server.client()
    assert [message["Body"] for message in receive(sqs, queue_url)] == ["kept"]
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {"VisibilityTimeout": "9"}


def test_sigterm_ends_waiting_long_polls_and_exits_promptly(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "polled")
    outcome: dict = {}

    def poll():
        try:
            outcome["messages"] = receive(wharf.client(), queue_url, WaitTimeSeconds=20)
        except Exception as err:  # a closed connection is an acceptable end too
            outcome["error"] = err

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert wharf.stop() == 0
    assert time.monotonic() - started < 3, "shutdown waited for the long poll"
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert outcome.get("messages", []) == []


def send_until_stopped(client, queue_url: str, worker: int, use_batches: bool, stop: threading.Event, acked: dict, lock: threading.Lock):
    """Sends until `stop` or the first failure, recording every message whose send returned OK."""
    sequence = 0
    while not stop.is_set():
        try:
            if use_batches:
                entries = [{"Id": f"e{index}", "MessageBody": f"w{worker}-{sequence + index}"} for index in range(10)]
                response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
                assert not response.get("Failed"), response.get("Failed")
                bodies = {entry["Id"]: entry["MessageBody"] for entry in entries}
                confirmed = {entry["MessageId"]: bodies[entry["Id"]] for entry in response["Successful"]}
                sequence += 10
            else:
                body = f"w{worker}-{sequence}"
                confirmed = {client.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]: body}
                sequence += 1
        except AssertionError:
            raise
        except Exception:
            return  # the server is gone: this send was never acknowledged
        with lock:
            acked.update(confirmed)


def test_sigkill_mid_stream_loses_no_acknowledged_message(wharf):
    queue_url = create_queue(wharf.client(), "crash")
    acked: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=send_until_stopped,
            args=(wharf.client(connect_timeout=1, read_timeout=5), queue_url, worker, worker % 2 == 1, stop, acked, lock),
            name=f"sender-{worker}",
        )
        for worker in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    with lock:
        acked_before_kill = len(acked)
    wharf.kill9()
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive(), f"{thread.name} hangs"
    assert acked_before_kill > 20, f"only {acked_before_kill} sends succeeded in a second"

    wharf.start_again(wharf.port)
    sqs = wharf.client()
    received: dict[str, str] = {}
    empty_receives = 0
    deadline = time.monotonic() + 60
    while empty_receives < 2 and time.monotonic() < deadline:
        messages = receive(sqs, queue_url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=1 if empty_receives else 0)
        if not messages:
            empty_receives += 1
            continue
        empty_receives = 0
        for message in messages:
            received[message["MessageId"]] = message["Body"]
        entries = [{"Id": f"d{index}", "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)]
        assert not sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")

    print(f"acked before kill {acked_before_kill}, acked {len(acked)}, received after restart {len(received)}")
    missing = {message_id: body for message_id, body in acked.items() if message_id not in received}
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged messages lost, e.g. {list(missing.items())[:5]}"
    for message_id, body in acked.items():
        assert received[message_id] == body
    assert queue_counts(sqs, queue_url) == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_sigkill_keeps_acknowledged_deletes_deleted(wharf):
    sqs = wharf.client()
    queue_url = create_queue(sqs, "deletes")
    for batch in range(5):
        sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": f"m{index}", "MessageBody": f"{batch}-{index}"} for index in range(10)])
    deleted = set()
    while len(deleted) < 25:
        for message in receive(sqs, queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0):
            if len(deleted) < 25 and message["MessageId"] not in deleted:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                deleted.add(message["MessageId"])
    wharf.kill9()
    wharf.start_again(wharf.port)
    sqs = wharf.client()
    assert queue_counts(sqs, queue_url) == {"visible": 25, "in_flight": 0, "delayed": 0}
    remaining = set()
    while True:
        messages = receive(sqs, queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        if not messages:
            break
        remaining |= {message["MessageId"] for message in messages}
    assert len(remaining) == 25
    assert not remaining & deleted, "a message whose delete was acknowledged came back after a crash"
