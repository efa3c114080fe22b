"""A mock Lambda Runtime API (2018-06-01) and a harness that runs a bootstrap
against it as a real subprocess.

Every request the bootstrap makes is recorded with the TCP connection it came
over and with how much of the process's stdout had been written by then (the
harness drains the stdout pipe when a request arrives, so anything the
process wrote before sending the request is in the snapshot).
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIMES = os.path.dirname(HERE)
PY_BOOTSTRAP = os.path.join(RUNTIMES, "python", "bootstrap.py")
NODE_BOOTSTRAP = os.path.join(RUNTIMES, "node", "bootstrap.js")

API = "/2018-06-01/runtime"


class Request(object):
    def __init__(self, method, path, headers, body, conn, stdout_at):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case keys
        self.body = body
        self.conn = conn  # (host, port) of the client side of the connection
        self.stdout_at = stdout_at  # stdout text written before this request

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Request(%s %s %r)" % (self.method, self.path, self.body[:200])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that went away (killed processes) are expected here


class MockRuntimeAPI(object):
    def __init__(self):
        self.invocations = queue.Queue()
        self.requests = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.next_status = 200  # set to 500 to make /next fail
        self.drain = lambda: ""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per reply

            def log_message(self, *args):
                pass

            def _record(self, body):
                stdout_at = api.drain()
                req = Request(self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()},
                              body, self.client_address, stdout_at)
                with api.lock:
                    api.requests.append(req)
                    api.changed.notify_all()
                return req

            def _reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._record(b"")
                if self.path != API + "/invocation/next":
                    return self._reply(404, b'{"errorType":"NotFound"}')
                if api.next_status != 200:
                    return self._reply(api.next_status, b'{"errorType":"ServiceError"}')
                while True:
                    try:
                        inv = api.invocations.get(timeout=0.5)
                    except queue.Empty:
                        if api.closed:
                            return self._reply(500, b"{}")
                        continue
                    if inv is None:
                        return self._reply(500, b'{"errorType":"ServiceError"}')
                    return self._reply(200, inv["body"], inv["headers"])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                self._record(body)
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self.closed = False
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.closed = True
        self.invocations.put(None)
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, event, request_id=None, deadline_ms=None, headers=None, raw_body=None):
        """Queue one invocation; returns its request id."""
        request_id = request_id or str(uuid.uuid4())
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 30000
        h = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn":
                "arn:aws:lambda:us-east-1:000000000000:function:fn",
            "Lambda-Runtime-Trace-Id":
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        }
        h.update(headers or {})
        body = raw_body if raw_body is not None else json.dumps(event).encode()
        self.invocations.put({"headers": h, "body": body})
        return request_id

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        with self.lock:
            while True:
                for req in self.requests:
                    if predicate(req):
                        return req
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timed out; requests so far: %r" % (self.requests,))
                self.changed.wait(left)

    def result(self, request_id, timeout=10.0):
        """The /response or /error request for request_id."""
        prefix = API + "/invocation/" + request_id + "/"
        return self.wait_for(lambda r: r.method == "POST" and r.path.startswith(prefix), timeout)

    def init_error(self, timeout=10.0):
        return self.wait_for(lambda r: r.path == API + "/init/error", timeout)


class Runtime(object):
    """A bootstrap subprocess connected to a MockRuntimeAPI."""

    def __init__(self, argv, task_root, handler, extra_env=None):
        self.api = MockRuntimeAPI()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        }
        env.update(extra_env or {})
        self.proc = subprocess.Popen(argv, cwd=str(task_root), env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._lock = threading.Lock()
        self._out = bytearray()
        self._err = bytearray()
        for f in (self.proc.stdout, self.proc.stderr):
            os.set_blocking(f.fileno(), False)
        self.api.drain = self.drain

    def _read(self, f, buf):
        while True:
            try:
                chunk = os.read(f.fileno(), 65536)
            except BlockingIOError:
                return
            except (OSError, ValueError):
                return
            if not chunk:
                return
            buf += chunk

    def drain(self):
        with self._lock:
            self._read(self.proc.stdout, self._out)
            self._read(self.proc.stderr, self._err)
            return self._out.decode("utf-8", "replace")

    @property
    def stdout(self):
        return self.drain()

    @property
    def stderr(self):
        self.drain()
        return self._err.decode("utf-8", "replace")

    def wait_exit(self, timeout=10.0):
        deadline = time.time() + timeout
        while self.proc.poll() is None:
            self.drain()
            if time.time() > deadline:
                raise AssertionError("process did not exit; stderr=%s" % self.stderr)
            time.sleep(0.01)
        self.drain()
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.drain()
        self.api.close()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


def python_argv(python=None):
    return [python or sys.executable, "-u", PY_BOOTSTRAP]


def node_argv():
    return ["node", NODE_BOOTSTRAP]
