"""A local stand-in for The Grid, with its failure modes, on loopback only.

Stdlib only (http.server), so `gridctl emulator serve` and `doctor --emulate` start fast.
Each connection gets a daemon thread; stop() wakes and disconnects every one of them, so
a `hang` scenario or a slow client never holds up shutdown.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from gridctl.emulator.handler import EmulatorState, Handler
from gridctl.emulator.scenarios import SCENARIOS, Scenario
from gridctl.loopback import TrackedServer

REDIRECT_TOKEN_TTL = 60.0  # seconds a signed redirect stays valid: unknown for The Grid, minutes is plausible
MAX_RECEIPTS = 1000
SHAPES = ("first_byte_delay", "first_token_delay", "token_gap", "stream_tokens")


class LoopbackOnlyError(ValueError):
    """The emulator refuses to listen anywhere but loopback."""


class UnknownScenarioError(KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message, quotes and all
        return str(self.args[0])


def _bind_address(host: str) -> str:
    """The loopback address to bind for `host`, or LoopbackOnlyError."""
    refusal = LoopbackOnlyError(f"emulator listens on loopback only, not {host!r}")
    if not host or host.strip() != host:
        raise refusal
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not literal.is_loopback:
            raise refusal
        return host
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise refusal from None
    addrs = [str(info[4][0]).split("%")[0] for info in infos]
    if not addrs or not all(ipaddress.ip_address(a).is_loopback for a in addrs):
        raise refusal
    # Prefer IPv4 so "localhost" and a 127.0.0.1 redirect reach the same socket.
    return next((a for a in addrs if ":" not in a), addrs[0])


class _Server(TrackedServer):
    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Resets and broken pipes are the point of several scenarios: never print tracebacks.
        if self.emulator.verbose:
            sys.stderr.write(f"emulator: {sys.exc_info()[1]!r}\n")


CREDENTIAL_HEADERS = ("authorization", "x-api-key", "proxy-authorization", "cookie", "api-key")
MAX_REQUESTS_KEPT = 1000  # a long-running `emulator serve` must not grow without bound
MAX_BODY_KEPT = 4096


def redact_credential(value: str) -> str:
    """A credential header value as the emulator records it: the scheme word kept, the secret replaced by
    a hash, so tests can still tell which key was sent (compare with redact_credential(expected))."""
    import hashlib

    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token"):
        return f"{scheme} {redact_credential(rest)}"
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"[redacted sha256:{digest} len={len(value)}]"


class Emulator:
    """A running (or ready-to-run) emulator bound to an ephemeral or given loopback port."""

    def __init__(self, scenario: str = "healthy", host: str = "127.0.0.1", port: int = 0,
                 latency: float = 0.0, verbose: bool = False, **shapes: float | None) -> None:
        if scenario not in SCENARIOS:
            raise UnknownScenarioError(
                f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
        self.scenario: Scenario = SCENARIOS[scenario]
        self.set_shapes(**shapes)
        self.receipts: dict[str, dict[str, Any]] = {}  # request ID -> usage receipt, for GET /v1/usage/{id}
        self.latency = latency
        self.verbose = verbose
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._served = 0  # inference requests that reached the scenario's failure gate
        # Signs the 307's `token`: per instance, so a token from another emulator (or an edited one) fails.
        self._secret = secrets.token_bytes(32)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._server = _Server((_bind_address(host), port), self)
        self.host = host.lower()
        self.port: int = self._server.server_address[1]
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.root_url = f"http://{url_host}:{self.port}"
        self.base_url = f"{self.root_url}/v1"

    def start(self, **shapes: float | None) -> Emulator:
        if shapes:
            self.set_shapes(**shapes)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"grid-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Return promptly even with hung or streaming connections open."""
        if self._stopped.is_set():
            return
        self._stopped.set()  # wakes handlers parked in hang/slow/latency waits
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(1.0)
        self._server.disconnect_all()  # unblocks a handler stuck in recv()
        self._server.server_close()

    def wait(self, seconds: float | None) -> bool:
        """Sleep (None: until stop) unless stopped meanwhile; True means stopping."""
        if seconds is not None and seconds <= 0:
            return self._stopped.is_set()
        return self._stopped.wait(seconds)

    def record(self, entry: dict[str, Any]) -> None:
        """Keep what tests and `-v` need, bounded, with no credential in it: header values that carry
        a key are replaced by redact_credential() as they are recorded, bodies cut to MAX_BODY_KEPT."""
        headers = entry.get("headers") or {}
        entry["headers"] = {k: redact_credential(v) if k.lower() in CREDENTIAL_HEADERS else v
                            for k, v in headers.items()}
        body = entry.get("body")
        if isinstance(body, bytes) and len(body) > MAX_BODY_KEPT:
            entry["body"] = body[:MAX_BODY_KEPT]
        with self._lock:
            self.requests.append(entry)
            if len(self.requests) > MAX_REQUESTS_KEPT:
                del self.requests[: len(self.requests) - MAX_REQUESTS_KEPT]

    def set_shapes(self, **shapes: float | None) -> None:
        """Latency shapes (see SHAPES) override the scenario's: a test or a flag sets a known truth."""
        unknown = set(shapes) - set(SHAPES)
        if unknown:
            raise TypeError(f"unknown latency shape(s): {', '.join(sorted(unknown))}")
        given: dict[str, Any] = {k: v for k, v in shapes.items() if v is not None}
        if "stream_tokens" in given:
            given["stream_tokens"] = int(given["stream_tokens"])
        self.scenario = replace(self.scenario, **given)

    def add_receipt(self, receipt: dict[str, Any]) -> None:
        with self._lock:
            self.receipts[str(receipt["request_id"])] = receipt
            while len(self.receipts) > MAX_RECEIPTS:  # bounded, like the request log: oldest first out
                del self.receipts[next(iter(self.receipts))]

    def next_inference(self) -> int:
        with self._lock:
            self._served += 1
            return self._served

    def sign(self, path: str, expired: bool = False) -> str:
        """A redirect token for `path`: `<expiry>.<hmac>`, valid REDIRECT_TOKEN_TTL seconds (or expired already)."""
        expiry = int(time.time() + (-REDIRECT_TOKEN_TTL if expired else REDIRECT_TOKEN_TTL))
        return f"{expiry}.{self._mac(path, expiry)}"

    def token_problem(self, path: str, token: str | None) -> str | None:
        """Why `token` does not authorise `path` (missing, altered, expired), or None when it does."""
        if not token:
            return "Missing redirect token: follow the 307's Location exactly as given"
        expiry, _, mac = token.partition(".")
        if not expiry.isdigit() or not hmac.compare_digest(mac, self._mac(path, int(expiry))):
            return "Invalid redirect token: the signed URL was altered"
        if int(expiry) < time.time():
            return "Redirect token expired: send the request again to get a fresh redirect"
        return None

    def _mac(self, path: str, expiry: int) -> str:
        return hmac.new(self._secret, f"{path}|{expiry}".encode(), hashlib.sha256).hexdigest()[:32]

    @property
    def cross_host(self) -> str:
        return "127.0.0.1" if self.host == "localhost" else "localhost"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _is_handler_state(emu: Emulator) -> EmulatorState:
    """Never called: mypy checks here that Emulator has everything handler.EmulatorState names."""
    return emu


def start(scenario: str = "healthy", host: str = "127.0.0.1", port: int = 0,
          latency: float = 0.0, verbose: bool = False, **shapes: float | None) -> Emulator:
    """Start an emulator serving in a daemon thread (`shapes`: see SHAPES)."""
    return Emulator(scenario, host, port, latency, verbose, **shapes).start()


def serve_forever(scenario: str = "healthy", host: str = "127.0.0.1", port: int = 0,
                  latency: float = 0.0, ready: Callable[[Emulator], None] | None = None,
                  verbose: bool = False, **shapes: float | None) -> None:
    """Serve in this thread until KeyboardInterrupt (for `gridctl emulator serve`)."""
    emu = Emulator(scenario, host, port, latency, verbose, **shapes)
    try:
        if ready is not None:
            ready(emu)
        emu._server.serve_forever(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()  # no serving thread, so stop() only disconnects and closes
