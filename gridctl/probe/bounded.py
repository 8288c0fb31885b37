"""Reading a server's answer with bounds on time and memory, whatever the server does.

httpx's own decoders inflate a whole network chunk at once (a 64 KiB gzip bomb chunk becomes 64 MiB)
and `iter_lines()` buffers a line until it ends (an endless line grows without bound). Here the
raw bytes are inflated with a ceiling, the deadline is checked on every chunk (a trickle of one
byte a second never ends a line, so checking per line would never fire), and lines are cut at a cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

MAX_BODY = 1024 * 1024  # one answer: The Grid's largest (the model list) is a few KiB
MAX_LINE = 64 * 1024  # one SSE line: a chunk of a completion is well under 1 KiB
MAX_STREAM = 8 * 1024 * 1024  # a whole ping stream is a few KiB
RAW_CHUNK = 16 * 1024
ACCEPT_ENCODING = "gzip, deflate"  # only what is inflated here with a ceiling (no br/zstd)


class Oversized(Exception):
    """More than the cap arrived; `limit` says which cap."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} larger than {limit} bytes")
        self.what = what
        self.limit = limit


class Expired(Exception):
    """The deadline passed while the answer was still arriving."""


class _Inflater:
    def __init__(self, encoding: str) -> None:
        enc = encoding.strip().lower()
        self.kind = "gzip" if enc in ("gzip", "x-gzip") else "deflate" if enc == "deflate" else "identity"
        self.obj: Any = None
        self.first = True
        if self.kind == "gzip":
            self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.kind == "deflate":
            self.obj = zlib.decompressobj(zlib.MAX_WBITS)

    def feed(self, data: bytes, cap: int) -> tuple[bytes, bool]:
        """Inflate at most `cap` bytes of `data`; (output, whether more output is pending)."""
        if self.obj is None:
            return data, False
        try:
            out = self.obj.decompress(data, cap)
        except zlib.error:
            if self.kind == "deflate" and self.first:  # raw deflate without the zlib header, as httpx allows
                self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self.first = False
                return self.feed(data, cap)
            raise
        self.first = False
        return out, bool(self.obj.unconsumed_tail)


def chunks(response: Any, limit: int, expired: Callable[[], bool]) -> Iterator[bytes]:
    """Decoded body chunks of an httpx streaming response; Oversized past `limit` decoded bytes,
    Expired when the deadline passes before the body ends."""
    if response.is_stream_consumed:
        # Already read in full before we got it (httpx.MockTransport in tests, a cached response):
        # httpx decoded it, the memory is spent, only the cap is left to apply.
        content = response.content
        if len(content) > limit:
            raise Oversized("the answer", limit)
        if content:
            yield content
        return
    inflater = _Inflater(response.headers.get("content-encoding", ""))
    total = 0
    for raw in response.iter_raw():  # no chunk_size: httpx would buffer a trickle up to it
        data, pending = inflater.feed(raw, min(limit - total + 1, 4 * RAW_CHUNK))
        while True:
            total += len(data)
            if total > limit:
                raise Oversized("the answer", limit)
            if data:
                yield data
            if not pending:
                break
            if expired():
                raise Expired()
            data, pending = inflater.feed(inflater.obj.unconsumed_tail, min(limit - total + 1, 4 * RAW_CHUNK))
        if expired():
            raise Expired()


def lines(response: Any, expired: Callable[[], bool], max_line: int = MAX_LINE,
          max_total: int = MAX_STREAM) -> Iterator[str]:
    """The text lines of a streaming response (an event stream), each capped, the whole capped,
    the deadline checked on every chunk."""
    rest = b""
    for chunk in chunks(response, max_total, expired):
        data, start = rest + chunk, 0  # rest is at most max_line bytes: no quadratic copying
        # Each search starts where the last ended, and a \n (or \r) known to be absent is not searched
        # for again: linear in the chunk whatever mix of line endings a server sends.
        n = r = -2
        while True:
            if n != -1 and n < start:
                n = data.find(b"\n", start)
            if r != -1 and r < start:
                r = data.find(b"\r", start)
            if r >= 0 and (n < 0 or r < n):
                if r + 1 == len(data):
                    break  # a \r at the end may be the first half of \r\n: wait for the next byte
                end, nxt = r, r + 2 if data[r + 1:r + 2] == b"\n" else r + 1
            elif n >= 0:
                end, nxt = n, n + 1
            else:
                break
            yield data[start:end].decode("utf-8", "replace")
            start = nxt
        rest = data[start:]
        if len(rest) > max_line:
            raise Oversized("one line of the stream", max_line)
    if rest.rstrip(b"\r"):
        yield rest.rstrip(b"\r").decode("utf-8", "replace")
