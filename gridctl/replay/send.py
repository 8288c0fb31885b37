"""Where a recorded call may be re-sent, and one request through gridctl's one HTTP seam.

The key goes only where `ping` would send it: probe/client.py's Net.send() refuses a look-alike host
and plain http off this machine (probe/policy.no_contact) and lets the key follow a redirect only as
may_carry_key() allows. A HAR recorded against another host is re-sent to The Grid's own host (or the
--base-url / --emulate one), never to the host inside the HAR unless that is The Grid's or loopback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gridctl import grid
from gridctl.findings import Finding, finding
from gridctl.probe.client import Net, Outcome
from gridctl.replay.har import RecordedCall
from gridctl.replay.request import Request
from gridctl.result import CheckResult, PingEvidence, Timer


@dataclass(frozen=True)
class Destination:
    url: str                       # the full URL the replay goes to
    notes: tuple[Finding, ...] = ()  # why it is not the recorded URL (another host), a look-alike seen


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def destination(call: RecordedCall, base: str | None, fallback_base: str) -> Destination:
    """The URL to re-send `call` to. `base`: --emulate's or an explicit --base-url (its origin, the recorded
    path kept); `fallback_base`: gridctl's own setting, used when the recorded host is not trusted."""
    if base:
        return Destination(origin(base) + call.path)
    try:
        parts = urlsplit(call.url)
        host = parts.hostname or ""
    except ValueError:
        host = ""
    trusted = (grid.is_grid_host(host) and parts.scheme == "https") or grid.is_loopback_host(host)
    if trusted:
        return Destination(call.url)
    home = f"{grid.MESSAGES_ROOT}" if call.api == "messages" else origin(fallback_base)
    notes = []
    if host and grid.looks_alike(host):
        notes.append(finding("url.host_typo", f"The call was recorded against {host}, which looks like The Grid's "
                             f"host but is not: nothing is sent there.", severity="warning"))
    notes.append(finding("replay.rehosted", f"The recorded host {host or '(none)'} is not The Grid's; the call "
                         f"goes to {home} instead."))
    return Destination(home + call.path, tuple(notes))


@dataclass
class Answer:
    """What one re-sent request got, read as ping reads an answer."""

    outcome: Outcome
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        return self.outcome.status_code

    @property
    def code(self) -> str | None:
        """The finding that names the failure (first error), None when the call succeeded."""
        return next((f.code for f in self.findings if f.severity == "error"), None)

    @property
    def signature(self) -> tuple[int | None, str | None]:
        return self.status, self.code

    @property
    def ok(self) -> bool:
        return self.code is None and self.status is not None and 200 <= self.status < 300

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "request_id": self.outcome.request_id}


def send(net: Net, req: Request, key: str | None) -> Answer:
    """One request, no retries (the caller decides about a 429); the key only where ping would send it."""
    auth = (req.auth_name, req.auth_value(key)) if req.auth_name and key else None
    headers = dict(req.headers)
    out = net.send(req.method, req.url, headers=headers, content=req.content(), auth=auth, retry=False)
    findings = list(out.findings)
    if out.status_code is not None and 200 <= out.status_code < 300 and \
            "event-stream" in out.headers.get("content-type", ""):
        # A stream (only when `stream` is the field under test) is an answer, not a body that failed to parse.
        findings = [f for f in findings if f.code != "http.unexpected"]
    return Answer(out, findings)


def check(answer: Answer, model: str | None, timer: Timer, check_id: str = "replay",
          title: str = "Replay") -> CheckResult:
    """The answer as a check, with ping's data fields (status_code, request_id, attempts, timings_ms)."""
    out = answer.outcome
    data: dict[str, Any] = {"url": out.url, "model": model, "status_code": out.status_code,
                            "request_id": out.request_id, "request_ids": out.request_ids, "attempts": out.attempts,
                            "timings_ms": {**{k: out.timings_ms.get(k) for k in ("connect", "tls", "ttfb")},
                                           "total": round(timer.ms(), 1)},
                            "key_sent_to": out.key_sent_to,
                            "summary": f"HTTP {out.status_code}" if out.status_code else "no answer"}
    evidence = PingEvidence(status_code=out.status_code, model=model, request_ids=tuple(out.request_ids),
                            attempts=out.attempts, statuses=tuple(out.statuses), redirects=tuple(out.redirects),
                            key_sent_to=tuple(out.key_sent_to))
    return CheckResult(check_id, title, answer.findings, data=data, duration_ms=timer.ms(), evidence=evidence)
