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
    if ping is not None and ping.data.get("status_code"):
        got = f"HTTP {ping.data['status_code']}"
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
    ids = [r for r in (ping.data.get("request_ids") or []) if r] if ping else []
    return ids or list(report.request_ids)


def support_message(report: Report) -> str:
    expected, got = expected_vs_got(report)
    ids = ", ".join(primary_request_ids(report)) or "(none: the request got no answer)"
    cause = report.root_cause()
    return (f"To: {grid.SUPPORT_EMAIL}\nSubject: {report.target.get('model')} request failing: "
            f"{cause.code if cause else 'ok'}\n\n"
            f"Request ID(s): {ids}\nTimestamp: {report.started_at}\nInstrument: {report.target.get('model')}\n"
            f"Endpoint: {report.target.get('base_url')} ({report.target.get('api')})\n"
            f"Expected: {expected}\nGot: {got}\n(gridctl {__version__} doctor report attached)")


def closing_lines(report: Report) -> list[str]:
    cause = report.root_cause()
    lines = [""]
    if cause is None:
        lines.append("No problem found: your key, URL and instrument work. If your app still fails, the bug is in "
                     "its own code or config (compare its request with `gridctl ping --curl`).")
    else:
        lines += [f"Diagnosis: {cause.entry.title} ({cause.code}), exit {int(report.exit_code)}",
                  f"  {cause.message}", f"  fix: {cause.fix}"]
        if cause.entry.doc:
            lines.append(f"  docs: {cause.entry.doc}")
    lines.append(f"Request ID(s): {', '.join(primary_request_ids(report)) or 'none'}   at {report.started_at}   "
                 f"instrument {report.target.get('model')}")
    if cause is not None and (cause.code.split(".")[0] in ("http", "status") or cause.code in SUPPORT_WORTHY):
        lines += ["", "Still stuck? Send this to support:", *("  " + ln for ln in support_message(report).splitlines())]
    return lines


def write_report(report: Report, path: Path, sources: dict[str, Any]) -> None:
    """Markdown, or JSON when the file ends in .json; scrubbed of every key gridctl knows."""
    meta = {"gridctl": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "httpx": _version("httpx"), "settings": sources}
    if path.suffix.lower() == ".json":
        doc = envelope(report) | {"environment": meta, "support_message": support_message(report)}
        # values scrubbed before serialising (a key with `": "` in it cannot break the document)
        text = json_safe(json.dumps(scrub_json(doc), indent=2, ensure_ascii=False))
    else:
        # `cat report.md` must not let a server's escape codes reach the terminal either
        text = clean(scrub(_markdown(report, meta)))
    path.write_text(text + "\n", encoding="utf-8")


def _markdown(report: Report, meta: dict[str, Any]) -> str:
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
    out += ["## Message for support", "", "```", support_message(report), "```"]
    return "\n".join(out)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing distribution is not worth failing a report for
        return "unknown"
