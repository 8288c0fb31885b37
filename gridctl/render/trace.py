"""trace's human lines: one per call on stderr as it happens, and the closing summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from gridctl.findings import ERROR, Finding
from gridctl.result import Report
from gridctl.secrets import scrub
from gridctl.trace.record import Call


def call_line(call: Call) -> str:
    """`trace #2 POST /v1/v1/chat/completions 404 text-prime 12ms req=abc url.doubled_v1`."""
    status = str(call.status) if call.status is not None else "---"
    parts = ["trace", f"#{call.id}", call.method, call.path, status]
    if call.model:
        parts.append(call.model)
    parts.append(f"{call.total_ms or 0:.0f}ms")
    if call.stream is not None:
        parts.append(f"stream={call.stream.events}ev{' done' if call.stream.done and not call.upstream_cut else ' cut'}")
    if call.hop_of is not None:
        parts.append(f"(hop 2 of #{call.hop_of})")
    if call.request_id:
        parts.append(f"req={call.request_id}")
    shown = [f for f in call.findings if f.severity != "info"] or call.findings[:1]
    parts.append(" ".join(f.code for f in shown[:3]) if shown else "ok")
    parts.extend(f"[{n}]" for n in call.notes)
    return scrub(" ".join(parts))


def summary_lines(report: Report, calls: Sequence[Call], child_code: int | None) -> list[str]:
    failed = [c for c in calls if any(f.severity == ERROR for f in c.findings)]
    by_code = Counter(next(f.code for f in c.findings if f.severity == ERROR) for c in failed)
    lines = [f"trace: {len(calls)} call{'s' if len(calls) != 1 else ''}, {len(failed)} failed"
             + (f" ({', '.join(f'{code} x{n}' for code, n in by_code.most_common())})" if by_code else "")
             + ("" if child_code is None else f"; the program exited {child_code}")
             + (f"; {n} earlier call(s) counted, not kept" if (n := report.extra.get("calls_not_kept")) else "")
             + _forward_note(report)]
    cause: Finding | None = report.root_cause()
    if cause is not None:
        lines.append(f"trace: root cause: {cause.entry.title} ({cause.code}): {cause.message}")
        lines.append(f"trace: fix: {cause.fix}")
    return [scrub(line) for line in lines]


def _forward_note(report: Report) -> str:
    """The forward proxy's counts (intercept hook): other hosts passed blind, Grid connections that refused the CA."""
    note = ""
    if blind := report.extra.get("tunnels_blind"):
        note += f"; {blind} connection(s) to other hosts tunnelled blind (not decrypted, not recorded)"
    refused = (report.extra.get("intercept") or {}).get("tls_refused")
    if refused:
        note += (f"; {refused} TLS connection(s) to The Grid refused trace's session CA (a pinned or private trust "
                 "store): not traced, use a base-URL variable for that client")
    return note


def export_lines(exports: dict[str, str]) -> list[str]:
    return [f"export {name}={value}" for name, value in exports.items()]


def listen_question(host: str) -> str:
    return f"Listen on {host}, reachable from other machines, with your key passing through?"
