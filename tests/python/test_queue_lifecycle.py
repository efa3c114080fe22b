"""Queues: create, find, list, delete, tags, attributes and permissions."""

import json
import time

import pytest

from sqs_support import ACCOUNT_ID, aws_error, create_queue

NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"


# ----- create, find, list, delete --------------------------------------------------------------


def test_create_queue_returns_a_url_with_region_account_and_name(wharf, sqs):
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert queue_url == f"{wharf.endpoint}/queue/us-east-1/{ACCOUNT_ID}/orders"
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == queue_url


def test_create_queue_is_idempotent_with_identical_attributes(sqs):
    attributes = {"VisibilityTimeout": "45", "DelaySeconds": "2"}
    first = sqs.create_queue(QueueName="same", Attributes=attributes)["QueueUrl"]
    second = sqs.create_queue(QueueName="same", Attributes=attributes)["QueueUrl"]
    assert first == second
    assert sqs.get_queue_attributes(QueueUrl=first, AttributeNames=["VisibilityTimeout", "DelaySeconds"])["Attributes"] == attributes
    assert len(sqs.list_queues(QueueNamePrefix="same")["QueueUrls"]) == 1


def test_create_queue_with_different_attributes_is_queue_name_exists(sqs):
    sqs.create_queue(QueueName="taken", Attributes={"VisibilityTimeout": "45"})
    with aws_error("QueueAlreadyExists", status=400) as error:
        sqs.create_queue(QueueName="taken", Attributes={"VisibilityTimeout": "46"})
    assert isinstance(error.value, sqs.exceptions.QueueNameExists)
    attributes = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="taken")["QueueUrl"], AttributeNames=["VisibilityTimeout"])
    assert attributes["Attributes"] == {"VisibilityTimeout": "45"}, "the refused create changed nothing"


@pytest.mark.parametrize("name", ["has space", "dot.name", "x" * 81, "slash/name", "émoji"])
def test_create_queue_with_an_invalid_name_is_refused(sqs, name):
    with aws_error("InvalidParameterValue", status=400):
        sqs.create_queue(QueueName=name)


def test_queue_names_of_80_allowed_characters_are_accepted(sqs):
    name = "Az09_-" + "q" * 74
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert queue_url.endswith("/" + name)


def test_get_queue_url_with_owner_account(sqs):
    queue_url = create_queue(sqs, "owned")
    assert sqs.get_queue_url(QueueName="owned", QueueOwnerAWSAccountId=ACCOUNT_ID)["QueueUrl"] == queue_url


def test_get_queue_url_of_a_missing_queue_is_queue_does_not_exist(sqs):
    with aws_error(NON_EXISTENT_QUEUE, status=400) as error:
        sqs.get_queue_url(QueueName="missing")
    assert isinstance(error.value, sqs.exceptions.QueueDoesNotExist)


def test_list_queues_filters_by_prefix(wharf, sqs):
    for name in ["app-orders", "app-billing", "other", "apple"]:
        create_queue(sqs, name)
    listed = sqs.list_queues(QueueNamePrefix="app-")["QueueUrls"]
    assert sorted(listed) == [f"{wharf.endpoint}/queue/us-east-1/{ACCOUNT_ID}/app-billing", f"{wharf.endpoint}/queue/us-east-1/{ACCOUNT_ID}/app-orders"]
    assert len(sqs.list_queues()["QueueUrls"]) == 4
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="zzz")


def test_list_queues_pages_with_max_results_and_next_token(sqs):
    names = [f"page-{index}" for index in range(5)]
    for name in names:
        create_queue(sqs, name)
    seen = []
    pages = []
    kwargs = {"MaxResults": 2, "QueueNamePrefix": "page-"}
    while True:
        response = sqs.list_queues(**kwargs)
        pages.append(len(response["QueueUrls"]))
        seen += response["QueueUrls"]
        if "NextToken" not in response:
            break
        kwargs["NextToken"] = response["NextToken"]
        assert len(pages) < 10, "paging does not end"
    assert pages == [2, 2, 1]
    assert sorted(url.rsplit("/", 1)[1] for url in seen) == names


def test_list_queues_paginator(sqs):
    for index in range(3):
        create_queue(sqs, f"paged-{index}")
    paginator = sqs.get_paginator("list_queues")
    urls = [url for page in paginator.paginate(PaginationConfig={"PageSize": 1}) for url in page.get("QueueUrls", [])]
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == ["paged-0", "paged-1", "paged-2"]


def test_deleted_queue_does_not_exist(sqs):
    queue_url = create_queue(sqs, "doomed")
    sqs.send_message(QueueUrl=queue_url, MessageBody="lost with the queue")
    sqs.delete_queue(QueueUrl=queue_url)
    with aws_error(NON_EXISTENT_QUEUE) as error:
        sqs.get_queue_url(QueueName="doomed")
    assert isinstance(error.value, sqs.exceptions.QueueDoesNotExist)
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.send_message(QueueUrl=queue_url, MessageBody="too late")
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.receive_message(QueueUrl=queue_url)
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.delete_queue(QueueUrl=queue_url)
    assert "QueueUrls" not in sqs.list_queues()


def test_recreating_a_queue_within_60_seconds_of_deleting_it_is_refused(sqs):
    queue_url = create_queue(sqs, "reborn")
    sqs.delete_queue(QueueUrl=queue_url)
    with aws_error("AWS.SimpleQueueService.QueueDeletedRecently", status=400):
        sqs.create_queue(QueueName="reborn")


def test_name_reuse_delay_can_be_configured_to_zero(wharf_factory):
    server = wharf_factory(config="[sqs]\nqueue_name_reuse_delay_seconds = 0\n")
    sqs = server.client()
    queue_url = create_queue(sqs, "reborn", VisibilityTimeout=10)
    sqs.send_message(QueueUrl=queue_url, MessageBody="old")
    sqs.delete_queue(QueueUrl=queue_url)
    assert create_queue(sqs, "reborn") == queue_url
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "ApproximateNumberOfMessages"])
    assert attributes["Attributes"] == {"VisibilityTimeout": "30", "ApproximateNumberOfMessages": "0"}, "a new queue, not the old one"


def test_queues_are_per_region(wharf):
    east = wharf.client(region="us-east-1")
    west = wharf.client(region="eu-west-1")
    east_url = create_queue(east, "regional", VisibilityTimeout=11)
    assert "QueueUrls" not in west.list_queues()
    with aws_error(NON_EXISTENT_QUEUE):
        west.get_queue_url(QueueName="regional")
    west_url = create_queue(west, "regional", VisibilityTimeout=22)
    west.send_message(QueueUrl=west_url, MessageBody="west")
    assert east.get_queue_attributes(QueueUrl=east_url, AttributeNames=["VisibilityTimeout", "QueueArn", "ApproximateNumberOfMessages"])["Attributes"] == {
        "VisibilityTimeout": "11",
        "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:regional",
        "ApproximateNumberOfMessages": "0",
    }
    assert west.get_queue_attributes(QueueUrl=west_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"] == f"arn:aws:sqs:eu-west-1:{ACCOUNT_ID}:regional"


def test_queues_declared_in_the_config_file_exist_at_start(wharf_factory):
    config = """
[[sqs.queues]]
name = "declared"
attributes = { VisibilityTimeout = "7", DelaySeconds = "1" }
tags = { team = "pipeline" }

[[sqs.queues]]
name = "declared-elsewhere"
region = "eu-central-1"
"""
    server = wharf_factory(config=config)
    sqs = server.client()
    queue_url = sqs.get_queue_url(QueueName="declared")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "DelaySeconds"])["Attributes"]
    assert attributes == {"VisibilityTimeout": "7", "DelaySeconds": "1"}
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"team": "pipeline"}
    assert server.client(region="eu-central-1").get_queue_url(QueueName="declared-elsewhere")["QueueUrl"].endswith("/declared-elsewhere")


def test_a_dead_letter_queue_may_be_declared_after_its_source(wharf_factory):
    config = f"""
[[sqs.queues]]
name = "work"
attributes = {{ RedrivePolicy = '{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:work-dlq","maxReceiveCount":"3"}}' }}

[[sqs.queues]]
name = "work-dlq"
"""
    server = wharf_factory(config=config)
    sqs = server.client()
    url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:work-dlq", "maxReceiveCount": 3}
    server.stop()
    server.start()  # declared again over the stored queues: the same result
    again = server.client()
    url = again.get_queue_url(QueueName="work")["QueueUrl"]
    assert json.loads(again.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]) == redrive


# ----- tags ------------------------------------------------------------------------------------


def test_tags_at_creation_then_tag_untag_and_list(sqs):
    queue_url = sqs.create_queue(QueueName="tagged", tags={"team": "core", "env": "dev"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"team": "core", "env": "dev"}
    sqs.tag_queue(QueueUrl=queue_url, Tags={"env": "prod", "owner": "메시지"})
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"team": "core", "env": "prod", "owner": "메시지"}
    sqs.untag_queue(QueueUrl=queue_url, TagKeys=["team", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"env": "prod", "owner": "메시지"}
    sqs.untag_queue(QueueUrl=queue_url, TagKeys=["env", "owner"])
    assert sqs.list_queue_tags(QueueUrl=queue_url).get("Tags", {}) == {}


def test_tag_operations_on_a_missing_queue(wharf, sqs):
    missing = f"{wharf.endpoint}/{ACCOUNT_ID}/missing"
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.list_queue_tags(QueueUrl=missing)
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.tag_queue(QueueUrl=missing, Tags={"a": "b"})


# ----- attributes ------------------------------------------------------------------------------


def test_get_queue_attributes_all_reports_the_documented_defaults(sqs):
    before = int(time.time())
    queue_url = create_queue(sqs, "defaults")
    after = int(time.time())
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    expected = {
        "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:defaults",
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "VisibilityTimeout": "30",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "0",
    }
    assert {name: attributes.get(name) for name in expected} == expected
    for stamp in ("CreatedTimestamp", "LastModifiedTimestamp"):
        assert before - 1 <= int(attributes[stamp]) <= after + 1, f"{stamp} is epoch seconds"
    assert attributes.get("SqsManagedSseEnabled") in ("true", "false")
    for fifo_only in ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"):
        assert fifo_only not in attributes


def test_get_queue_attributes_without_names_returns_none(sqs):
    queue_url = create_queue(sqs, "quiet")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=queue_url)


def test_set_and_get_individual_attributes(sqs):
    queue_url = create_queue(sqs, "tuned")
    new_values = {
        "VisibilityTimeout": "45",
        "MaximumMessageSize": "2048",
        "MessageRetentionPeriod": "120",
        "DelaySeconds": "3",
        "ReceiveMessageWaitTimeSeconds": "5",
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=new_values)
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {"VisibilityTimeout": "45"}
    both = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["DelaySeconds", "MaximumMessageSize"])["Attributes"]
    assert both == {"DelaySeconds": "3", "MaximumMessageSize": "2048"}
    everything = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert {name: everything[name] for name in new_values} == new_values


def test_attributes_given_at_creation_are_kept(sqs):
    queue_url = create_queue(sqs, "created-tuned", VisibilityTimeout=5, MessageRetentionPeriod=600, MaximumMessageSize=4096)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (attributes["VisibilityTimeout"], attributes["MessageRetentionPeriod"], attributes["MaximumMessageSize"]) == ("5", "600", "4096")


@pytest.mark.parametrize(
    "name, value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("DelaySeconds", "901"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("Policy", "not json"),
    ],
)
def test_invalid_attribute_values_are_invalid_attribute_value(sqs, name, value):
    queue_url = create_queue(sqs, "strict")
    with aws_error("InvalidAttributeValue", status=400):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={name: value})
    with aws_error("InvalidAttributeValue", status=400):
        sqs.create_queue(QueueName="strict-create", Attributes={name: value})


def test_attribute_range_limits_are_inclusive(sqs):
    queue_url = create_queue(sqs, "limits")
    limits = {
        "VisibilityTimeout": ["0", "43200"],
        "DelaySeconds": ["0", "900"],
        "MessageRetentionPeriod": ["60", "1209600"],
        "MaximumMessageSize": ["1024", "1048576"],
        "ReceiveMessageWaitTimeSeconds": ["0", "20"],
    }
    for name, values in limits.items():
        for value in values:
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={name: value})
            assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[name])["Attributes"] == {name: value}


def test_unknown_attribute_names_are_invalid_attribute_name(sqs):
    queue_url = create_queue(sqs, "names")
    with aws_error("InvalidAttributeName", status=400) as error:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Colour": "blue"})
    assert isinstance(error.value, sqs.exceptions.InvalidAttributeName)
    with aws_error("InvalidAttributeName", status=400):
        sqs.create_queue(QueueName="names-create", Attributes={"Colour": "blue"})
    with aws_error("InvalidAttributeName", status=400):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Colour"])
    with aws_error("InvalidAttributeName", status=400):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["FifoQueue"])
    with aws_error("InvalidAttributeName", status=400):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"QueueArn": "arn:aws:sqs:us-east-1:000000000000:x"})


# ----- permissions -----------------------------------------------------------------------------


def statements_of(sqs, queue_url: str) -> list[dict]:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"]).get("Attributes", {})
    if "Policy" not in attributes:
        return []
    statements = json.loads(attributes["Policy"]).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_add_and_remove_permission_edit_the_policy_attribute(sqs):
    queue_url = create_queue(sqs, "shared")
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:shared"
    assert statements_of(sqs, queue_url) == []

    sqs.add_permission(QueueUrl=queue_url, Label="send-only", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    sqs.add_permission(
        QueueUrl=queue_url,
        Label="consumers",
        AWSAccountIds=["111122223333", "444455556666"],
        Actions=["ReceiveMessage", "DeleteMessage"],
    )
    statements = {statement["Sid"]: statement for statement in statements_of(sqs, queue_url)}
    assert set(statements) == {"send-only", "consumers"}
    document = json.loads(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert document["Version"] == "2008-10-17", "the version SQS writes"
    send_only = statements["send-only"]
    assert send_only["Effect"] == "Allow"
    assert as_list(send_only["Principal"]["AWS"]) == ["arn:aws:iam::111122223333:root"]
    assert as_list(send_only["Action"]) == ["SQS:SendMessage"]
    assert send_only["Resource"] == queue_arn
    consumers = statements["consumers"]
    assert sorted(as_list(consumers["Principal"]["AWS"])) == ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]
    assert sorted(as_list(consumers["Action"])) == ["SQS:DeleteMessage", "SQS:ReceiveMessage"]

    sqs.remove_permission(QueueUrl=queue_url, Label="send-only")
    assert [statement["Sid"] for statement in statements_of(sqs, queue_url)] == ["consumers"]
    sqs.remove_permission(QueueUrl=queue_url, Label="consumers")
    assert statements_of(sqs, queue_url) == []


def test_permission_label_rules(sqs):
    queue_url = create_queue(sqs, "labels")
    sqs.add_permission(QueueUrl=queue_url, Label="once", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    with aws_error("InvalidParameterValue", status=400):
        sqs.add_permission(QueueUrl=queue_url, Label="once", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    with aws_error("InvalidParameterValue", status=400) as error:
        sqs.remove_permission(QueueUrl=queue_url, Label="never-added")
    assert "Value never-added for parameter Label is invalid. Reason: can't find label." in str(error.value)


def test_policy_attribute_can_be_set_and_cleared(sqs):
    queue_url = create_queue(sqs, "policed")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    stored = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert json.loads(stored) == policy
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": ""})
    assert statements_of(sqs, queue_url) == []


def test_add_permission_with_more_than_seven_actions_is_over_limit(sqs):
    queue_url = create_queue(sqs, "limited")
    actions = ["SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl", "PurgeQueue", "ListQueueTags"]
    with aws_error("OverLimit", status=403) as error:
        sqs.add_permission(QueueUrl=queue_url, Label="too-many", AWSAccountIds=["111122223333"], Actions=actions)
    assert isinstance(error.value, sqs.exceptions.OverLimit)
    assert statements_of(sqs, queue_url) == []


def test_get_queue_url_of_another_account_is_queue_does_not_exist(sqs):
    create_queue(sqs, "mine")
    with aws_error(NON_EXISTENT_QUEUE):
        sqs.get_queue_url(QueueName="mine", QueueOwnerAWSAccountId="111122223333")


def test_a_bare_queue_name_works_wherever_a_queue_url_does(sqs):
    """SQS resolves a bare name in the caller's account and region."""
    create_queue(sqs, "by-name")
    sqs.send_message(QueueUrl="by-name", MessageBody="addressed by name")
    got = sqs.receive_message(QueueUrl="by-name", MaxNumberOfMessages=1)["Messages"]
    assert [message["Body"] for message in got] == ["addressed by name"]
    sqs.delete_message(QueueUrl="by-name", ReceiptHandle=got[0]["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl="by-name", AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "0"}
    with aws_error("AWS.SimpleQueueService.NonExistentQueue", status=400):
        sqs.send_message(QueueUrl="no-such-queue", MessageBody="x")
