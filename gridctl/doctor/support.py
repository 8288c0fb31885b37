"""The closing panel and the support report: what support@thegrid.ai asks for, redacted."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

from gridctl import __version__, grid
from gridctl.report import envelope
from gridctl.result import Report
from gridctl.secrets import scrub, scrub_json
from gridctl.textsafe import clean, json_safe

# Causes that may be on The Grid's side; a DNS or TLS failure here is not support's to fix.
SUPPORT_WORTHY = ("model.not_found", "balance.instrument_unavailable", "net.no_response", "net.reset", "stream.cut")


def expected_vs_got(report: Report) -> tuple[str, str]:
    ping = next((c for c in report.checks if c.id == "ping"), None)
    got = "no answer"
    if ping is not None and ping.evidence is not None and ping.evidence.status_code:
        got = f"HTTP {ping.evidence.status_code}"
        cause = report.root_cause()
        if cause is not None:
            got += f" ({cause.code}: {cause.message})"
    elif ping is not None and ping.findings:
        got = f"{ping.findings[0].code}: {ping.findings[0].message}"
    model = report.target.get("model")
    return f"HTTP 200 with a chat completion from {model}", got


def primary_request_ids(report: Report) -> list[str]:
    """The failing request's IDs; the balance and model-list probes' IDs stay in the full report."""
    ping = next((c for c in report.checks if c.id == "ping"), None)
    ids = list(ping.evidence.request_ids) if ping is not None and ping.evidence is not None else []
    return ids or list(report.request_ids)


def support_message(report: Report, report_file: Path | None = None) -> str:
    """`report_file`: the --report file written for this run (then, and only then, "attached")."""
    expected, got = expected_vs_got(report)
    ids = ", ".join(primary_request_ids(report)) or "(none: the request got no answer)"
    cause = report.root_cause()
    return (f"To: {grid.SUPPORT_EMAIL}\nSubject: {report.target.get('model')} request failing: "
            f"{cause.code if cause else 'ok'}\n\n"
            f"Request ID(s): {ids}\nTimestamp: {report.started_at}\nInstrument: {report.target.get('model')}\n"
            f"Endpoint: {report.target.get('base_url')} ({report.target.get('api')})\n"
            f"Expected: {expected}\nGot: {got}\n{_attachment(report_file)}")


def _attachment(report_file: Path | None) -> str:
    if report_file is not None:
        return f"(gridctl {__version__} doctor report attached: {report_file.name})"
    return (f"(gridctl {__version__}; to attach a full redacted report, run `gridctl doctor --report "
            "gridctl-report.md` and attach that file)")


# What doctor did not check unless asked: (step, what, how to check it).
UNCHECKED = (("stream", "streaming", "add --stream"), ("body", "your own request body", "add --body FILE"))


def not_checked(report: Report) -> str:
    """The closing line's honest limit: what this run did not test, and the flag that tests it."""
    by_id = {c.id: c for c in report.checks}
    parts = [f"{what} ({how})" for cid, what, how in UNCHECKED
             if cid not in by_id or by_id[cid].status == "skip"]
    balance = by_id.get("balance")
    if balance is None or balance.status == "skip":
        parts.append(f"instruments other than {report.target.get('model') or 'this one'} (`gridctl ping --all`)")
    return "Not checked: " + "; ".join(parts) + "." if parts else ""


def _works_with_warnings(report: Report) -> list[str]:
    warnings = [f for c in report.checks for f in c.findings if f.severity == "warning"]
    if not warnings:
        return ["No problem found: your key, URL and instrument work. If your app still fails, the bug is in "
                "its own code or config (compare its request with `gridctl ping --curl`)."]
    seen: list[str] = []
    for f in warnings:
        if f.code not in seen:
            seen.append(f.code)
    lines = [f"The call works now, with {len(seen)} warning{'s' if len(seen) > 1 else ''}:"]
    for code in seen:
        f = next(w for w in warnings if w.code == code)
        lines.append(f"  {f.entry.title} ({code}): {f.entry.cause} {f.fix}")
    return lines


def closing_lines(report: Report, report_file: Path | None = None) -> list[str]:
    cause = report.root_cause()
    lines = [""]
    if cause is None:
        lines += _works_with_warnings(report)
    else:
        lines += [f"Diagnosis: {cause.entry.title} ({cause.code}), exit {int(report.exit_code)}",
                  f"  {cause.message}", f"  fix: {cause.fix}"]
        if cause.entry.doc:
            lines.append(f"  docs: {cause.entry.doc}")
    lines.append(f"Request ID(s): {', '.join(primary_request_ids(report)) or 'none'}   at {report.started_at}   "
                 f"instrument {report.target.get('model')}")
    unchecked = not_checked(report)
    if unchecked:
        lines.append(unchecked)
    if cause is not None and (cause.code.split(".")[0] in ("http", "status") or cause.code in SUPPORT_WORTHY):
        lines += ["", "Still stuck? Send this to support:",
                  *("  " + ln for ln in support_message(report, report_file).splitlines())]
    return lines


def write_report(report: Report, path: Path, sources: dict[str, Any]) -> None:
    """Markdown, or JSON when the file ends in .json; scrubbed of every key gridctl knows."""
    meta = {"gridctl": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "httpx": _version("httpx"), "settings": sources}
    if path.suffix.lower() == ".json":
        doc = envelope(report) | {"environment": meta, "support_message": support_message(report, path)}
        # values scrubbed before serialising (a key with `": "` in it cannot break the document)
        text = json_safe(json.dumps(scrub_json(doc), indent=2, ensure_ascii=False))
    else:
        # `cat report.md` must not let a server's escape codes reach the terminal either
        text = clean(scrub(_markdown(report, meta, path)))
    # errors="replace": a path (or text) that came from undecodable bytes is written with a ?, not a crash
    path.write_text(text + "\n", encoding="utf-8", errors="replace")


def _markdown(report: Report, meta: dict[str, Any], path: Path) -> str:
    cause = report.root_cause()
    expected, got = expected_vs_got(report)
    out = ["# gridctl doctor report", "",
           f"- started: {report.started_at} ({report.duration_ms:.0f} ms)",
           f"- diagnosis: {cause.code + ' - ' + cause.entry.title if cause else 'none (ok)'}",
           f"- exit code: {int(report.exit_code)}",
           f"- request IDs: {', '.join(report.request_ids) or 'none'}",
           f"- expected: {expected}", f"- got: {got}", "", "## Environment", ""]
    out += [f"- {k}: {v}" for k, v in meta.items() if k != "settings"]
    out += ["", "## Settings (value and source)", ""]
    out += [f"- {k}: {v}" for k, v in meta["settings"].items()]
    out += ["", "## Steps", ""]
    for c in report.checks:
        out.append(f"### {c.title} ({c.id}): {c.status}, {c.duration_ms:.0f} ms")
        for f in c.findings:
            out.append(f"- `{f.code}` ({f.severity}): {f.message} Fix: {f.fix}")
        if c.data:
            out.append(f"- data: `{json.dumps(c.data, default=str)[:600]}`")
        out.append("")
    out += ["## Message for support", "", "```", support_message(report, path), "```"]
    return "\n".join(out)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing distribution is not worth failing a report for
        return "unknown"
