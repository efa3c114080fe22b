"""Start and stop a wharf server from Python: the installed `wharf` executable, on a free port,
in memory or on a data directory, with its test clock.

    from wharf_server import Server

    with Server() as wharf:
        sqs = wharf.client("sqs")
        ...

The pytest plugin (`wharf_server.pytest_plugin`) builds its fixtures on this.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import urllib.request
from pathlib import Path

__all__ = ["Server", "binary"]

LISTENING = "wharf: listening on "


def binary() -> Path:
    """The `wharf` executable: `WHARF_BIN`, else the one this package installed beside the
    interpreter, else the first on `PATH`."""
    named = os.environ.get("WHARF_BIN")
    if named:
        return Path(named)
    beside = Path(sysconfig.get_path("scripts")) / "wharf"
    if beside.exists():
        return beside
    found = shutil.which("wharf")
    if found:
        return Path(found)
    raise FileNotFoundError("no wharf executable: install wharf-server, or set WHARF_BIN")


class Server:
    """One `wharf serve` process.

    `in_memory` keeps nothing on disk (the default); otherwise `data_dir` (a temporary one if
    not given) holds the stores. `test_clock` lets `advance_clock` move the server's time.
    `config` is TOML text for `--config`. The server's log goes to `log_path`.
    """

    def __init__(
        self,
        *,
        in_memory: bool = True,
        data_dir: str | os.PathLike | None = None,
        test_clock: bool = True,
        config: str | None = None,
        extra_args: tuple[str, ...] = (),
        executable: str | os.PathLike | None = None,
    ):
        self.in_memory = in_memory and data_dir is None
        self.test_clock = test_clock
        self.config = config
        self.extra_args = extra_args
        self.executable = Path(executable) if executable else binary()
        self._scratch = tempfile.TemporaryDirectory(prefix="wharf-")
        self.data_dir = Path(data_dir) if data_dir else Path(self._scratch.name) / "data"
        self.log_path = Path(self._scratch.name) / "wharf.log"
        self.process: subprocess.Popen | None = None
        self.endpoint: str | None = None

    def start(self, timeout: float = 20.0) -> "Server":
        """Starts the process and waits for its `listening on` line."""
        args = [str(self.executable), "serve", "--bind", "127.0.0.1:0"]
        args += ["--in-memory"] if self.in_memory else ["--data-dir", str(self.data_dir)]
        if self.test_clock:
            args.append("--test-clock")
        if self.config is not None:
            config_path = Path(self._scratch.name) / "wharf.toml"
            config_path.write_text(self.config, "utf-8")
            args += ["--config", str(config_path)]
        args += list(self.extra_args)
        env = {key: value for key, value in os.environ.items() if not key.startswith("WHARF_")}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env)
        found: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for raw in self.process.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith(LISTENING) and not found:
                    found.append(line.removeprefix(LISTENING))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or not found:
            self.stop()
            raise RuntimeError(f"wharf did not start; its log:\n{self.log()}")
        self.endpoint = found[0]
        return self

    def stop(self) -> None:
        """Stops the process (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        """What the server wrote to its log so far."""
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def advance_clock(self, seconds: int) -> int:
        """Moves the server's clock `seconds` forward (retention, visibility, delays, schedules
        and retries act on it at once); returns the new time in epoch milliseconds."""
        if not self.test_clock:
            raise RuntimeError("this server was started without its test clock")
        request = urllib.request.Request(
            f"{self.endpoint}/_wharf/clock", data=json.dumps({"advance_seconds": seconds}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)["now_millis"]

    def reset(self, access_key: str | None = None, secret_key: str | None = None) -> float:
        """Empties every service of the server (`POST /_wharf/reset`): queues, functions,
        mappings, rules, log groups and IAM; what the configuration declares is made again and
        the clock stays. Returns how many milliseconds it took. With auth enforced, give a root
        key of the server's configuration (the request is signed with it; needs botocore)."""
        url = f"{self.endpoint}/_wharf/reset"
        headers: dict[str, str] = {}
        if access_key is not None:
            from botocore.auth import SigV4Auth  # noqa: PLC0415
            from botocore.awsrequest import AWSRequest  # noqa: PLC0415
            from botocore.credentials import Credentials  # noqa: PLC0415

            signed = AWSRequest(method="POST", url=url, data=b"")
            SigV4Auth(Credentials(access_key, secret_key or ""), "wharf", "us-east-1").add_auth(signed)
            headers = dict(signed.headers.items())
        request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)["elapsed_ms"]

    def client(self, service: str, *, region: str = "us-east-1", account: str = "000000000000", **kwargs):
        """A boto3 client of `service` for this server, acting in `account` (with auth off, a
        12-digit access key selects that account)."""
        import boto3  # noqa: PLC0415 (boto3 is needed only by those who ask for clients)

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=account,
            aws_secret_access_key="wharf",
            **kwargs,
        )

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._scratch.cleanup()


def main() -> None:  # pragma: no cover - a convenience for `python -m wharf_server`
    os.execv(str(binary()), ["wharf", *sys.argv[1:]])
