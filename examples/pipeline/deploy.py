"""Sets up the pipeline on a running wharf: the queue, the functions with their execution roles,
and what triggers the consumer.

    python3 examples/pipeline/deploy.py schedule   # a rule runs lambda_consumer once a minute
    python3 examples/pipeline/deploy.py scheduler  # an EventBridge Scheduler schedule runs it
    python3 examples/pipeline/deploy.py mapping    # an event source mapping feeds lambda_worker

Every call is the one you would make against AWS; only `endpoint_url` differs.
"""

import io
import json
import os
import sys
import zipfile
from pathlib import Path

import boto3

ENDPOINT = os.environ.get("WHARF_ENDPOINT", "http://127.0.0.1:4566")
REGION = os.environ.get("AWS_REGION", "us-east-1")
ACCOUNT = "000000000000"
HERE = Path(__file__).resolve().parent
QUEUE_ARN = f"arn:aws:sqs:*:{ACCOUNT}:sqs-test-1"  # the queue, in whichever region it is deployed
LOGS = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

# Each function's execution role allows what that function does, and nothing else: with auth
# enforced (`wharf serve --auth enforce`), the worker's credentials cannot receive messages.
ROLES = {
    "pipeline-consumer": {
        "policy": [
            {"Effect": "Allow", "Action": ["sqs:GetQueueUrl", "sqs:ReceiveMessage"], "Resource": QUEUE_ARN},
            {"Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Resource": f"arn:aws:lambda:*:{ACCOUNT}:function:lambda_worker"},
        ],
        "managed": [LOGS],
    },
    "pipeline-worker": {
        "policy": [{"Effect": "Allow", "Action": "sqs:DeleteMessage", "Resource": QUEUE_ARN}],
        "managed": [LOGS],
    },
    # The batch worker of the mapping variant: Lambda's pollers receive and delete with its role.
    "pipeline-batch-worker": {
        "policy": [],
        "managed": ["arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"],
    },
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def client(service: str, endpoint: str = ENDPOINT, region: str = REGION):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id="local", aws_secret_access_key="local")


def package(source: str) -> bytes:
    """A zip holding one module of this directory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(HERE / source, source)
    return buffer.getvalue()


def deploy_roles(endpoint: str = ENDPOINT, region: str = REGION) -> None:
    """The execution roles, each trusting Lambda; a role that exists already is kept."""
    iam = client("iam", endpoint, region)
    for name, grants in ROLES.items():
        try:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        if grants["policy"]:
            document = {"Version": "2012-10-17", "Statement": grants["policy"]}
            iam.put_role_policy(RoleName=name, PolicyName="pipeline", PolicyDocument=json.dumps(document))
        for policy in grants["managed"]:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy)


def create_function(functions, name: str, source: str, role: str, timeout: int = 30) -> str:
    """Creates the function, or updates its code and configuration when it exists (so the
    script can run again)."""
    module = source.removesuffix(".py")
    settings = {"Runtime": "python3.12", "Role": role_arn(role), "Handler": f"{module}.handle", "Timeout": timeout}
    try:
        answer = functions.create_function(FunctionName=name, Code={"ZipFile": package(source)}, **settings)
    except functions.exceptions.ResourceConflictException:
        functions.update_function_code(FunctionName=name, ZipFile=package(source))
        functions.get_waiter("function_updated_v2").wait(FunctionName=name)
        answer = functions.update_function_configuration(FunctionName=name, **settings)
    functions.get_waiter("function_active_v2").wait(FunctionName=name)
    return answer["FunctionArn"]


def deploy_queue(endpoint: str = ENDPOINT, region: str = REGION) -> str:
    sqs = client("sqs", endpoint, region)
    attributes = {"VisibilityTimeout": "60"}
    try:
        return sqs.create_queue(QueueName="sqs-test-1", Attributes=attributes)["QueueUrl"]
    except sqs.exceptions.QueueNameExists:
        # Made before with other settings (the quick start's queue has the same name).
        url = sqs.get_queue_url(QueueName="sqs-test-1")["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url


def deploy_schedule(endpoint: str = ENDPOINT, region: str = REGION) -> str:
    """Queue, consumer and worker, and a rule that runs the consumer once a minute."""
    deploy_queue(endpoint, region)
    deploy_roles(endpoint, region)
    functions = client("lambda", endpoint, region)
    create_function(functions, "lambda_worker", "worker.py", "pipeline-worker")
    consumer_arn = create_function(functions, "lambda_consumer", "consumer.py", "pipeline-consumer")
    events = client("events", endpoint, region)
    rule_arn = events.put_rule(Name="run-consumer", ScheduleExpression="rate(1 minute)", State="ENABLED")["RuleArn"]
    try:
        functions.add_permission(
            FunctionName="lambda_consumer",
            StatementId="run-consumer-rule",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )
    except functions.exceptions.ResourceConflictException:
        pass  # granted by an earlier run
    events.put_targets(Rule="run-consumer", Targets=[{"Id": "consumer", "Arn": consumer_arn}])
    return rule_arn


# EventBridge Scheduler invokes the consumer with this role: it trusts Scheduler and may only
# invoke the consumer (Scheduler needs no AddPermission on the function, unlike a rule).
SCHEDULER_ROLE = "pipeline-scheduler"
SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def deploy_scheduler(endpoint: str = ENDPOINT, region: str = REGION) -> str:
    """Queue, consumer and worker, and a Scheduler schedule (AWS's successor of scheduled
    rules) that runs the consumer once a minute."""
    deploy_queue(endpoint, region)
    deploy_roles(endpoint, region)
    functions = client("lambda", endpoint, region)
    create_function(functions, "lambda_worker", "worker.py", "pipeline-worker")
    consumer_arn = create_function(functions, "lambda_consumer", "consumer.py", "pipeline-consumer")
    iam = client("iam", endpoint, region)
    try:
        iam.create_role(RoleName=SCHEDULER_ROLE, AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    invoke = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": consumer_arn}]}
    iam.put_role_policy(RoleName=SCHEDULER_ROLE, PolicyName="invoke-consumer", PolicyDocument=json.dumps(invoke))
    scheduler = client("scheduler", endpoint, region)
    settings = {
        "Name": "run-consumer",
        "ScheduleExpression": "rate(1 minute)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": consumer_arn, "RoleArn": role_arn(SCHEDULER_ROLE), "Input": "{}"},
    }
    try:
        return scheduler.create_schedule(**settings)["ScheduleArn"]
    except scheduler.exceptions.ConflictException:
        return scheduler.update_schedule(**settings)["ScheduleArn"]


def deploy_mapping(endpoint: str = ENDPOINT, region: str = REGION) -> str:
    """Queue and a batch worker fed by an event source mapping."""
    deploy_queue(endpoint, region)
    deploy_roles(endpoint, region)
    functions = client("lambda", endpoint, region)
    create_function(functions, "lambda_worker", "batch_worker.py", "pipeline-batch-worker")
    source = f"arn:aws:sqs:{region}:{ACCOUNT}:sqs-test-1"
    existing = functions.list_event_source_mappings(EventSourceArn=source, FunctionName="lambda_worker")
    if existing["EventSourceMappings"]:
        return existing["EventSourceMappings"][0]["UUID"]
    mapping = functions.create_event_source_mapping(
        EventSourceArn=source,
        FunctionName="lambda_worker",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return mapping["UUID"]


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "mapping"
    if mode == "schedule":
        print("rule:", deploy_schedule())
    elif mode == "scheduler":
        print("schedule:", deploy_scheduler())
    elif mode == "mapping":
        print("event source mapping:", deploy_mapping())
    else:
        sys.exit("usage: deploy.py schedule|scheduler|mapping")
