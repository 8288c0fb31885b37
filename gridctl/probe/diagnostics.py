"""The Grid's own server-side checks: GET /v1/diagnostics (bearer key), folded into doctor's ping step.

Seen in The Grid's own CLI, not in the public docs: a 200 in the documented shape is used, anything
else (404 where it is not deployed, 401, HTML, a timeout) is a quiet skip.
"""

from __future__ import annotations

from typing import Any

from gridctl.findings import Finding, finding
from gridctl.probe.client import Net
from gridctl.result import CheckResult, Timer
from gridctl.target import Target

DIAGNOSTICS_PATH = "/diagnostics"


def fetch_diagnostics(net: Net, target: Target) -> CheckResult:
    """data["diagnostics"]: the server's verdict and checks when it answered 200 in shape, else absent."""
    timer = Timer()
    out = net.send("GET", target.base_url.strip() + DIAGNOSTICS_PATH, headers={"accept": "application/json"},
                   auth=target.auth(), retry=False)
    data: dict[str, Any] = {"status_code": out.status_code, "request_id": out.request_id}
    parsed = parse(out.json()) if out.status_code == 200 else None
    if parsed is None:
        data["summary"] = "not available"
        return CheckResult("diagnostics", "Server diagnostics", [], data=data, duration_ms=timer.ms())
    data["diagnostics"] = parsed
    return CheckResult("diagnostics", "Server diagnostics", findings_of(parsed), data=data, duration_ms=timer.ms())


def parse(doc: Any) -> dict[str, Any] | None:
    """`{data: {status, service, server_time, checks: [...], summary}}` -> a bounded copy, or None."""
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or data.get("status") not in ("ok", "warn", "fail"):
        return None
    checks = []
    raw = data.get("checks")
    for c in raw if isinstance(raw, list) else []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            checks.append({k: str(c[k])[:200] for k in ("name", "status", "code", "detail", "next_action")
                           if c.get(k) is not None})
    return {"status": data["status"], "service": str(data.get("service", ""))[:80],
            "server_time": str(data.get("server_time", ""))[:40], "summary": str(data.get("summary", ""))[:300],
            "checks": checks[:50]}


def findings_of(parsed: dict[str, Any]) -> list[Finding]:
    """A warning per server check that is not ok: the server's words, with its next action as the fix."""
    out = []
    for c in parsed["checks"]:
        if c.get("status") in ("warn", "fail"):
            detail = c.get("detail") or c.get("code") or c["status"]
            out.append(finding("status.diagnostics", f"The Grid's own check {c['name']!r} says {c['status']}: "
                               f"{detail}", fix=c.get("next_action") or None, server_check=c["name"]))
    return out


def fold(checks: dict[str, CheckResult]) -> None:
    """Move a diagnostics answer into the ping step (data, and warnings for checks that are not ok)."""
    diag, ping = checks.pop("diagnostics", None), checks.get("ping")
    if diag is None or ping is None or "diagnostics" not in diag.data:
        return
    ping.data["server_diagnostics"] = diag.data["diagnostics"]
    ping.findings.extend(diag.findings)
    ping.refresh()
