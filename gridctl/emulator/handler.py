"""One HTTP request to the emulator: routing, auth, validation, and where each fault bites.

Order matters and mirrors a real deployment: status page (another host, never affected) ->
connection-level faults (hang, reset, slow) -> edge proxy (HTML errors, 307 routing) ->
auth -> body (validate.py, under every scenario) -> instrument -> balance/rate/server faults -> the answer.
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import sys
import time
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from gridctl.emulator import payloads, validate
from gridctl.emulator.scenarios import INSTRUMENTS, PLACEHOLDER_KEYS, Scenario


class EmulatorState(Protocol):
    """What a request handler reads and updates on its emulator. server.Emulator satisfies it; naming
    it here, instead of importing server, keeps the import graph one-way (server -> handler)."""

    scenario: Scenario
    latency: float
    verbose: bool
    port: int

    @property
    def cross_host(self) -> str: ...

    def wait(self, seconds: float | None) -> bool: ...

    def record(self, entry: dict[str, Any]) -> None: ...

    def next_inference(self) -> int: ...

    def sign(self, path: str, expired: bool = False) -> str: ...

    def token_problem(self, path: str, token: str | None) -> str | None: ...

    @property
    def receipts(self) -> dict[str, dict[str, Any]]: ...

    def add_receipt(self, receipt: dict[str, Any]) -> None: ...


MAX_BODY = 1 << 20
STATUS_PATHS = {"/api/v2/status.json": False, "/api/v2/summary.json": True}
CHAT, MESSAGES, MODELS, DIAGNOSTICS = "/v1/chat/completions", "/v1/messages", "/v1/models", "/v1/diagnostics"
USAGE = "/v1/usage/"
ROUTES = {CHAT: "POST", MESSAGES: "POST", MODELS: "GET", DIAGNOSTICS: "GET"}
Headers = Iterable[tuple[str, str]]


def _not_found(path: str) -> str:
    if "/v1/v1/" in path:
        hint = "the path has a doubled /v1: drop one from your base URL"
    elif not path.startswith("/v1/"):
        hint = "the path lacks /v1: the base URL is https://api.thegrid.ai/v1"
    elif path in ("/v1/completions", "/v1/embeddings"):
        hint = "only /v1/chat/completions, /v1/messages and /v1/models exist"
    else:
        hint = "check your base URL is https://api.thegrid.ai/v1 with nothing appended"
    return f"Not found: {path} ({hint})"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming
    # Without this, an unparseable request line is treated as HTTP/0.9 and answered
    # with a bare HTML page: no status line, no request ID.
    default_request_version = "HTTP/1.0"
    timeout = 15.0  # socket timeout: a stalled client can't pin this thread forever
    request_id = "req_0000000000000000"
    t_start = 0.0

    @property
    def emu(self) -> EmulatorState:
        return self.server.emulator  # type: ignore[attr-defined, no-any-return]

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; with Nagle on, the client's delayed
        # ACK adds ~40 ms to every answer and would swamp `latency` in benchmarks.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        self.request_id = f"req_{secrets.token_hex(8)}"
        super().handle_one_request()

    def version_string(self) -> str:
        return "thegrid-emulator/1.0"

    def send_response(self, code: int, message: str | None = None) -> None:
        # Also reached by the stdlib's own error pages, so every answer carries the IDs.
        super().send_response(code, message)
        self.send_header("x-grid-request-id", self.request_id)
        self.send_header("x-request-id", self.request_id)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line holds no credentials; headers are never logged.
        if self.emu.verbose:
            sys.stderr.write(f"emulator {self.address_string()} {format % args}\n")

    def handle_expect_100(self) -> bool:
        # An oversized upload gets its 413 now, instead of an invitation to send 50 MiB.
        return True if self._declared_length() > MAX_BODY else super().handle_expect_100()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        emu, sc = self.emu, self.emu.scenario
        path = urlsplit(self.path).path
        body = self._read_body()
        emu.record({"method": self.command, "path": self.path, "host": self.headers.get("Host"),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body or b"", "request_id": self.request_id, "time": time.time()})
        if body is None or emu.wait(emu.latency):
            return self._drop()
        if path in STATUS_PATHS and self.command == "GET":
            return self._json(200, payloads.status(sc.status, STATUS_PATHS[path]))
        if path.startswith(USAGE) and self.command == "GET":
            return self._usage(path[len(USAGE):])
        self.t_start = time.perf_counter()  # server-side timing of the receipt starts here
        if sc.hang and (sc.fail_instruments is None or _instrument_of(body) in sc.fail_instruments):
            emu.wait(None)
            return self._drop()
        if sc.reset:
            return self._reset()
        if emu.wait(sc.delay):
            return self._drop()
        api_path = path[2:] if path.startswith("/r/") else path
        method = ROUTES.get(api_path)
        if method is None:
            return self._error(404, _not_found(path))
        if self.command != method:
            return self._error(405, f"Use {method} for {api_path}", [("Allow", method)])
        if api_path == MODELS:
            return self._models()
        if api_path == DIAGNOSTICS:
            problem = self._auth_problem(messages_api=False)
            return self._error(401, problem) if problem else self._json(200, payloads.diagnostics(sc))
        if sc.html_status:
            body_html = payloads.proxy_html(sc.html_status, HTTPStatus(sc.html_status).phrase)
            return self._send(sc.html_status, body_html.encode(), "text/html")
        if sc.redirect and (path == api_path or sc.redirect == "loop"):
            return self._redirect(api_path)
        signed = sc.redirect is not None and path != api_path
        if signed:
            problem = emu.token_problem(path, parse_qs(urlsplit(self.path).query).get("token", [None])[0])
            if problem:
                return self._error(401, problem)
        self._inference(api_path, body, signed=signed)

    def _models(self) -> None:
        has_key = "Authorization" in self.headers or "x-api-key" in self.headers
        problem = self._auth_problem(messages_api=True) if has_key else None
        if problem:
            return self._error(401, problem)
        if self.emu.scenario.models_status:
            return self._error(self.emu.scenario.models_status, "Instrument catalogue unavailable")
        self._json(200, payloads.models())

    def _redirect(self, api_path: str) -> None:
        emu = self.emu
        if emu.scenario.redirect == "loop":
            token = parse_qs(urlsplit(self.path).query).get("token", ["0"])[0]
            location = f"/r{api_path}?token={int(token) + 1 if token.isdigit() else 1}"
        else:
            expired = emu.scenario.redirect == "token-expired"
            location = f"/r{api_path}?token={emu.sign('/r' + api_path, expired=expired)}"
        if emu.scenario.redirect == "cross-host":
            location = f"http://{emu.cross_host}:{emu.port}{location}"
        html = payloads.redirect_html(location).encode()
        self._send(307, html, "text/html; charset=utf-8", [("Location", location)])

    def _auth_problem(self, messages_api: bool) -> str | None:
        auth, xkey = self.headers.get("Authorization"), self.headers.get("x-api-key")
        if messages_api and xkey is not None:
            key = xkey
        elif auth is None:
            hint = " (x-api-key is only for the Messages API)" if xkey is not None else ""
            return f"Missing Authorization header: send 'Authorization: Bearer YOUR_KEY'{hint}"
        elif not auth.startswith("Bearer "):
            return "Malformed Authorization header: expected 'Bearer <key>' (capital B, one space)"
        else:
            key = auth[len("Bearer "):]
        broken = any(c.isspace() or c in "\"'" for c in key)
        if not key or broken or key in PLACEHOLDER_KEYS or self.emu.scenario.reject_all_keys:
            return "Invalid API key"
        return None

    def _inference(self, api_path: str, body: bytes, signed: bool = False) -> None:
        messages_api = api_path == MESSAGES
        # On the signed second hop of a redirect the token (checked already) is the credential.
        problem = None if signed else self._auth_problem(messages_api)
        if problem:
            return self._error(401, problem)
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._error(400, f"Request body is not valid JSON: {exc}")
        if not isinstance(req, dict):
            return self._error(400, "Request body must be a JSON object")
        for field, kind in (("model", str), ("messages", list)):
            if not isinstance(req.get(field), kind):
                what = "missing" if field not in req else f"must be a {kind.__name__}"
                return self._error(400, f"Required field '{field}' is {what}")
        rejected = validate.problem(req, messages_api)
        if rejected:
            return self._json(rejected.status, rejected.body())
        instrument = req["model"]
        if instrument not in INSTRUMENTS:
            names = ", ".join(list(INSTRUMENTS)[:9])
            return self._error(404, f"Unknown instrument '{instrument}'. Use one of: {names}")
        if self._scenario_failure(instrument):
            return None
        if req.get("stream") is True and messages_api:
            self._stream([f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                          for name, data in payloads.message_events(req)], req, api_path)
        elif req.get("stream") is True:
            self._stream([f"data: {json.dumps(c)}\n\n".encode()
                          for c in payloads.chat_chunks(req, self.emu.scenario.stream_tokens)]
                         + [b"data: [DONE]\n\n"], req, api_path)
        else:
            answer = payloads.message(req) if messages_api else payloads.chat_completion(req)
            if self._until(self.emu.scenario.first_byte_delay):  # the headers leave on the injected schedule
                return self._drop()
            elapsed = time.perf_counter() - self.t_start  # recorded first: a client asks right after
            self.emu.add_receipt(payloads.receipt(self.request_id, req, api_path, 2, elapsed, elapsed))
            if self.emu.scenario.cut_body:
                return self._cut(json.dumps(answer).encode())
            self._json(200, answer, truncate=self.emu.scenario.truncate_body)

    def _scenario_failure(self, instrument: str) -> bool:
        sc = self.emu.scenario
        if sc.fail_status is None:
            return False
        if sc.fail_instruments is not None and instrument not in sc.fail_instruments:
            return False
        if sc.fail_first is not None and self.emu.next_inference() > sc.fail_first:
            return False
        headers: list[tuple[str, str]] = []
        if sc.retry_after is not None:
            wait = str(sc.retry_after)
            headers = [("Retry-After", wait), ("x-ratelimit-retry-after", wait),
                       ("x-ratelimit-remaining", "0"),
                       ("x-ratelimit-reset", str(int(time.time()) + sc.retry_after))]
        self._error(sc.fail_status, sc.fail_detail.format(instrument=instrument), headers)
        return True

    def _declared_length(self) -> int:
        try:
            return max(int(self.headers.get("Content-Length", "0")), -1)
        except ValueError:
            return -1

    def _read_body(self) -> bytes | None:
        """The request body, or None once a 400/413 has been sent (without reading it)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self._declared_length()
        if length < 0:
            self._refuse(400, "Invalid Content-Length header")
            return None
        if length > MAX_BODY:
            self._refuse(413, "Request body too large: the limit is 1 MiB")
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        data = bytearray()
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";", 1)[0], 16)
            except ValueError:
                self._refuse(400, "Malformed chunked request body")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(data)
            if len(data) + size > MAX_BODY:
                self._refuse(413, "Request body too large: the limit is 1 MiB")
                return None
            data += self.rfile.read(size)
            self.rfile.readline(1024)

    def _refuse(self, code: int, detail: str) -> None:
        self.close_connection = True  # the unread body makes the connection unusable
        self._error(code, detail)

    def _drop(self) -> None:
        self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send(self, code: int, body: bytes, ctype: str, headers: Headers = ()) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _cut(self, body: bytes) -> None:
        """Announce the whole body, send half of it, close: a response cut in transit."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])

    def _json(self, code: int, obj: Any, headers: Headers = (), truncate: bool = False) -> None:
        body = json.dumps(obj).encode()
        self._send(code, body[: len(body) // 2] if truncate else body, "application/json", headers)

    def _error(self, code: int, detail: str, headers: Headers = ()) -> None:
        self._json(code, {"errors": {"detail": detail}}, headers)

    def _usage(self, request_id: str) -> None:
        """GET /v1/usage/{id}: the receipt of a request this emulator served, else 404."""
        problem = self._auth_problem(messages_api=False)
        if problem:
            return self._error(401, problem)
        receipt = self.emu.receipts.get(request_id) if self.emu.scenario.usage_endpoint else None
        if receipt is None:
            return self._error(404, f"No usage record for request {request_id[:80]!r}")
        self._json(200, receipt)

    def _until(self, offset: float) -> bool:
        """Wait until `offset` seconds after the request arrived (True: stopping). A schedule, not a
        sleep, so the emulator's own work never adds to the latency shapes a test checks against."""
        return self.emu.wait(self.t_start + offset - time.perf_counter()) if offset > 0 else False

    def _stream(self, events: list[bytes], req: dict[str, Any], api_path: str) -> None:
        sc = self.emu.scenario
        tokens, first_token = 0, None
        if self._until(sc.first_byte_delay):
            return self._drop()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, event in enumerate(events):
            if i == sc.stream_cut_after:
                return self._drop()  # no last chunk: the client sees a cut-off body
            if sc.stream_gap and i == len(events) // 2 and self.emu.wait(sc.stream_gap):
                return self._drop()
            if _carries_content(event):  # the token shapes: a pause before each content chunk
                if self._until(sc.first_byte_delay + sc.first_token_delay + tokens * sc.token_gap):
                    return self._drop()
                tokens += 1
                first_token = first_token or time.perf_counter() - self.t_start
            if i == len(events) - 1:  # the receipt exists before the client can see the end
                elapsed = time.perf_counter() - self.t_start
                self.emu.add_receipt(payloads.receipt(self.request_id, req, api_path, tokens,
                                                      first_token or elapsed, elapsed))
            # wfile is unbuffered, so each event leaves as its own chunk right away.
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")


def _carries_content(event: bytes) -> bool:
    """Does this SSE event carry generated text (OpenAI delta content, Anthropic text_delta)?"""
    try:
        doc = json.loads(event.split(b"data:", 1)[1])
    except (IndexError, ValueError):
        return False
    if not isinstance(doc, dict):
        return False
    if doc.get("type") == "content_block_delta":
        return True
    choices = doc.get("choices") or [{}]
    delta = choices[0].get("delta") if isinstance(choices[0], dict) else None
    return isinstance(delta, dict) and bool(delta.get("content") or delta.get("tool_calls"))


def _instrument_of(body: bytes) -> str | None:
    """The `model` a request body names, or None (not JSON, not an object)."""
    try:
        req = json.loads(body)
    except ValueError:
        return None
    model = req.get("model") if isinstance(req, dict) else None
    return model if isinstance(model, str) else None
