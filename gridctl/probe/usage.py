"""The usage receipt: GET /v1/usage/{request_id}, and what it says about time added on the way.

The endpoint comes from The Grid's own CLI, not its public docs: a 404 or 401 from it means
"no receipt available" (a warning), never a failure of the user's setup.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gridctl.findings import finding
from gridctl.probe.client import Net
from gridctl.probe.ping import refuse
from gridctl.result import CheckResult, Timer
from gridctl.target import Target

QUIET_STATUSES = (401, 403, 404, 405, 410)


def on_consumption_host(target: Target) -> Target:
    """Receipts live on the consumption host: a probe of the Messages beta host asks there instead."""
    from dataclasses import replace

    from gridctl import grid

    if target.base_url.startswith(grid.MESSAGES_ROOT):
        return replace(target, base_url=grid.DEFAULT_BASE_URL, api="chat")
    return replace(target, api="chat")


def receipt_url(base_url: str, request_id: str) -> str:
    return f"{base_url.strip().rstrip('/')}/usage/{quote(request_id, safe='')}"


def fetch_receipt(net: Net, target: Target, request_id: str) -> CheckResult:
    """The receipt as a check: info with the receipt in `data`, a warning when there is none."""
    timer = Timer()
    target = on_consumption_host(target)
    refused = refuse(target, "usage", "Usage receipt")
    if refused is not None:
        return refused
    # The usage API is on the consumption host with the bearer key, whichever API was probed.
    auth = ("authorization", f"Bearer {target.key}")
    out = net.send("GET", receipt_url(target.base_url, request_id), headers={"accept": "application/json"},
                   auth=auth, retry=False)
    data: dict[str, Any] = {"request_id": request_id, "status_code": out.status_code}
    doc = out.json() if out.status_code == 200 else None
    if isinstance(doc, dict) and isinstance(doc.get("timing") or doc.get("usage"), dict):
        data["receipt"] = doc
        data["summary"] = describe(doc)
        findings = [finding("usage.receipt", data["summary"])]
    elif out.status_code in QUIET_STATUSES or (out.status_code == 200 and doc is None):
        why = f"HTTP {out.status_code}" if out.status_code != 200 else "an answer that is no receipt"
        findings = [finding("usage.unavailable", f"No usage receipt for {request_id} ({why}).")]
        data["summary"] = "no receipt available"
    else:
        findings = [f for f in out.findings if f.code != "http.redirect"]
        data["summary"] = f"HTTP {out.status_code}" if out.status_code else "no answer"
    return CheckResult("usage", "Usage receipt", findings, data=data, duration_ms=timer.ms())


def _dict(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def describe(doc: dict[str, Any]) -> str:
    """`text-prime served by openai/gpt-oss-120b, 12+2 tokens, 0.000028 USD (reconciled), ttft 130 ms`."""
    usage, cost, timing = (_dict(doc, k) for k in ("usage", "cost", "timing"))
    parts = [f"{doc.get('requested_model', '?')} served by {doc.get('serving_model', '?')}"]
    if usage:
        parts.append(f"{usage.get('input_tokens', '?')}+{usage.get('output_tokens', '?')} tokens")
    if cost:
        parts.append(f"{cost.get('amount', '?')} {cost.get('currency', '')} ({cost.get('status', '?')})")
    ttft, tps = _num(timing.get("ttft_ms")), _num(timing.get("tokens_per_second"))
    if ttft is not None:
        parts.append(f"server ttft {ttft:.0f} ms")
    if tps is not None:
        parts.append(f"{tps:.0f} tokens/s")
    return ", ".join(parts)


def join(check: CheckResult, receipt: CheckResult) -> CheckResult:
    """ping --receipt: the client's time to first token against the server's ttft_ms."""
    doc = receipt.data.get("receipt")
    timing = _dict(doc, "timing") if isinstance(doc, dict) else {}
    server = _num(timing.get("ttft_ms"))
    # A stream's first content chunk; for a whole answer, its first byte is its first token.
    client = check.data.get("ttft_ms") or (check.data.get("timings_ms") or {}).get("ttfb")
    if server is None or client is None:
        return receipt
    added = round(float(client) - server, 1)
    receipt.data.update(client_ttft_ms=client, server_ttft_ms=server, added_ms=added)
    receipt.findings.append(finding(
        "usage.added_latency", f"Your client saw the first token after {float(client):.0f} ms; The Grid's receipt "
        f"says {server:.0f} ms (ttft_ms): {added:.0f} ms were added by the network, a proxy or the client."))
    return receipt
