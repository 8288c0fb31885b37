"""trace's forward proxy: programs that hard-code The Grid's URL are seen too, without editing them.

The child gets HTTPS_PROXY/HTTP_PROXY (both cases) naming the same loopback port as the reverse
proxy, and a trust bundle (the usual store plus a per-session CA, gridctl.trace.ca). On that port:
- `CONNECT host:port` to a host trace may intercept (The Grid's API and Messages hosts, its
  non-production hosts, the host the user's own settings named) is answered 200, then TLS is
  terminated with a leaf for that host, and the decrypted connection is served by the proxy's own
  request handler with `intercept_origin` set: each request becomes the same `Call`, live line and
  HAR entry as a reverse-proxied one, forwarded to that host (the emulator under --emulate);
- `CONNECT` to any other host is tunnelled blind: bytes relayed both ways, never decrypted, counted;
- a plain-http absolute-form request (`GET http://host/...`) to such a host is recorded the same
  way; to any other host it is forwarded blind (Connection: close) and counted.
Base-URL calls still go straight to the reverse side: NO_PROXY keeps the loopback names.
Redirect Locations on an intercepted connection are rewritten to the same intercepted origin
(`https://api.thegrid.ai/_g/r/<n>`), so the second hop of the signed 307 comes back through it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import selectors
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gridctl import grid
from gridctl.trace.proxy import PREFIX, Route, Upstream

if TYPE_CHECKING:
    from gridctl.trace.ca import SessionCA
    from gridctl.trace.proxy import Proxy

# The hosts a key is meant for: the only ones trace decrypts. The signed 307's gateway host needs no
# entry: its Location is rewritten to the intercepted origin, so the client never connects to it.
GRID_HOSTS = (grid.API_HOST, grid.MESSAGES_HOST, *grid.NON_PROD_HOSTS)
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
# Test-only: "name=127.0.0.1,other=::1" makes a blind tunnel to `name` connect to that loopback address
# (the tests' stand-in for another HTTPS host; no name may map anywhere but loopback).
RESOLVE_ENV = "GRIDCTL_TRACE_RESOLVE"
CONNECT_TIMEOUT_S = 10.0
HANDSHAKE_TIMEOUT_S = 10.0
TUNNEL_IDLE_S = 120.0       # a blind tunnel with no byte either way for this long is closed
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def interceptable(upstreams: list[Upstream]) -> list[str]:
    """The Grid's hosts plus the DNS names the user's own settings named (never loopback, never an IP)."""
    hosts = set(GRID_HOSTS)
    for up in upstreams:
        host = (urlsplit(up.shown_origin).hostname or "").lower().rstrip(".")
        if up.refused is None and _HOSTNAME.match(host) and not grid.is_loopback_host(host) and not _is_ip(host):
            hosts.add(host)
    return sorted(hosts)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def resolver(env: Mapping[str, str]) -> dict[str, str]:
    """The test-only name map from RESOLVE_ENV; entries that do not name a loopback address are ignored."""
    out: dict[str, str] = {}
    for item in env.get(RESOLVE_ENV, "").split(","):
        name, _, addr = item.strip().partition("=")
        with contextlib.suppress(ValueError):
            if name and ipaddress.ip_address(addr).is_loopback:
                out[name.lower()] = addr
    return out


def split_target(target: str) -> tuple[str, int] | None:
    """`host:port` of a CONNECT (IPv6 in brackets) -> (host, port); None when malformed."""
    host, sep, port = target.rpartition(":")
    host = host.strip("[]").lower().rstrip(".")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c in host for c in "/@ "):
        return None
    return host, int(port)


@dataclass
class Stats:
    tunnels_blind: int = 0       # CONNECTs to other hosts, relayed without decrypting
    http_blind: int = 0          # plain-http requests to other hosts, forwarded without recording
    intercepted: int = 0         # TLS connections terminated for a Grid host
    tls_refused: int = 0         # the client refused the session CA's certificate (its own trust store or a pin)


class Interceptor:
    """The forward side of one trace run; `proxy.intercept` points here while it is on."""

    def __init__(self, proxy: Proxy, ca: SessionCA, emulate_root: str | None, resolve: Mapping[str, str]) -> None:
        self.proxy = proxy
        self.ca = ca
        self.hosts = frozenset(ca.hosts)
        self.emulate_root = emulate_root
        self.resolve = dict(resolve)
        self.stats = Stats()
        self._lock = threading.Lock()

    def report(self) -> dict[str, object]:
        """For the report's extra: the forward side was on, and what went through it unrecorded."""
        with self._lock:
            return {"intercept": {"hosts": sorted(self.hosts), "tls_terminated": self.stats.intercepted,
                                  "tls_refused": self.stats.tls_refused},
                    "tunnels_blind": self.stats.tunnels_blind + self.stats.http_blind}

    # -- routing (the request handler calls these for intercepted and absolute-form requests) --

    def upstream(self, scheme: str, host: str, port: int) -> Upstream:
        """The upstream for an intercepted origin: the user's own setting when it names this origin, else one
        made for it (forwarded to that origin, or the emulator under --emulate)."""
        default = 443 if scheme == "https" else 80
        netloc = host if port == default else f"{host}:{port}"
        origin = f"{scheme}://{netloc}"
        with self._lock:
            for up in self.proxy.upstreams.values():
                if up.shown_origin.lower() == origin and up.refused is None:
                    return up
            slot = f"i-{scheme}-{netloc}"
            made = self.proxy.upstreams.get(slot)
            if made is None:
                if host.startswith("messages-beta.") and "a" not in self.proxy.upstreams:
                    slot = "a"  # the diagnosis reads slot "a" as the Anthropic SDK's base (it appends /v1/messages)
                path = "" if host.startswith("messages-beta.") else "/v1"
                made = Upstream(slot, "HTTPS_PROXY" if scheme == "https" else "HTTP_PROXY", origin + path,
                                self.emulate_root if self.emulate_root is not None else origin, origin)
                self.proxy.upstreams[slot] = made
            return made

    def route(self, path: str, origin: str | None) -> Route | None:
        """A request on an intercepted connection (`origin` set) or in absolute form, mapped to its upstream."""
        if origin is None:
            parts = urlsplit(path)
            origin = f"{parts.scheme}://{parts.netloc}".lower()
            path = path[len(origin):] or "/"
            if origin == self.proxy.root:  # a client that sent its base-URL call through the proxy anyway
                return self.proxy.route(path)
        if path.startswith(PREFIX + "r/"):
            return self.proxy.route(path)  # a redirect hop rewritten to come back here
        if not path.startswith("/"):
            return None
        parts = urlsplit(origin)
        if not parts.hostname or parts.hostname not in self.hosts:
            return None
        up = self.upstream(parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        return Route(up, up.origin + path, origin + path)

    # -- CONNECT --

    def connect(self, handler: Any) -> None:
        """Answer one CONNECT: terminate TLS for a Grid host, tunnel any other blind."""
        handler.close_connection = True
        target = split_target(handler.path)
        if target is None:
            handler._plain(400, b"gridctl trace: CONNECT needs host:port")
            return
        host, port = target
        if host in self.hosts and not _is_ip(host):
            self._terminate(handler, host, port)
        else:
            self._tunnel(handler, host, port)

    def _terminate(self, handler: Any, host: str, port: int) -> None:
        try:
            ctx = self.ca.context(host)
        except (RuntimeError, ValueError):  # the run is ending
            handler._plain(503, b"gridctl trace: stopping")
            return
        handler.send_response(200, "Connection established")
        handler.end_headers()
        raw: socket.socket = handler.connection
        server = handler.server
        raw.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            with self._lock:
                self.stats.tls_refused += 1
            return
        with server.conn_lock:  # the TLS socket now owns the descriptor: stop() must be able to wake it
            server.connections.discard(raw)
            server.connections.add(tls)
        with self._lock:
            self.stats.intercepted += 1
        origin = f"https://{host}" if port == 443 else f"https://{host}:{port}"
        cls: Any = type(handler)
        inner = cls.__new__(cls)
        inner.intercept_origin = origin
        try:
            cls.__init__(inner, tls, handler.client_address, server)  # serves every request on it, then returns
        except (OSError, ValueError):
            pass  # the client hung up mid-request: its call (if any) is recorded by the handler
        finally:
            with server.conn_lock:
                server.connections.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def _open(self, host: str, port: int) -> socket.socket:
        return socket.create_connection((self.resolve.get(host, host), port), timeout=CONNECT_TIMEOUT_S)

    def _tunnel(self, handler: Any, host: str, port: int) -> None:
        try:
            upstream = self._open(host, port)
        except OSError as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            handler._plain(502, f"gridctl trace: cannot reach {host}:{port} ({reason})".encode())
            return
        with self._lock:
            self.stats.tunnels_blind += 1
        with upstream:
            handler.send_response(200, "Connection established")
            handler.end_headers()
            self._relay(handler.connection, upstream)

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        """Bytes both ways until both sides have closed, TUNNEL_IDLE_S pass with none, or the run stops."""
        peers = {client: upstream, upstream: client}
        for sock in peers:
            sock.settimeout(TUNNEL_IDLE_S)
        with selectors.DefaultSelector() as sel:
            for sock in peers:
                sel.register(sock, selectors.EVENT_READ)
            last = time.monotonic()
            while sel.get_map() and not self.proxy.stopping and time.monotonic() - last < TUNNEL_IDLE_S:
                for key, _ in sel.select(0.5):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    last = time.monotonic()
                    if not self._pass(src, peers[src], sel):
                        return

    @staticmethod
    def _pass(src: socket.socket, dst: socket.socket, sel: selectors.BaseSelector) -> bool:
        try:
            data = src.recv(65536)
            if data:
                dst.sendall(data)
                return True
        except OSError:
            return False
        sel.unregister(src)  # this side is done: pass the half-close on, keep the other direction
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        return True

    # -- plain http in absolute form --

    def forward_blind(self, handler: Any) -> bool:
        """A plain-http absolute-form request to a host trace does not intercept: forwarded as is, not recorded.
        False when the request is the handler's to record (origin-form, or a Grid host)."""
        path: str = handler.path
        if handler.intercept_origin is not None or path.startswith("/"):
            return False
        parts = urlsplit(path)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if parts.scheme != "http" or not parts.hostname:
            handler.close_connection = True
            handler._plain(400, b"gridctl trace: a proxy request must name an http:// URL")
            return True
        if parts.hostname in self.hosts or origin == self.proxy.root:
            return False
        body = handler._read_body()
        handler.close_connection = True
        if body is None:
            handler._plain(413, b"request body too large for gridctl trace")
            return True
        try:
            upstream = self._open(parts.hostname, parts.port or 80)
        except OSError as exc:
            handler._plain(502, f"gridctl trace: cannot reach {parts.netloc} ({exc.strerror or exc})".encode())
            return True
        with self._lock:
            self.stats.http_blind += 1
        target = path[len(origin):] or "/"
        drop = {"proxy-connection", "proxy-authorization", "connection", "keep-alive", "transfer-encoding",
                "content-length"}
        head = [f"{handler.command} {target} HTTP/1.1"]
        head += [f"{k}: {v}" for k, v in handler.headers.items() if k.lower() not in drop]
        head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        with upstream:
            try:
                upstream.sendall("\r\n".join(head).encode("latin-1") + body)
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                return True
            self._relay(handler.connection, upstream)
        return True


@contextlib.contextmanager
def forward_proxy(proxy: Proxy, env: Mapping[str, str], emulate_root: str | None, enabled: bool,
                  say: Callable[[str], None] | None = None) -> Iterator[dict[str, str]]:
    """The forward side for one run: yields the variables the child gets (none when off); the CA and its
    directory are gone when this exits, whichever way (return, Ctrl-C, SIGTERM, an error)."""
    if not enabled:
        yield {}
        return
    if not grid.is_loopback_host(proxy.host):  # never an open forward proxy on a shared network
        if say is not None:
            say(f"trace: forward proxy off: it serves loopback only (listening on {proxy.host}); "
                "only base-URL variables are traced")
        yield {}
        return
    from gridctl.trace.ca import CryptoMissing, SessionCA

    try:
        ca = SessionCA(interceptable(list(proxy.upstreams.values())), env)
    except CryptoMissing as exc:
        if say is not None:
            say(f"trace: forward proxy off: {exc}; only base-URL variables are traced")
        yield {}
        return
    proxy.intercept = Interceptor(proxy, ca, emulate_root, resolver(os.environ))
    restore = _on_sigterm(ca)
    try:
        yield child_vars(proxy.root, ca.env()) | no_proxy_for(env, ca.hosts)
    finally:
        ca.close()
        restore()


def child_vars(root: str, bundle_vars: Mapping[str, str]) -> dict[str, str]:
    """HTTPS_PROXY/HTTP_PROXY (both cases), the bundle variables, and Node's switch for env proxies."""
    out = dict.fromkeys(PROXY_VARS, root)
    out.update(bundle_vars)
    out["NODE_USE_ENV_PROXY"] = "1"
    return out


def no_proxy_for(env: Mapping[str, str], hosts: Iterable[str]) -> dict[str, str]:
    """The user's NO_PROXY/no_proxy minus the entries that would send an interceptable host around trace
    (`*`, `thegrid.ai`, `.api.thegrid.ai`, ...). Nothing changes for the program: a host trace does not
    intercept goes through a blind tunnel that connects directly, as NO_PROXY would have."""
    out: dict[str, str] = {}
    for name in ("NO_PROXY", "no_proxy"):
        if name not in env:
            continue
        kept = [e.strip() for e in env[name].split(",") if e.strip() and not _covers(e.strip(), hosts)]
        out[name] = ",".join(kept)
    return out


def _covers(entry: str, hosts: Iterable[str]) -> bool:
    if entry == "*":
        return True
    domain = entry.lower().lstrip("*").lstrip(".").rsplit(":", 1)[0] if not entry.startswith("[") else entry
    return any(h == domain or h.endswith("." + domain) for h in hosts) if domain else False


def _on_sigterm(ca: SessionCA) -> Callable[[], None]:
    """SIGTERM to gridctl: remove the CA directory at once, then end as Ctrl-C does (the child is stopped,
    the proxy closed, exit 143). Main thread only; elsewhere the context manager's exit is the cleanup."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_term(signum: int, frame: object) -> None:
        ca.remove_files()  # no lock here: the main thread may hold the CA's
        raise SystemExit(128 + signal.SIGTERM)

    from gridctl import interrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except (ValueError, OSError):
        return lambda: None
    interrupt.at_hard_exit(ca.remove_files)

    def restore() -> None:
        interrupt.forget(ca.remove_files)
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, previous)
    return restore
