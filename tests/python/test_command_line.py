"""The `wharf` command as a newcomer meets it: its version, its errors (one line, no backtrace),
its switches, and what it logs (a line per request, text without colour codes in files, or
JSON)."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from sqs_support import LISTENING_MARKER, auth_off_only, wharf_binary


def run(*args: str, env: dict | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("WHARF_")}
    environment.update(env or {})
    return subprocess.run([str(wharf_binary()), *args], capture_output=True, text=True, timeout=timeout, env=environment)


def test_version_names_the_commit():
    done = run("--version")
    assert done.returncode == 0
    assert re.fullmatch(r"wharf \d+\.\d+\.\d+ \(([0-9a-f]{12}(-modified)?|unknown)\)\n", done.stdout), done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completions(shell):
    done = run("completions", shell)
    assert done.returncode == 0 and "serve" in done.stdout and "data-dir" in done.stdout


def test_a_held_data_directory_is_one_line_naming_the_holder(wharf):
    done = run("serve", "--bind", "127.0.0.1:0", "--data-dir", str(wharf.data_dir), env={"RUST_BACKTRACE": "1"})
    assert done.returncode == 1
    pid = wharf.process.pid
    assert done.stderr.strip() == (
        f"wharf: another wharf process (pid {pid}) holds the data directory {wharf.data_dir}: stop it, or give "
        "this one another --data-dir (or --in-memory)"
    ), done.stderr
    assert "backtrace" not in done.stderr.lower()


def test_a_bad_bind_address_is_refused_before_any_file_is_made(tmp_path):
    data = tmp_path / "data"
    done = run("serve", "--bind", "127.0.0.1:99999", "--data-dir", str(data))
    assert done.returncode == 1 and done.stderr.startswith("wharf: ") and "99999" in done.stderr, done.stderr
    assert not data.exists()


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_switches_take_the_usual_spellings(tmp_path, value):
    process = subprocess.Popen(
        [str(wharf_binary()), "serve", "--bind", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}, "WHARF_IN_MEMORY": value},
    )
    try:
        assert process.stdout.readline().startswith(LISTENING_MARKER)
        assert not (tmp_path / "data").exists(), "in memory: no data directory"
    finally:
        process.kill()
        process.wait()


def test_every_request_gets_a_log_line_and_log_files_have_no_colour(wharf):
    sqs = wharf.client()
    sqs.create_queue(QueueName="logged")
    lines = [line for line in wharf.log_tail(100_000).splitlines() if "wharf::request" in line]
    assert any("operation=CreateQueue" in line and "status=200" in line and "millis=" in line
               and "principal=arn:aws:iam::000000000000:root" in line and "request_id=" in line for line in lines), lines
    assert "\x1b[" not in wharf.log_tail(100_000)


def test_json_log_lines(tmp_path):
    process = subprocess.Popen(
        [str(wharf_binary()), "serve", "--bind", "127.0.0.1:0", "--in-memory", "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("WHARF_")},
    )
    try:
        endpoint = process.stdout.readline().strip().removeprefix(LISTENING_MARKER)
        import boto3  # noqa: PLC0415

        boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="x",
                     aws_secret_access_key="x").list_queues()
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    records = [json.loads(line) for line in errors.splitlines() if line.strip()]
    assert records, errors
    answered = [record for record in records if record.get("target") == "wharf::request"]
    assert answered, records
    assert answered[0]["fields"]["status"] == 200
    assert answered[0]["span"]["operation"] == "ListQueues" and answered[0]["span"]["service"] == "sqs"


@auth_off_only  # the bench's requests are unsigned
def test_bench_names_the_version_and_the_machine(wharf):
    done = run("bench", "--endpoint", wharf.endpoint, "--scenarios", "send", "--seconds", "0.3", "--connections", "1",
               timeout=60)
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    assert re.match(r"wharf bench: wharf \d+\.\d+\.\d+ \(.+\) on .+, \d+ CPUs, \d+ GiB, Linux ", header), header
    assert "msgs/s" in done.stdout


@auth_off_only  # the bench's requests are unsigned
def test_bench_startup_and_schedule_precision_report_their_figures(wharf):
    """The scenarios run and report (their figures are the docs', not asserted here)."""
    done = run("bench", "--scenarios", "startup", timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"in memory: [\d.]+ ms, RSS [\d.]+ MiB; fresh data dir: .+; used data dir: ", done.stdout), done.stdout
    done = run("bench", "--endpoint", wharf.endpoint, "--scenarios", "schedule-precision", timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"300 one-time schedules over 3 s: invoked late by p50 [\d.-]+ ms", done.stdout), done.stdout


@pytest.mark.parametrize(
    "text, where",
    [
        ('region = "eu-west-1"\n[sqs]\npurge_interval_seconds = "soon"\n', "line 3, key sqs.purge_interval_seconds: invalid type"),
        ('[server]\nmax_conections = 10\n', "line 2, key server.max_conections: unknown field `max_conections`"),
        ('[[sqs.queues]]\nname = "a"\n[[sqs.queues]]\nname = "b"\nattributes = { DelaySeconds = 5 }\n',
         "line 5, key sqs.queues.attributes.DelaySeconds"),
        ('bind = \n', "TOML parse error at line 1"),
    ],
)
def test_a_bad_config_file_is_refused_with_its_file_line_and_key(tmp_path, text, where):
    config = tmp_path / "wharf.toml"
    config.write_text(text)
    done = run("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 1
    [line, *_] = done.stderr.splitlines()
    assert line.startswith(f"wharf: in {config}: "), done.stderr
    assert where in done.stderr, done.stderr
    assert not (tmp_path / "data").exists(), "nothing was made"
