"""With credentials unverified, the access key decides the account: a 12-digit key is that
account, any other key the default one (000000000000)."""

import boto3

from sqs_support import aws_error


def test_twelve_digit_access_keys_are_accounts_of_their_own(wharf):
    first, second = wharf.client(access_key="111111111111"), wharf.client(access_key="222222222222")
    first_url = first.create_queue(QueueName="orders")["QueueUrl"]
    second_url = second.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "9"})["QueueUrl"]
    assert first_url.endswith("/queue/us-east-1/111111111111/orders")
    assert second_url.endswith("/queue/us-east-1/222222222222/orders")
    assert first.list_queues()["QueueUrls"] == [first_url]
    assert "QueueUrls" not in wharf.client().list_queues(), "the default account has none"
    attributes = first.get_queue_attributes(QueueUrl="orders", AttributeNames=["QueueArn"])["Attributes"]
    assert attributes["QueueArn"] == "arn:aws:sqs:us-east-1:111111111111:orders"
    first.send_message(QueueUrl=first_url, MessageBody="to the first")
    [message] = first.receive_message(QueueUrl=first_url, AttributeNames=["SenderId"])["Messages"]
    assert message["Attributes"]["SenderId"] == "111111111111", "the caller's principal id"
    assert second.receive_message(QueueUrl=second_url).get("Messages", []) == []
    with aws_error("AWS.SimpleQueueService.NonExistentQueue"):
        wharf.client(access_key="333333333333").get_queue_url(QueueName="orders")


def test_log_groups_and_rules_belong_to_the_account_of_the_key(wharf):
    settings = dict(region_name="us-east-1", endpoint_url=wharf.endpoint, aws_secret_access_key="x")
    logs_first = boto3.client("logs", aws_access_key_id="111111111111", **settings)
    logs_first.create_log_group(logGroupName="/mine")
    groups = logs_first.describe_log_groups()["logGroups"]
    assert [group["arn"] for group in groups] == ["arn:aws:logs:us-east-1:111111111111:log-group:/mine:*"]
    assert boto3.client("logs", aws_access_key_id="x", **settings).describe_log_groups()["logGroups"] == []
    events = boto3.client("events", aws_access_key_id="222222222222", **settings)
    rule = events.put_rule(Name="tick", ScheduleExpression="rate(1 hour)", State="DISABLED")
    assert rule["RuleArn"] == "arn:aws:events:us-east-1:222222222222:rule/tick"
    assert boto3.client("events", aws_access_key_id="x", **settings).list_rules()["Rules"] == []
