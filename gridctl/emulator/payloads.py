"""Response bodies the emulator sends: OpenAI chat, Anthropic messages, Statuspage, HTML.

Pure functions from a parsed request to JSON-ready dicts, so server.py only moves bytes.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from gridctl.emulator.scenarios import COMPONENTS, INSTRUMENTS, Scenario, StatusPage

REPLY = "pong"
MAX_SAMPLE_STRING = 1 << 20  # a schema's minLength is honoured up to this many characters
_STATUS_EPOCH = "2026-11-23T09:12:00.000Z"


def sample(schema: Any) -> Any:
    """A small value that satisfies a JSON schema, so SDK parsers (pydantic) accept it."""
    if not isinstance(schema, dict):
        return {}
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(schema[key][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: sample(sub) for name, sub in props.items()}
    least = schema.get("minLength")
    if kind == "string" and isinstance(least, int) and least > len(REPLY):
        # A schema that asks for a long string gets one (bounded): the way to ask the emulator for a long answer.
        n = min(least, MAX_SAMPLE_STRING)
        return (REPLY * (n // len(REPLY) + 1))[:n]
    return {"string": REPLY, "integer": 1, "number": 1.0, "boolean": True, "array": []}.get(kind)


def _tool_call(req: dict[str, Any]) -> dict[str, Any] | None:
    """The first offered function tool, unless the client said tool_choice none."""
    tools = req.get("tools")
    if not isinstance(tools, list) or not tools or req.get("tool_choice") == "none":
        return None
    fn = tools[0].get("function", {}) if isinstance(tools[0], dict) else {}
    return {
        "id": f"call_{secrets.token_hex(12)}",
        "type": "function",
        "function": {
            "name": str(fn.get("name", "tool")),
            "arguments": json.dumps(sample(fn.get("parameters", {}))),
        },
    }


def _content(req: dict[str, Any]) -> str:
    fmt = req.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return json.dumps({"reply": REPLY})
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        return json.dumps(sample(spec.get("schema", {}) if isinstance(spec, dict) else {}))
    return REPLY


def _usage(req: dict[str, Any], completion: int) -> dict[str, int]:
    # A rough token count (4 bytes a token) keeps usage plausible without a tokenizer.
    prompt = len(json.dumps(req.get("messages", ""))) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def chat_completion(req: dict[str, Any]) -> dict[str, Any]:
    call = _tool_call(req)
    message: dict[str, Any] = {"role": "assistant", "content": None if call else _content(req)}
    if call:
        message["tool_calls"] = [call]
    choices = [
        {"index": i, "message": message, "logprobs": None,
         "finish_reason": "tool_calls" if call else "stop"}
        for i in range(int(req.get("n") or 1))
    ]
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion",
        "created": int(time.time()), "model": INSTRUMENTS[req["model"]],
        "choices": choices, "usage": _usage(req, 2), "system_fingerprint": None,
    }


def chat_chunks(req: dict[str, Any], tokens: int = 0) -> list[dict[str, Any]]:
    """Every SSE `data:` object of a streamed completion, in order (without [DONE])."""
    base = {"id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": INSTRUMENTS[req["model"]]}
    opts = req.get("stream_options")
    with_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                    "finish_reason": finish}]}
        if with_usage:
            out["usage"] = None
        return out

    call = _tool_call(req)
    if call:
        args = call["function"]["arguments"]
        head = {**call, "index": 0, "function": {"name": call["function"]["name"], "arguments": ""}}
        events = [chunk({"role": "assistant", "content": None, "tool_calls": [head]}),
                  chunk({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}),
                  chunk({}, "tool_calls")]
    else:
        text = _content(req)
        half = max(1, len(text) // 2)
        parts = [text[:half], text[half:]] if tokens <= 0 else ["tok "] * tokens
        events = [chunk({"role": "assistant", "content": ""}),
                  *[chunk({"content": part}) for part in parts], chunk({}, "stop")]
    if with_usage:
        events.append({**base, "choices": [], "usage": _usage(req, tokens if tokens > 0 else 2)})
    return events


def _message_block(req: dict[str, Any]) -> dict[str, Any]:
    tools = req.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        return {"type": "tool_use", "id": f"toolu_{secrets.token_hex(12)}",
                "name": str(tools[0].get("name", "tool")),
                "input": sample(tools[0].get("input_schema", {}))}
    return {"type": "text", "text": REPLY}


def message(req: dict[str, Any]) -> dict[str, Any]:
    block = _message_block(req)
    usage = _usage(req, 2)
    return {
        "id": f"msg_{secrets.token_hex(12)}", "type": "message", "role": "assistant",
        "model": INSTRUMENTS[req["model"]], "content": [block],
        "stop_reason": "tool_use" if block["type"] == "tool_use" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": 2},
    }


def message_events(req: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Anthropic SSE as (event name, data) pairs, from message_start to message_stop."""
    full = message(req)
    block = full["content"][0]
    start_msg = {**full, "content": [], "stop_reason": None,
                 "usage": {**full["usage"], "output_tokens": 0}}
    if block["type"] == "tool_use":
        empty = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
    else:
        empty = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": REPLY[:2]}, {"type": "text_delta", "text": REPLY[2:]}]
    return [
        ("message_start", {"type": "message_start", "message": start_msg}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": empty}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
          for d in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": full["stop_reason"], "stop_sequence": None},
                           "usage": {"output_tokens": 2}}),
        ("message_stop", {"type": "message_stop"}),
    ]


def models() -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 1767225600, "owned_by": "thegrid"}
        for name in INSTRUMENTS]}


def status(page: StatusPage, summary: bool) -> dict[str, Any]:
    """Atlassian Statuspage v2: status.json, or summary.json when `summary`."""
    out: dict[str, Any] = {
        "page": {"id": "thegrid", "name": "The Grid", "url": "https://status.thegrid.ai",
                 "time_zone": "Etc/UTC", "updated_at": _STATUS_EPOCH},
        "status": {"indicator": page.indicator, "description": page.description},
    }
    if not summary:
        return out
    states = dict(page.components)
    comps = [{"id": f"cmp{i}", "name": name, "status": states.get(name, "operational"),
              "position": i, "description": None, "group": False, "group_id": None,
              "only_show_if_degraded": False, "showcase": True, "page_id": "thegrid",
              "created_at": _STATUS_EPOCH, "updated_at": _STATUS_EPOCH}
             for i, name in enumerate(COMPONENTS, 1)]
    affected = [c for c in comps if c["status"] != "operational"]

    def event(kind: str, i: int, name: str, state: str, impact: str) -> dict[str, Any]:
        update = {"id": f"{kind}u{i}", "status": state, "body": f"We are looking into {name}.",
                  "created_at": _STATUS_EPOCH, "display_at": _STATUS_EPOCH}
        return {"id": f"{kind}{i}", "name": name, "status": state, "impact": impact,
                "created_at": _STATUS_EPOCH, "updated_at": _STATUS_EPOCH,
                "started_at": _STATUS_EPOCH, "resolved_at": None, "page_id": "thegrid",
                "shortlink": f"https://stspg.io/{kind}{i}", "components": affected,
                "incident_updates": [update]}

    out["components"] = comps
    out["incidents"] = [event("inc", i, *inc) for i, inc in enumerate(page.incidents, 1)]
    out["scheduled_maintenances"] = [event("mnt", i, name, state, "maintenance")
                                     for i, (name, state) in enumerate(page.maintenances, 1)]
    return out


def redirect_html(location: str) -> str:
    return (f'<html><body>You are being <a href="{location}">redirected</a>.</body></html>\n')


def proxy_html(code: int, reason: str) -> str:
    return (f"<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")


def diagnostics(sc: Scenario) -> dict[str, Any]:
    """GET /v1/diagnostics in the shape The Grid's own CLI reads: the server's view of this key."""
    def check(name: str, status: str, code: str, detail: str, next_action: str | None = None) -> dict[str, Any]:
        return {"name": name, "status": status, "code": code, "detail": detail, "next_action": next_action}

    checks = [check("api_key", "ok", "key_valid", "Consumption key accepted")]
    if sc.fail_status == 402 and sc.fail_instruments is None:
        checks.append(check("balance", "fail", "insufficient_credits", "USD credits balance is 0.00",
                            "Add credits or enable Auto-Reload in the dashboard"))
    elif sc.fail_status == 402:
        checks.append(check("balance", "warn", "instrument_tokens_empty",
                            "No consumption tokens for " + ", ".join(sorted(sc.fail_instruments or ())),
                            "Enable Auto Top Up for these instruments"))
    else:
        checks.append(check("balance", "ok", "funded", "Credits available"))
    if sc.status.indicator in ("major", "critical") or sc.fail_status == 500:
        checks.append(check("inference", "fail", "upstream_errors",
                            "Elevated error rates on the inference gateway", "Retry with backoff"))
    else:
        checks.append(check("inference", "ok", "healthy", "Inference gateway healthy"))
    worst = "fail" if any(c["status"] == "fail" for c in checks) else \
        "warn" if any(c["status"] == "warn" for c in checks) else "ok"
    return {"data": {"status": worst, "service": "consumption-api (emulator)",
                     "server_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "checks": checks,
                     "summary": f"{sum(c['status'] == 'ok' for c in checks)}/{len(checks)} checks ok"}}
def receipt(request_id: str, req: dict[str, Any], endpoint: str, output_tokens: int,
            ttft_s: float, duration_s: float) -> dict[str, Any]:
    """A usage receipt (GET /v1/usage/{id}, the shape of The Grid's own CLI), timed server-side."""
    prompt = _usage(req, output_tokens)["prompt_tokens"]
    gen_s = duration_s - ttft_s
    return {
        "request_id": request_id, "status": "reconciled", "requested_model": req["model"],
        "serving_model": INSTRUMENTS[req["model"]], "endpoint": endpoint,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "usage": {"input_tokens": prompt, "output_tokens": output_tokens,
                  "total_tokens": prompt + output_tokens},
        "cost": {"amount": f"{(prompt + output_tokens) * 0.000002:.6f}", "currency": "USD",
                 "status": "reconciled"},
        "timing": {"ttft_ms": round(ttft_s * 1000, 1),
                   "tokens_per_second": round(output_tokens / gen_s, 1) if gen_s > 0 else None,
                   "duration_ms": round(duration_s * 1000, 1)},
    }
