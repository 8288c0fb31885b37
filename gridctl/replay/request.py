"""A request to re-send, as data: the recorded call minus its credential, the changes --minimize may
make to it, the cost clamps, and the curl command that sends it (`$THEGRID_API_KEY`, never the key).

Pure: no network, no key. The key is joined to a request only in send.py, at the last moment.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gridctl.replay.har import RecordedCall
from gridctl.secrets import SECRET_HEADERS

# Headers that describe one connection, not the request: never re-sent (httpx writes its own).
TRANSPORT = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "upgrade",
                       "accept-encoding", "proxy-connection", "expect"})
AUTH = ("authorization", "x-api-key", "api-key", "x-consumption-key", "anthropic-api-key")
REQUIRED_HEADERS = frozenset({"content-type", "anthropic-version"})
REQUIRED_FIELDS = frozenset({"model", "messages"})
MAX_TOKEN_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
# The Grid's (OpenAI's) default for a field, for "put back to the default".
DEFAULTS: dict[str, Any] = {"temperature": 1, "top_p": 1, "n": 1, "presence_penalty": 0, "frequency_penalty": 0,
                            "stream": False, "logprobs": False, "parallel_tool_calls": True,
                            "reasoning_effort": "medium", "tool_choice": "auto", "response_format": {"type": "text"}}
SHORT_CONTENT = 200  # characters a shortened message keeps


@dataclass(frozen=True)
class Change:
    """One thing --minimize may take out of the request."""

    kind: str   # "field" | "tool" | "messages" | "header"
    name: str   # the field or header name, the tool's index
    label: str  # for people: "`reasoning_effort`", "the tool `get_weather`", "header `x-stainless-os`"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "label": self.label}


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: Any = None             # the JSON body (usually a dict), when the recorded one parsed
    raw: str | None = None       # the body text when it did not parse: sent byte for byte
    auth_name: str | None = None  # the header the program put its key in, None: it sent none
    auth_scheme: str = ""        # "Bearer" (as written) or "" for a bare key
    notes: tuple[str, ...] = field(default=(), compare=False)

    def content(self) -> bytes | None:
        if self.raw is not None:
            return self.raw.encode("utf-8")
        if self.body is None:
            return None
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def auth_value(self, key: str) -> str:
        return f"{self.auth_scheme} {key}" if self.auth_scheme else key

    def curl(self) -> str:
        """The command that sends this request, with the key as $THEGRID_API_KEY."""
        parts = ["curl -sS -L"]
        body = self.content()
        if self.method != "POST" or body is None:
            parts[0] += f" -X {self.method}"
        parts[0] += f" {shlex.quote(self.url)}"
        if self.auth_name:
            value = self.auth_value("$THEGRID_API_KEY")
            parts.append(f'-H "{self.auth_name}: {value}"')
        parts += [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in self.headers]
        if body is not None:
            parts.append(f"--data-binary {shlex.quote(body.decode('utf-8'))}")
        return " \\\n  ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers),
                "auth_header": self.auth_name, "body": self.body if self.raw is None else self.raw}


def from_call(call: RecordedCall, url: str) -> Request:
    """The recorded call as it was sent, to `url`, without its credential (the HAR holds none anyway)."""
    name, scheme = None, ""
    headers: list[tuple[str, str]] = []
    for k, v in call.headers:
        low = k.lower()
        if low in AUTH and name is None:
            name = k
            word = v.strip().split(" ", 1)[0]
            scheme = word if " " in v.strip() and word.lower() in ("bearer", "token", "basic") else ""
            continue
        if low in TRANSPORT or low in SECRET_HEADERS or low.startswith(("proxy-", ":")):
            continue
        headers.append((k, v))
    body = call.json_body()
    raw = call.body_text if body is None and call.body_text else None
    return Request(call.method, url, tuple(headers), body, raw, name, scheme)


def changes(req: Request) -> list[Change]:
    """Everything --minimize may take out, in the order it tries them: body fields, tools, messages, headers."""
    out: list[Change] = []
    body = req.body if isinstance(req.body, dict) else {}
    for key, value in body.items():
        if key in REQUIRED_FIELDS:
            continue
        if key == "tools" and isinstance(value, list) and value:
            out += [Change("tool", str(i), f"the tool {_tool_name(t, i)}") for i, t in enumerate(value)]
        else:
            out.append(Change("field", key, f"`{key}`"))
    messages = body.get("messages")
    if isinstance(messages, list) and (len(messages) > 2 or any(_long(m) for m in messages)):
        out.append(Change("messages", "messages", "the older and the long messages"))
    out += [Change("header", k, f"header `{k}`") for k, _ in req.headers if k.lower() not in REQUIRED_HEADERS]
    return out


def without(req: Request, removed: Iterable[Change]) -> Request:
    """`req` with the removed changes applied."""
    gone = set(removed)
    fields = {c.name for c in gone if c.kind == "field"}
    tools = {int(c.name) for c in gone if c.kind == "tool"}
    headers = {c.name for c in gone if c.kind == "header"}
    body = req.body
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in fields}
        if tools and isinstance(body.get("tools"), list):
            kept = [t for i, t in enumerate(body["tools"]) if i not in tools]
            if kept:
                body["tools"] = kept
            else:
                del body["tools"]
        if any(c.kind == "messages" for c in gone) and isinstance(body.get("messages"), list):
            body["messages"] = _shorter(body["messages"])
    return Request(req.method, req.url, tuple((k, v) for k, v in req.headers if k not in headers), body, req.raw,
                   req.auth_name, req.auth_scheme)


def with_field(req: Request, name: str, value: Any) -> Request:
    body = dict(req.body) if isinstance(req.body, dict) else {}
    body[name] = value
    return Request(req.method, req.url, req.headers, body, req.raw, req.auth_name, req.auth_scheme)


def clamp(req: Request, under_test: str | None = None) -> Request:
    """Cost safety: max_tokens (and its synonyms) at 1, streaming off; not the field under test."""
    if not isinstance(req.body, dict):
        return req
    body = dict(req.body)
    for name in MAX_TOKEN_FIELDS:
        if name in body and name != under_test and isinstance(body[name], int) and body[name] > 1:
            body[name] = 1
    if body.get("stream") is True and under_test != "stream":
        body["stream"] = False
        body.pop("stream_options", None)
    return Request(req.method, req.url, req.headers, body, req.raw, req.auth_name, req.auth_scheme)


def clampable(req: Request) -> list[str]:
    """The fields clamp() changes in this request, in the order to test them unclamped."""
    body = req.body if isinstance(req.body, dict) else {}
    out = [n for n in MAX_TOKEN_FIELDS if isinstance(body.get(n), int) and body[n] > 1]
    return out + (["stream"] if body.get("stream") is True else [])


def _tool_name(tool: Any, i: int) -> str:
    fn = tool.get("function") if isinstance(tool, dict) else None
    name = (fn.get("name") if isinstance(fn, dict) else None) or (tool.get("name") if isinstance(tool, dict) else None)
    return f"`{name}`" if isinstance(name, str) else f"tools[{i}]"


def _long(message: Any) -> bool:
    return isinstance(message, dict) and isinstance(message.get("content"), str) \
        and len(message["content"]) > SHORT_CONTENT


def _shorter(messages: list[Any]) -> list[Any]:
    """The first system message (if any) and the last message, their text cut to SHORT_CONTENT characters."""
    system = [m for m in messages[:1] if isinstance(m, dict) and m.get("role") in ("system", "developer")]
    keep = system + ([messages[-1]] if messages and messages[-1] not in system else [])
    return [{**m, "content": m["content"][:SHORT_CONTENT]} if _long(m) else m for m in keep]
