"""Request-body lint for Chat Completions: what earns a 400 or a 422 before it is sent."""

from __future__ import annotations

import json
from typing import Any

from gridctl.findings import Finding, finding
from gridctl.lint.model import lint_model

KNOWN_PARAMS = frozenset({
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop", "max_tokens",
    "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
    "top_logprobs", "user", "tools", "tool_choice", "parallel_tool_calls", "response_format", "seed",
    "metadata", "store", "reasoning_effort", "modalities", "prediction", "service_tier", "audio",
    "verbosity", "web_search_options", "functions", "function_call",
})
# name -> (low, high); None is open-ended
RANGES: dict[str, tuple[float | None, float | None]] = {
    "temperature": (0, 2), "top_p": (0, 1), "n": (1, 128), "max_tokens": (1, None),
    "max_completion_tokens": (1, None), "presence_penalty": (-2, 2), "frequency_penalty": (-2, 2),
    "top_logprobs": (0, 20),
}
ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def lint_body(text: str, check_model: bool = True) -> list[Finding]:
    out: list[Finding] = []
    try:
        body: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return [finding("body.invalid_json", f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")]
    except RecursionError:
        return [finding("body.invalid_json", "The JSON nests too deeply to parse.")]
    if not isinstance(body, dict):
        return [finding("body.invalid_json", f"The body is a JSON {type(body).__name__}, not an object.")]
    if "model" not in body:
        out.append(finding("body.missing_field", "The body has no `model`."))
    elif not isinstance(body["model"], str):
        out.append(finding("body.missing_field", "`model` must be a string (an instrument name)."))
    elif check_model:
        out.extend(lint_model(body["model"]).findings)
    out.extend(_messages(body.get("messages", None)))
    for name in body:
        if name not in KNOWN_PARAMS:
            out.append(finding("body.unknown_param", f"`{name}` is not a Chat Completions parameter."))
    for name, (low, high) in RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(finding("body.out_of_range", f"`{name}` must be a number, not {json.dumps(value)[:40]}."))
        elif (low is not None and value < low) or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"at least {low}"
            out.append(finding("body.out_of_range", f"`{name}` is {value}; it must be {span}."))
    return out


def _messages(messages: Any) -> list[Finding]:
    if messages is None:
        return [finding("body.missing_field", "The body has no `messages`.")]
    if not isinstance(messages, list) or not messages:
        return [finding("body.missing_field", "`messages` must be a non-empty list.")]
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            return [finding("body.missing_field", f"messages[{i}] must be an object with `role` and `content`.")]
        if msg.get("role") not in ROLES:
            return [finding("body.missing_field", f"messages[{i}] has no valid `role` ({', '.join(ROLES[:4])}).")]
        if "content" not in msg and not msg.get("tool_calls"):
            return [finding("body.missing_field", f"messages[{i}] has no `content`.")]
    return []
