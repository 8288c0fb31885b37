"""A client that gives up while the upstream is silent closes the upstream call at once.

As nginx does by default (`proxy_ignore_client_abort off`): while a handler waits on the upstream (for its first
byte, or through a pause in a stream), it waits on the client's socket too. A client socket that turns readable with
nothing to read (EOF) or a reset is a client that has gone: the wait raises ClientGone in the handler's own thread,
httpcore closes that upstream connection (a cancelled generation stops running, and being billed, for nobody), and
the handler records the call as finished at once. Bytes the client sent ahead (a pipelined request) are not a
departure: they are only peeked at, stay in the buffer, and the client is not watched again for that call. A
client that half-closes (shuts only its sending side) is taken as gone, as nginx takes it.

On a connection whose TLS trace terminated (the forward proxy) the TLS layer is never read here: the raw socket is
peeked at. Its EOF is a client that went; so is, on Linux (POLLRDHUP: the client's FIN has come), one lone record
the size of a close_notify alert before that FIN (curl and OpenSSL-based clients say goodbye so). Any other bytes
turn the watch off for that call.

The seam is httpcore's network backend: the upstream reads of the proxy's one httpx client go through `_Stream.read`,
which waits on both sockets first when the calling thread has a `watching()` call open. No other thread touches
either socket. Where the wait cannot be done safely (no `select.poll`, an upstream stream that is not a plain socket,
httpx internals not as expected), it is skipped and the client is noticed at the next failed write, as before.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

_current = threading.local()
POLLRDHUP: int = getattr(select, "POLLRDHUP", 0)  # Linux: the peer shut its side, even with bytes still unread
# A TLS client that says goodbye (curl, OpenSSL's SSL_shutdown) sends a close_notify alert before its FIN: one small
# record. A TLS 1.2 alert is record type 21 (its encrypted form 26 to ~64 bytes); TLS 1.3 hides it in an
# application-data record (23) of exactly 19 bytes (2 alert bytes, the inner type, a 16-byte tag).
CLOSE_NOTIFY_MAX = 5 + 64


def _lone_alert(data: bytes) -> bool:
    """The client's unread bytes are one record, a closing alert by its type and size (the peer's FIN follows it)."""
    if len(data) < 5 or data[1] != 3 or 5 + int.from_bytes(data[3:5], "big") != len(data):
        return False
    return data[0] == 21 or (data[0] == 23 and len(data) == 5 + 19)


class ClientGone(Exception):
    """The client closed its connection while its call waited on the upstream."""


class Watch:
    """One call's client socket, watched while its handler waits on the upstream."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        try:
            self.fd = conn.fileno()
        except OSError:
            self.fd = -1
        self.on = self.fd >= 0  # off once the client sent more: an EOF behind those bytes is not seen by a peek
        self.alert = False  # a TLS client's closing alert is waiting unread: only its FIN is waited for then

    def gone(self, hung_up: bool) -> bool:
        """The client socket is readable: EOF or a reset is a client that went; bytes are not (they stay put).
        `hung_up`: the peer has shut its side (POLLRDHUP), whatever bytes are still to be read before that."""
        tls = isinstance(self.conn, ssl.SSLSocket)
        if isinstance(self.conn, ssl.SSLSocket) and self.conn.pending():  # bytes trace decrypted but has not read yet: the client sent more
            self.on = False
            return False
        try:
            # The raw socket's peek, on a TLS connection too (SSLSocket.recv refuses flags): EOF there is the
            # client's TCP stream ending; TLS records are left unread for the TLS layer.
            data = socket.socket.recv(self.conn, CLOSE_NOTIFY_MAX if tls else 1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return False
        except ConnectionError:
            return True
        except OSError:
            self.on = False
            return False
        if data and tls and POLLRDHUP and _lone_alert(data):
            self.alert = True  # goodbye said: gone once its FIN comes (the alert stays unread)
            return hung_up
        if data:
            self.on = False
            return False
        return True

    def wait(self, upstream: socket.socket, timeout: float | None) -> float | None:
        """Wait until the upstream socket is readable; what is left of `timeout` for the read that follows.
        ClientGone when the client leaves first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        up = upstream.fileno()
        poller.register(up, select.POLLIN | select.POLLPRI)
        poller.register(self.fd, select.POLLIN | select.POLLPRI | POLLRDHUP)
        while self.on:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            events = poller.poll(None if left is None else left * 1000)
            if not events or any(fd == up for fd, _ in events):
                break
            if any(ev & select.POLLNVAL for _, ev in events):  # the client socket is closed: trace's own stop
                self.on = False
            elif self.gone(any(ev & POLLRDHUP for fd, ev in events if fd == self.fd)):
                raise ClientGone
            elif self.alert:  # the alert keeps the socket readable: wait for the hang-up alone
                poller.modify(self.fd, POLLRDHUP)
        return None if deadline is None else max(0.001, deadline - time.monotonic())


@contextlib.contextmanager
def watching(conn: socket.socket) -> Iterator[None]:
    """Within this block the calling thread's upstream reads also watch `conn`, the client's connection."""
    _current.watch = Watch(conn)
    try:
        yield
    finally:
        _current.watch = None


def _upstream_socket(stream: Any) -> socket.socket | None:
    """The socket to wait on, when waiting on it cannot miss bytes already read into a buffer."""
    sock: object = stream.get_extra_info("socket")
    if not isinstance(sock, socket.socket):
        return None
    if stream.get_extra_info("ssl_object") is not None:
        if not isinstance(sock, ssl.SSLSocket) or sock.pending():  # TLS in TLS (a proxy's tunnel), or data decrypted
            return None
    return sock


class _Stream:
    """httpcore's network stream, its reads watching the client first when the reading thread asks for that."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        watch: Watch | None = getattr(_current, "watch", None)
        if watch is not None and watch.on:
            sock = _upstream_socket(self._inner)
            if sock is not None:
                timeout = watch.wait(sock, timeout)
        data: bytes = self._inner.read(max_bytes, timeout)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> _Stream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend:
    """httpcore's network backend, its streams wrapped in _Stream."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: Any) -> int:
    """Route the upstream reads of an httpx.Client (and of its proxy mounts) through _Stream; how many transports
    were wrapped (0 when httpx's internals are not as expected or the platform has no poll(): nothing changes)."""
    from gridctl.probe.budget import wrap_network_backends

    if not hasattr(select, "poll"):
        return 0
    return wrap_network_backends(client, _Backend, _Backend)
