"""The `status` step: read the status page, whatever provider serves it. No credentials, ever."""

from __future__ import annotations

from typing import Any

from gridctl.findings import Finding, finding
from gridctl.probe.client import Net
from gridctl.result import CheckResult, Timer

# Which provider serves status.thegrid.ai is unknown: try each one's JSON, cheapest guess first.
ENDPOINTS = (
    ("statuspage", "/api/v2/summary.json"),
    ("statuspage", "/api/v2/status.json"),
    ("instatus", "/summary.json"),
    ("incident.io", "/api/v1/summary"),
    ("betterstack", "/index.json"),
)


def check_status(net: Net, status_url: str) -> CheckResult:
    timer = Timer()
    root = status_url.strip().rstrip("/")
    tried: list[str] = []
    reachable = False
    for provider, path in ENDPOINTS:
        if net.deadline.remaining() < 0.05:
            break
        out = net.send("GET", root + path, headers={"accept": "application/json"}, retry=False)
        tried.append(path)
        if out.status_code is None:
            # the host itself failed: no point guessing more paths
            reason = out.findings[0].message if out.findings else "no answer"
            return _unreachable(root, f"{reason}", tried, timer)
        reachable = True
        doc = out.json() if out.status_code == 200 else None
        if isinstance(doc, dict):
            parsed = parse(provider, doc)
            if parsed is not None:
                findings, data = parsed
                data.update(provider=provider, url=root + path)
                return CheckResult("status", "Status page", findings, data=data, duration_ms=timer.ms())
    why = "no known status format at " + ", ".join(tried) if reachable else "no answer"
    return _unreachable(root, why, tried, timer)


def _unreachable(root: str, why: str, tried: list[str], timer: Timer) -> CheckResult:
    f = finding("status.unreachable", f"The status page {root} could not be read ({why}).")
    return CheckResult("status", "Status page", [f], data={"url": root, "tried": tried, "summary": "unknown"},
                       duration_ms=timer.ms())


def parse(provider: str, doc: dict[str, Any]) -> tuple[list[Finding], dict[str, Any]] | None:
    if provider == "statuspage":
        return _statuspage(doc)
    if provider == "instatus":
        return _instatus(doc)
    if provider == "incident.io":
        return _incident_io(doc)
    return _betterstack(doc)


def _verdict(indicator: str, description: str, incidents: list[str], components: list[str],
             maintenance: bool) -> tuple[list[Finding], dict[str, Any]]:
    data: dict[str, Any] = {"indicator": indicator, "description": description, "incidents": incidents,
                            "affected_components": components, "summary": description or indicator}
    names = "; ".join(incidents) or description
    where = f" Affected: {', '.join(components)}." if components else ""
    if indicator in ("major", "critical") or (incidents and indicator not in ("none", "maintenance")):
        return [finding("status.incident", f"Active incident: {names}.{where} It's not you.")], data
    if indicator == "maintenance" or maintenance:
        return [finding("status.maintenance", f"Maintenance: {names or 'in progress'}.{where}")], data
    if indicator == "minor":
        return [finding("status.degraded", f"Degraded: {names}.{where}")], data
    return [finding("status.operational", description or "All systems operational.")], data


def _statuspage(doc: dict[str, Any]) -> tuple[list[Finding], dict[str, Any]] | None:
    status = doc.get("status")
    if not isinstance(status, dict) or "indicator" not in status:
        return None
    incidents = [f"{i.get('name')} ({in_words(i.get('status'))})" for i in _list(doc.get("incidents"))
                 if i.get("status") not in ("resolved", "postmortem")]
    components = [f"{c.get('name')}: {in_words(c.get('status'))}" for c in _list(doc.get("components"))
                  if c.get("status") not in (None, "operational")]
    maint = any(m.get("status") == "in_progress" for m in _list(doc.get("scheduled_maintenances")))
    return _verdict(str(status.get("indicator")), str(status.get("description", "")), incidents, components, maint)


def _instatus(doc: dict[str, Any]) -> tuple[list[Finding], dict[str, Any]] | None:
    page = doc.get("page")
    if not isinstance(page, dict) or "status" not in page:
        return None
    state = str(page["status"]).upper()
    indicator = {"UP": "none", "HASISSUES": "major", "UNDERMAINTENANCE": "maintenance"}.get(state, "minor")
    incidents = [str(i.get("name")) for i in _list(doc.get("activeIncidents"))]
    return _verdict(indicator, in_words(state.lower()), incidents, [], bool(_list(doc.get("activeMaintenances"))))


def _incident_io(doc: dict[str, Any]) -> tuple[list[Finding], dict[str, Any]] | None:
    summary = doc.get("summary", doc)
    if not isinstance(summary, dict) or "ongoing_incidents" not in summary:
        return None
    incidents = [str(i.get("name")) for i in _list(summary.get("ongoing_incidents"))]
    maint = bool(_list(summary.get("in_progress_maintenances")))
    indicator = "major" if incidents else ("maintenance" if maint else "none")
    return _verdict(indicator, "", incidents, [], maint)


def _betterstack(doc: dict[str, Any]) -> tuple[list[Finding], dict[str, Any]] | None:
    data = doc.get("data")
    attrs = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attrs, dict) or "aggregate_state" not in attrs:
        return None
    state = str(attrs["aggregate_state"])
    indicator = {"operational": "none", "degraded": "minor", "downtime": "major", "maintenance": "maintenance"}
    return _verdict(indicator.get(state, "minor"), in_words(state), [], [], state == "maintenance")


# Status-page enums as a person would say them (Statuspage, Instatus, Better Stack spellings).
WORDS = {"major_outage": "major outage", "partial_outage": "partial outage", "degraded_performance":
         "degraded performance", "under_maintenance": "under maintenance", "in_progress": "in progress",
         "hasissues": "has issues", "undermaintenance": "under maintenance", "downtime": "down"}


def in_words(value: Any) -> str:
    """`major_outage` -> `major outage`: raw enums are for machines, not for the people reading the report."""
    text = str(value)
    return WORDS.get(text.lower(), text.replace("_", " "))


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
