"""ping's human output: one line per request, for scripts and CI. Was probe/ping.one_line and cli/ping.py."""

from __future__ import annotations

from gridctl.result import CheckResult, Report


def one_line(check: CheckResult, show_model: bool = False) -> str:
    """`ok text-prime 200 412ms req=abc123` / `fail http.rate_limited 429 after 3 attempts`."""
    d = check.data
    rid = f" req={d['request_id']}" if d.get("request_id") else ""
    ms = d.get("timings_ms", {}).get("total") or check.duration_ms
    errors = [f for f in check.findings if f.severity == "error"]
    if not errors:
        served = f" ({d['served_model']})" if d.get("served_model") else ""
        return f"ok {d.get('model')} {d.get('status_code')} {ms:.0f}ms{rid}{served}"
    f = errors[0]
    status = f" {d['status_code']}" if d.get("status_code") else ""
    tries = f" after {d['attempts']} attempts" if d.get("attempts", 0) > 1 else ""
    model = f" model={d.get('model')}" if show_model else ""
    return f"fail {f.code}{status}{tries} {ms:.0f}ms{rid}{model}".replace("  ", " ")


def stream_line(check: CheckResult) -> str:
    """`ok stream 12 events 300ms req=...`: the first problem's code, else `stream`."""
    codes = [f.code for f in check.findings if f.severity != "info"] or [f.code for f in check.findings]
    word = "ok" if check.status != "fail" else "fail"
    rid = f" req={check.data['request_id']}" if check.data.get("request_id") else ""
    return f"{word} {codes[0] if codes else 'stream'} {check.data.get('events', 0)} events {check.duration_ms:.0f}ms{rid}"


def ping_lines(report: Report) -> list[str]:
    """One line per check; `--curl` shows the command instead; `--all` names each instrument."""
    if "curl" in report.extra:
        return [str(report.extra["curl"])]
    from gridctl.render.usage import receipt_line

    show_model = len([c for c in report.checks if c.id != "usage"]) > 1
    return [one_line(c, show_model) if c.id == "ping" else receipt_line(c) if c.id == "usage" else stream_line(c)
            for c in report.checks]
