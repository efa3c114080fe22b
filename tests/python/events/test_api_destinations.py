"""EventBridge connections and API destinations through boto3, delivering by real HTTP to a
test server in this process: Basic, API key and OAuth client-credentials authorization,
HttpParameters, retries on 5xx, dead letters on 4xx, deauthorization and the rate limit."""

from __future__ import annotations

import json
import queue
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from test_events import PATTERN, error_of, events_client, queue_arn

PAID = {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"state": "paid"})}


class Endpoint:
    """An HTTP server recording each request; `answers` gives the status of the next ones."""

    def __init__(self, tls: tuple[str, str] | None = None):
        self.requests: queue.Queue = queue.Queue()
        self.answers: list[int] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_any(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                endpoint.requests.put({"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": body, "at": time.monotonic()})
                if self.path.startswith("/token"):
                    payload = json.dumps({"access_token": "token-1", "token_type": "Bearer", "expires_in": 3600}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status = endpoint.answers.pop(0) if endpoint.answers else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = do_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 10) -> dict:
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def events(wharf):
    return events_client(wharf)


def destination(events, name: str, connection_arn: str, url: str, **extra) -> str:
    return events.create_api_destination(Name=name, ConnectionArn=connection_arn, InvocationEndpoint=url,
                                         HttpMethod="POST", **extra)["ApiDestinationArn"]


def route(events, rule: str, target: dict) -> None:
    events.put_rule(Name=rule, EventPattern=PATTERN)
    events.put_targets(Rule=rule, Targets=[target])


def test_an_api_key_destination_gets_the_event_with_its_parameters(events, endpoint):
    created = events.create_connection(
        Name="hooks", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"},
                        "InvocationHttpParameters": {
                            "HeaderParameters": [{"Key": "x-origin", "Value": "wharf", "IsValueSecret": False}],
                            "QueryStringParameters": [{"Key": "token", "Value": "hidden", "IsValueSecret": True}],
                            "BodyParameters": [{"Key": "extra", "Value": "added", "IsValueSecret": False}]}})
    assert created["ConnectionState"] == "AUTHORIZED"
    assert ":connection/hooks/" in created["ConnectionArn"]
    described = events.describe_connection(Name="hooks")
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}, "no secret shown"
    [query] = described["AuthParameters"]["InvocationHttpParameters"]["QueryStringParameters"]
    assert query == {"Key": "token", "IsValueSecret": True}, "a secret parameter's value is not shown"
    assert described["SecretArn"].startswith("arn:aws:secretsmanager:")
    arn = destination(events, "orders", created["ConnectionArn"], f"{endpoint.url}/hooks/*/in", InvocationRateLimitPerSecond=10)
    assert events.describe_api_destination(Name="orders")["InvocationRateLimitPerSecond"] == 10
    route(events, "to-hook", {"Id": "hook", "Arn": arn, "HttpParameters": {
        "PathParameterValues": ["orders"], "HeaderParameters": {"x-team": "core"},
        "QueryStringParameters": {"source": "rule"}}})
    [entry] = events.put_events(Entries=[PAID])["Entries"]
    request = endpoint.next()
    assert request["method"] == "POST"
    assert request["path"] == "/hooks/orders/in?token=hidden&source=rule"
    headers = request["headers"]
    assert headers["x-api-key"] == "s3cret" and headers["x-origin"] == "wharf" and headers["x-team"] == "core"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    body = json.loads(request["body"])
    assert body["id"] == entry["EventId"] and body["detail"] == {"state": "paid"} and body["extra"] == "added"


def test_basic_and_oauth_connections_authorize_their_requests(events, endpoint):
    basic = events.create_connection(Name="basic", AuthorizationType="BASIC",
                                     AuthParameters={"BasicAuthParameters": {"Username": "ann", "Password": "pw"}})
    route(events, "basic", {"Id": "b", "Arn": destination(events, "basic", basic["ConnectionArn"], f"{endpoint.url}/basic")})
    events.put_events(Entries=[PAID])
    request = endpoint.next()
    assert request["headers"]["authorization"] == "Basic YW5uOnB3"

    oauth = events.create_connection(
        Name="oauth", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={"OAuthParameters": {
            "ClientParameters": {"ClientID": "client", "ClientSecret": "secret"},
            "AuthorizationEndpoint": f"{endpoint.url}/token", "HttpMethod": "POST",
            "OAuthHttpParameters": {"BodyParameters": [{"Key": "grant_type", "Value": "client_credentials",
                                                        "IsValueSecret": False}]}}})
    assert oauth["ConnectionState"] == "AUTHORIZING"
    token_request = endpoint.next()
    assert token_request["path"] == "/token"
    assert token_request["headers"]["authorization"] == "Basic Y2xpZW50OnNlY3JldA=="
    assert token_request["body"] == "grant_type=client_credentials"
    state = ""
    for _ in range(50):
        state = events.describe_connection(Name="oauth")["ConnectionState"]
        if state == "AUTHORIZED":
            break
        time.sleep(0.05)
    assert state == "AUTHORIZED"
    described = events.describe_connection(Name="oauth")["AuthParameters"]["OAuthParameters"]
    assert described["ClientParameters"] == {"ClientID": "client"}
    events.put_targets(Rule="basic", Targets=[{"Id": "b", "Arn": destination(events, "oauth", oauth["ConnectionArn"], f"{endpoint.url}/oauth")}])
    events.put_events(Entries=[PAID])
    request = endpoint.next()
    assert (request["path"], request["headers"]["authorization"]) == ("/oauth", "Bearer token-1")


def test_server_errors_are_retried_and_client_errors_dead_lettered(wharf, events, sqs, endpoint):
    connection = events.create_connection(Name="flaky", AuthorizationType="API_KEY",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    arn = destination(events, "flaky", connection["ConnectionArn"], f"{endpoint.url}/flaky")
    dead_url, dead_arn = queue_arn(sqs, "api-dlq")
    route(events, "flaky", {"Id": "f", "Arn": arn, "DeadLetterConfig": {"Arn": dead_arn}})
    endpoint.answers = [503]
    events.put_events(Entries=[PAID])
    first = endpoint.next()
    wharf.advance_clock(5)
    second = endpoint.next()
    assert json.loads(first["body"])["id"] == json.loads(second["body"])["id"], "the same event, retried"

    endpoint.answers = [400]
    events.put_events(Entries=[PAID])
    endpoint.next()
    dead = sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=10, MessageAttributeNames=["All"])["Messages"][0]
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "INVALID_PARAMETER"
    assert "answered 400" in dead["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]

    deauthorized = events.deauthorize_connection(Name="flaky")
    assert deauthorized["ConnectionState"] == "DEAUTHORIZED"
    events.put_events(Entries=[PAID])
    dead = sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=10, MessageAttributeNames=["All"])["Messages"][0]
    assert "deauthorized" in dead["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
    assert endpoint.requests.empty(), "a deauthorized connection sends nothing"


def test_requests_are_spaced_to_the_rate_limit(events, endpoint):
    connection = events.create_connection(Name="slow", AuthorizationType="API_KEY",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    arn = destination(events, "slow", connection["ConnectionArn"], f"{endpoint.url}/slow", InvocationRateLimitPerSecond=2)
    route(events, "slow", {"Id": "s", "Arn": arn})
    events.put_events(Entries=[PAID] * 4)
    times = [endpoint.next()["at"] for _ in range(4)]
    assert times[-1] - times[0] >= 1.4, "four requests at two per second take at least 1.5 s"


def test_connection_and_destination_validation(events, endpoint):
    with pytest.raises(ClientError) as excinfo:
        events.create_api_destination(Name="orphan", ConnectionArn="arn:aws:events:us-east-1:000000000000:connection/none/1",
                                      InvocationEndpoint=f"{endpoint.url}/x", HttpMethod="POST")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    connection = events.create_connection(Name="c", AuthorizationType="BASIC",
                                          AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    with pytest.raises(ClientError) as excinfo:
        events.create_connection(Name="c", AuthorizationType="BASIC",
                                 AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    assert error_of(excinfo)[0] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as excinfo:
        events.create_connection(Name="d", AuthorizationType="API_KEY", AuthParameters={})
    assert error_of(excinfo)[0] == "ValidationException"
    destination(events, "d", connection["ConnectionArn"], f"{endpoint.url}/d")
    with pytest.raises(ClientError) as excinfo:
        events.delete_connection(Name="c")
    assert error_of(excinfo)[0] == "ConcurrentModificationException"
    assert [d["Name"] for d in events.list_api_destinations(ConnectionArn=connection["ConnectionArn"])["ApiDestinations"]] == ["d"]
    events.update_api_destination(Name="d", InvocationRateLimitPerSecond=5)
    assert events.describe_api_destination(Name="d")["InvocationRateLimitPerSecond"] == 5
    events.delete_api_destination(Name="d")
    events.update_connection(Name="c", AuthorizationType="API_KEY",
                             AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    assert events.describe_connection(Name="c")["AuthorizationType"] == "API_KEY"
    assert [c["Name"] for c in events.list_connections()["Connections"]] == ["c"]
    assert events.delete_connection(Name="c")["ConnectionState"] == "DELETING"
    with pytest.raises(ClientError) as excinfo:
        events.describe_connection(Name="c")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_an_https_destination_is_reached_with_tls(tmp_path, monkeypatch, wharf_factory):
    """A server certificate of a private CA, which SSL_CERT_FILE makes trusted, as an operator
    would add their own CA."""
    ca, ca_key = tmp_path / "ca.pem", tmp_path / "ca-key.pem"
    certificate, key, request = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "cert.csr"
    extensions = tmp_path / "leaf.ext"
    extensions.write_text("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "1",
            "-subj", "/CN=wharf test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request), "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(certificate), "-days", "1", "-extfile", str(extensions))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    server = Endpoint(tls=(str(certificate), str(key)))
    try:
        wharf = wharf_factory()
        events = events_client(wharf)
        connection = events.create_connection(Name="tls", AuthorizationType="API_KEY",
                                              AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        arn = destination(events, "tls", connection["ConnectionArn"], f"{server.url}/secure")
        route(events, "tls", {"Id": "t", "Arn": arn})
        events.put_events(Entries=[PAID])
        request = server.next()
        assert request["path"] == "/secure" and json.loads(request["body"])["detail"] == {"state": "paid"}
    finally:
        server.close()
