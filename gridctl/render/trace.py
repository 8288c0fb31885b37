"""trace's human lines: one per call on stderr as it happens, and the closing summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from gridctl.findings import ERROR, Finding
from gridctl.result import Report
from gridctl.secrets import scrub


class StreamView(Protocol):
    @property
    def events(self) -> int: ...
    @property
    def done(self) -> bool: ...


class CallView(Protocol):
    """What the lines read of one recorded call (gridctl.trace.record.Call has it): render needs no core type."""

    @property
    def id(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def total_ms(self) -> float | None: ...
    @property
    def stream(self) -> StreamView | None: ...
    @property
    def upstream_cut(self) -> bool: ...
    @property
    def hop_of(self) -> int | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def findings(self) -> list[Finding]: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def request_headers(self) -> list[tuple[str, str]]: ...
    @property
    def response_headers(self) -> list[tuple[str, str]]: ...
    @property
    def url(self) -> str: ...


LOOP = "http.redirect_loop"


def call_line(call: CallView, hop: int = 2, loop_shown: bool = False) -> str:
    """`trace #2 POST /v1/v1/chat/completions 404 text-prime 12ms req=abc url.doubled_v1`.

    `hop`: which hop of its redirect chain this call is (2, 3, 4 ...); `loop_shown`: the chain's loop was
    already named on an earlier line, so it is not repeated."""
    status = str(call.status) if call.status is not None else "---"
    parts = ["trace", f"#{call.id}", call.method, call.path, status]
    if call.model:
        parts.append(call.model)
    parts.append(f"{call.total_ms or 0:.0f}ms")
    if call.stream is not None:
        parts.append(f"stream={call.stream.events}ev{' done' if call.stream.done and not call.upstream_cut else ' cut'}")
    if call.hop_of is not None:
        parts.append(f"(hop {hop} of #{call.hop_of})")
    if call.request_id:
        parts.append(f"req={call.request_id}")
    shown = [f for f in call.findings if f.severity != "info"] or call.findings[:1]
    if loop_shown:
        shown = [f for f in shown if f.code != LOOP]
    parts.append(" ".join(f.code for f in shown[:3]) if shown else ("(the same loop)" if loop_shown else "ok"))
    parts.extend(f"[{n}]" for n in call.notes)
    return scrub(" ".join(parts))


def fold_line(first: int, last: int, count: int, root: int, method: str, path: str, status: int,
              hops: tuple[int, int]) -> str:
    """The rest of a long redirect chain in one line: `trace #6-#21 POST /r/v1/chat/completions 307 (hops 6-21
    of #1) http.redirect_loop: the same redirect 16 more times`."""
    ids = f"#{first}" if first == last else f"#{first}-#{last}"
    span = f"hop {hops[0]}" if hops[0] == hops[1] else f"hops {hops[0]}-{hops[1]}"
    return scrub(f"trace {ids} {method} {path} {status} ({span} of #{root}) {LOOP}: the client followed "
                 f"{count} more redirect{'s' if count != 1 else ''}")


def waiting_line(call: CallView, waited_s: float) -> str:
    """A call still open after a second: `trace #3 POST /v1/chat/completions waiting for the first byte, 1.0 s`."""
    what = "waiting for the first byte" if call.status is None else f"{call.status}, the answer still coming"
    return scrub(f"trace #{call.id} {call.method} {call.path} {what}, {waited_s:.1f} s")


def exchange_lines(call: CallView) -> list[str]:
    """`-v`: the call's HTTP exchange as doctor and ping show theirs (curl's marks; values already redacted)."""
    from urllib.parse import urlsplit

    target = urlsplit(call.url)
    lines = [f"> {call.method} {target.path or '/'}{'?' + target.query if target.query else ''} HTTP/1.1"]
    lines += [f"> {k}: {v}" for k, v in call.request_headers]
    if call.status is not None:
        lines.append(f"< HTTP/1.1 {call.status}")
        lines += [f"< {k}: {v}" for k, v in call.response_headers]
    return [scrub(line) for line in lines]


def interrupted_line(in_flight: Sequence[int], program: bool = True) -> str:
    calls = ", ".join(f"#{n}" for n in in_flight)
    return ("trace: interrupted (Ctrl-C)" + ("; the program was stopped" if program else "") +
            (f"; still in flight: {calls}" if in_flight else ""))


def summary_lines(report: Report, calls: Sequence[CallView], child_code: int | None) -> list[str]:
    failed = [c for c in calls if any(f.severity == ERROR for f in c.findings)]
    by_code = Counter(next(f.code for f in c.findings if f.severity == ERROR) for c in failed)
    lines = [f"trace: {len(calls)} call{'s' if len(calls) != 1 else ''}, {len(failed)} failed"
             + (f" ({', '.join(f'{code} x{n}' for code, n in by_code.most_common())})" if by_code else "")
             + ("" if child_code is None else f"; the program exited {child_code}")
             + (f"; {n} earlier call(s) counted, not kept" if (n := report.extra.get("calls_not_kept")) else "")]
    cause: Finding | None = report.root_cause()
    if cause is not None:
        lines.append(f"trace: root cause: {cause.entry.title} ({cause.code}): {cause.message}")
        lines.append(f"trace: fix: {cause.fix}")
    return [scrub(line) for line in lines]


def export_lines(exports: dict[str, str]) -> list[str]:
    return [f"export {name}={value}" for name, value in exports.items()]


def listen_question(host: str) -> str:
    return f"Listen on {host}, reachable from other machines, with your key passing through?"
