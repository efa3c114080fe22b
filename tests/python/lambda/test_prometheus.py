"""`GET /metrics`: wharf's figures in the OpenMetrics text format, read as Prometheus reads them
(its text parser from prometheus_client is not installed, so lines are parsed here), with the
bearer token it asks for when auth is on."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

from conftest import lambda_server
from lambda_support import client_of, creator, ensure_test_role, invoke_json
from sqs_support import auth_under_test

TOKEN = "scrape-me"
SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


def scrape(server, token: str | None = TOKEN) -> tuple[int, str, dict]:
    request = urllib.request.Request(f"{server.endpoint}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], samples(response.read().decode())
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], {}


def samples(text: str) -> dict:
    """`{(name, frozenset(labels)): value}` of every sample line."""
    assert text.rstrip().endswith("# EOF"), "OpenMetrics ends with # EOF"
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        found[(match["name"], labels)] = float(match["value"])
    return found


def value(found: dict, name: str, **labels) -> float | None:
    wanted = set(labels.items())
    for (sample, sample_labels), number in found.items():
        if sample == name and wanted <= sample_labels:
            return number
    return None


def test_metrics_show_requests_queues_and_functions(wharf_factory):
    server = lambda_server(wharf_factory, f'\n[server]\nmetrics_bearer_token = "{TOKEN}"\n')
    ensure_test_role(server.endpoint)
    sqs = client_of(server, "sqs")
    url = sqs.create_queue(QueueName="metered")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    functions = client_of(server, "lambda")
    creator(functions)("metered-fn", "def handler(event, context):\n    if event.get('fail'):\n        raise ValueError('no')\n    return 1\n")
    invoke_json(functions, "metered-fn", {})
    invoke_json(functions, "metered-fn", {"fail": True})

    events = client_of(server, "events")
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn}]})})
    rule_arn = events.put_rule(Name="metered-rule", EventPattern=json.dumps({"source": ["meter"]}))["RuleArn"]
    events.put_targets(Rule="metered-rule", Targets=[
        {"Id": "q", "Arn": queue_arn},
        {"Id": "gone", "Arn": queue_arn.replace("metered", "never-created")}])
    events.put_events(Entries=[{"Source": "meter", "DetailType": "t", "Detail": "{}"}])
    # Deliveries run after PutEvents answers: wait until both have been counted.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = scrape(server)[2]
        if value(found, "wharf_events_failed_invocations_total", rule=rule_arn) and \
                value(found, "wharf_events_invocations_total", rule=rule_arn):
            break
        time.sleep(0.05)
    server.advance_clock(30)
    status, content_type, found = scrape(server)
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    assert value(found, "wharf_requests_total", service="sqs", operation="SendMessage", status="200") == 4
    assert value(found, "wharf_request_duration_seconds_count", service="sqs", operation="SendMessage") == 4
    assert value(found, "wharf_sqs_messages", queue="metered", state="visible") == 3, "two, and the rule's event"
    assert value(found, "wharf_sqs_messages", queue="metered", state="in_flight") == 1
    assert value(found, "wharf_sqs_messages", queue="metered", state="delayed") == 1
    assert 30 <= value(found, "wharf_sqs_oldest_message_age_seconds", queue="metered") < 60
    assert value(found, "wharf_events_rule_triggers_total", rule=rule_arn) == 1
    assert value(found, "wharf_events_invocations_total", rule=rule_arn) == 1
    assert value(found, "wharf_events_failed_invocations_total", rule=rule_arn) == 1, "the missing queue"
    assert value(found, "wharf_lambda_invocations_total", function="metered-fn") == 2
    assert value(found, "wharf_lambda_errors_total", function="metered-fn") == 1
    assert value(found, "wharf_lambda_cold_starts_total", function="metered-fn") == 1
    assert value(found, "wharf_lambda_duration_seconds_total", function="metered-fn") > 0
    assert value(found, "wharf_lambda_environments") >= 1
    assert value(found, "wharf_open_connections") >= 1
    commits = value(found, "wharf_store_commits_total")
    assert commits >= 5, "each send was synced"
    assert value(found, "wharf_store_committed_operations_total") >= commits
    assert value(found, "wharf_store_commit_seconds_total") > 0
    assert value(found, "wharf_store_max_commit_operations") >= 1

    if auth_under_test() == "enforce":
        assert scrape(server, token=None)[0] == 401, "a scrape without the token is refused"
        assert scrape(server, token="wrong")[0] == 401


def test_with_auth_on_and_no_token_metrics_are_refused(wharf_factory):
    server = wharf_factory(config='[auth]\nmode = "enforce"\n[[auth.credentials]]\naccess_key_id = "x"\nsecret_access_key = "x"\n')
    status, _, _ = scrape(server)
    assert status == 401
    request = urllib.request.Request(f"{server.endpoint}/metrics")
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as err:
        assert "metrics_bearer_token" in json.loads(err.read())["message"]
