"""A user's program for `gridctl replay`: the openai SDK sending 14 fields, one of them rejected.

Usage: replay_client.py KIND..., each KIND one call, in order: range, unknown, tool, format, context
(which field is wrong), doubled-v1 (a base URL with /v1 twice) or wrong-header (the key in x-api-key, by
hand with httpx). Prints one line per call and exits 0 either way.
"""

from __future__ import annotations

import os
import sys
from typing import Any

KEY = os.environ["CLIENT_KEY"]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}
LOOKUP_BAD = {"type": "function", "function": {"name": "lookup", "description": "Look a word up",
                                               "parameters": {"type": "dict", "properties": {"word": {"type": "string"}}}}}
# Thirteen fields every kind sends; the fourteenth is the kind's own.
BASE: dict[str, Any] = {
    "model": "text-prime",
    "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Weather in Oslo?"}],
    "temperature": 0.7, "top_p": 0.9, "max_tokens": 64, "frequency_penalty": 0.1, "seed": 7, "user": "u-42",
    "stop": ["\n\n"], "tools": [WEATHER], "tool_choice": "auto", "n": 1, "parallel_tool_calls": True,
}
FOURTEENTH: dict[str, dict[str, Any]] = {
    "range": {"presence_penalty": 3.5},
    "unknown": {"extra_body": {"safe_mode": True}},
    "tool": {"presence_penalty": 0.0},
    "format": {"response_format": {"type": "xml"}},
    "context": {"max_completion_tokens": 200000},
}


def main(kind: str) -> str:
    import openai

    base = os.environ["OPENAI_BASE_URL"]
    if kind == "wrong-header":
        import httpx

        r = httpx.post(base + "/chat/completions", headers={"x-api-key": KEY},
                       json={"model": "text-prime", "messages": BASE["messages"]}, timeout=5)
        return str(r.status_code)
    if kind == "doubled-v1":
        base += "/v1"
    client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, timeout=5)
    fields = {**BASE, **FOURTEENTH.get(kind, {})}
    if kind == "tool":
        fields["tools"] = [WEATHER, LOOKUP_BAD]
    try:
        reply = client.chat.completions.create(**fields)
        return reply.id
    except openai.APIError as exc:
        return type(exc).__name__


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, main(arg))
