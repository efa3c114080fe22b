"""A whole stack declared in the configuration file: queues, functions, rules with targets,
event source mappings and log groups are applied at start, and applying the same file again
changes nothing. The seed's pipeline runs from examples/pipeline/wharf.toml alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import lambda_server
from lambda_support import client_of, log_messages, wait_for
from sqs_support import auth_off_only, wharf_binary

PIPELINE = Path(__file__).resolve().parents[3] / "examples" / "pipeline"
sys.path.insert(0, str(PIPELINE))

import producer  # noqa: E402  (the example's producer)


def pipeline_config() -> str:
    """The example's file, with its directory made absolute (the test's file lives elsewhere)."""
    return (PIPELINE / "wharf.toml").read_text().replace('directory = "."', f'directory = "{PIPELINE}"')


def processed_orders(wharf, function: str = "lambda_worker") -> int:
    """How many orders the worker's log says it processed (0 before its log group exists)."""
    logs = client_of(wharf, "logs")
    try:
        return sum("processed order" in line for line in log_messages(logs, function))
    except logs.exceptions.ResourceNotFoundException:
        return 0


def test_the_seeds_pipeline_from_its_config_file_alone(wharf_factory):
    wharf = lambda_server(wharf_factory, pipeline_config())
    message_ids = producer.send_orders(5, wharf.endpoint, "us-east-1")
    wharf.advance_clock(61)
    wait_for(lambda: processed_orders(wharf) >= 5, timeout=30, interval=0.5, what="5 orders processed")
    assert len(message_ids) == 5
    assert "access denied" not in wharf.log_tail(200_000), "the declared roles allow what the pipeline does"

    # Applied again at the next start: the same rule, one target, one permission.
    wharf.stop()
    wharf.start()
    events, functions = client_of(wharf, "events"), client_of(wharf, "lambda")
    assert [rule["Name"] for rule in events.list_rules()["Rules"]] == ["run-consumer"]
    assert [target["Id"] for target in events.list_targets_by_rule(Rule="run-consumer")["Targets"]] == ["lambda_consumer"]
    import json  # noqa: PLC0415

    statements = json.loads(functions.get_policy(FunctionName="lambda_consumer")["Policy"])["Statement"]
    assert [statement["Sid"] for statement in statements] == ["wharf-declared-run-consumer"]
    iam = client_of(wharf, "iam")
    assert iam.list_role_policies(RoleName="pipeline-worker")["PolicyNames"] == ["pipeline"]
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="pipeline-worker")["AttachedPolicies"]] == [
        "AWSLambdaBasicExecutionRole"]


def test_the_declared_pipeline_runs_with_auth_enforced(wharf_factory):
    from lambda_support import ENFORCED  # noqa: PLC0415

    wharf = lambda_server(wharf_factory, pipeline_config() + ENFORCED)
    producer.send_orders(3, wharf.endpoint, "us-east-1")
    wharf.advance_clock(61)
    wait_for(lambda: processed_orders(wharf) >= 3, timeout=30, interval=0.5, what="3 orders processed")
    assert "access denied" not in wharf.log_tail(200_000)


def test_mappings_and_log_groups_are_declared(wharf_factory):
    config = f"""
[[iam.roles]]
name = "batch"
trusted_services = ["lambda.amazonaws.com"]
managed_policies = ["arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"]

[[functions.declare]]
name = "batch"
runtime = "python3.12"
handler = "batch_worker.handle"
directory = "{PIPELINE}"
role = "arn:aws:iam::000000000000:role/batch"

[[functions.mappings]]
queue = "sqs-test-1"
function = "batch"
batch_size = 5
report_batch_item_failures = true

[[sqs.queues]]
name = "sqs-test-1"

[[logs.groups]]
name = "/audit/orders"
retention_days = 7
"""
    wharf = lambda_server(wharf_factory, config)
    functions, logs = client_of(wharf, "lambda"), client_of(wharf, "logs")
    [mapping] = functions.list_event_source_mappings(FunctionName="batch")["EventSourceMappings"]
    assert (mapping["BatchSize"], mapping["FunctionResponseTypes"]) == (5, ["ReportBatchItemFailures"])
    [group] = logs.describe_log_groups(logGroupNamePrefix="/audit/")["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/audit/orders", 7)
    producer.send_orders(3, wharf.endpoint, "us-east-1")
    wait_for(lambda: processed_orders(wharf, "batch") >= 3, timeout=30, interval=0.5, what="the mapping's batches")
    wharf.stop()
    wharf.start()
    functions = client_of(wharf, "lambda")
    assert len(functions.list_event_source_mappings(FunctionName="batch")["EventSourceMappings"]) == 1, "not twice"


@auth_off_only
def test_the_one_command_demo_runs_the_pipeline():
    """examples/pipeline/demo.py starts its own wharf (auth off), so it runs in one pass only."""
    done = subprocess.run([sys.executable, str(PIPELINE / "demo.py"), "3"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "WHARF_BIN": str(wharf_binary())})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 of 3 orders processed by lambda_worker" in done.stdout
