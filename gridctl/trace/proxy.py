"""The recording reverse proxy: stdlib ThreadingHTTPServer in front, one httpx client behind.

Each client path starts with a slot prefix (`/_g/<slot>`) that names the environment variable
the URL came from, so the proxy knows the upstream the user's own setting named and forwards
there, with the user's path after the prefix unchanged. Redirect Locations are rewritten to
`/_g/r/<n>` so the second hop of The Grid's 307 is seen too. Bounded everywhere: connection
cap, body caps, upstream timeouts, and stop() disconnects whatever is still open.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urljoin, urlsplit

from gridctl import grid
from gridctl.findings import Finding
from gridctl.loopback import TrackedServer
from gridctl.secrets import redact_header, redact_url
from gridctl.trace.record import CAPTURE_CAP, Call, StreamStats, redact_body

PREFIX = "/_g/"
MAX_CONNECTIONS = 256
# Calls kept for the report, --json and --har (about 11 KB each; bodies are capped): a long `--listen`
# session keeps the latest ones and counts the rest, so its memory and its final diagnosis stay bounded.
MAX_KEPT = 1000
MAX_REQUEST_BODY = 32 * 1024 * 1024
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length", "expect"})
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "x-consumption-key", "api-key"})


@dataclass(frozen=True)
class Upstream:
    """Where one slot's calls go, and how the user's own setting spelled it."""

    slot: str
    env: str              # the environment variable (or "listen")
    original: str         # the user's base URL (what the SDK would have used)
    origin: str           # scheme://host[:port] the calls are forwarded to
    shown_origin: str     # the origin as the user named it (differs from origin under --emulate)
    refused: Finding | None = None  # a look-alike host: nothing is forwarded there


@dataclass
class Route:
    upstream: Upstream
    url: str              # the full upstream URL
    sdk_url: str          # the URL as the user's own setting built it
    hop_of: int | None = None
    send_auth: bool = True


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"


class Proxy:
    def __init__(self, upstreams: list[Upstream], host: str = "127.0.0.1", port: int = 0,
                 timeout: float = 300.0, on_call: Callable[[Call], None] | None = None,
                 max_connections: int = MAX_CONNECTIONS, trust_env: bool = True) -> None:
        import httpx

        self.upstreams = {u.slot: u for u in upstreams}
        self.default_slot = upstreams[0].slot
        self.on_call = on_call
        self.calls: list[Call] = []
        self.forgotten = 0  # finished calls dropped to stay within MAX_KEPT, oldest first
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._hops: dict[int, tuple[str, str, bool, int]] = {}  # n -> (url, slot, same origin, call id)
        self._hop_ids = itertools.count(1)
        self._stopped = threading.Event()
        self.timeout = timeout
        # Every upstream call is bounded: connect, each read, each write, and the wait for a pooled connection.
        self.client = httpx.Client(follow_redirects=False, trust_env=trust_env,
                                   timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                                   limits=httpx.Limits(max_connections=max_connections,
                                                       max_keepalive_connections=32))
        self.server = _Server((host, port), self, max_connections)
        self.host = host
        self.port: int = self.server.server_address[1]
        url_host = f"[{host}]" if ":" in host else host
        self.root = f"http://{url_host}:{self.port}"
        self._thread: threading.Thread | None = None
        # intercept hook: the forward side (gridctl.trace.intercept.Interceptor) while it is on, else None
        self.intercept: Any = None

    def base_for(self, slot: str) -> str:
        """What the slot's environment variable becomes: the proxy plus the user's own path."""
        up = self.upstreams[slot]
        path = urlsplit(up.original.strip()).path
        return f"{self.root}{PREFIX}{slot}{path}"

    def start(self) -> Proxy:
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True,
                                        name=f"gridctl-trace-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        now = time.time()
        with self._lock:
            pending = [c for c in self.calls if not c.done.is_set()]
        for call in pending:  # still waiting on the upstream when the program ended or gave up
            if call.handled:
                continue
            call.total_ms = call.total_ms or (now - call.started) * 1000
            if call.status is None:
                call.notes.append("unfinished: no answer before the client gave up or the trace ended")
            else:  # the answer had begun: the program hung up (or ended) before the upstream finished
                call.client_gone = True
                call.notes.append("unfinished: the program stopped reading before the answer ended")
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(2.0)
        self.server.disconnect_all()
        self.server.server_close()
        self.client.close()
        deadline = time.monotonic() + 1.5  # one budget for all: each handler records its end once closed
        for call in pending:
            call.done.wait(max(0.0, deadline - time.monotonic()))

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, path: str, origin: str | None = None) -> Route | None:
        """Map a client path to its upstream; None when it names no slot or redirect.
        `origin`: the intercepted origin of a TLS-terminated connection (see gridctl.trace.intercept)."""
        if self.intercept is not None and (origin is not None or not path.startswith("/")):  # intercept hook
            return self.intercept.route(path, origin)  # type: ignore[no-any-return]
        if path.startswith(PREFIX + "r/"):
            n = path[len(PREFIX) + 2:].split("/", 1)[0].split("?", 1)[0]
            hop = self._hops.get(int(n)) if n.isdigit() else None
            if hop is None:
                return None
            url, slot, same_origin, call_id = hop
            return Route(self.upstreams[slot], url, redact_url(url), hop_of=call_id, send_auth=same_origin)
        if path.startswith(PREFIX):
            slot, _, rest = path[len(PREFIX):].partition("/")
            up = self.upstreams.get(slot)
            if up is None:
                return None
            rest = "/" + rest
        else:
            up, rest = self.upstreams[self.default_slot], path
        return Route(up, up.origin + rest, up.shown_origin + rest)

    def remember_hop(self, location: str, base: str, route: Route, call_id: int, root: str | None = None) -> str:
        """Rewrite a redirect Location to come back through the proxy (at `root`, the origin the client
        called: an intercepted host's too); remember where it pointed."""
        target = urljoin(base, location)
        same = origin_of(target) == route.upstream.origin and route.send_auth
        with self._lock:
            n = next(self._hop_ids)
            self._hops[n] = (target, route.upstream.slot, same, call_id)
            if len(self._hops) > MAX_KEPT:  # a redirect is followed at once: only the latest can still come
                del self._hops[next(iter(self._hops))]
        return f"{root or self.root}{PREFIX}r/{n}"

    def new_call(self, **kw: Any) -> Call:
        with self._lock:
            call = Call(id=next(self._ids), **kw)
            self.calls.append(call)
            if len(self.calls) > MAX_KEPT:
                self._forget_oldest(len(self.calls) - MAX_KEPT)
        return call

    def _forget_oldest(self, excess: int) -> None:
        """Drop the oldest finished calls (under the lock); one still in flight stays until it ends."""
        kept = []
        for call in self.calls:
            if excess > 0 and call.done.is_set():
                excess -= 1
                self.forgotten += 1
            else:
                kept.append(call)
        self.calls[:] = kept

    def recent(self, n: int) -> list[Call]:
        """The latest `n` calls, a snapshot: the list changes as calls come and go."""
        with self._lock:
            return self.calls[-n:]

    def finished(self, call: Call) -> None:
        # Reported before it counts as done: stop() waits for calls not done, so the live line of a
        # call that ends as the program exits is still written.
        try:
            if self.on_call is not None:
                self.on_call(call)
        finally:
            call.done.set()


class _Server(TrackedServer):
    def __init__(self, address: tuple[str, int], proxy: Proxy, cap: int) -> None:
        self.proxy = proxy  # clients that vanish mid-answer are recorded on the call, not printed
        super().__init__(address, _Handler, max_connections=cap)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate small writes: with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms on Linux), which alone would break the 2 ms budget (bench P6).
    disable_nagle_algorithm = True
    # A client that connects and sends nothing, or stops reading a long answer, frees its thread
    # (and its place under the connection cap) after this long instead of never.
    timeout = 120
    server: _Server
    # intercept hook: on a connection whose TLS trace terminated, the origin the client called
    # (`https://api.thegrid.ai`); set by gridctl.trace.intercept before the handler runs.
    intercept_origin: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def do_CONNECT(self) -> None:  # intercept hook: the forward proxy's tunnels (gridctl.trace.intercept)
        intercept = self.server.proxy.intercept
        if intercept is None or self.intercept_origin is not None:
            self.close_connection = True
            self._plain(405, b"gridctl trace: CONNECT needs the forward proxy (on unless --no-intercept)")
            return
        intercept.connect(self)

    def _client_root(self) -> str:
        """The origin the client called: the proxy's, an intercepted host's, or an absolute-form request's."""
        if self.intercept_origin is not None:
            return self.intercept_origin
        return origin_of(self.path) if not self.path.startswith("/") else self.server.proxy.root

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_REQUEST_BODY:
                    return None
                out += self.rfile.read(size)
                self.rfile.readline(8)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _proxy(self) -> None:
        proxy = self.server.proxy
        if proxy.intercept is not None and proxy.intercept.forward_blind(self):  # intercept hook: http, other host
            return
        started = time.time()
        t0 = time.perf_counter()
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self._plain(413, b"request body too large for gridctl trace")
            return
        route = proxy.route(self.path, self.intercept_origin)
        if route is None:
            self._plain(404, b"gridctl trace: this path names no upstream")
            return
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        auth = next((f"{k}: {v}" for k, v in headers if k.lower() in ("authorization", "x-api-key")), None)
        call = proxy.new_call(
            slot=route.upstream.slot, method=self.command,
            url=redact_url(self.path if not self.path.startswith("/") else self._client_root() + self.path),
            upstream_url=redact_url(route.url), sdk_url=route.sdk_url, started=started,
            request_headers=[(k, redact_header(k, v)) for k, v in self.headers.items()],
            request_body=redact_body(body), request_bytes=len(body), raw_auth=auth,
            raw_body=body[:CAPTURE_CAP], hop_of=route.hop_of)
        _read_model(call, body)
        if not route.send_auth:
            # The second hop goes to another host: the signed token is its credential, and the key
            # stays with the host the user's own setting named.
            headers = [(k, v) for k, v in headers if k.lower() not in AUTH_HEADERS]
        try:
            if route.upstream.refused is not None:
                call.refused = route.upstream.refused
                self._plain(502, b"gridctl trace: refused to forward the key to a look-alike host")
                call.handled = True
                return
            self._forward(call, route, headers, body, t0)
        finally:
            call.total_ms = call.total_ms or (time.perf_counter() - t0) * 1000
            proxy.finished(call)

    def _forward(self, call: Call, route: Route, headers: list[tuple[str, str]], body: bytes, t0: float) -> None:
        import httpx

        from gridctl.probe.classify import classify_exception

        proxy = self.server.proxy
        try:
            req = proxy.client.build_request(self.command, route.url, headers=headers, content=body)
            resp = proxy.client.send(req, stream=True)
        except httpx.HTTPError as exc:
            if proxy.stopping:  # our own shutdown closed the upstream call: it stays "no answer"
                return
            call.upstream_error = classify_exception(exc)
            call.total_ms = (time.perf_counter() - t0) * 1000
            if isinstance(exc, httpx.TimeoutException):
                self._plain(504, b"gridctl trace: the upstream did not answer in time")
            else:
                self._abort()  # mirror the reset: the client sees its connection dropped, as it would have
            call.handled = True
            return
        try:
            call.ttfb_ms = (time.perf_counter() - t0) * 1000
            self._answer(call, route, resp, t0)
        finally:
            resp.close()

    def _answer(self, call: Call, route: Route, resp: Any, t0: float) -> None:
        """Pass the upstream's answer back as it comes, recording it on the way."""
        import httpx

        chunked, no_body = self._head(call, route, resp)
        captured = bytearray()
        try:
            for chunk in ([] if no_body else resp.iter_raw()):
                if chunk and not self._relay(call, chunk, chunked, captured, t0):
                    break
            if chunked and not call.client_gone:
                self.wfile.write(b"0\r\n\r\n")
            # Set the moment the last byte is written: a program that exits right after reading it
            # must not see its call counted as unfinished by stop().
            call.handled = True
        except (httpx.HTTPError, OSError) as exc:
            if isinstance(exc, httpx.HTTPError) and not self.server.proxy.stopping:
                call.upstream_cut = True
                if isinstance(exc, httpx.TimeoutException):  # not a close: name the layer, as doctor does
                    from gridctl.probe.classify import classify_exception

                    call.cut_by = classify_exception(exc)
            self._abort()
        finally:
            call.raw_response = bytes(captured)
            call.response_body = redact_body(_decoded(bytes(captured), resp.headers.get("content-encoding", "")))
            call.total_ms = (time.perf_counter() - t0) * 1000

    def _head(self, call: Call, route: Route, resp: Any) -> tuple[bool, bool]:
        """Record the status line and headers and send them on (Location rewritten); (chunked, no body)."""
        call.status = resp.status_code
        call.content_type = resp.headers.get("content-type", "")
        call.request_id = next((resp.headers[h] for h in grid.REQUEST_ID_HEADERS if h in resp.headers), None)
        call.retry_after_s = _retry_after(resp.headers)
        call.response_headers = [(k, redact_header(k, v) if k.lower() != "location" else redact_url(v))
                                 for k, v in resp.headers.multi_items()]
        if "event-stream" in call.content_type:
            call.stream = StreamStats()
        length = resp.headers.get("content-length")
        no_body = self.command == "HEAD" or resp.status_code in (204, 304)
        chunked = length is None and not no_body
        self.send_response_only(resp.status_code, resp.reason_phrase or None)
        for k, v in resp.headers.multi_items():
            if k.lower() in HOP_BY_HOP:
                continue
            if k.lower() == "location" and 300 <= resp.status_code < 400:
                call.location = redact_url(urljoin(route.url, v))
                v = self.server.proxy.remember_hop(v, route.url, route, call.id, self._client_root())
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", length)
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        return chunked, no_body

    def _relay(self, call: Call, chunk: bytes, chunked: bool, captured: bytearray, t0: float) -> bool:
        """Record one piece of the body and pass it on; False when there is no point reading on."""
        call.response_bytes += len(chunk)
        if len(captured) < CAPTURE_CAP:
            captured += chunk[:CAPTURE_CAP - len(captured)]
        if call.stream is not None:
            call.stream.feed(chunk, time.perf_counter(), t0)
        if call.client_gone:
            return True
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        except OSError:
            call.client_gone = True
            return call.stream is not None  # a stream is read on: was the upstream's answer whole?
        return True

    def _plain(self, code: int, text: bytes) -> None:
        with contextlib.suppress(OSError):
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.send_header("X-Gridctl-Trace", "proxy")
            self.end_headers()
            self.wfile.write(text)

    def _abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _read_model(call: Call, body: bytes) -> None:
    from gridctl.probe.classify import parse_json

    doc = parse_json(body[:CAPTURE_CAP]) if body[:1] in (b"{", b" ", b"\n") else None
    if isinstance(doc, dict):
        model = doc.get("model")
        call.model = model if isinstance(model, str) else None
        call.stream_requested = doc.get("stream") is True


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0), ("x-ratelimit-retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None


def _decoded(data: bytes, encoding: str) -> bytes:
    if "gzip" not in encoding.lower():
        return data
    import zlib

    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, CAPTURE_CAP)
    except zlib.error:
        return b""
