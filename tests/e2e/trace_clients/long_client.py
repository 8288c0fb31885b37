"""A user's program with a long prompt (17,000 characters) and a long answer (a 40,000-character string the
JSON schema asks for): both over trace's 16 KB capture, both fine. Prints one line; exits 1 on an SDK error."""

from __future__ import annotations

import os

import openai

SCHEMA = {"type": "object", "properties": {"text": {"type": "string", "minLength": 40_000}}, "required": ["text"]}

client = openai.OpenAI(api_key=os.environ["CLIENT_KEY"], max_retries=0, timeout=10)
reply = client.chat.completions.create(
    model="text-prime", messages=[{"role": "user", "content": "x" * 17_000}],
    response_format={"type": "json_schema", "json_schema": {"name": "long", "schema": SCHEMA}})  # type: ignore[arg-type,misc]
print("reply", len(reply.choices[0].message.content or ""))
