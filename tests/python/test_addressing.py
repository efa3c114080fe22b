"""Queue URLs carry their region: wharf's path form, AWS hosts, today's and older URLs, and the
query protocol's answers to requests sent to a queue's URL."""

import json

from sqs_support import ACCOUNT_ID, auth_off_only, aws_error, queue_url_for
from test_raw_http import FORM_CONTENT_TYPE, call, find, query_call

NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"


def test_the_same_name_in_two_regions_is_two_queues(wharf):
    east, west = wharf.client("us-east-1"), wharf.client("eu-west-1")
    east_url = east.create_queue(QueueName="twin")["QueueUrl"]
    west_url = west.create_queue(QueueName="twin", Attributes={"DelaySeconds": "0", "VisibilityTimeout": "7"})["QueueUrl"]
    assert east_url == queue_url_for(wharf.endpoint, "twin", "us-east-1")
    assert west_url == queue_url_for(wharf.endpoint, "twin", "eu-west-1")
    assert east.get_queue_url(QueueName="twin")["QueueUrl"] == east_url
    assert west.list_queues(QueueNamePrefix="twin")["QueueUrls"] == [west_url]

    # A URL resolves to its own region's queue, whichever region the client is in.
    east.send_message(QueueUrl=west_url, MessageBody="to the west")
    visibility = east.get_queue_attributes(QueueUrl=west_url, AttributeNames=["VisibilityTimeout"])
    assert visibility["Attributes"]["VisibilityTimeout"] == "7"
    assert east.receive_message(QueueUrl=east_url).get("Messages", []) == []
    got = west.receive_message(QueueUrl=west_url)["Messages"]
    assert [message["Body"] for message in got] == ["to the west"]


def test_aws_hosts_name_their_region(wharf):
    west = wharf.client("eu-west-1")
    west.create_queue(QueueName="aws-host")
    east = wharf.client("us-east-1")
    for url in [
        f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT_ID}/aws-host",
        f"https://eu-west-1.queue.amazonaws.com/{ACCOUNT_ID}/aws-host",
        f"http://sqs.eu-west-1.localhost.localstack.cloud:4566/{ACCOUNT_ID}/aws-host",
    ]:
        east.send_message(QueueUrl=url, MessageBody=url)
    count = west.get_queue_attributes(QueueUrl="aws-host", AttributeNames=["ApproximateNumberOfMessages"])
    assert count["Attributes"]["ApproximateNumberOfMessages"] == "3"
    # The queue is not in us-east-1, whose AWS hosts say so.
    for url in [f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/aws-host", f"https://queue.amazonaws.com/{ACCOUNT_ID}/aws-host"]:
        with aws_error(NON_EXISTENT_QUEUE):
            west.send_message(QueueUrl=url, MessageBody="x")


def test_urls_without_a_region_use_the_callers(wharf):
    west = wharf.client("eu-west-1")
    west.create_queue(QueueName="old-form")
    west.send_message(QueueUrl=f"{wharf.endpoint}/{ACCOUNT_ID}/old-form", MessageBody="old")
    with aws_error(NON_EXISTENT_QUEUE):
        wharf.client("us-east-1").send_message(QueueUrl=f"{wharf.endpoint}/{ACCOUNT_ID}/old-form", MessageBody="x")
    assert [message["Body"] for message in west.receive_message(QueueUrl="old-form")["Messages"]] == ["old"]


def test_a_region_in_the_path_that_has_no_such_queue(wharf, sqs):
    sqs.create_queue(QueueName="only-east")
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.send_message(QueueUrl=queue_url_for(wharf.endpoint, "only-east", "ap-south-1"), MessageBody="x")


# ----- the query protocol on a queue's URL ----------------------------------------------------


@auth_off_only
def test_query_request_posted_to_the_regional_queue_path(wharf):
    url = wharf.client("eu-west-1").create_queue(QueueName="regional")["QueueUrl"]
    path = f"/queue/eu-west-1/{ACCOUNT_ID}/regional"
    assert url.endswith(path)
    answer = query_call(wharf, {"Action": "SendMessage", "MessageBody": "by path"}, path=path)
    assert answer.status == 200, answer
    received = query_call(wharf, {"Action": "ReceiveMessage"}, path=path)
    assert find(received.xml(), "ReceiveMessageResult/Message/Body").text == "by path"


def test_a_get_on_a_queue_url_without_an_action_is_404(wharf, sqs):
    sqs.create_queue(QueueName="browsed")
    for path in [f"/queue/us-east-1/{ACCOUNT_ID}/browsed", f"/{ACCOUNT_ID}/browsed"]:
        answer = call(wharf, "GET", path)
        assert answer.status == 404, answer
        assert find(answer.xml(), "Error/Code").text == "UnknownOperationException"


def test_queue_less_actions_sent_to_a_queue_url_are_invalid(wharf, sqs):
    sqs.create_queue(QueueName="here")
    for action, params in [("CreateQueue", {"QueueName": "other"}), ("ListQueues", {}), ("GetQueueUrl", {"QueueName": "here"})]:
        answer = query_call(wharf, {"Action": action, **params}, path=f"/queue/us-east-1/{ACCOUNT_ID}/here")
        assert answer.status == 400, answer
        assert find(answer.xml(), "Error/Code").text == "InvalidAction"
        assert find(answer.xml(), "Error/Message").text == f"The action {action} is not valid for this endpoint."
    assert "QueueUrls" in sqs.list_queues() and len(sqs.list_queues()["QueueUrls"]) == 1, "nothing was created"


@auth_off_only
def test_a_query_request_that_accepts_json_gets_json(wharf, sqs):
    url = sqs.create_queue(QueueName="json-answer")["QueueUrl"]
    headers = {"Content-Type": FORM_CONTENT_TYPE, "Accept": "application/json"}
    answer = call(wharf, "POST", "/", f"Action=GetQueueUrl&QueueName=json-answer".encode(), headers)
    assert answer.status == 200, answer
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body == {
        "GetQueueUrlResponse": {
            "GetQueueUrlResult": {"QueueUrl": url},
            "ResponseMetadata": {"RequestId": answer.headers["x-amzn-requestid"]},
        }
    }
    empty = call(wharf, "POST", "/", b"Action=PurgeQueue&QueueUrl=" + url.encode(), headers).json()
    assert list(empty["PurgeQueueResponse"]) == ["ResponseMetadata"]

    missing = call(wharf, "POST", "/", b"Action=GetQueueUrl&QueueName=nope", headers)
    assert missing.status == 400
    error = json.loads(missing.body)["Error"]
    assert error["Code"] == NON_EXISTENT_QUEUE and error["Type"] == "Sender"
