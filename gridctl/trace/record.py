"""What one proxied call was, recorded with every secret already redacted.

Redaction happens when a value is recorded, not when it is printed: the live line, the JSON
envelope and the HAR file all read the same redacted record, and secrets.scrub() stays the
last line of defence for anything else.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gridctl.findings import ExitCode, Finding
from gridctl.lint import redact as _lint_redact
from gridctl.secrets import (
    REDACTED,
    SECRET_QUERY,
    key_name,
    looks_like_key,
    redact_header,
    redact_url,
    register,
    scrub,
)
from gridctl.textsafe import clean

CAPTURE_CAP = 16 * 1024  # bytes of each request and response body kept for the record (HAR, --json); the
# verdict is taken on the whole body (see proxy.py), never on this cut copy
_NAME = r"(?:x[-_]?api[-_]?key|api[-_]?key|key|(?:access|refresh|id|auth|session)[-_]?token|token|client[-_]?secret" \
        r"|secret|passw(?:or)?d|authorization|auth|bearer|sig|signature|credentials?)"
_BODY_SECRET = re.compile(r'("' + _NAME + r'"\s*:\s*")((?:[^"\\]|\\.){1,4000})(")', re.IGNORECASE)
_LONG = re.compile(r"[A-Za-z0-9_\-+/=*]{16,}")  # no key is shorter: below it the shape pass is skipped
_ANY_NAME = re.compile(r"key|token|secret|passw|auth|bearer|sig|credential", re.IGNORECASE)
# a form body or a query string: `api_key=...&`
_FORM_SECRET = re.compile(r"((?:^|[?&;\s])" + _NAME + r"=)([^&\s#\"'<>]+)", re.IGNORECASE)
# A signed URL quoted in a body (The Grid's "You are being redirected" page names the Location).
_QUERY_SECRET = re.compile(r"([?&](?:amp;)?(?:" + "|".join(map(re.escape, sorted(SECRET_QUERY))) +
                           r")=)([^&\s\"'<>]+)", re.IGNORECASE)
_TAIL = 96  # bytes of the previous chunk kept so a marker split across chunks is still seen
_FINISH = re.compile(rb'"(?:finish_reason|stop_reason)"\s*:\s*"[a-z_]+"')


def redact_shapes(text: str) -> str:
    """Key-shaped tokens masked (gridctl.lint.redact's shapes), the common case (no long token) kept cheap."""
    return _lint_redact.redact_shapes(text) if _LONG.search(text) else text


def _register(value: str) -> None:
    """Remember a credential found by position so scrub() removes it elsewhere too: only what could be one (key-shaped
    or long), never a redaction mark, a placeholder, or a word (`"token": "Hello"` in logprobs)."""
    if REDACTED in value or "…" in value or value.startswith(("$", "<")):
        return
    if looks_like_key(value) or len(value) >= 16:
        register(value)


def _positional(text: str) -> str:
    """Credentials by position: JSON and form fields and query parameters with key-like names. What is found is
    registered, so scrub() removes it from any other text too."""
    if not _ANY_NAME.search(text):
        return text  # no key-like name at all: the common case, one cheap search
    for rx in (_BODY_SECRET, _FORM_SECRET, _QUERY_SECRET):
        for m in rx.finditer(text):
            _register(m.group(2))
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _FORM_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _BODY_SECRET.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)


def redact_text(text: str) -> str:
    """Text fit for the record: credentials by position (_positional), by shape (gridctl.lint.redact: vendor
    prefixes, long mixed tokens) and every key seen so far by value."""
    return redact_shapes(scrub(_positional(text)))


def redact_body(data: bytes, shapes: bool = False) -> str:
    """Captured body text with its credentials removed: by position and by value, and by shape too for what the
    client sent (`shapes`; an answer's text is kept as the server wrote it, its echo of a key goes by value)."""
    text = data[:CAPTURE_CAP].decode("utf-8", "replace")
    return redact_text(text) if shapes else scrub(_positional(text))


def shown_url(url: str) -> str:
    """A URL fit for the record and the live line: credentials in its query gone (by name, secrets.redact_url, and
    by shape; the path is kept as sent, the lints read it), no terminal controls."""
    url = redact_url(url)  # scrubbed; signed tokens and every key-named parameter gone
    base, sep, query = url.partition("?")
    return _line(base + sep + redact_shapes(query))


def shown_header(name: str, value: str, shapes: bool = False) -> str:
    """A header value fit for the record: auth headers as their fingerprint, other key-named headers too,
    key-shaped tokens masked in what the client sent (`shapes`), no terminal controls."""
    from gridctl.secrets import fingerprint

    if key_name(name) and name.lower() != "authorization":
        register(value.strip())
        return fingerprint(value)
    value = redact_header(name, value)
    return _line(redact_shapes(value) if shapes else value)


def _line(text: str) -> str:
    """clean(), with the common case (printable ASCII: nothing to remove) kept cheap."""
    return text if text.isascii() and text.isprintable() else clean(text, newlines=False)


def shown_text(text: str, shapes: bool = True) -> str:
    """Client or server words (an error message; a model name or request ID without `shapes`, which would mask a
    long mixed-case name the lints must read as sent) fit for a line: no key, no terminal control."""
    return _line(redact_shapes(scrub(text)) if shapes else scrub(text))


# the scheme is part of the prefix: `Authorization: Bearer KEY` must reach KEY, not stop at "Bearer"
_ARG_SECRET = re.compile(r"((?:x-api-key:|api-key:|authorization:)\s*(?:bearer\s+)?|bearer\s+)(\S+)", re.IGNORECASE)
_KEY_FLAGS = ("--api-key", "--key", "--token", "--password", "-u", "--user")


def redact_argv(argv: list[str]) -> list[str]:
    """The traced command as it may be shown: keys in headers, flags and URLs replaced."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if i and argv[i - 1] in _KEY_FLAGS:
            register(arg)
            out.append(REDACTED)
            continue
        for m in _ARG_SECRET.finditer(arg):
            if m.group(2).lower() != "bearer" and not m.group(2).startswith("$"):
                register(m.group(2).strip("'\""))
        arg = _ARG_SECRET.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).startswith("$") or
                                                      m.group(2).lower() == "bearer" else REDACTED), arg)
        out.append(redact_url(arg) if "://" in arg else scrub(arg))
    return out


@dataclass
class StreamStats:
    """Completeness of an SSE answer as it went by: end marker, first event, largest quiet gap."""

    events: int = 0
    done: bool = False
    first_event_ms: float | None = None
    last_event_ms: float | None = None  # from the request's start, like first_event_ms: the cut's silence
    max_gap_ms: float = 0.0
    _last: float | None = None
    _tail: bytes = b""

    def feed(self, chunk: bytes, now: float, started: float) -> None:
        if self._last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self._last) * 1000)
        self._last = now
        seen = self._tail + chunk
        n = chunk.count(b"data:")
        if n and self.first_event_ms is None:
            self.first_event_ms = (now - started) * 1000
        if n:
            self.last_event_ms = (now - started) * 1000
        self.events += n
        if b"[DONE]" in seen or b"message_stop" in seen or _FINISH.search(seen):
            self.done = True
        self._tail = seen[-_TAIL:]


@dataclass
class Call:
    """One request through the proxy and what came of it. Every string here is already redacted."""

    id: int
    slot: str
    method: str
    url: str                      # the full URL as the client sent it (the proxy's address)
    upstream_url: str             # where it went (redacted)
    sdk_url: str                  # the URL as the user's own setting built it (linted)
    started: float                # time.time()
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: str = ""
    request_bytes: int = 0
    raw_auth: str | None = None   # the auth header line for the lint; never serialised
    raw_body: bytes = b""         # capped request body; never serialised
    body_key: bytes = b""         # digest of the whole request body when it was longer than the capture
    body_lint: list[Finding] | None = None  # the body lints on the whole body, when longer than the capture
    model: str | None = None
    stream_requested: bool = False
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    raw_response: bytes = b""     # capped; never serialised
    body_verdict: list[Finding] | None = None  # the answer's reading on its whole body, when longer than the capture
    response_bytes: int = 0
    content_type: str = ""
    request_id: str | None = None
    ttfb_ms: float | None = None
    total_ms: float | None = None
    stream: StreamStats | None = None
    upstream_error: Finding | None = None
    upstream_cut: bool = False    # the upstream's body stopped mid-way
    cut_by: Finding | None = None  # what stopped it when it was not a close (a read timeout)
    client_gone: bool = False     # the client stopped reading before the upstream finished
    refused: Finding | None = None  # not forwarded: a look-alike host
    answered_by_trace: bool = False  # the status the client saw came from gridctl trace, not the upstream
    proxy_answer: Finding | None = None  # why trace answered itself (a bad request target, its own limits)
    location: str | None = None   # the original Location of a redirect (redacted)
    hop_of: int | None = None     # this call is the second hop of that call's redirect
    retry_after_s: float | None = None
    handled: bool = False         # the handler is through with it (its live line may still be coming)
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    findings: list[Finding] = field(default_factory=list)
    exit_override: ExitCode | None = None  # doctor's reading: a 404 caused by the URL exits 6
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The path the SDK built; for a request trace refused before routing, its target as received (cleaned)."""
        if not self.sdk_url and self.answered_by_trace:
            return self.url or "-"
        return urlsplit(self.sdk_url).path or "/"

    @property
    def ended(self) -> float:
        return self.started + (self.total_ms or 0) / 1000

    def as_json(self) -> dict[str, Any]:
        s = self.stream
        return {
            "id": self.id, "method": self.method, "url": self.url, "sdk_url": self.sdk_url,
            "upstream_url": self.upstream_url, "status": self.status, "model": self.model,
            "request_id": self.request_id,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.started))
            + f".{int(self.started % 1 * 1000):03d}Z",
            "timings_ms": {"ttfb": _r(self.ttfb_ms), "ttft": _r(s.first_event_ms if s else None),
                           "total": _r(self.total_ms)},
            "request": {"headers": dict(self.request_headers), "body": self.request_body,
                        "bytes": self.request_bytes},
            "response": {"headers": dict(self.response_headers), "body": self.response_body,
                         "bytes": self.response_bytes},
            "stream": None if s is None else {"events": s.events, "complete": s.done and not self.upstream_cut,
                                              "max_gap_ms": _r(s.max_gap_ms)},
            "redirect_to": self.location, "hop_of": self.hop_of, "answered_by_trace": self.answered_by_trace,
            "client_gone": self.client_gone, "notes": list(self.notes),
            "findings": [f.as_json() for f in self.findings],
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
