"""The worker for an event source mapping: wharf (like Lambda) hands it batches of messages as
they arrive, and deletes each batch when the function returns. Failed messages are reported by
id, so only those come back.
"""

import json


def handle(event, context):
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            print(f"worker: processed order {order['order']} ({order['item']}) from message {record['messageId']}")
        except (ValueError, KeyError) as problem:
            print(f"worker: cannot process message {record['messageId']}: {problem}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
