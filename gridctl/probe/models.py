"""The live instrument list: GET /v1/models, with the offline list as the fallback."""

from __future__ import annotations

from gridctl import grid
from gridctl.findings import finding
from gridctl.probe.client import Net
from gridctl.result import CheckResult, Timer
from gridctl.target import Target


def fetch_models(net: Net, target: Target) -> CheckResult:
    """data["live"] holds the ids when the list could be read, else None (and a warning)."""
    timer = Timer()
    url = target.base_url.strip() + grid.MODELS_PATH
    headers = {"accept": "application/json"}
    if target.api == "messages":
        headers["anthropic-version"] = "2023-06-01"
    out = net.send("GET", url, headers=headers, auth=target.auth(), retry=False)
    doc = out.json() if out.ok else None
    ids: list[str] | None = None
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        ids = [str(m["id"]) for m in doc["data"] if isinstance(m, dict) and m.get("id")]
    data = {"live": ids, "status_code": out.status_code, "request_id": out.request_id}
    if ids is None:
        why = out.findings[0].message if out.findings else f"HTTP {out.status_code} without a model list"
        warn = finding("model.not_listed", f"The live list (GET /v1/models) could not be read: {why} "
                       "Using the built-in list.", severity="warning",
                       fix="Nothing to do unless other checks fail; the nine instruments are documented.")
        return CheckResult("models", "Live instrument list", [warn], data=data, duration_ms=timer.ms())
    data["summary"] = f"{len(ids)} instruments listed"
    return CheckResult("models", "Live instrument list", [], data=data, duration_ms=timer.ms())
