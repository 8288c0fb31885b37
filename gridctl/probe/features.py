"""Onboarding probes: tool calling and JSON mode answer in the OpenAI format."""

from __future__ import annotations

import json
from typing import Any

from gridctl.findings import finding
from gridctl.probe.client import Net
from gridctl.probe.ping import refuse
from gridctl.result import SKIP, CheckResult, Timer
from gridctl.target import Target

TOOL = {"type": "function", "function": {"name": "get_time", "description": "Current time in UTC.",
                                         "parameters": {"type": "object", "properties": {}}}}


def _send(net: Net, target: Target, extra: dict[str, Any], prompt: str) -> tuple[Any, CheckResult | None]:
    body = target.body() | {"messages": [{"role": "user", "content": prompt}]} | extra
    out = net.send("POST", target.endpoint, headers=target.headers(), json=body, auth=target.auth())
    if not out.ok:
        errors = [f for f in out.findings if f.severity == "error"][:1] or [
            finding("http.unexpected", f"HTTP {out.status_code}: not a completion.")]
        return None, CheckResult("", "", errors, data={"status_code": out.status_code, "request_id": out.request_id})
    return out.json(), None


def _message(doc: Any) -> dict[str, Any]:
    """choices[0].message of a completion, {} for any other shape (a gateway may answer anything)."""
    choices = doc.get("choices") if isinstance(doc, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    return message if isinstance(message, dict) else {}


def check_tools(net: Net, target: Target) -> CheckResult:
    timer = Timer()
    if target.api != "chat" or refuse(target) is not None:
        return CheckResult("tools", "Tool calling", [], status=SKIP, data={"summary": "chat API only"})
    doc, failed = _send(net, target, {"tools": [TOOL], "tool_choice": {"type": "function",
                                                                      "function": {"name": "get_time"}}},
                        "What time is it? Use the tool.")
    if failed is not None:
        failed.id, failed.title, failed.duration_ms = "tools", "Tool calling", timer.ms()
        return failed
    calls = _message(doc).get("tool_calls")
    calls = calls if isinstance(calls, list) else []
    findings = [] if calls else [finding("http.unexpected", "A forced tool call came back without tool_calls.",
                                         severity="warning")]
    return CheckResult("tools", "Tool calling", findings, duration_ms=timer.ms(),
                       data={"tool_calls": len(calls), "summary": f"{len(calls)} tool call(s)"})


def check_json_mode(net: Net, target: Target) -> CheckResult:
    timer = Timer()
    if target.api != "chat" or refuse(target) is not None:
        return CheckResult("json_mode", "JSON mode", [], status=SKIP, data={"summary": "chat API only"})
    doc, failed = _send(net, target, {"response_format": {"type": "json_object"}},
                        'Reply with the JSON object {"ok": true} and nothing else.')
    if failed is not None:
        failed.id, failed.title, failed.duration_ms = "json_mode", "JSON mode", timer.ms()
        return failed
    content = _message(doc).get("content") or ""
    try:
        json.loads(content)
        findings = []
    except (TypeError, ValueError):
        findings = [finding("http.unexpected", "JSON mode answered content that is not JSON.", severity="warning")]
    return CheckResult("json_mode", "JSON mode", findings, duration_ms=timer.ms(),
                       data={"summary": "valid JSON" if not findings else "not JSON"})
