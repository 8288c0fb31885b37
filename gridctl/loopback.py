"""The one HTTP server shape behind every server gridctl starts (emulator, trace proxy) and the tests' hostile one.

Stdlib only. What they share, and why each part matters:
- a thread per connection, daemon threads, a deep accept queue (bursts of concurrent clients);
- no reverse DNS lookup at bind (HTTPServer's getfqdn can stall for seconds);
- every open connection tracked, so `disconnect_all()` can wake a handler parked in recv() or in a
  hang scenario and shutdown never waits on a client;
- an optional cap on open connections: past it a client gets an immediate 503, not an unbounded queue;
- quiet error handling: clients that reset or vanish mid-answer are the point of several scenarios.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class TrackedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 max_connections: int | None = None) -> None:
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        self.max_connections = max_connections
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            over = self.max_connections is not None and len(self.connections) >= self.max_connections
            if not over:
                self.connections.add(request)
        if over:  # refuse at once rather than queue without bound
            self.refuse_busy(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def refuse_busy(self, request: Any) -> None:
        """Answer a connection over the cap (a subclass may say more, or record it)."""
        with contextlib.suppress(OSError):
            request.sendall(_BUSY)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Resets and broken pipes are expected here; a subclass that wants to log them overrides this."""

    def disconnect_all(self) -> None:
        """Shut down every open connection: unblocks handlers stuck in recv() so stop() returns promptly."""
        with self.conn_lock:
            open_conns = list(self.connections)
        for conn in open_conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
