"""The request-body checks The Grid makes, applied under every emulator scenario.

Each check answers as The Grid does: status 400 or 422 and `{"errors": {"detail": "..."}}`, with the
words gridctl's classify.py reads back into a finding code (body.unknown_param, body.out_of_range,
body.tool_schema, body.response_format, body.context_length). Only what The Grid genuinely rejects is
rejected: real SDKs send `stream_options`, `n`, `user`, `tools`, `metadata`..., so unknown means "not in
the Chat Completions parameter list below", not "not used by gridctl". Stdlib only.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

# Chat Completions parameters (OpenAI's list, which The Grid's consumption API takes), plus the sampling
# extras its LiteLLM gateway passes through. Anything else is "Unrecognized request argument".
CHAT_PARAMS = frozenset({
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "prompt_cache_key", "reasoning_effort", "response_format", "safety_identifier", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
    "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    "top_k", "min_p", "repetition_penalty",
})
RANGES: dict[str, tuple[float, float | None]] = {
    "temperature": (0, 2), "top_p": (0, 1), "max_tokens": (1, None), "max_completion_tokens": (1, None),
    "n": (1, 128), "presence_penalty": (-2, 2), "frequency_penalty": (-2, 2), "top_logprobs": (0, 20),
}
ENUMS: dict[str, tuple[str, ...]] = {"reasoning_effort": ("minimal", "low", "medium", "high")}
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
CONTEXT_WINDOW = 131072  # tokens, every instrument (the emulator's round figure)
_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

# What `gridctl emulator list` says the layer does.
SUMMARY = ("every scenario validates request bodies as The Grid does: unknown parameters (400), out-of-range "
           "values such as temperature > 2 (422), tools without a valid JSON schema (400), an unsupported "
           f"response_format (400), a context over {CONTEXT_WINDOW} tokens (400)")


class Rejection(NamedTuple):
    """An answer The Grid gives to a body it does not accept: `{"errors": {"detail", "code", "param"}}`."""

    status: int
    detail: str
    code: str
    param: str | None = None

    def body(self) -> dict[str, Any]:
        return {"errors": {"detail": self.detail, "code": self.code, "param": self.param}}


def problem(req: dict[str, Any], messages_api: bool) -> Rejection | None:
    """The first thing The Grid would reject in this body, or None."""
    bad = out_of_range(req)
    if bad:
        return bad
    if messages_api:
        return None  # the Messages beta: ranges only (its own parameter list is Anthropic's)
    unknown = sorted(k for k in req if k not in CHAT_PARAMS)
    if unknown:
        return Rejection(400, f"Unrecognized request argument supplied: {', '.join(unknown)}", "unknown_parameter",
                         unknown[0])
    for check, code, param in ((_tools, "invalid_tool_schema", "tools"),
                               (_response_format, "unsupported_response_format", "response_format"),
                               (_context, "context_length_exceeded", "messages")):
        found = check(req)
        if found:
            return Rejection(400, found, code, param)
    return None


def out_of_range(req: dict[str, Any]) -> Rejection | None:
    for name, (low, high) in RANGES.items():
        value = req.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Rejection(422, f"Parameter '{name}' must be a number", "out_of_range", name)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            return Rejection(422, f"Parameter '{name}' is out of range: must be {bound}, got {value}",
                             "out_of_range", name)
    for name, allowed in ENUMS.items():
        value = req.get(name)
        if value is not None and value not in allowed:
            return Rejection(422, f"Parameter '{name}' is out of range: must be one of {', '.join(allowed)}, "
                             f"got {json.dumps(value)[:40]}", "out_of_range", name)
    return None


def _tools(req: dict[str, Any]) -> str | None:
    tools = req.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "Invalid schema for 'tools': expected an array of tool objects"
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or tool.get("type") != "function":
            return f"Invalid schema for tools[{i}]: expected {{\"type\": \"function\", \"function\": {{...}}}}"
        name = fn.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
            return f"Invalid schema for function in tools[{i}]: 'name' must match ^[a-zA-Z0-9_-]{{1,64}}$"
        params = fn.get("parameters")
        why = None if params is None else schema_problem(params)
        if why:
            return f"Invalid schema for function '{name}': {why}"
    return None


def schema_problem(schema: Any, where: str = "parameters", depth: int = 0) -> str | None:
    """Why `schema` is not a usable JSON schema (the parts The Grid's validator checks), or None."""
    if depth > 32:
        return f"{where} nests too deeply"
    if not isinstance(schema, dict):
        return f"{where} must be an object (a JSON schema), got {json.dumps(schema)[:40]}"
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    bad = [k for k in kinds if k not in _TYPES]
    if bad:
        return f"{json.dumps(bad[0])[:40]} in {where}.type is not a valid JSON schema type"
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            return f"{where}.properties must be an object"
        for name, sub in props.items():
            why = schema_problem(sub, f"{where}.properties.{name}", depth + 1)
            if why:
                return why
    required = schema.get("required")
    if required is not None and not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
        return f"{where}.required must be an array of strings"
    items = schema.get("items")
    if items is not None and not isinstance(items, bool):
        return schema_problem(items, f"{where}.items", depth + 1)
    return None


def _response_format(req: dict[str, Any]) -> str | None:
    fmt = req.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    model = req.get("model")
    if kind not in RESPONSE_FORMATS:
        return (f"Invalid response_format type {json.dumps(kind)[:40]}: instrument '{model}' supports "
                f"{', '.join(RESPONSE_FORMATS)}")
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            return "Invalid response_format: json_schema needs a 'name' and a 'schema'"
        why = schema_problem(spec.get("schema", {}), "response_format.json_schema.schema")
        if why:
            return f"Invalid response_format: {why}"
    return None


def _context(req: dict[str, Any]) -> str | None:
    prompt = len(json.dumps(req.get("messages", ""))) // 4 + 1  # the emulator's rough count: 4 bytes a token
    completion = next((v for v in (req.get("max_completion_tokens"), req.get("max_tokens"))
                       if isinstance(v, int) and not isinstance(v, bool)), 0)
    if prompt + completion <= CONTEXT_WINDOW:
        return None
    return (f"This model's maximum context length is {CONTEXT_WINDOW} tokens. However, you requested "
            f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the completion). "
            "Please reduce the length of the messages or completion.")
