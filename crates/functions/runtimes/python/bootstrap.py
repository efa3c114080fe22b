"""wharf's Python runtime bootstrap (Lambda Runtime API 2018-06-01 client).

Started by wharf as ``python3 -u bootstrap.py`` with cwd = LAMBDA_TASK_ROOT.
Standard library only; works on CPython 3.8+. Start-up is kept small: the
HTTP client is a few lines over ``_socket`` (http.client would pull in email
and ssl), and ``logging`` is configured only once something imports it.
See ../README.md for the contract.
"""

import _socket
import os
import sys
import time

_API = "/2018-06-01/runtime"
_NBSP = "\u00a0"
_BOOTSTRAP_FILE = os.path.abspath(__file__)

_request_id = ""  # current invoke id, read by the logging handler


def _out(text):
    """Write one log record (already ending with "\\n") to stdout."""
    stream = sys.stdout
    stream.write(text)
    stream.flush()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Minimal persistent HTTP/1.1 client (one keep-alive connection).


class _HttpError(Exception):
    pass


class _Client(object):
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host:  # "host" without port
            host, port = address, "80"
        self.host = host.strip("[]")
        self.port = int(port)
        self.host_header = address.encode("latin-1")
        self.sock = None
        self.buf = b""

    def _connect(self):
        # IP literals skip getaddrinfo: its first call loads the NSS modules (~8 ms).
        for family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                _socket.inet_pton(family, self.host)
            except (OSError, ValueError):
                continue
            stype, proto, sockaddr = _socket.SOCK_STREAM, 0, (self.host, self.port)
            break
        else:
            family, stype, proto, _, sockaddr = _socket.getaddrinfo(
                self.host, self.port, 0, _socket.SOCK_STREAM
            )[0]
        sock = _socket.socket(family, stype, proto)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.connect(sockaddr)
        self.sock = sock
        self.buf = b""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except Exception:
                pass
            self.sock = None

    def request(self, method, path, body=None, headers=None):
        """Send one request, return (status, headers dict (lower-case), body)."""
        if self.sock is None:
            self._connect()
        parts = [method, b" ", path, b" HTTP/1.1\r\nHost: ", self.host_header,
                 b"\r\nUser-Agent: wharf-python-runtime\r\n"]
        if headers:
            for key, value in headers:
                parts += [key, b": ", value, b"\r\n"]
        if body is not None:
            parts += [b"Content-Type: application/json\r\nContent-Length: ",
                      str(len(body)).encode(), b"\r\n\r\n", body]
        else:
            parts.append(b"\r\n")
        self.sock.sendall(b"".join(parts))  # headers + body in one write
        return self._read_response()

    def _recv(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise _HttpError("connection closed by the Runtime API")
        return chunk

    def _read_response(self):
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            buf += self._recv()
        head = buf[:end].decode("latin-1").split("\r\n")
        rest = buf[end + 4:]
        status_parts = head[0].split(" ", 2)
        if len(status_parts) < 2 or not status_parts[0].startswith("HTTP/"):
            raise _HttpError("bad status line %r" % head[0])
        status = int(status_parts[1])
        headers = {}
        for line in head[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = headers.get("content-length")
        if status in (204, 304) or 100 <= status < 200:
            body, self.buf = b"", rest
        elif length is not None:
            n = int(length)
            if len(rest) < n:
                chunks = [rest]
                have = len(rest)
                while have < n:
                    chunk = self._recv()
                    chunks.append(chunk)
                    have += len(chunk)
                rest = b"".join(chunks)
            body, self.buf = rest[:n], rest[n:]
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked(rest)
        else:  # delimited by connection close
            chunks = [rest]
            while True:
                chunk = self.sock.recv(262144)
                if not chunk:
                    break
                chunks.append(chunk)
            body = b"".join(chunks)
            self.close()
            return status, headers, body
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _read_chunked(self, buf):
        out = []
        while True:
            while b"\r\n" not in buf:
                buf += self._recv()
            line, _, buf = buf.partition(b"\r\n")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    while b"\r\n" not in buf:
                        buf += self._recv()
                    line, _, buf = buf.partition(b"\r\n")
                    if not line:
                        break
                self.buf = buf
                return b"".join(out)
            while len(buf) < size + 2:
                buf += self._recv()
            out.append(buf[:size])
            buf = buf[size + 2:]


def _die(message, code=1):
    _flush()
    sys.stderr.write("wharf runtime: %s\n" % message)
    sys.stderr.flush()
    os._exit(code)


# --------------------------------------------------------------------------
# Errors and their log record


def _error(message, error_type, stack_trace, request_id=""):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace or [],
    }


def _user_traceback(tb):
    """Formatted frames of tb, starting at the first frame outside this file."""
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] != _BOOTSTRAP_FILE:
            frames = frames[i:]
            break
    return traceback.format_list(frames)


def _error_from_exception(exc, request_id=""):
    try:
        trace = _user_traceback(exc.__traceback__)
    except Exception:
        trace = []
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable %s object>" % type(exc).__name__
    return _error(message, type(exc).__name__, trace, request_id)


def _log_error(err):
    """[ERROR] Type: message + traceback, one record with \\r as inner newline."""
    head = "[ERROR]"
    if err["errorType"]:
        head += " " + err["errorType"]
    if err["errorMessage"]:
        if err["errorType"]:
            head += ":"
        head += " " + err["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in err["stackTrace"]:
        if element == "":
            lines.append("")
            continue
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(_NBSP * (len(line) - len(stripped)) + stripped)
    _out("\r".join(lines).replace("\n", "\r") + "\n")


# --------------------------------------------------------------------------
# JSON. The json package imports re and enum (~5 ms at start-up); its C
# accelerator _json does the same work without them, exactly as json.dumps /
# json.loads use it (indent=None). Falls back to json where _json is missing.


def _json_default(obj):
    if type(obj).__name__ == "Decimal":  # DynamoDB numbers, without importing decimal
        if obj.is_nan():
            return float("nan")
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % obj.__class__.__name__)


def _make_json():
    try:
        import _json

        class _DecodeContext(object):
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            memo = {}

            @staticmethod
            def parse_constant(name):
                return {"-Infinity": float("-inf"), "Infinity": float("inf"),
                        "NaN": float("nan")}[name]

        scan = _json.make_scanner(_DecodeContext())
        make_encoder = _json.make_encoder
        encode_str = _json.encode_basestring
    except Exception:
        import json

        def loads(text):
            return json.loads(text)

        def dumps(obj):
            return json.dumps(obj, ensure_ascii=False, default=_json_default).encode("utf-8")

        return loads, dumps

    whitespace = " \t\n\r"

    def loads(text):
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        start = len(text) - len(text.lstrip(whitespace))
        try:
            obj, end = scan(text, start)
            if text[end:].strip(whitespace):
                raise ValueError("Extra data: char %d" % end)
        except StopIteration as e:
            raise ValueError("Expecting value: char %d" % e.value)
        return obj

    def dumps(obj):
        if isinstance(obj, str):
            return encode_str(obj).encode("utf-8")
        encoder = make_encoder({}, _json_default, encode_str, None, ": ", ", ",
                               False, False, True)
        return "".join(encoder(obj, 0)).encode("utf-8")

    return loads, dumps


_loads, _dumps = _make_json()


# --------------------------------------------------------------------------
# logging: root handler in AWS's text format, installed when logging is imported


class _LoggingHook(object):
    """sys.meta_path finder that configures logging right after it is imported."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_and_setup(module):
            exec_module(module)
            _setup_logging(module)

        try:
            loader.exec_module = exec_and_setup
        except Exception:
            pass
        return spec

    # Python < 3.4 protocol, not used but harmless.
    def find_module(self, name, path=None):
        return None


def _setup_logging(logging):
    try:
        level_names = {
            "TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING",
            "WARNING": "WARNING", "ERROR": "ERROR", "FATAL": "CRITICAL",
            "CRITICAL": "CRITICAL",
        }

        class LambdaHandler(logging.Handler):
            def emit(self, record):
                try:
                    record.aws_request_id = _request_id
                    msg = self.format(record)
                    _out(msg.replace("\n", "\r") + "\n")
                except Exception:
                    self.handleError(record)

        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        handler = LambdaHandler()
        handler.setFormatter(formatter)
        root = logging.getLogger()
        level = level_names.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").strip().upper())
        if level:
            root.setLevel(level)
        root.addHandler(handler)
    except Exception:
        pass  # a user module shadowing "logging"; leave it alone


# --------------------------------------------------------------------------
# Context


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self, data=None):
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name"]

    def __init__(self, data):
        for field in self.__slots__:
            setattr(self, field, data.get(field))

    def __repr__(self):
        return "Client([%s])" % ",".join(
            "%s=%s" % (f, getattr(self, f)) for f in self.__slots__)


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __init__(self, data):
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (
            self.custom, self.env, self.client)


class LambdaContext(object):
    def __init__(self, request_id, deadline_ms, arn, client_context, identity, tenant_id):
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as in AWS's Python runtime.
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.tenant_id = tenant_id
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        _out(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])"
            % (self.aws_request_id, self.log_group_name, self.log_stream_name,
               self.function_name, self.memory_limit_in_mb, self.function_version,
               self.invoked_function_arn, self.client_context, self.identity,
               self.tenant_id)
        )


class _Fault(Exception):
    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def _parse_header_json(value, what):
    try:
        return _loads(value)
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError",
                     "Unable to parse %s JSON: %s" % (what, e))


# --------------------------------------------------------------------------
# Init


def _load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _Fault("Runtime.BuiltInModuleConflict",
                         "Cannot use built-in module %s as a handler module" % modname)
        __import__(modname.replace("/", "."))
        module = sys.modules[modname.replace("/", ".")]
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError",
                     "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError",
                     "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound",
                     "Handler '%s' missing on module '%s'" % (fname, modname))


def _init_failed(client, err):
    _log_error(err)
    _flush()
    try:
        client.request(b"POST", (_API + "/init/error").encode(), _dumps(err),
                       [(b"Lambda-Runtime-Function-Error-Type",
                         err["errorType"].encode("utf-8", "replace"))])
    except Exception:
        pass
    os._exit(1)


# --------------------------------------------------------------------------
# Main loop


def main():
    global _request_id
    env = os.environ
    api = env.get("AWS_LAMBDA_RUNTIME_API")
    if not api:
        _die("AWS_LAMBDA_RUNTIME_API is not set")
    task_root = env.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # sys.path[0] is this file's directory; the task root takes its place.
    sys.path[0] = task_root
    sdk = env.get("WHARF_PYTHON_SDK_PATH")
    if sdk and sdk not in sys.path:
        sys.path.append(sdk)

    if "logging" in sys.modules:
        _setup_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingHook())

    client = _Client(api)
    try:
        handler = _load_handler(env.get("_HANDLER", ""))
    except _Fault as f:
        _init_failed(client, _error(f.message, f.error_type, f.trace))
    except Exception as e:
        _init_failed(client, _error_from_exception(e))
    except BaseException as e:  # SystemExit / KeyboardInterrupt at import
        _init_failed(client, _error_from_exception(e))

    next_path = (_API + "/invocation/next").encode()
    error_type_header = b"Lambda-Runtime-Function-Error-Type"
    request = client.request
    loads = _loads

    while True:
        try:
            status, headers, body = request(b"GET", next_path)
        except Exception as e:
            _die("GET /invocation/next failed: %s" % e)
        if status != 200:
            _die("GET /invocation/next returned HTTP %d" % status)

        request_id = headers.get("lambda-runtime-aws-request-id", "")
        _request_id = request_id
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            env["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in env:
            del env["_X_AMZN_TRACE_ID"]

        err = None
        try:
            try:
                deadline = int(headers.get("lambda-runtime-deadline-ms") or 0)
            except ValueError:
                deadline = 0
            cc = headers.get("lambda-runtime-client-context")
            cc = ClientContext(_parse_header_json(cc, "Client Context")) if cc else None
            ci = headers.get("lambda-runtime-cognito-identity")
            ci = CognitoIdentity(_parse_header_json(ci, "Cognito Identity") if ci else None)
            context = LambdaContext(
                request_id, deadline, headers.get("lambda-runtime-invoked-function-arn"),
                cc, ci, headers.get("lambda-runtime-aws-tenant-id"))
            content_type = headers.get("content-type")
            if content_type is None or content_type.startswith("application/json") or not body:
                try:
                    event = loads(body) if body else None
                except Exception as e:
                    raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
            else:
                event = body
            result = handler(event, context)
            try:
                payload = _dumps(result)
            except Exception as e:
                raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)
        except _Fault as f:
            err = _error(f.message, f.error_type, f.trace, request_id)
        except Exception as e:
            err = _error_from_exception(e, request_id)

        if err is None:
            _flush()
            try:
                status, _, _ = request(
                    b"POST", (_API + "/invocation/" + request_id + "/response").encode(), payload)
            except Exception as e:
                _die("POST /response failed: %s" % e)
        else:
            _log_error(err)
            _flush()
            try:
                status, _, _ = request(
                    b"POST", (_API + "/invocation/" + request_id + "/error").encode(),
                    _dumps(err), [(error_type_header, err["errorType"].encode("utf-8", "replace"))])
            except Exception as e:
                _die("POST /error failed: %s" % e)
        if status >= 500:
            _die("Runtime API returned HTTP %d" % status)


if __name__ == "__main__":
    main()
