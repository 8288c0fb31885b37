"""A user's program with The Grid's URL written into its source (no base-URL variable read).

Usage: hardcoded_sdk.py STEP [STEP ...]; each step makes one call and prints one line. With
USE_ENV=1 the same calls take their base URL from OPENAI_BASE_URL / ANTHROPIC_BASE_URL instead (the
reverse-proxied twin the tests compare with). `other-host` calls https://other.test:$OTHER_PORT/,
trusting only the certificate in $OTHER_CERT: it works only if nobody decrypted it on the way.
"""

from __future__ import annotations

import os
import sys

KEY = os.environ.get("CLIENT_KEY", "gk-hardcoded-0123456789abcdefghijklmnopqrstuvw")
MSG = [{"role": "user", "content": "ping"}]
ENV = os.environ.get("USE_ENV") == "1"
OPENAI_BASE = os.environ["OPENAI_BASE_URL"] if ENV else "https://api.thegrid.ai/v1"
ANTHROPIC_BASE = os.environ["ANTHROPIC_BASE_URL"] if ENV else "https://messages-beta.api.thegrid.ai"


def step(name: str) -> str:  # noqa: C901 -- one branch per kind of call
    if name.startswith("openai"):
        import openai

        base = OPENAI_BASE + ("/v1" if name == "openai-doubled" else "")
        model = "gpt-4o" if name == "openai-model" else "text-prime"
        client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, timeout=5)
        try:
            if name == "openai-stream":
                chunks = client.chat.completions.create(model=model, messages=MSG, stream=True)  # type: ignore[arg-type]
                return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            return client.chat.completions.create(model=model, messages=MSG).choices[0].message.content or ""  # type: ignore[arg-type]
        except openai.APIError as exc:
            return f"error {type(exc).__name__}"
    if name.startswith("anthropic"):
        import anthropic

        aclient = anthropic.Anthropic(base_url=ANTHROPIC_BASE, api_key=KEY, max_retries=0, timeout=5)
        try:
            if name == "anthropic-stream":
                with aclient.messages.stream(model="text-prime", max_tokens=16, messages=MSG) as s:  # type: ignore[arg-type]
                    return "".join(s.text_stream)
            reply = aclient.messages.create(model="text-prime", max_tokens=16, messages=MSG)  # type: ignore[arg-type]
            return "".join(getattr(b, "text", "") for b in reply.content)
        except anthropic.APIError as exc:
            return f"error {type(exc).__name__}"
    if name == "other-host":
        import ssl

        import httpx

        ctx = ssl.create_default_context(cafile=os.environ["OTHER_CERT"])
        with httpx.Client(verify=ctx, timeout=5) as client:
            resp = client.get(f"https://other.test:{os.environ['OTHER_PORT']}/hello")
            return f"other {resp.status_code} {resp.text}"
    if name == "urllib":
        import json
        import urllib.error
        import urllib.request

        req = urllib.request.Request(f"{OPENAI_BASE}/chat/completions", method="POST",
                                     data=json.dumps({"model": "text-prime", "messages": MSG}).encode(),
                                     headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return f"urllib {resp.status}"
        except urllib.error.HTTPError as exc:
            return f"urllib {exc.code}"
    if name == "httpx":
        import httpx

        resp = httpx.post(f"{OPENAI_BASE}/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "text-prime", "messages": MSG}, timeout=5)
        return f"httpx {resp.status_code}"
    raise SystemExit(f"unknown step {name}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(step(arg), flush=True)
