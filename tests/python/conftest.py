"""Fixtures of the Python black-box suite: the real wharf binary on a free port.

Every test gets its own server (`wharf` fixture) with a fresh data directory: start-up takes a
few milliseconds, so nothing is shared between tests, neither ports nor data. Tests that need a
configuration file use `wharf_factory(config=...)`.

Servers run with `--test-clock`: `server.advance_clock(seconds)` moves the server's time forward
(retention, visibility, delays, schedules) instead of waiting for it. The offset lasts for one
process: do not restart a server after moving its clock (stored times would be in its future).

Environment:
    WHARF_BIN       the binary (default: target/debug/wharf relative to the repository root)
    WHARF_PROTOCOL  json or query: which SQS protocol the installed botocore speaks, asserted by
                    test_client_speaks_the_protocol_under_test (scripts/test-python.sh sets it)
    WHARF_LOG       passed through to the server (its logs go to a file per server; a failing
                    test's report shows their tail)
    WHARF_TEST_AUTH enforce: every server the factory makes has auth enforced, with the suite's
                    keys as root keys (`x` of the default account, `111111111111` … of theirs),
                    unless the test's own configuration has an [auth] table
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from sqs_support import LISTENING_MARKER, auth_under_test, protocol_under_test, wharf_binary

START_TIMEOUT_SECONDS = 15.0

# What WHARF_TEST_AUTH=enforce adds to a server's configuration: the keys the suite signs with
# become root keys (a 12-digit key of its own account, as it selects that account with auth off).
ENFORCED_ROOT_KEYS = '[auth]\nmode = "enforce"\n' + "".join(
    f'[[auth.credentials]]\naccess_key_id = "{key}"\nsecret_access_key = "{secret}"\naccount_id = "{account}"\n'
    for key, secret, account in [
        ("x", "x", "000000000000"),
        ("local", "local", "000000000000"),  # the examples' key
        ("111111111111", "x", "111111111111"),
        ("222222222222", "x", "222222222222"),
        ("333333333333", "x", "333333333333"),
    ]
)


STOP_TIMEOUT_SECONDS = 10.0

# Every process any fixture started, so none can outlive the session whatever happens.
_ALL_PROCESSES: list[subprocess.Popen] = []

# One boto3 session makes every client: it loads the SQS model once (a fresh session per client
# costs ~50 ms). Sessions are not thread-safe, so client creation holds a lock; clients are.
_BOTO3_SESSION = boto3.session.Session()
_BOTO3_SESSION_LOCK = threading.Lock()


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, SIGKILL it if the test runner dies first (even
    of a SIGKILL, where no cleanup code of ours would run)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class WharfServer:
    """One wharf process on 127.0.0.1 with its own data directory.

    `endpoint` changes only if a restart could not get the old port back; make clients with
    `client()` after a restart rather than keeping old ones.
    """

    def __init__(
        self, binary: Path, data_dir: Path, log_dir: Path, config_file: Path | None = None, test_clock: bool = True
    ):
        self.binary = binary
        self.test_clock = test_clock
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.config_file = config_file
        self.process: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.port: int | None = None
        self.starts = 0
        self._log_path: Path | None = None

    # ----- process control -------------------------------------------------------------------

    def start(self, port: int | None = None) -> "WharfServer":
        """Starts the binary (on `port`, or any free port) and waits for its listening line."""
        assert self.process is None, "already running"
        self.starts += 1
        self._log_path = self.log_dir / f"wharf-{self.starts}.log"
        args = [str(self.binary), "serve", "--bind", f"127.0.0.1:{port or 0}", "--data-dir", str(self.data_dir)]
        if self.config_file is not None:
            args += ["--config", str(self.config_file)]
        if self.test_clock:
            args.append("--test-clock")
        env = dict(os.environ)
        env.setdefault("NO_COLOR", "1")
        for inherited in ("WHARF_BIND", "WHARF_DATA_DIR", "WHARF_IN_MEMORY", "WHARF_CONFIG", "WHARF_TEST_CLOCK"):
            env.pop(inherited, None)
        with open(self._log_path, "wb") as log_file:
            process = subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        _ALL_PROCESSES.append(process)
        self.process = process
        lines: queue.Queue[str | None] = queue.Queue()

        def pump_stdout() -> None:
            # Reads stdout to the end so the child can never block on a full pipe.
            assert process.stdout is not None
            for raw in process.stdout:
                lines.put(raw.decode("utf-8", "replace"))
            lines.put(None)

        threading.Thread(target=pump_stdout, name="wharf-stdout", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._abort(f"no '{LISTENING_MARKER.strip()}' line within {START_TIMEOUT_SECONDS:.0f} s", seen)
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
                self._abort(f"wharf exited with status {process.returncode} before listening", seen)
            seen.append(line)
            if line.startswith(LISTENING_MARKER):
                self.endpoint = line[len(LISTENING_MARKER):].strip()
                self.port = int(self.endpoint.rsplit(":", 1)[1])
                return self

    def _abort(self, reason: str, stdout_lines: list[str]) -> None:
        self._terminate(signal.SIGKILL)
        pytest.fail(
            f"{reason}\ncommand: {self.binary} serve (data dir {self.data_dir})\n"
            f"stdout:\n{''.join(stdout_lines)}\nstderr:\n{self.log_tail()}",
            pytrace=False,
        )

    def _terminate(self, sig: int) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"wharf ignored signal {sig} for {STOP_TIMEOUT_SECONDS} s; killed it")
        return process.returncode

    def stop(self) -> int | None:
        """Stops the server with SIGTERM (graceful shutdown) and returns its exit status."""
        return self._terminate(signal.SIGTERM)

    def kill9(self) -> None:
        """Kills the server with SIGKILL, as a crash or power loss would; `start()` brings it back."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> "WharfServer":
        """SIGTERM, then a new process on the same data directory (and port, if it is free)."""
        old_port = self.port
        status = self.stop()
        assert status == 0, f"graceful shutdown exited with {status}\n{self.log_tail()}"
        return self.start_again(old_port)

    def start_again(self, port: int | None) -> "WharfServer":
        """Starts on `port` again, or on any free port if something else took it meanwhile."""
        try:
            return self.start(port)
        except pytest.fail.Exception:
            if "in use" not in self.log_tail():
                raise
            return self.start()

    def advance_clock(self, seconds: int) -> int:
        """Moves the server's clock `seconds` forward (it runs the retention sweep, wakes long
        polls and the rule scheduler before answering); returns the server's new time in ms."""
        assert self.endpoint, "server not started"
        request = urllib.request.Request(
            f"{self.endpoint}/_wharf/clock",
            data=json.dumps({"advance_seconds": seconds}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["now_millis"]

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ----- clients ---------------------------------------------------------------------------

    def client(self, region: str = "us-east-1", access_key: str = "x", **config: object):
        """A boto3 SQS client for this server with dummy credentials and no retries (with
        credentials unverified, a 12-digit access key selects that account)."""
        assert self.endpoint, "server not started"
        settings = {"retries": {"total_max_attempts": 1}, "connect_timeout": 5, "read_timeout": 40}
        settings.update(config)
        with _BOTO3_SESSION_LOCK:
            return _BOTO3_SESSION.client(
                "sqs",
                region_name=region,
                endpoint_url=self.endpoint,
                aws_access_key_id=access_key,
                aws_secret_access_key="x",
                config=Config(**settings),
            )

    def log_tail(self, limit: int = 8000) -> str:
        """The current process's log: all of it when short, else its start and its end."""
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text("utf-8", "replace")
        if len(text) <= limit:
            return text
        half = limit // 2
        return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"


@pytest.fixture
def wharf_factory(tmp_path: Path, request: pytest.FixtureRequest):
    """Makes and starts servers: `wharf_factory(config="[sqs]\\npurge_interval_seconds = 0")`.

    Every server it made is stopped at the end of the test, passed or failed.
    """
    binary = wharf_binary()
    if not binary.exists():
        pytest.fail(f"wharf binary not found at {binary}; build it or set WHARF_BIN", pytrace=False)
    servers: list[WharfServer] = []

    def make(config: str | None = None, start: bool = True, test_clock: bool = True) -> WharfServer:
        index = len(servers)
        base = tmp_path / f"server-{index}"
        data_dir = base / "data"
        log_dir = base / "logs"
        data_dir.mkdir(parents=True)
        log_dir.mkdir(parents=True)
        config_file = None
        if auth_under_test() == "enforce" and "[auth]" not in (config or ""):
            config = (config or "") + "\n" + ENFORCED_ROOT_KEYS
        if config is not None:
            config_file = base / "wharf.toml"
            config_file.write_text(config, "utf-8")
        server = WharfServer(binary, data_dir, log_dir, config_file, test_clock)
        servers.append(server)
        if start:
            server.start()
        return server

    request.node.wharf_servers = servers
    yield make

    problems = []
    for server in servers:
        try:
            server.stop()
        except AssertionError as err:  # it ignored SIGTERM and was killed: worth a failure
            problems.append(str(err))
    assert not problems, problems


@pytest.fixture
def wharf(wharf_factory) -> WharfServer:
    """A running wharf with the default configuration (AWS's delays and limits)."""
    return wharf_factory()


@pytest.fixture
def sqs(wharf: WharfServer):
    """A us-east-1 client of the `wharf` server."""
    return wharf.client()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Adds the tail of every server's log to the report of a failed test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for index, server in enumerate(getattr(item, "wharf_servers", [])):
            report.sections.append((f"wharf server {index} log (tail)", server.log_tail()))


def pytest_report_header(config):
    return f"wharf: {wharf_binary()} protocol={protocol_under_test() or 'unset'} boto3={boto3.__version__}"


def pytest_sessionfinish(session, exitstatus):
    for process in _ALL_PROCESSES:
        if process.poll() is None:
            process.kill()
            process.wait()
