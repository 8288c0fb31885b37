"""The recording reverse proxy: stdlib ThreadingHTTPServer in front, one httpx client behind.

Each client path starts with a slot prefix (`/_g/<slot>`) that names the environment variable
the URL came from, so the proxy knows the upstream the user's own setting named and forwards
there, with the user's path after the prefix unchanged. Redirect Locations are rewritten to
`/_g/r/<n>` so the second hop of The Grid's 307 is seen too. Bounded everywhere: connection
cap, one memory budget for the bodies of every connection, a deadline for receiving each request,
upstream timeouts, and stop() disconnects whatever is still open.

Per request: `_proxy` receives (target checked as a path, body whole or not at all), routes, and hands
the parsed request to `serve(route, body, ...)`, the one path that records, forwards and relays; any
other entry point that has a Route (a request arriving on a terminated CONNECT tunnel) calls it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urljoin, urlsplit

from gridctl import grid
from gridctl.errors import NetworkProblem
from gridctl.findings import Finding, finding
from gridctl.loopback import TrackedServer
from gridctl.trace.abort import ClientGone, install, watching
from gridctl.trace.record import CAPTURE_CAP, Call, StreamStats, redact_body, shown_header, shown_text, shown_url

PREFIX = "/_g/"
MAX_CONNECTIONS = 256
# Calls kept for the report, --json and --har (about 11 KB each; bodies are capped): a long `--listen`
# session keeps the latest ones and counts the rest, so its memory and its final diagnosis stay bounded.
MAX_KEPT = 1000
MAX_REQUEST_BODY = 32 * 1024 * 1024
# One memory budget for every body held at once, across connections: request bodies (held until forwarded) and
# answers read whole for their verdict. Past it a request gets 503 from trace at once.
BODY_BUDGET = 64 * 1024 * 1024
VERDICT_CAP = 2 * 1024 * 1024  # an answer up to this long is judged whole; a longer one is "not checked"
# Seconds to receive one request (line, headers and body) from when the connection starts waiting for it: a
# deadline, not a per-read timeout, so a client that trickles bytes cannot hold a place under the cap.
REQUEST_DEADLINE = 60.0
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length", "expect"})
# The end of the note on a call whose client closed its connection while the upstream was silent.
CLIENT_LEFT = "gridctl trace closed the upstream"
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
    sdk_url: str          # the URL as the user's own setting built it (redacted when recorded)
    hop_of: int | None = None
    send_auth: bool = True
    refused: Finding | None = None  # the joined URL's host is a look-alike: nothing is forwarded


class Refusal(Exception):
    """The request cannot be forwarded: trace answers it itself with this status (and says so)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


class Incomplete(Exception):
    """The request did not arrive whole (the client went, or its deadline passed): nothing is forwarded."""


def reverse_target(method: str, target: str) -> str:
    """The request target as a path for the reverse proxy, or Refusal(400).

    The one place that decides what a target may be here: origin-form (`/path?query`) only. Absolute-form
    (`http://host/...`) and CONNECT's authority-form belong to a forward proxy; anything else (`.evil.example`,
    `@169.254.169.254/`, `//host/`) could move the upstream host once joined onto its origin."""
    if method == "CONNECT":
        raise Refusal(400, "CONNECT is not served by trace's reverse proxy")
    if not target.startswith("/") or target.startswith("//"):
        raise Refusal(400, "the request target is not a path (only /path?query is forwarded)")
    if "\\" in target or any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F for c in target):
        raise Refusal(400, "the request target has a backslash or a control character")
    return target


def same_origin(url: str, origin: str) -> bool:
    """Does `url` (as httpx will send it) go to exactly `origin`'s scheme, host and port?"""
    import httpx

    try:
        a, b = httpx.URL(url), httpx.URL(origin)
    except (httpx.InvalidURL, ValueError, TypeError):
        return False
    return (a.scheme, a.host, a.port, a.userinfo) == (b.scheme, b.host, b.port, b.userinfo)


def lookalike(url: str) -> Finding | None:
    """The look-alike refusal (probe.policy.no_contact) for a URL a redirect joined: only a host that imitates
    The Grid's, or no usable URL, stops it."""
    from gridctl.probe.policy import no_contact

    bad = no_contact(url)
    return bad if bad is not None and bad.code in ("url.host_typo", "url.invalid") else None


class Budget:
    """Bytes of bodies held at once across every connection: one memory bound for the whole proxy."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.total:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used = max(0, self.used - n)


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"


class Proxy:
    def __init__(self, upstreams: list[Upstream], host: str = "127.0.0.1", port: int = 0,
                 timeout: float = 300.0, on_call: Callable[[Call], None] | None = None,
                 max_connections: int = MAX_CONNECTIONS, trust_env: bool = True,
                 request_deadline: float = REQUEST_DEADLINE, body_budget: int = BODY_BUDGET) -> None:
        import httpx

        if trust_env:  # a proxy variable httpx cannot use would crash its client: say which, exit 9
            from gridctl.probe.proxyenv import proxy_problem

            bad = proxy_problem()
            if bad is not None:
                raise NetworkProblem(f"{bad.message} (net.proxy)")
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
        self.budget = Budget(body_budget)
        self.request_deadline = request_deadline
        # Every upstream call is bounded: connect, each read, each write, and the wait for a pooled connection.
        self.client = httpx.Client(follow_redirects=False, trust_env=trust_env,
                                   timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                                   limits=httpx.Limits(max_connections=max_connections,
                                                       max_keepalive_connections=32))
        install(self.client)  # a client that leaves while the upstream is silent closes the upstream call at once
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
        """Map a client path (checked by reverse_target) to its upstream; None when it names no slot or redirect;
        Refusal when the joined URL would leave the upstream's origin. `origin`: the intercepted origin of a
        TLS-terminated connection, or an absolute-form request's (see gridctl.trace.intercept)."""
        if self.intercept is not None and (origin is not None or not path.startswith("/")):  # intercept hook
            return self.intercept.route(path, origin)  # type: ignore[no-any-return]
        if path.startswith(PREFIX + "r/"):
            n = path[len(PREFIX) + 2:].split("/", 1)[0].split("?", 1)[0]
            hop = self._hops.get(int(n)) if n.isdigit() else None
            if hop is None:
                return None
            url, slot, same, call_id = hop
            # The look-alike refusal after every join: a Location may name any host.
            return Route(self.upstreams[slot], url, url, hop_of=call_id, send_auth=same,
                         refused=lookalike(url))
        if path.startswith(PREFIX):
            slot, _, rest = path[len(PREFIX):].partition("/")
            up = self.upstreams.get(slot)
            if up is None:
                return None
            rest = "/" + rest
        else:
            up, rest = self.upstreams[self.default_slot], path
        url = up.origin + rest
        if not same_origin(url, up.origin):  # a request never changes the upstream host
            raise Refusal(400, "the request target would change the upstream host")
        return Route(up, url, up.shown_origin + rest)

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

    def answered(self, method: str, target: str, status: int, why: str) -> Call:
        """A call trace answered itself (a refused target, an invalid or unreceivable request, its own limits):
        recorded, and diagnosed as trace's answer, never as the upstream's."""
        call = self.new_call(slot="-", method=shown_text(method)[:16] or "-", url=shown_url(target)[:300],
                             upstream_url="", sdk_url="", started=time.time(), status=status,
                             answered_by_trace=True)
        call.proxy_answer = finding("trace.proxy_answered", f"gridctl trace answered {status} itself: {why}. "
                                    "Nothing was forwarded to the upstream.")
        call.total_ms = 0.0
        call.handled = True
        self.finished(call)
        return call

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
        self._deadlines: dict[socket.socket, float] = {}
        self._next_sweep = 0.0
        super().__init__(address, _Handler, max_connections=cap)

    def arm(self, conn: socket.socket) -> None:
        with self.conn_lock:
            self._deadlines[conn] = time.monotonic() + self.proxy.request_deadline

    def disarm(self, conn: socket.socket) -> bool:
        """Stop the clock on a request now received; False when its deadline had already passed."""
        with self.conn_lock:
            deadline = self._deadlines.pop(conn, None)
        return deadline is not None and time.monotonic() < deadline

    def service_actions(self) -> None:
        """Between accepts (every 50 ms, swept every 250): close the connections whose request is overdue."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + min(0.25, self.proxy.request_deadline / 4)
        with self.conn_lock:
            overdue = [c for c, d in self._deadlines.items() if d <= now]
            for conn in overdue:
                del self._deadlines[conn]
        for conn in overdue:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def refuse_busy(self, request: socket.socket) -> None:
        """Its own connection cap: trace answers 503 (and says so in the answer, the live line and the diagnosis)."""
        text = b"gridctl trace: too many open connections"
        with contextlib.suppress(OSError):
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            b"X-Gridctl-Trace: proxy\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                            % (len(text), text))
        self.proxy.answered("-", "-", 503, f"its {self.max_connections} connections were all in use, so the "
                            "request was not read")


HEX = frozenset(b"0123456789abcdefABCDEF")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate small writes: with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms on Linux), which alone would break the 2 ms budget (bench P6).
    disable_nagle_algorithm = True
    # A client that stops reading a long answer frees its thread (and its place under the connection cap)
    # after this long instead of never; receiving a request has its own deadline (REQUEST_DEADLINE).
    timeout = 120
    server: _Server
    # intercept hook: on a connection whose TLS trace terminated, the origin the client called
    # (`https://api.thegrid.ai`); set by gridctl.trace.intercept before the handler runs.
    intercept_origin: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        # The request line, headers and body arrive within one deadline, counted from when the connection starts
        # waiting for them (an idle keep-alive connection is closed when it passes).
        self.server.arm(self.connection)
        try:
            super().handle_one_request()
        finally:
            self.server.disarm(self.connection)

    def parse_request(self) -> bool:
        """http.server's parse, and one more rule: headers ended by the connection closing, not by their blank
        line, are a half-received request, never forwarded."""
        real = self.rfile
        self.rfile = watch = _EofWatch(real)  # type: ignore[assignment]
        try:
            ok = super().parse_request()
        finally:
            self.rfile = real
        if ok and watch.cut:
            self.close_connection = True
            return False
        return ok

    def do_GET(self) -> None:
        self._proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def do_CONNECT(self) -> None:  # intercept hook: the forward proxy's tunnels (gridctl.trace.intercept)
        intercept = self.server.proxy.intercept
        if intercept is None or self.intercept_origin is not None:
            self._refuse(Refusal(400, "CONNECT needs the forward proxy (on unless --no-intercept)"))
            return
        self.server.disarm(self.connection)  # a tunnel outlives the request deadline; its own idle limit holds
        intercept.connect(self)

    def _client_root(self) -> str:
        """The origin the client called: the proxy's, an intercepted host's, or an absolute-form request's."""
        if self.intercept_origin is not None:
            return self.intercept_origin
        return origin_of(self.path) if not self.path.startswith("/") else self.server.proxy.root

    def _target(self) -> str:
        """The request target, by reverse_target's rules; on the forward side an absolute-form URL (a Grid host's:
        forward_blind took the others) keeps its origin for route(), and its path obeys the same rules."""
        if self.server.proxy.intercept is not None and self.intercept_origin is None and not self.path.startswith("/"):
            origin = origin_of(self.path)
            reverse_target(self.command, self.path[len(origin):] or "/")
            return self.path
        return reverse_target(self.command, self.path)

    def _read_body(self) -> bytes | None:
        """The whole body of a request forwarded blind (never recorded): None when invalid, over a limit or cut."""
        try:
            body, held = self._receive()
        except (Refusal, Incomplete):
            return None
        self.server.disarm(self.connection)
        self.server.proxy.budget.give(held)
        return body

    def _proxy(self) -> None:
        """The reverse proxy's entry point: receive the request whole, route its path, serve it."""
        proxy = self.server.proxy
        if proxy.intercept is not None and proxy.intercept.forward_blind(self):  # intercept hook: http, other host
            return
        started, t0 = time.time(), time.perf_counter()
        held = 0
        try:
            try:
                target = self._target()
                body, held = self._receive()
                if not self.server.disarm(self.connection):
                    raise Incomplete
                route = proxy.route(target, self.intercept_origin)
                if route is None:
                    raise Refusal(404, "this path names no upstream")
            except Refusal as r:
                self._refuse(r)
                return
            except Incomplete:  # never forwarded: the client gets its connection closed, as a server would
                self.close_connection = True
                return
            self.serve(route, body, started, t0)
        finally:
            proxy.budget.give(held)

    def _refuse(self, r: Refusal) -> None:
        self.close_connection = True  # the rest of the request (its body) was never read
        self.server.proxy.answered(self.command, self.path, r.status, r.why)
        self._plain(r.status, f"gridctl trace: {r.why}".encode())

    def _receive(self) -> tuple[bytes, int]:
        """The whole request body and the budget bytes it holds; Refusal when invalid or over a limit, Incomplete
        when it did not arrive whole."""
        te = self.headers.get_all("Transfer-Encoding") or []
        lengths = [v.strip() for h in self.headers.get_all("Content-Length") or [] for v in h.split(",")]
        if te:
            if lengths:
                raise Refusal(400, "the request has both Transfer-Encoding and Content-Length")
            if ",".join(te).strip().lower() != "chunked":
                raise Refusal(400, "the only Transfer-Encoding trace reads is chunked")
            return self._chunked()
        if len(set(lengths)) > 1:
            raise Refusal(400, "the request has two different Content-Length values")
        value = lengths[0] if lengths else "0"
        if not (value.isascii() and value.isdigit()):
            raise Refusal(400, "the request's Content-Length is not a number")
        if len(value) > 12 or int(value) > MAX_REQUEST_BODY:
            raise Refusal(413, f"the request body is larger than trace's {MAX_REQUEST_BODY // 2**20} MiB limit")
        length = int(value)
        if not self.server.proxy.budget.take(length):
            raise Refusal(503, "the memory trace keeps for request bodies is in use by other connections")
        try:
            data = self.rfile.read(length) if length else b""
        except OSError:
            data = b""
        if len(data) < length:
            self.server.proxy.budget.give(length)
            raise Incomplete
        return data, length

    def _chunked(self) -> tuple[bytes, int]:
        budget = self.server.proxy.budget
        out, held = bytearray(), 0
        try:
            while True:
                line = self.rfile.readline(1026)
                if not line.endswith(b"\n"):
                    raise Incomplete
                size_text = line.split(b";", 1)[0].strip()
                if not size_text or len(size_text) > 8 or not set(size_text) <= HEX:
                    raise Refusal(400, "a chunk size of the request body is not a hex number")
                size = int(size_text, 16)
                if size == 0:
                    for _ in range(64):  # trailers, up to the blank line
                        end = self.rfile.readline(1026)
                        if end in (b"\r\n", b"\n"):
                            return bytes(out), held
                        if not end.endswith(b"\n"):
                            raise Incomplete
                    raise Refusal(400, "too many trailer lines")
                if len(out) + size > MAX_REQUEST_BODY:
                    raise Refusal(413, f"the request body is larger than trace's {MAX_REQUEST_BODY // 2**20} MiB limit")
                if not budget.take(size):
                    raise Refusal(503, "the memory trace keeps for request bodies is in use by other connections")
                held += size
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    raise Incomplete
                out += chunk
                if self.rfile.readline(8) not in (b"\r\n", b"\n"):
                    raise Incomplete
        except OSError:
            budget.give(held)
            raise Incomplete from None
        except BaseException:
            budget.give(held)
            raise

    def serve(self, route: Route, body: bytes, started: float, t0: float, client_url: str | None = None) -> None:
        """Record and forward one parsed request, its body received whole, to the upstream `route` names, and relay
        the answer. The one per-request path: every entry point that has a Route calls it."""
        proxy = self.server.proxy
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        auth = next((f"{k}: {v}" for k, v in headers if k.lower() in ("authorization", "x-api-key")), None)
        call = proxy.new_call(
            slot=route.upstream.slot, method=self.command, url=shown_url(client_url or (self.path if not self.path.startswith("/") else self._client_root() + self.path)),
            upstream_url=shown_url(route.url), sdk_url=shown_url(route.sdk_url), started=started,
            request_headers=[(k, shown_header(k, v, shapes=True)) for k, v in self.headers.items()],
            request_body=redact_body(body, shapes=True), request_bytes=len(body), raw_auth=auth,
            raw_body=body[:CAPTURE_CAP], hop_of=route.hop_of)
        large = len(body) > CAPTURE_CAP
        if not large:
            _read_request(call, body)
        if not route.send_auth:
            # The second hop goes to another host: the signed token is its credential, and the key
            # stays with the host the user's own setting named.
            headers = [(k, v) for k, v in headers if k.lower() not in AUTH_HEADERS]
        try:
            refused = route.refused or route.upstream.refused
            if refused is not None:
                call.refused = replace(refused, message=f"{refused.message} gridctl trace answered 502 itself; "
                                       "nothing was sent to that host.")
                call.status, call.answered_by_trace = 502, True
                call.notes.append("gridctl trace answered 502 itself: nothing was sent to that host")
                self._plain(502, b"gridctl trace: refused to forward the key to a look-alike host")
                call.handled = True
                return
            self._forward(call, route, headers, body, t0)
        finally:
            call.total_ms = call.total_ms or (time.perf_counter() - t0) * 1000
            try:
                if large:  # read whole after it went on: a long body's lints do not delay the call they judge
                    _read_request(call, body)
            finally:
                proxy.finished(call)

    def _forward(self, call: Call, route: Route, headers: list[tuple[str, str]], body: bytes, t0: float) -> None:
        import httpx

        proxy = self.server.proxy
        with watching(self.connection):
            try:
                req = proxy.client.build_request(self.command, route.url, headers=headers, content=body)
                resp = proxy.client.send(req, stream=True)
            except ClientGone:
                self._client_left(call, "before the first byte")
                return
            except httpx.HTTPError as exc:
                self._upstream_failed(call, exc, t0)
                return
            try:
                call.ttfb_ms = (time.perf_counter() - t0) * 1000
                self._answer(call, route, resp, t0)
            finally:
                resp.close()  # an answer not read to its end closes its upstream connection too

    def _client_left(self, call: Call, when: str) -> None:
        """The client closed its connection while the upstream was silent: the upstream call is closed already
        (the read that waited raised ClientGone), and the call ends now, not with the run."""
        if self.server.proxy.stopping:  # trace's own stop closed the client's connection: stop() said so already
            return
        call.client_gone = True
        call.notes.append(f"unfinished: the client closed the connection after {time.time() - call.started:.1f} s, "
                          f"{when}; {CLIENT_LEFT}")
        call.handled = True
        self._abort()

    def _upstream_failed(self, call: Call, exc: Exception, t0: float) -> None:
        import httpx

        from gridctl.probe.classify import classify_exception

        proxy = self.server.proxy
        if proxy.stopping:  # our own shutdown closed the upstream call: it stays "no answer"
            return
        err = classify_exception(exc)  # its words may quote the server's: no terminal controls in a line
        call.upstream_error = replace(err, message=shown_text(err.message))
        call.total_ms = (time.perf_counter() - t0) * 1000
        if isinstance(exc, httpx.TimeoutException):  # trace's own --upstream-timeout: trace answers
            call.upstream_error = replace(call.upstream_error, message=f"{call.upstream_error.message} gridctl "
                                          "trace answered 504 itself (--upstream-timeout).")
            call.status, call.answered_by_trace = 504, True
            call.notes.append("gridctl trace answered 504 itself: the upstream passed --upstream-timeout")
            self._plain(504, b"gridctl trace: the upstream did not answer in time")
        else:
            self._abort()  # mirror the reset or refusal: the client sees its connection dropped, as it would have
        call.handled = True

    def _answer(self, call: Call, route: Route, resp: Any, t0: float) -> None:
        """Pass the upstream's answer back as it comes, recording it on the way."""
        import httpx

        chunked, no_body = self._head(call, route, resp)
        captured = bytearray()
        whole = _Whole(self.server.proxy.budget) if call.stream is None and not no_body else None
        try:
            for chunk in ([] if no_body else resp.iter_raw()):
                if whole is not None:
                    whole.add(chunk)
                if chunk and not self._relay(call, chunk, chunked, captured, t0):
                    break
            if chunked and not call.client_gone:
                self.wfile.write(b"0\r\n\r\n")
            # Set the moment the last byte is written: a program that exits right after reading it
            # must not see its call counted as unfinished by stop().
            call.handled = True
        except ClientGone:
            self._client_left(call, f"during a pause in the answer, after {call.response_bytes} bytes")
        except (httpx.HTTPError, OSError) as exc:
            if isinstance(exc, httpx.HTTPError) and not self.server.proxy.stopping:
                call.upstream_cut = True
                if isinstance(exc, httpx.TimeoutException):  # not a close: name the layer, as doctor does
                    from gridctl.probe.classify import classify_exception

                    call.cut_by = classify_exception(exc)
            self._abort()
        finally:
            encoding = resp.headers.get("content-encoding", "")
            call.raw_response = _decoded(bytes(captured), encoding, CAPTURE_CAP)
            call.response_body = redact_body(call.raw_response)
            call.total_ms = (time.perf_counter() - t0) * 1000
            if whole is not None:
                if call.handled and not call.client_gone and (call.response_bytes > CAPTURE_CAP or encoding):
                    call.body_verdict = whole.verdict(call, encoding)
                whole.release()

    def _head(self, call: Call, route: Route, resp: Any) -> tuple[bool, bool]:
        """Record the status line and headers and send them on (Location rewritten); (chunked, no body)."""
        call.status = resp.status_code
        call.content_type = shown_text(resp.headers.get("content-type", ""), shapes=False)
        rid = next((resp.headers[h] for h in grid.REQUEST_ID_HEADERS if h in resp.headers), None)
        call.request_id = None if rid is None else shown_text(rid, shapes=False)[:200]
        call.retry_after_s = _retry_after(resp.headers)
        call.response_headers = [(k, shown_header(k, v) if k.lower() != "location" else shown_url(v))
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
                call.location = shown_url(urljoin(route.url, v))
                v = self.server.proxy.remember_hop(v, route.url, route, call.id, self._client_root())
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", length)
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        return chunked, no_body

    def _relay(self, call: Call, chunk: bytes, chunked: bool, captured: bytearray, t0: float) -> bool:
        """Record one piece of the body and pass it on; False when the client is gone: the upstream answer is
        closed at once (a cancelled generation must not run on, and be billed, for nobody)."""
        call.response_bytes += len(chunk)
        if len(captured) < CAPTURE_CAP:
            captured += chunk[:CAPTURE_CAP - len(captured)]
        if call.stream is not None:
            call.stream.feed(chunk, time.perf_counter(), t0)
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        except OSError:
            call.client_gone = True
            return False
        return True

    def _plain(self, code: int, text: bytes) -> None:
        with contextlib.suppress(OSError):
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.send_header("X-Gridctl-Trace", "proxy")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(text)

    def _abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _EofWatch:
    """A file's readline that remembers a line cut short (the connection closed before its newline)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.cut = False

    def readline(self, size: int = -1) -> bytes:
        line: bytes = self.f.readline(size)
        self.cut = self.cut or not line.endswith(b"\n")
        return line


class _Whole:
    """An answer kept whole (up to VERDICT_CAP, out of the shared budget) so its verdict reads all of it."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.data = bytearray()
        self.over = False

    def add(self, chunk: bytes) -> None:
        if self.over:
            return
        if len(self.data) + len(chunk) > VERDICT_CAP or not self.budget.take(len(chunk)):
            self.over = True
            self.release()
            return
        self.data += chunk

    def release(self) -> None:
        self.budget.give(len(self.data))
        self.data = bytearray()

    def verdict(self, call: Call, encoding: str) -> list[Finding]:
        from gridctl.trace.diagnose import body_reading

        body = b"" if self.over else _decoded(bytes(self.data), encoding, VERDICT_CAP + 1)
        if self.over or len(body) > VERDICT_CAP:
            return [finding("trace.body_not_checked", f"The answer was {call.response_bytes} bytes, more than the "
                            f"{VERDICT_CAP // 2**20} MiB trace reads whole: passed on, not checked.")]
        return body_reading(call, body)


def _read_request(call: Call, body: bytes) -> None:
    """The facts the diagnosis needs from the whole request body (the record keeps only its first part)."""
    from gridctl.probe.classify import parse_json

    doc = parse_json(body) if body.lstrip()[:1] == b"{" else None
    if isinstance(doc, dict):
        model = doc.get("model")
        call.model = shown_text(model, shapes=False)[:200] if isinstance(model, str) else None
        call.stream_requested = doc.get("stream") is True
    if len(body) > CAPTURE_CAP:
        call.body_key = hashlib.blake2b(body, digest_size=16).digest()
        if call.method == "POST":
            from gridctl.lint.body import lint_body

            call.body_lint = [f for f in lint_body(body.decode("utf-8", "replace"), check_model=False)
                              if f.severity != "info"]


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0), ("x-ratelimit-retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None


def _decoded(data: bytes, encoding: str, limit: int) -> bytes:
    if "gzip" not in encoding.lower():
        return data[:limit]
    import zlib

    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, limit)
    except zlib.error:
        return b""
