"""The declared stack follows its file while wharf runs: SIGHUP or a change of the file applies
it again (changed resources updated, new ones made, removed ones left alone unless
`prune = true`), a bad file is refused with its line and key and changes nothing."""

from __future__ import annotations

import signal

import pytest

from conftest import lambda_server
from lambda_support import LAMBDA_TEST_CONFIG, client_of, ensure_test_role, wait_for

FUNCTION = """
[[functions.declare]]
name = "echo"
runtime = "python3.12"
handler = "app.handler"
directory = "{directory}"
role = "arn:aws:iam::000000000000:role/echo"
"""

# The declared function's role (auth may be enforced): Lambda may assume it, it may do anything.
ECHO_ROLE = """
[[iam.roles]]
name = "echo"
trusted_services = ["lambda.amazonaws.com"]
policies = { all = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}' }
"""


def applied_count(wharf) -> int:
    """How many times the server says it applied its configuration again."""
    return wharf.log_tail(1_000_000).count("configuration applied again")


def rewrite(wharf, text: str) -> None:
    """Replaces the server's configuration file as an editor would (a new file renamed over it)."""
    path = wharf.config_file
    partial = path.with_suffix(".partial")
    partial.write_text(text, "utf-8")
    partial.replace(path)


def reload(wharf, text: str, how: str = "sighup") -> None:
    """Writes `text` as the configuration and waits until the server applied it."""
    before = applied_count(wharf)
    rewrite(wharf, text)
    if how == "sighup":
        wharf.process.send_signal(signal.SIGHUP)
    wait_for(lambda: applied_count(wharf) > before, timeout=10, what="the configuration applied again")


def queue_names(wharf) -> list[str]:
    return sorted(url.rsplit("/", 1)[1] for url in client_of(wharf, "sqs").list_queues().get("QueueUrls", []))


def base_config(wharf_factory, text: str):
    server = lambda_server(wharf_factory, text)
    ensure_test_role(server.endpoint)
    return server


def suite_part(wharf) -> str:
    """The part of the file the suite's fixtures wrote (interpreters, auth), kept on rewrites."""
    return wharf.config_file.read_text("utf-8")


def test_sighup_applies_new_and_changed_resources_and_leaves_removed_ones(wharf_factory):
    wharf = base_config(wharf_factory, '[[sqs.queues]]\nname = "kept"\n[[sqs.queues]]\nname = "dropped"\n')
    base = suite_part(wharf).replace('[[sqs.queues]]\nname = "dropped"\n', "")
    assert queue_names(wharf) == ["dropped", "kept"]

    reload(wharf, base.replace('name = "kept"\n', 'name = "kept"\nattributes = { VisibilityTimeout = "7" }\n')
           + '[[sqs.queues]]\nname = "added"\n[[logs.groups]]\nname = "/declared/later"\nretention_days = 3\n'
           + '[[events.rules]]\nname = "tick"\nschedule_expression = "rate(5 minutes)"\n')
    sqs = client_of(wharf, "sqs")
    assert queue_names(wharf) == ["added", "dropped", "kept"], "removed from the file, left alone"
    kept = sqs.get_queue_url(QueueName="kept")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=kept, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "7"}
    [group] = client_of(wharf, "logs").describe_log_groups(logGroupNamePrefix="/declared/")["logGroups"]
    assert group["retentionInDays"] == 3
    assert [rule["Name"] for rule in client_of(wharf, "events").list_rules()["Rules"]] == ["tick"]


def test_a_change_of_the_file_applies_it_without_a_signal(wharf_factory):
    wharf = base_config(wharf_factory, '[[sqs.queues]]\nname = "first"\n')
    reload(wharf, suite_part(wharf) + '[[sqs.queues]]\nname = "second"\n', how="file")
    assert queue_names(wharf) == ["first", "second"]


def test_prune_deletes_what_the_file_no_longer_declares(wharf_factory, tmp_path):
    code = tmp_path / "echo"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return event\n")
    declared = (
        '[[sqs.queues]]\nname = "stays"\n[[sqs.queues]]\nname = "goes"\n'
        + FUNCTION.format(directory=code)
        + '[[functions.mappings]]\nfunction = "echo"\nqueue = "goes"\n'
        + '[[events.rules]]\nname = "tick"\nschedule_expression = "rate(5 minutes)"\n'
        + '[[events.rules.targets]]\nfunction = "echo"\n'
        + '[[logs.groups]]\nname = "/goes"\n'
        + ECHO_ROLE
    )
    # `prune` is a top-level key: it goes before the suite's [functions] table.
    wharf = wharf_factory(config="prune = true\n" + LAMBDA_TEST_CONFIG + declared)
    ensure_test_role(wharf.endpoint)
    functions = client_of(wharf, "lambda")
    assert [f["FunctionName"] for f in functions.list_functions()["Functions"]] == ["echo"]
    made_by_hand = client_of(wharf, "sqs").create_queue(QueueName="by-hand")["QueueUrl"]
    assert made_by_hand

    kept = suite_part(wharf)
    for part in ['[[sqs.queues]]\nname = "goes"\n', FUNCTION.format(directory=code),
                 '[[functions.mappings]]\nfunction = "echo"\nqueue = "goes"\n',
                 '[[events.rules]]\nname = "tick"\nschedule_expression = "rate(5 minutes)"\n',
                 '[[events.rules.targets]]\nfunction = "echo"\n', '[[logs.groups]]\nname = "/goes"\n']:
        assert part in kept
        kept = kept.replace(part, "")
    reload(wharf, kept)
    assert queue_names(wharf) == ["by-hand", "stays"], "what the file never declared stays"
    assert functions.list_functions()["Functions"] == []
    assert functions.list_event_source_mappings()["EventSourceMappings"] == []
    assert client_of(wharf, "events").list_rules()["Rules"] == []
    # The declared group goes; the pruned function's own group stays, as DeleteFunction leaves
    # a function's logs on AWS.
    groups = client_of(wharf, "logs").describe_log_groups()["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["/aws/lambda/echo"]

    # Pruned across a restart too: the server remembers what it declared.
    wharf.stop()
    rewrite(wharf, kept.replace('[[sqs.queues]]\nname = "stays"\n', ""))
    wharf.start()
    assert queue_names(wharf) == ["by-hand"]


def test_a_bad_file_changes_nothing_and_says_where(wharf_factory):
    wharf = base_config(wharf_factory, '[[sqs.queues]]\nname = "first"\n')
    good = suite_part(wharf)
    rewrite(wharf, good + '[[sqs.queues]]\nname = "second"\n[sqs]\npurge_interval_seconds = "soon"\n')
    wharf.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration not applied" in wharf.log_tail(1_000_000), timeout=10, what="the refusal")
    log = wharf.log_tail(1_000_000)
    line = next(line for line in log.splitlines() if "configuration not applied" in line)
    assert "purge_interval_seconds" in line and "line" in line, line
    assert queue_names(wharf) == ["first"]
    assert wharf.running
    # The next good file applies.
    reload(wharf, good + '[[sqs.queues]]\nname = "second"\n')
    assert queue_names(wharf) == ["first", "second"]


def test_settings_that_need_a_restart_are_named(wharf_factory):
    wharf = base_config(wharf_factory, "")
    reload(wharf, suite_part(wharf) + "[server]\nmax_connections = 17\n")
    [line] = [line for line in wharf.log_tail(1_000_000).splitlines() if "change only at a restart" in line]
    assert "settings=server.max_connections" in line, line


def test_declared_users_sign_in_with_their_declared_keys(wharf_factory):
    from lambda_support import ENFORCED  # noqa: PLC0415

    listing = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]}'
    user = (
        '[[iam.users]]\nname = "ci"\n'
        f"policies = {{ list = '{listing}' }}\n"
        'access_keys = [{ access_key_id = "AKIAWHARFCI000000001", secret_access_key = "ci-secret" }]\n'
    )
    wharf = wharf_factory(config=LAMBDA_TEST_CONFIG + user + ENFORCED)
    import boto3  # noqa: PLC0415

    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=wharf.endpoint,
                       aws_access_key_id="AKIAWHARFCI000000001", aws_secret_access_key="ci-secret")
    assert sqs.list_queues().get("QueueUrls", []) == []
    with pytest.raises(sqs.exceptions.ClientError) as denied:
        sqs.create_queue(QueueName="not-allowed")
    assert denied.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    # Applied again (a restart): the same key, not a second one.
    wharf.stop()
    wharf.start()
    keys = client_of(wharf, "iam").list_access_keys(UserName="ci")["AccessKeyMetadata"]
    assert [key["AccessKeyId"] for key in keys] == ["AKIAWHARFCI000000001"]


def test_a_function_declared_from_a_zip(wharf_factory, tmp_path):
    from lambda_support import invoke_json, make_zip  # noqa: PLC0415

    (tmp_path / "double.zip").write_bytes(make_zip({"app.py": "def handler(event, context):\n    return event['n'] * 2\n"}))
    wharf = base_config(wharf_factory, f'[[functions.declare]]\nname = "double"\nruntime = "python3.12"\n'
                                       f'handler = "app.handler"\nzip = "{tmp_path / "double.zip"}"\n')
    _, payload = invoke_json(client_of(wharf, "lambda"), "double", {"n": 21})
    assert payload == 42


def test_sighup_without_a_file_does_not_stop_wharf(wharf_factory):
    wharf = wharf_factory()
    wharf.process.send_signal(signal.SIGHUP)
    wait_for(lambda: applied_count(wharf) > 0, timeout=10, what="the settings read again")
    assert wharf.running
    assert client_of(wharf, "sqs").list_queues().get("QueueUrls", []) == []
