"""Fixtures of the Lambda suite: a wharf server configured for tests, boto3 clients of it and a
function factory. Helpers (zips, invocation, polling) are in lambda_support.py.

Every test gets its own server: the `wharf` fixture below overrides the shared one with
lambda_support.LAMBDA_TEST_CONFIG: `[functions] async_retry_delay_seconds = 1`, so a failed
asynchronous invocation is retried after 1 s and 2 s (wharf multiplies the delay by the attempt
number) instead of Lambda's one and two minutes, and the Python interpreter named. Tests that
need more `[functions]` keys call `lambda_server(wharf_factory, toml)`.
"""

from __future__ import annotations

from typing import Callable

import pytest

from lambda_support import LAMBDA_TEST_CONFIG, client_of, creator, ensure_test_role


def lambda_server(wharf_factory, config: str = ""):
    """A started server with the suite's configuration plus `config` (more TOML)."""
    return wharf_factory(config=LAMBDA_TEST_CONFIG + config)


@pytest.fixture
def wharf(wharf_factory):
    """A running wharf with the suite's configuration (1 s asynchronous retry delay); with the
    suite's auth enforced, the default role of functions exists."""
    server = lambda_server(wharf_factory)
    ensure_test_role(server.endpoint)
    return server


@pytest.fixture
def lambda_client(wharf):
    return client_of(wharf, "lambda")


@pytest.fixture
def logs_client(wharf):
    return client_of(wharf, "logs")


@pytest.fixture
def sqs_client(wharf):
    return client_of(wharf, "sqs")


@pytest.fixture
def create_function(lambda_client) -> Callable[..., dict]:
    """`create_function(name, code, runtime='python3.12', handler='app.handler', timeout=3, **kw)`
    creates a function (extra keyword arguments go to CreateFunction; `code` is a zip, a dict of
    files or the handler module's source) and waits until it is Active; returns the
    CreateFunction response."""
    return creator(lambda_client)
