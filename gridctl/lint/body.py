"""Request-body lint for Chat Completions: what earns a 400 or a 422 before it is sent."""

from __future__ import annotations

import difflib
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
INTEGERS = frozenset({"n", "max_tokens", "max_completion_tokens", "top_logprobs"})
BOOLEANS = ("stream", "logprobs", "parallel_tool_calls", "store")


def lint_body(text: str, check_model: bool = True) -> list[Finding]:  # noqa: C901 - one flat pass over the fields; issue 16 makes it linear, split after that lands
    out: list[Finding] = []
    try:
        body: Any = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        msg = exc.msg.removesuffix(" at")
        return [finding("body.invalid_json", f"Not valid JSON: {msg} at line {exc.lineno}, column {exc.colno}.",
                        line=exc.lineno, column=exc.colno)]
    except _NotJson as exc:
        return [finding("body.invalid_json", f"Not valid JSON: {exc} is not a JSON value (NaN and Infinity "
                        "are Python's, not JSON's).")]
    except RecursionError:
        return [finding("body.invalid_json", "The JSON nests too deeply to parse.")]
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        return [finding("body.invalid_json", f"The JSON cannot be read: {str(exc).split(':')[0][:80]}.")]
    if not isinstance(body, dict):
        return [finding("body.invalid_json", f"The body is a JSON {_json_type(body)}, not an object.")]
    if "model" not in body:
        out.append(finding("body.missing_field", "The body has no `model`."))
    elif not isinstance(body["model"], str):
        out.append(finding("body.missing_field", "`model` must be a string (an instrument name)."))
    elif check_model:
        out.extend(lint_model(body["model"]).findings)
    out.extend(_messages(body.get("messages", None)))
    for name in body:
        if name not in KNOWN_PARAMS:
            close = difflib.get_close_matches(str(name), sorted(KNOWN_PARAMS), n=1, cutoff=0.75)
            out.append(finding("body.unknown_param", f"`{name}` is not a Chat Completions parameter."
                               + (f" Did you mean `{close[0]}`?" if close else ""),
                               fix=f"Write `{close[0]}`." if close else None,
                               **({"suggestion": close[0]} if close else {})))
    for name, (low, high) in RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(finding("body.out_of_range", f"`{name}` must be a number, not {json.dumps(value)[:40]}."))
        elif name in INTEGERS and not (isinstance(value, int) or value.is_integer()):
            out.append(finding("body.out_of_range", f"`{name}` is {value}; it must be a whole number."))
        elif (low is not None and value < low) or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"at least {low}"
            out.append(finding("body.out_of_range", f"`{name}` is {value}; it must be {span}."))
    for name in BOOLEANS:
        if name in body and body[name] is not None and not isinstance(body[name], bool):
            out.append(finding("body.out_of_range", f"`{name}` must be true or false, not "
                               f"{json.dumps(body[name])[:40]}."))
    return out


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(name)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "array"


def _messages(messages: Any) -> list[Finding]:
    if messages is None:
        return [finding("body.missing_field", "The body has no `messages`.")]
    if not isinstance(messages, list) or not messages:
        return [finding("body.missing_field", "`messages` must be a non-empty list.")]
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            return [finding("body.missing_field", f"messages[{i}] must be an object with `role` and `content`.")]
        role = msg.get("role")
        if isinstance(role, str) and role not in ROLES and role.strip().lower() in ROLES:
            return [finding("body.missing_field", f"messages[{i}] has role {role!r}; roles are lower case: "
                            f"{role.strip().lower()!r}.")]
        if role not in ROLES:
            return [finding("body.missing_field", f"messages[{i}] has no valid `role` ({', '.join(ROLES[:4])}).")]
        if "content" not in msg and not msg.get("tool_calls"):
            return [finding("body.missing_field", f"messages[{i}] has no `content`.")]
    return []
