"""A hostile HTTP server for tests: every answer is an attack on the client that talks to it.

Stdlib only, loopback, ephemeral port, one thread per connection, stops promptly even with
connections parked mid-answer. Any component that reads a server (ping, doctor, the trace proxy,
the exporter) can be pointed at it:

    with Hostile("trickle") as srv:          # srv.base_url == "http://127.0.0.1:PORT/v1"
        run("ping", "--base-url", srv.base_url, "--timeout", "1")

Modes (every path answers in the mode's way; /api/v2/status.json answers a status page in it):
  trickle        200 JSON (or an event stream when asked for one), then one byte per `interval`, forever
  header-trickle the status line, then header bytes one per `interval`, forever: the headers never end
                 (every read gets a byte in time, so only a real deadline stops the client)
  endless-line   200 text/event-stream: `data: ` and then a line that never ends
  huge-body      200 JSON of `size` bytes (default 10 MB), valid to the last byte
  gzip-bomb      200 JSON, Content-Encoding gzip: `size` compressed bytes (default 2 MB) of zeros
  escapes        terminal escape sequences in every field: reason phrase, x-request-id, `model`,
                 error detail, HTML title, status-page text (`status` picks the HTTP status; 200 default)
  quote-key      an error whose detail quotes the key it was sent: `quote` picks how (see QUOTES)
  hang           reads the request, never answers
  silent         reads the request, never answers, and counts in `closed` the client closing its connection
  gap            200 text/event-stream: one event, then silence; counts in `closed` the client closing
  empty          200 with the JSON body `{}`: a success that says nothing
  redirect       307 to `location` (a look-alike host, another origin...)
  reset          reads the request, then resets the connection (RST, no answer)

`sent` counts the body bytes a mode managed to write (what a client that hung up still cost).
"""

from __future__ import annotations

import base64
import json
import select
import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote as urlquote

from gridctl.loopback import TrackedServer

MODES = ("trickle", "header-trickle", "endless-line", "huge-body", "gzip-bomb", "escapes", "quote-key", "hang",
         "empty", "redirect", "reset", "silent", "gap")
# What a terminal obeys: clear screen, retitle the window (OSC 0), write the clipboard (OSC 52), 8-bit CSI,
# a bell, a carriage return that overwrites the line, a bidi override that reorders it.
ESCAPES = ("\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b]52;c;cHduZWQ=\x07", "\x9b31m", "\x07", "\r", "\u202e")
# Bytes a header value can carry through an HTTP parser (h11 refuses C0 there, not obs-text).
HEADER_ESCAPES = "\x9b2J\x9d0;pwned\x9c"
QUOTES = ("full", "upper", "lower", "first20", "last20", "past280", "base64", "url", "json", "split")


def key_of(headers: Any) -> str:
    """The credential a request carried (Authorization: Bearer KEY, or x-api-key)."""
    value = headers.get("authorization") or headers.get("x-api-key") or ""
    return value[7:] if value.lower().startswith("bearer ") else value


def quoted(key: str, how: str) -> str:
    """The key as a careless server might quote it back."""
    return {
        "full": f"Incorrect API key provided: {key}",
        "upper": f"INVALID KEY {key.upper()}",
        "lower": f"invalid key {key.lower()}",
        "first20": f"Invalid key {key[:20]}...",
        "last20": f"Invalid key ...{key[-20:]}",
        "past280": "x" * 270 + f" key={key} " + "y" * 40,
        "base64": "auth " + base64.b64encode(f"user:{key}".encode()).decode(),
        "url": "see https://example.invalid/?key=" + urlquote(key, safe=""),
        "json": json.dumps({"sent": {"authorization": f"Bearer {key}"}}),
        "split": f"{key[: len(key) // 2]} {key[len(key) // 2:]}",
    }[how]


class _Server(TrackedServer):
    allow_reuse_address = True

    def __init__(self, hostile: Hostile) -> None:
        self.hostile = hostile  # a client hanging up mid-attack is the point, not an error
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(min(length, 1 << 20)) if length else b""

    def _answer(self) -> None:
        h = self.server.hostile
        body = self._read_body()
        span: list[float | None] = [time.monotonic(), None]
        with h.lock:
            h.hits += 1
            h.keys.append(key_of(self.headers))
            h.spans.append(span)
        wants_stream = b'"stream": true' in body or b'"stream":true' in body or \
            "event-stream" in (self.headers.get("accept") or "")
        try:
            getattr(self, "_" + h.mode.replace("-", "_"))(wants_stream)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client gave up: good
        finally:
            span[1] = time.monotonic()

    # --- modes ---------------------------------------------------------------------------------

    def _head(self, status: int, ctype: str, length: int | None = None, reason: str | None = None,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status, reason)
        self.send_header("content-type", ctype)
        if length is None:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
        with self.server.hostile.lock:
            self.server.hostile.sent += len(data)

    def _trickle(self, stream: bool) -> None:
        h = self.server.hostile
        self._head(200, "text/event-stream" if stream else "application/json")
        text = b'data: {"choices": [{"delta": {"content": "p' if stream else b'{"id": "chatcmpl-trickle", "choices": ['
        i = 0
        while not h.stopped.wait(h.interval):
            self._chunk(text[i % len(text): i % len(text) + 1])
            i += 1

    def _header_trickle(self, stream: bool) -> None:
        h = self.server.hostile
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        line = b"x-trickle: still-coming\r\n"
        i = 0
        while not h.stopped.wait(h.interval):
            self.wfile.write(line[i % len(line): i % len(line) + 1])
            self.wfile.flush()
            i += 1

    def _endless_line(self, stream: bool) -> None:
        h = self.server.hostile
        self._head(200, "text/event-stream")
        self._chunk(b"data: ")
        block = b"A" * 65536
        while not h.stopped.is_set():
            self._chunk(block)

    def _huge_body(self, stream: bool) -> None:
        size = self.server.hostile.size or 10 * 1024 * 1024
        head = b'{"id": "chatcmpl-huge", "choices": [{"message": {"content": "'
        tail = b'"}}]}'
        self._head(200, "application/json", length=size)
        self.wfile.write(head)
        left = size - len(head) - len(tail)
        block = b"a" * 65536
        while left > 0:
            self.wfile.write(block[:left])
            left -= len(block)
        self.wfile.write(tail)

    def _gzip_bomb(self, stream: bool) -> None:
        bomb = _bomb(self.server.hostile.size or 2 * 1024 * 1024)
        self._head(200, "text/event-stream" if stream else "application/json", length=len(bomb),
                   extra={"content-encoding": "gzip"})
        self.wfile.write(bomb)

    def _escapes(self, stream: bool) -> None:
        h = self.server.hostile
        nasty = "".join(ESCAPES)
        path = self.path.split("?")[0]
        rid = f"req-{HEADER_ESCAPES}-abc"
        if path.endswith("/status.json"):
            doc: dict[str, Any] = {"page": {"name": f"Grid{nasty}"},
                                   "status": {"indicator": "major", "description": f"Major outage{nasty}"}}
            data, ctype, status = json.dumps(doc).encode(), "application/json", 200
        elif h.status >= 400 and h.html:
            data = f"<html><head><title>Blocked{nasty}</title></head><body>no</body></html>".encode()
            ctype, status = "text/html", h.status
        elif h.status >= 400:
            doc = {"error": {"message": f"Bad things{nasty}", "type": f"t{nasty}", "code": f"c{nasty}"}}
            data, ctype, status = json.dumps(doc).encode(), "application/json", h.status
        elif path.endswith("/models"):
            doc = {"object": "list", "data": [{"id": f"text-prime{nasty}", "object": "model"}]}
            data, ctype, status = json.dumps(doc).encode(), "application/json", 200
        elif stream:
            events = [{"choices": [{"delta": {"content": f"p{nasty}"}, "finish_reason": None}], "model": nasty},
                      {"choices": [{"delta": {}, "finish_reason": f"stop{nasty}"}]}]
            data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
            ctype, status = "text/event-stream", 200
        else:
            doc = {"id": f"chatcmpl{nasty}", "object": "chat.completion", "model": f"text-prime{nasty}",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": f"pong{nasty}"},
                                "finish_reason": "stop"}]}
            data, ctype, status = json.dumps(doc).encode(), "application/json", 200
        self._head(status, ctype, length=len(data), reason=f"OK{HEADER_ESCAPES}",
                   extra={"x-request-id": rid, "x-grid-request-id": rid})
        self.wfile.write(data)

    def _quote_key(self, stream: bool) -> None:
        h = self.server.hostile
        key = h.keys[-1] if h.keys else ""
        detail = quoted(key, h.quote)
        data = json.dumps({"error": {"message": detail, "type": "invalid_request_error"}}).encode()
        self._head(h.status if h.status >= 400 else 401, "application/json", length=len(data),
                   extra={"x-request-id": f"req-{key[:12]}"})
        self.wfile.write(data)

    def _empty(self, stream: bool) -> None:
        self._head(200, "application/json", length=2, extra={"x-request-id": "req-empty"})
        self.wfile.write(b"{}")

    def _hang(self, stream: bool) -> None:
        self.server.hostile.stopped.wait()

    def _silent(self, stream: bool) -> None:
        self._until_closed()

    def _gap(self, stream: bool) -> None:
        self._head(200, "text/event-stream")
        self._chunk(b'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n\n')
        self._until_closed()

    def _until_closed(self) -> None:
        """Silence until the client closes its connection (counted) or the server stops."""
        h = self.server.hostile
        while not h.stopped.is_set():
            if select.select([self.connection], [], [], 0.05)[0]:
                if not self.connection.recv(4096):
                    with h.lock:
                        h.closed += 1
                    self.close_connection = True
                    return

    def _redirect(self, stream: bool) -> None:
        self._head(307, "text/plain", length=0, extra={"location": self.server.hostile.location})

    def _reset(self, stream: bool) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # linger 0: an RST, no answer
        self.close_connection = True


_BOMBS: dict[int, bytes] = {}


def _bomb(size: int) -> bytes:
    """About `size` bytes of gzip inflating ~1000 times (2 MB -> ~2 GB of zeros), built in milliseconds.

    After a full flush deflate's output no longer depends on what came before, so the segment for
    one more MiB of zeros is the same bytes every time: compress two, repeat the second. The trailer's
    CRC covers only what was really compressed, so a client that reads to the end also meets a
    corrupt-body error; one that caps what it inflates never gets there.
    """
    if size not in _BOMBS:
        comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = b"\0" * (1 << 20)
        first = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
        again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
        _BOMBS[size] = first + again * max(1, (size - len(first)) // len(again)) + comp.flush()
    return _BOMBS[size]


class Hostile:
    """The server; a context manager that starts it and stops it."""

    def __init__(self, mode: str, *, interval: float = 1.0, size: int = 0, status: int = 200,
                 html: bool = False, quote: str = "full", location: str = "") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        if quote not in QUOTES:
            raise ValueError(f"unknown quote {quote!r}; one of {', '.join(QUOTES)}")
        self.mode, self.interval, self.size, self.status, self.html, self.quote = \
            mode, interval, size, status, html, quote
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.hits = 0
        self.sent = 0  # body bytes written (streaming modes)
        self.closed = 0  # connections the client closed while a silent mode waited (silent, gap)
        self.location = location
        self.keys: list[str] = []  # the credentials received (the tests' own canaries)
        # [request read, answer ended] per request (monotonic): an endless answer ends when the client leaves
        self.spans: list[list[float | None]] = []
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"hostile-{mode}-{self.port}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        self._server.shutdown()
        self._thread.join(1.0)
        self._server.disconnect_all()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def leaks(text: str, key: str, window: int = 8) -> list[str]:
    """Every form of `key` found in `text`: whole, any `window` characters of it in any case (a cut,
    split, lower- or upper-cased key), JSON-escaped, URL-encoded, or base64 at any alignment."""
    found: list[str] = []
    low = text.lower()
    for i in range(len(key) - window + 1):
        part = key[i:i + window]
        if part.lower() in low:
            found.append(f"characters {i}-{i + window} ({part!r})")
    forms = {"url-encoded": urlquote(key, safe=""), "json": json.dumps(key)[1:-1]}
    raw = key.encode()
    for offset in (0, 1, 2):
        enc = base64.b64encode(b"\0" * offset + raw).decode()
        stable = enc[4 * ((offset + 2) // 3): 4 * ((offset + len(raw)) // 3)]
        forms[f"base64@{offset}"] = stable
        forms[f"base64url@{offset}"] = stable.replace("+", "-").replace("/", "_")
    found += [name for name, form in forms.items() if len(form) >= 12 and form in text]
    return found


TERMINAL_CONTROLS = ("\x1b", "\x07", "\x9b", "\x9d", "\x9c", "\x90", "\r", "\u202e")


def controls_in(text: str) -> list[str]:
    """The terminal-control characters in `text` (what must never reach a terminal from a server)."""
    return [repr(c) for c in TERMINAL_CONTROLS if c in text]
