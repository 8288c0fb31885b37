"""Every network step ends by the command's deadline, whatever the server trickles.

httpx's timeouts are per operation: a read timeout starts again with every byte, so a server that
sends its response headers one byte a second holds a request open for as long as it likes. A per-read
timeout is not a budget. Here the httpcore network backend under httpx's transports (the direct one
and every proxy mount) is wrapped, once per `Net`:

- each connect, read, write and TLS handshake waits at most what is left of the Deadline, and fails
  at once, as a timeout, when nothing is left;
- the connect runs in a helper thread abandoned at the deadline (getaddrinfo cannot be cancelled, and
  create_connection gives each address of a name the whole timeout);
- a watchdog shuts down every socket still open GRACE_S after the deadline, for what a per-operation
  timeout cannot bound (TLS inside TLS through an https proxy; a write a slow reader drains a byte at
  a time). What it cuts is reported as the timeout it is, not as a reset.

Loaded only by probe/client.py (httpcore comes with httpx).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore

from gridctl.probe.deadline import Deadline

GRACE_S = 0.2  # the watchdog's margin past the deadline: per-operation cuts normally end everything first
T = TypeVar("T")
SocketOption = Any  # httpcore's SOCKET_OPTION (a tuple of 3 or 4 items)


class Budget:
    """The deadline's hold on the sockets of one httpx client."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._lock = threading.Lock()
        self._live: set[_Stream] = set()
        self._timer: threading.Timer | None = None
        self._closed = False
        self.fired = False  # the watchdog cut the sockets that were still open

    def backend(self, inner: httpcore.NetworkBackend) -> httpcore.NetworkBackend:
        return _Backend(inner, self)

    def install(self, client: Any) -> int:
        """Wrap the network backend of every transport of an httpx.Client; how many were wrapped."""
        return wrap_network_backends(client, self.backend, _Backend)

    def left(self, late: type[Exception]) -> float:
        """Seconds left; `late` raised when none are."""
        left = self.deadline.remaining()
        if left <= 0.0:
            raise late(f"the {self.deadline.total:g} s time budget ran out")
        return left

    def track(self, stream: httpcore.NetworkStream) -> _Stream:
        wrapped = _Stream(stream, self)
        with self._lock:
            if self._closed:
                stream.close()
                raise httpcore.ConnectError("the client was closed")
            self._live.add(wrapped)
            if self._timer is None:
                self._timer = threading.Timer(self.deadline.remaining() + GRACE_S, self._expire)
                self._timer.name = "gridctl-deadline"
                self._timer.daemon = True
                self._timer.start()
        return wrapped

    def forget(self, stream: _Stream) -> None:
        with self._lock:
            self._live.discard(stream)

    def _expire(self) -> None:
        with self._lock:
            self.fired = True
            live = list(self._live)
        for stream in live:
            stream.cut()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timer = self._timer
        if timer is not None:
            timer.cancel()


def _cut(timeout: float | None, left: float) -> float:
    return left if timeout is None else min(timeout, left)


def _within(work: Callable[[], httpcore.NetworkStream], left: float) -> httpcore.NetworkStream:
    """`work()` (a connect) in a helper thread, given up after `left` seconds; a stream it opens
    later is closed when it arrives."""
    lock = threading.Lock()
    done = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            stream = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which raises it
            box["error"] = exc
        else:
            with lock:
                if box.get("abandoned"):
                    stream.close()
                else:
                    box["stream"] = stream
        finally:
            done.set()

    threading.Thread(target=run, name="gridctl-connect", daemon=True).start()
    finished = done.wait(left)
    with lock:
        if not finished and "stream" not in box and "error" not in box:
            box["abandoned"] = True
            raise httpcore.ConnectTimeout(f"no connection within the {left:.2f} s left of the time budget")
    if "error" in box:
        raise box["error"]
    stream: httpcore.NetworkStream = box["stream"]
    return stream


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[SocketOption] | None = None) -> httpcore.NetworkStream:
        left = self.budget.left(httpcore.ConnectTimeout)
        stream = _within(lambda: self.inner.connect_tcp(host, port, _cut(timeout, left), local_address,
                                                        socket_options), left)
        return self.budget.track(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[SocketOption] | None = None
                            ) -> httpcore.NetworkStream:  # pragma: no cover - gridctl names no unix sockets
        left = self.budget.left(httpcore.ConnectTimeout)
        stream = _within(lambda: self.inner.connect_unix_socket(path, _cut(timeout, left), socket_options), left)
        return self.budget.track(stream)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(min(seconds, self.budget.deadline.remaining()))


class _Stream(httpcore.NetworkStream):
    """One connection: every operation cut to the budget; a cut by the watchdog is a timeout."""

    def __init__(self, inner: httpcore.NetworkStream, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    def _late(self, late: type[Exception], work: Callable[[], T]) -> T:
        try:
            return work()
        except (httpcore.NetworkError, httpcore.TimeoutException) as exc:
            if self.budget.fired:
                raise late(f"the {self.budget.deadline.total:g} s time budget ran out") from exc
            raise

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = self.budget.left(httpcore.ReadTimeout)
        data = self._late(httpcore.ReadTimeout, lambda: self.inner.read(max_bytes, _cut(timeout, left)))
        if not data and self.budget.fired:  # the watchdog's shutdown reads as the server closing
            raise httpcore.ReadTimeout(f"the {self.budget.deadline.total:g} s time budget ran out")
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        left = self.budget.left(httpcore.WriteTimeout)
        self._late(httpcore.WriteTimeout, lambda: self.inner.write(buffer, _cut(timeout, left)))

    def close(self) -> None:
        self.budget.forget(self)
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = self.budget.left(httpcore.ConnectTimeout)
        self.inner = self._late(httpcore.ConnectTimeout,
                                lambda: self.inner.start_tls(ssl_context, server_hostname, _cut(timeout, left)))
        return self

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)

    def cut(self) -> None:
        """Wake whatever waits on this connection: shut the socket down (the fd stays for close())."""
        sock = self.inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            try:
                # socket.socket's own shutdown, not SSLSocket's (which drops the TLS object under a reader)
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def wrap_network_backends(client: Any, wrap: Callable[[Any], Any], kind: type) -> int:
    """Replace the httpcore network backend under every transport of an httpx.Client (its proxy mounts too) by
    `wrap(backend)`, unless it is a `kind` already; how many were wrapped. The one place that reaches into httpx's
    internals (it has no public hook for the network backend): the deadline budget here and trace's watch for a
    client that left (trace/abort.py) both go through it. When the internals are not as expected, nothing changes."""
    wrapped = 0
    for transport in (getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()):
        pool = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if not isinstance(inner, httpcore.NetworkBackend) or isinstance(inner, kind):
            continue
        pool._network_backend = wrap(inner)  # type: ignore[union-attr]
        wrapped += 1
    return wrapped
