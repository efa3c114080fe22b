"""IAM and STS through boto3, and `[auth] mode = "enforce"`: signatures refused with AWS's codes,
IAM users and role sessions allowed exactly what their policies say, accounts kept apart unless a
queue policy opens one to the other, and IAM state kept across a restart."""

import json

import boto3
import botocore.exceptions
import pytest

ROOT_KEY, ROOT_SECRET, ACCOUNT = "AKIAWHARFROOTKEY0001", "root/secret+key", "111122223333"
OTHER_KEY, OTHER_SECRET, OTHER_ACCOUNT = "AKIAWHARFROOTKEY0002", "other/secret", "444455556666"

ENFORCE = f"""
[auth]
mode = "enforce"
[[auth.credentials]]
access_key_id = "{ROOT_KEY}"
secret_access_key = "{ROOT_SECRET}"
account_id = "{ACCOUNT}"
[[auth.credentials]]
access_key_id = "{OTHER_KEY}"
secret_access_key = "{OTHER_SECRET}"
account_id = "{OTHER_ACCOUNT}"
"""

TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def client(wharf, service, key=ROOT_KEY, secret=ROOT_SECRET, token=None, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=wharf.endpoint, aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]["Code"]


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response


def test_users_roles_policies_round_trip(wharf):
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=wharf.endpoint,
                       aws_access_key_id="x", aws_secret_access_key="x")
    user = iam.create_user(UserName="alice", Path="/team/", Tags=[{"Key": "k", "Value": "v"}])["User"]
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert user["Arn"] == "arn:aws:iam::000000000000:user/team/alice"
    assert code_of(iam.create_user, UserName="alice") == "EntityAlreadyExists"
    assert code_of(iam.get_user, UserName="nobody") == "NoSuchEntity"
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]
    assert iam.list_user_tags(UserName="alice")["Tags"] == [{"Key": "k", "Value": "v"}]
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    iam.create_access_key(UserName="alice")
    assert code_of(iam.create_access_key, UserName="alice") == "LimitExceeded"
    assert len(iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]) == 2

    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA),
                           Description="the seed's worker")["Role"]
    assert role["RoleId"].startswith("AROA")
    assert iam.get_role(RoleName="worker")["Role"]["AssumeRolePolicyDocument"] == TRUST_LAMBDA
    document = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:DeleteMessage", "Resource": "*"}]}
    iam.put_role_policy(RoleName="worker", PolicyName="delete", PolicyDocument=json.dumps(document))
    assert iam.get_role_policy(RoleName="worker", PolicyName="delete")["PolicyDocument"] == document
    assert iam.list_role_policies(RoleName="worker")["PolicyNames"] == ["delete"]
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.attach_role_policy(RoleName="worker", PolicyArn=basic)
    attached = iam.list_attached_role_policies(RoleName="worker")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": basic}]
    published = iam.get_policy_version(PolicyArn=basic, VersionId=iam.get_policy(PolicyArn=basic)["Policy"]["DefaultVersionId"])
    assert "logs:PutLogEvents" in json.dumps(published["PolicyVersion"]["Document"])
    assert code_of(iam.attach_role_policy, RoleName="worker",
                   PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy") == "NoSuchEntity"
    assert code_of(iam.delete_role, RoleName="worker") == "DeleteConflict"
    assert code_of(iam.put_role_policy, RoleName="worker", PolicyName="bad", PolicyDocument="{nope") \
        == "MalformedPolicyDocument"

    mine = iam.create_policy(PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:Get*", "Resource": "*"}]}))["Policy"]
    assert mine["Arn"] == "arn:aws:iam::000000000000:policy/read" and mine["DefaultVersionId"] == "v1"
    iam.create_policy_version(PolicyArn=mine["Arn"], SetAsDefault=True, PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:List*", "Resource": "*"}]}))
    assert iam.get_policy(PolicyArn=mine["Arn"])["Policy"]["DefaultVersionId"] == "v2"
    group = iam.create_group(GroupName="readers")["Group"]
    assert group["GroupId"].startswith("AGPA")
    iam.attach_group_policy(GroupName="readers", PolicyArn=mine["Arn"])
    iam.add_user_to_group(GroupName="readers", UserName="alice")
    assert [u["UserName"] for u in iam.get_group(GroupName="readers")["Users"]] == ["alice"]
    assert code_of(iam.delete_policy, PolicyArn=mine["Arn"]) == "DeleteConflict"

    details = iam.get_account_authorization_details()
    assert [u["UserName"] for u in details["UserDetailList"]] == ["alice"]
    assert details["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"] == document
    names = {p["PolicyName"] for p in details["Policies"]}
    assert {"read", "AWSLambdaBasicExecutionRole"} <= names

    simulated = iam.simulate_principal_policy(PolicySourceArn=user["Arn"],
                                              ActionNames=["sqs:ListQueues", "sqs:SendMessage"])
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in simulated["EvaluationResults"]}
    assert decisions == {"sqs:ListQueues": "allowed", "sqs:SendMessage": "implicitDeny"}
    custom = iam.simulate_custom_policy(PolicyInputList=[json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}]})],
        ActionNames=["sqs:SendMessage"])
    assert custom["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"


def test_sts_assume_role_and_session_token_with_auth_off(wharf):
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=wharf.endpoint,
                       aws_access_key_id="x", aws_secret_access_key="x")
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=wharf.endpoint,
                       aws_access_key_id="x", aws_secret_access_key="x")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200)
    assumed = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/deployer", RoleSessionName="ci",
                              DurationSeconds=7200)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert assumed["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/deployer/ci"
    assert assumed["AssumedRoleUser"]["AssumedRoleId"].endswith(":ci")
    session = boto3.client("sts", region_name="us-east-1", endpoint_url=wharf.endpoint,
                           aws_access_key_id=credentials["AccessKeyId"],
                           aws_secret_access_key=credentials["SecretAccessKey"],
                           aws_session_token=credentials["SessionToken"])
    who = session.get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::000000000000:assumed-role/deployer/ci"
    assert who["UserId"] == assumed["AssumedRoleUser"]["AssumedRoleId"]
    assert code_of(sts.assume_role, RoleArn="arn:aws:iam::000000000000:role/deployer", RoleSessionName="ci",
                   DurationSeconds=7201) == "ValidationError"
    assert code_of(sts.assume_role, RoleArn="arn:aws:iam::000000000000:role/none",
                   RoleSessionName="ci") == "AccessDenied"
    token = sts.get_session_token()["Credentials"]
    assert token["AccessKeyId"].startswith("ASIA") and token["SessionToken"]


def test_enforce_refuses_bad_signatures_with_each_protocols_code(wharf_factory):
    wharf = wharf_factory(config=ENFORCE)
    assert client(wharf, "sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert code_of(client(wharf, "sts", key="AKIAUNKNOWN000000000").get_caller_identity) == "InvalidClientTokenId"
    assert code_of(client(wharf, "sts", secret="wrong").get_caller_identity) == "SignatureDoesNotMatch"
    logs = client(wharf, "logs", key="AKIAUNKNOWN000000000")
    assert code_of(logs.describe_log_groups) == "UnrecognizedClientException"
    assert code_of(client(wharf, "logs", secret="wrong").describe_log_groups) == "InvalidSignatureException"
    assert code_of(client(wharf, "lambda", key="AKIAUNKNOWN000000000").list_functions) == "UnrecognizedClientException"
    # SQS reports the query code in both protocols (x-amzn-query-error on JSON).
    assert code_of(client(wharf, "sqs", key="AKIAUNKNOWN000000000").list_queues) == "InvalidClientTokenId"
    assert code_of(client(wharf, "sqs", secret="wrong").list_queues) == "SignatureDoesNotMatch"
    response = error_of(client(wharf, "sqs", secret="wrong").list_queues)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Unsigned.
    unsigned = boto3.client("sqs", region_name="us-east-1", endpoint_url=wharf.endpoint,
                            config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    assert code_of(unsigned.list_queues) == "MissingAuthenticationToken"
    lines = wharf.log_tail(100_000)
    assert ROOT_SECRET not in lines and "wrong" not in lines.replace("wrong)", ""), "no secret is logged"


def test_enforce_users_and_role_sessions_get_what_their_policies_say(wharf_factory):
    wharf = wharf_factory(config=ENFORCE)
    iam, sqs = client(wharf, "iam"), client(wharf, "sqs")
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    bob = client(wharf, "sqs", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert client(wharf, "sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"]).get_caller_identity()["Arn"] \
        == f"arn:aws:iam::{ACCOUNT}:user/bob"
    denied = error_of(bob.send_message, QueueUrl=queue, MessageBody="x")
    assert denied["Error"]["Code"] == "AccessDenied"
    assert denied["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: sqs:SendMessage on resource: "
        f"{queue_arn} because no identity-based policy allows the sqs:SendMessage action")
    iam.put_user_policy(UserName="bob", PolicyName="send", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}]}))
    bob.send_message(QueueUrl=queue, MessageBody="x")
    bob.send_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "y"}])
    assert code_of(bob.receive_message, QueueUrl=queue) == "AccessDenied"
    received = sqs.receive_message(QueueUrl=queue, AttributeNames=["SenderId"], MaxNumberOfMessages=10)["Messages"]
    bob_id = iam.get_user(UserName="bob")["User"]["UserId"]
    assert {m["Attributes"]["SenderId"] for m in received} == {bob_id}, "SenderId is the user's id"

    # The seed's two roles: the consumer receives, the worker only deletes.
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, "Action": "sts:AssumeRole"}]}
    for name, actions in [("consumer", ["sqs:ReceiveMessage", "lambda:InvokeFunction", "logs:*"]),
                          ("worker", ["sqs:DeleteMessage", "logs:*"])]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    bob_sts = client(wharf, "sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    sessions = {}
    for name in ["consumer", "worker"]:
        credentials = bob_sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", RoleSessionName=name)["Credentials"]
        sessions[name] = client(wharf, "sqs", key=credentials["AccessKeyId"], secret=credentials["SecretAccessKey"],
                                token=credentials["SessionToken"])
    sqs.send_message(QueueUrl=queue, MessageBody="job")
    wharf.advance_clock(60)  # the messages received above become visible again
    denied = error_of(sessions["worker"].receive_message, QueueUrl=queue)
    assert denied["Error"]["Code"] == "AccessDenied"
    assert f"assumed-role/worker/worker is not authorized to perform: sqs:ReceiveMessage" in denied["Error"]["Message"]
    messages = sessions["consumer"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert messages
    assert code_of(sessions["consumer"].delete_message, QueueUrl=queue,
                   ReceiptHandle=messages[0]["ReceiptHandle"]) == "AccessDenied"
    sessions["worker"].delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
    # A role whose trust policy does not name the caller cannot be assumed.
    iam.create_role(RoleName="lambda-only", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    assert code_of(bob_sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/lambda-only",
                   RoleSessionName="s1") == "AccessDenied"
    # Bob cannot manage IAM.
    assert code_of(client(wharf, "iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"]).create_user,
                   UserName="mallory") == "AccessDenied"
    # Session credentials expire on wharf's clock (the test clock moves it; signing times are
    # still checked against the real time).
    wharf.advance_clock(3601)
    assert code_of(sessions["consumer"].receive_message, QueueUrl=queue) == "ExpiredToken"


def test_enforce_accounts_are_apart_until_a_queue_policy_opens_one(wharf_factory):
    wharf = wharf_factory(config=ENFORCE)
    mine, theirs = client(wharf, "sqs"), client(wharf, "sqs", key=OTHER_KEY, secret=OTHER_SECRET)
    url = theirs.create_queue(QueueName="shared")["QueueUrl"]
    assert f"/{OTHER_ACCOUNT}/shared" in url
    assert mine.list_queues().get("QueueUrls", []) == []
    response = error_of(mine.send_message, QueueUrl=url, MessageBody="x")
    assert response["Error"]["Code"] == "AccessDenied"
    assert "no resource-based policy allows" in response["Error"]["Message"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sqs:SendMessage",
        "Resource": f"arn:aws:sqs:us-east-1:{OTHER_ACCOUNT}:shared"}]}
    theirs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    mine.send_message(QueueUrl=url, MessageBody="across")
    assert code_of(mine.receive_message, QueueUrl=url) == "AccessDenied"
    assert theirs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "across"


def test_iam_state_survives_a_restart(wharf_factory):
    wharf = wharf_factory(config=ENFORCE)
    iam = client(wharf, "iam")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    iam.attach_user_policy(UserName="carol", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    wharf.restart()
    carol = client(wharf, "sqs", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    carol.create_queue(QueueName="after-restart")
    assert client(wharf, "iam").get_user(UserName="carol")["User"]["UserName"] == "carol"


def test_enforce_conditions_see_the_source_ip(wharf_factory):
    wharf = wharf_factory(config=ENFORCE)
    iam = client(wharf, "iam")
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]
    iam.put_user_policy(UserName="dave", PolicyName="local-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
            {"Effect": "Allow", "Action": "sqs:CreateQueue", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}))
    dave = client(wharf, "sqs", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    dave.list_queues()
    assert code_of(dave.create_queue, QueueName="elsewhere") == "AccessDenied"


def test_enforce_checks_logs_and_events_resources_and_key_info(wharf_factory):
    wharf = wharf_factory(config=ENFORCE)
    iam = client(wharf, "iam")
    iam.create_user(UserName="erin")
    key = iam.create_access_key(UserName="erin")["AccessKey"]
    iam.put_user_policy(UserName="erin", PolicyName="scoped", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": f"arn:aws:logs:*:{ACCOUNT}:log-group:/app/*"},
            {"Effect": "Allow", "Action": "events:PutRule", "Resource": f"arn:aws:events:*:{ACCOUNT}:rule/nightly-*"}]}))
    erin = dict(key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    logs, events = client(wharf, "logs", **erin), client(wharf, "events", **erin)
    logs.create_log_group(logGroupName="/app/orders")
    assert code_of(logs.create_log_group, logGroupName="/other/orders") == "AccessDeniedException"
    events.put_rule(Name="nightly-report", ScheduleExpression="rate(1 day)")
    assert code_of(events.put_rule, Name="hourly", ScheduleExpression="rate(1 hour)") == "AccessDeniedException"
    sts = client(wharf, "sts")
    assert sts.get_access_key_info(AccessKeyId=key["AccessKeyId"])["Account"] == ACCOUNT
    assert sts.get_access_key_info(AccessKeyId=OTHER_KEY)["Account"] == OTHER_ACCOUNT
