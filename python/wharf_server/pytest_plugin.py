"""pytest fixtures for testing code against wharf (installed with wharf-server, found through
the `pytest11` entry point).

- `wharf_server` (session): one in-memory server with its test clock on; for the session,
  `AWS_ENDPOINT_URL` points at it and dummy credentials and `us-east-1` are set, so code that
  makes its own boto3 clients reaches it unchanged.
- `wharf` (per test): a fresh, empty account of that server for the test. With auth off a
  12-digit access key is its own account, so each test gets its own queues, functions, rules
  and logs without any reset; `AWS_ACCESS_KEY_ID` is that account for the test.
- `wharf_client` (per test): `wharf_client("sqs")`, a boto3 client in the test's account.
- `wharf_reset` (per test): empties the whole server before the test (`POST /_wharf/reset`,
  a few milliseconds), for tests that must work in the default account `000000000000`;
  yields the server.

Options: `--wharf-config FILE` (TOML given to the server), `--wharf-data-dir DIR` (keep the
stores on disk instead of in memory).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from wharf_server import Server

_ACCOUNTS = itertools.count(100000000001)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wharf")
    group.addoption("--wharf-config", default=None, help="a wharf TOML configuration for the session's server")
    group.addoption("--wharf-data-dir", default=None, help="keep the session's server's stores in this directory")


class WharfAccount:
    """The test's account on the session's server."""

    def __init__(self, server: Server, account: str):
        self.server = server
        self.account = account
        self.endpoint = server.endpoint

    def client(self, service: str, **kwargs):
        """A boto3 client of `service` acting in this test's account."""
        return self.server.client(service, account=self.account, **kwargs)

    def advance_clock(self, seconds: int) -> int:
        """Moves the (whole) server's clock forward: see `Server.advance_clock`."""
        return self.server.advance_clock(seconds)


@pytest.fixture(scope="session")
def wharf_server(request: pytest.FixtureRequest):
    config_file = request.config.getoption("--wharf-config")
    config = Path(config_file).read_text("utf-8") if config_file else None
    data_dir = request.config.getoption("--wharf-data-dir")
    server = Server(config=config, data_dir=data_dir, in_memory=data_dir is None).start()
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("AWS_ENDPOINT_URL", server.endpoint)
        environment.setenv("AWS_ACCESS_KEY_ID", "000000000000")
        environment.setenv("AWS_SECRET_ACCESS_KEY", "wharf")
        environment.setenv("AWS_DEFAULT_REGION", "us-east-1")
        environment.setenv("AWS_REGION", "us-east-1")
        environment.delenv("AWS_PROFILE", raising=False)
        environment.delenv("AWS_SESSION_TOKEN", raising=False)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def wharf(wharf_server: Server, monkeypatch: pytest.MonkeyPatch) -> WharfAccount:
    account = str(next(_ACCOUNTS))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account)
    return WharfAccount(wharf_server, account)


@pytest.fixture
def wharf_client(wharf: WharfAccount):
    return wharf.client


@pytest.fixture
def wharf_reset(wharf_server: Server) -> Server:
    wharf_server.reset()
    return wharf_server
