"""Functions are contained: their processes die with their environment and with wharf, their
output cannot wedge their log, their code cannot fill the disk, and one function cannot take
another's events. Each test reproduces a finding of the hardening review."""

from __future__ import annotations

import io
import json
import os
import random
import threading
import time
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lambda_support import (
    FUNCTIONS_DIR,
    LAMBDA_TEST_CONFIG,
    ROLE,
    client_of,
    creator,
    error_code,
    invoke_json,
    wait_for,
)

# Handler that leaves three background processes behind, one of each way out: same process
# group, a new session, and one that ignores SIGTERM. Each carries the marker in its command
# line, so the test can find them in the host's /proc.
SPAWNER = """
import subprocess, time

def handler(event, context):
    marker = event["marker"]
    subprocess.Popen(["sleep", marker + "1"])
    subprocess.Popen(["sleep", marker + "2"], start_new_session=True)
    subprocess.Popen(["sh", "-c", "trap '' TERM HUP; sleep " + marker + "3; :"])
    time.sleep(0.3)
    if event.get("hang"):
        time.sleep(60)
    return "spawned"
"""


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in command and "pytest" not in command:
            found.append(int(entry.name))
    return found


def new_marker() -> str:
    # `sleep` takes it as seconds: long enough to outlive any test.
    return str(random.randint(700_000, 799_999))


def spawn(lambda_client, name: str, marker: str, **event) -> dict:
    response, payload = invoke_json(lambda_client, name, {"marker": marker, **event})
    return {"response": response, "payload": payload}


def test_background_processes_die_with_a_timed_out_invocation(wharf, lambda_client, create_function):
    create_function("spawner", SPAWNER, timeout=2)
    marker = new_marker()
    result = spawn(lambda_client, "spawner", marker, hang=True)
    assert result["response"].get("FunctionError") == "Unhandled"
    wait_for(lambda: not processes_with(marker), timeout=10, what="the timed-out environment's processes to die")


def test_background_processes_live_while_warm_and_die_with_delete_function(wharf, lambda_client, create_function):
    create_function("spawner", SPAWNER)
    marker = new_marker()
    assert spawn(lambda_client, "spawner", marker)["payload"] == "spawned"
    # As on Lambda, what a warm environment started stays until the environment stops.
    assert len(processes_with(marker)) >= 3
    lambda_client.delete_function(FunctionName="spawner")
    wait_for(lambda: not processes_with(marker), timeout=10, what="the deleted function's processes to die")


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_no_function_process_outlives_wharf(wharf, lambda_client, create_function, how):
    create_function("spawner", SPAWNER)
    marker = new_marker()
    assert spawn(lambda_client, "spawner", marker)["payload"] == "spawned"
    assert len(processes_with(marker)) >= 3
    if how == "sigterm":
        assert wharf.stop() == 0
    else:
        wharf.kill9()
    wait_for(lambda: not processes_with(marker), timeout=10, what=f"function processes to die with wharf ({how})")


def test_a_function_sees_only_its_own_processes(wharf, lambda_client, create_function):
    code = """
import os
def handler(event, context):
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
"""
    create_function("ps", code)
    _, visible = invoke_json(lambda_client, "ps", {})
    assert 1 in visible and len(visible) < 10, visible


# ----- 8. one function cannot take another's events ---------------------------------------------

THIEF = """
import json, os, threading, urllib.request

def handler(event, context):
    # Everything a function could learn of another's Runtime API: every loopback listener.
    stolen, tried = [], 0
    ports = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[1].startswith("0100007F:"):
            ports.add(int(fields[1].split(":")[1], 16))
    own = int(os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)[1])

    def steal(port):
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/2018-06-01/runtime/invocation/next", timeout=8
            ) as answer:
                stolen.append(answer.read().decode())
        except Exception:
            pass

    threads = [threading.Thread(target=steal, args=(port,)) for port in sorted(ports - {own, event["wharf_port"]})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"stolen": stolen, "tried": len(threads)}
"""

VICTIM = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"victim": event.get("secret")}
"""


def test_a_function_cannot_take_another_functions_events(wharf, lambda_client, create_function):
    create_function("victim", VICTIM, timeout=10)
    create_function("thief", THIEF, timeout=30)
    # A warm victim environment waits on its Runtime API for the next event.
    assert invoke_json(lambda_client, "victim", {"secret": "warm-up"})[1] == {"victim": "warm-up"}
    # The thief polls every other loopback listener while the victim is invoked.
    loot = {}
    thief = threading.Thread(
        target=lambda: loot.update(invoke_json(lambda_client, "thief", {"wharf_port": wharf.port})[1])
    )
    thief.start()
    time.sleep(1.5)
    victim = [invoke_json(lambda_client, "victim", {"secret": f"s3cret-{index}"})[1] for index in range(3)]
    thief.join(timeout=30)
    assert victim == [{"victim": f"s3cret-{index}"} for index in range(3)]
    assert loot["tried"] >= 1, loot
    assert loot["stolen"] == []


# ----- 6 and 10. output that is not text, or never ends a line ----------------------------------

NOISY = """
import sys
def handler(event, context):
    if event.get("binary"):
        sys.stdout.buffer.write(b"before \\xff\\xfe\\x80 after\\n")
        sys.stdout.flush()
    if event.get("long"):
        sys.stdout.write("x" * event["long"] + "\\n")
        sys.stdout.flush()
    return "ok"
"""


def test_invalid_utf8_output_does_not_break_the_function(wharf, lambda_client, logs_client, create_function):
    create_function("noisy", NOISY)
    for _ in range(3):
        response, payload = invoke_json(lambda_client, "noisy", {"binary": True})
        assert payload == "ok" and "FunctionError" not in response

    def replaced():
        events = logs_client.filter_log_events(logGroupName="/aws/lambda/noisy")["events"]
        return [event for event in events if "before" in event["message"]]

    lines = wait_for(lambda: len(replaced()) == 3 and replaced(), timeout=10, what="three logged lines")
    assert all("\ufffd" in event["message"] and "after" in event["message"] for event in lines)


def test_a_huge_line_becomes_events_of_at_most_256_kb(wharf, lambda_client, logs_client, create_function):
    create_function("noisy", NOISY)
    length = 1_500_000
    response, payload = invoke_json(lambda_client, "noisy", {"long": length})
    assert payload == "ok"

    def pieces():
        events, token = [], None
        while True:
            kwargs = {"logGroupName": "/aws/lambda/noisy", "filterPattern": "xxxxxxxx"}
            if token:
                kwargs["nextToken"] = token
            page = logs_client.filter_log_events(**kwargs)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    events = wait_for(lambda: sum(len(e["message"].strip()) for e in pieces()) >= length and pieces(), timeout=20, what="the whole line")
    assert len(events) >= 6
    assert all(len(event["message"].encode()) <= 256 * 1024 for event in events)


# ----- 9. code packages are bounded and cleaned up ----------------------------------------------


def zip_bomb(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("app.py", "w") as handler:
            handler.write(b"def handler(event, context):\n    return 1\n#")
            chunk = b"0" * (1 << 20)
            for _ in range(megabytes):
                handler.write(chunk)
    return buffer.getvalue()


def code_dir(server) -> Path:
    return server.data_dir / "functions" / "code"


def test_a_zip_bomb_is_refused_and_leaves_nothing_on_disk(wharf, lambda_client):
    bomb = zip_bomb(300)
    assert len(bomb) < 2 << 20
    with pytest.raises(ClientError) as refused:
        lambda_client.create_function(
            FunctionName="bomb", Runtime="python3.12", Role=ROLE,
            Handler="app.handler", Code={"ZipFile": bomb},
        )
    assert error_code(refused) == "InvalidParameterValueException"
    assert "Unzipped size must be smaller than 262144000 bytes" in refused.value.response["Error"]["Message"]
    leftovers = sum(entry.stat().st_size for entry in code_dir(wharf).rglob("*") if entry.is_file())
    assert leftovers < 1 << 20, leftovers


def test_deleted_functions_leave_no_code_behind(wharf, lambda_client, create_function):
    create_function("short-lived", "def handler(event, context):\n    return 1\n")
    lambda_client.update_function_code(FunctionName="short-lived", ZipFile=zip_bomb(1))
    packages = [entry for entry in code_dir(wharf).iterdir() if entry.suffix == ".zip"]
    assert len(packages) == 1, "the replaced package was removed"
    lambda_client.delete_function(FunctionName="short-lived")
    assert list(code_dir(wharf).iterdir()) == []


# Handler that tries to reach what a function must not (wharf's data directory, another
# function's code) and what it must (its own code, the system, its /tmp), and reports each.
PROBE = """
import os

def attempt(action):
    try:
        action()
        return "allowed"
    except PermissionError:
        return "denied"
    except OSError as err:
        return type(err).__name__

def handler(event, context):
    data, other = event["data_dir"], event["other_code"]
    def write_tmp():
        with open("/tmp/" + event["name"], "w") as handle:
            handle.write(event["name"])
    results = {
        "read receipt key": attempt(lambda: open(os.path.join(data, "receipt-key"), "rb").read()),
        "read outside file": attempt(lambda: open(event["outside_file"]).read()),
        "read queue store": attempt(lambda: open(os.path.join(data, "wharf.sqlite3"), "rb").read(16)),
        "write data dir": attempt(lambda: open(os.path.join(data, "planted"), "w").close()),
        "read other code": attempt(lambda: open(os.path.join(other, "app.py")).read()),
        "read own code": attempt(lambda: open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "app.py")).read()),
        "read /etc/passwd": attempt(lambda: open("/etc/passwd").read()),
        "read /etc/shadow": attempt(lambda: open("/etc/shadow").read()),
        "resolve localhost": attempt(lambda: __import__("socket").getaddrinfo("localhost", 80)),
        "run /bin/true": attempt(lambda: os.system("/bin/true")),
        "write /tmp": attempt(write_tmp),
        "write /dev/null": attempt(lambda: open("/dev/null", "w").write("x")),
    }
    try:
        results["data dir listing"] = os.listdir(data)
    except OSError as err:
        results["data dir listing"] = type(err).__name__
    status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
    results["capabilities"] = {name: status[name].strip() for name in ("CapEff", "CapPrm", "CapBnd", "CapAmb")}
    results["tmp"] = sorted(os.listdir("/tmp"))
    return results
"""


def unpacked_code_of(server, lambda_client, name: str) -> Path:
    sha = lambda_client.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    found = [path for path in code_dir(server).iterdir() if path.is_dir()]
    assert found, f"no unpacked package of {name} ({sha})"
    return found[0]


def own_tmp(results: dict, server) -> list[str]:
    """The function's /tmp listing without the path down to wharf's data directory, which the
    sandbox mounts back when the data directory is under /tmp (as here)."""
    return [name for name in results.pop("tmp") if not str(server.data_dir).startswith(f"/tmp/{name}/")]


def test_a_function_reaches_only_its_code_its_runtime_the_system_and_its_own_tmp(wharf, lambda_client, create_function, request):
    # A file of wharf's user outside /tmp, where the private /tmp does not hide anything: only
    # Landlock keeps the function out.
    outside = FUNCTIONS_DIR / f".secret-{random.randint(0, 1 << 30)}"
    outside.write_text("secret")
    request.addfinalizer(outside.unlink)
    create_function("victim", "def handler(event, context):\n    return 'secret code'\n")
    invoke_json(lambda_client, "victim", {})  # unpacks its code
    victim_code = unpacked_code_of(wharf, lambda_client, "victim")
    assert (victim_code / "app.py").exists()
    create_function("prober", PROBE)
    create_function("neighbour", PROBE)
    event = {"data_dir": str(wharf.data_dir), "other_code": str(victim_code), "outside_file": str(outside)}
    _, results = invoke_json(lambda_client, "prober", {**event, "name": "prober-file"})
    assert own_tmp(results, wharf) == ["prober-file"]
    # Out of reach: denied by Landlock, or not there at all (a data directory under /tmp is
    # hidden by the private /tmp; only the path down to the function's own code shows).
    unreachable = {"denied", "FileNotFoundError"}
    for probe in ("read receipt key", "read queue store", "read other code"):
        assert results.pop(probe) in unreachable, probe
    assert results.pop("read outside file") == "denied"
    shadow = "denied" if Path("/etc/shadow").exists() else "FileNotFoundError"
    assert results.pop("read /etc/shadow") == shadow, "secrets in /etc stay out of reach"
    listing = results.pop("data dir listing")
    assert listing == "PermissionError" or "receipt-key" not in listing, listing
    results.pop("write data dir")
    # Run by root, a function keeps uid 0 but no capability at all.
    capabilities = results.pop("capabilities")
    if os.geteuid() == 0:
        assert set(capabilities.values()) == {"0000000000000000"}, capabilities
    assert results == {
        "read own code": "allowed",
        "read /etc/passwd": "allowed",
        "resolve localhost": "allowed",
        "run /bin/true": "allowed",
        "write /tmp": "allowed",
        "write /dev/null": "allowed",
    }
    assert not (wharf.data_dir / "planted").exists()
    # Another environment has its own /tmp: it sees its own file only.
    _, results = invoke_json(lambda_client, "neighbour", {**event, "name": "neighbour-file"})
    assert own_tmp(results, wharf) == ["neighbour-file"]
    # The warm environment keeps its /tmp between invocations, as on Lambda.
    _, results = invoke_json(lambda_client, "prober", {**event, "name": "again"})
    assert own_tmp(results, wharf) == ["again", "prober-file"]
    # The private /tmp goes with the environment.
    scratch = wharf.data_dir / "functions" / "environments"
    assert len([entry for entry in scratch.iterdir()]) == 3
    for name in ("prober", "neighbour", "victim"):
        lambda_client.delete_function(FunctionName=name)
    wait_for(lambda: not any(scratch.iterdir()), timeout=10, what="the private /tmp directories to be removed")
    assert not any(Path("/tmp").glob("prober-file"))


def test_the_sandbox_can_be_turned_off(wharf_factory, tmp_path):
    server = wharf_factory(config=LAMBDA_TEST_CONFIG + "sandbox = false\n")
    lambda_client = client_of(server, "lambda")
    creator(lambda_client)("free", PROBE)
    event = {"data_dir": str(server.data_dir), "other_code": str(tmp_path), "outside_file": "/etc/hostname", "name": "x"}
    _, results = invoke_json(lambda_client, "free", event)
    assert results["read receipt key"] == "allowed"
    assert "function file access is not limited (functions.sandbox is off)" in server.log_tail(200_000)
