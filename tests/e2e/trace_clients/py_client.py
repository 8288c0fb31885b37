"""A user's own program, as gridctl trace sees it: the openai or anthropic SDK, reading the environment.

Usage: py_client.py MODE. Prints one line (the outcome) and exits 0 either way; the SDKs read the
base URL that gridctl trace put in OPENAI_BASE_URL / ANTHROPIC_BASE_URL, unless MODE bends it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

KEY = os.environ["CLIENT_KEY"]
MSG: list = [{"role": "user", "content": "ping"}]  # type: ignore[type-arg]
RETRIES = int(os.environ.get("CLIENT_RETRIES", "2"))
TIMEOUT = float(os.environ.get("CLIENT_TIMEOUT", "2"))
MODEL = os.environ.get("CLIENT_MODEL", "text-prime")  # the instrument the sync and stream modes ask for


def oai(base_suffix: str = "", **kw: object) -> Any:
    import openai  # only the SDK a mode uses is imported: anthropic alone takes seconds on a busy machine

    base = os.environ["OPENAI_BASE_URL"] + base_suffix
    return openai.OpenAI(base_url=base, api_key=KEY, max_retries=RETRIES, timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def main(mode: str) -> str:
    if mode.endswith("-all"):  # sync, async and streaming in one program: one SDK import for three clients
        sdk = mode.removesuffix("-all")
        return " ".join(main(f"{sdk}-{kind}") for kind in ("sync", "async", "stream"))
    if mode == "openai-sync":
        return oai().chat.completions.create(model=MODEL, messages=MSG).choices[0].message.content or ""
    if mode == "openai-stream":
        chunks = oai().chat.completions.create(model=MODEL, messages=MSG, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if mode == "openai-async":
        import openai

        async def go() -> str:
            client = openai.AsyncOpenAI(api_key=KEY, max_retries=RETRIES, timeout=TIMEOUT)
            reply = await client.chat.completions.create(model="text-prime", messages=MSG)
            return reply.choices[0].message.content or ""
        return asyncio.run(go())
    if mode == "mistakes":
        # Four calls, each with one mistake made in the program itself, not in the environment.
        import openai

        outcomes = []
        for client, model in ((oai("/v1"), "text-prime"), (oai("/chat/completions"), "text-prime"),
                              (oai(), "gpt-4o"),
                              (oai(default_headers={"Authorization": f"Bearer Bearer {KEY}"}), "text-prime")):
            try:
                outcomes.append(client.chat.completions.create(model=model, messages=MSG).id)
            except openai.APIError as exc:
                outcomes.append(type(exc).__name__)
        return " ".join(outcomes)
    if mode.startswith("anthropic"):
        import anthropic

        kw = {"api_key": KEY, "max_retries": RETRIES, "timeout": TIMEOUT}
        if mode == "anthropic-async":
            async def go_a() -> str:
                reply = await anthropic.AsyncAnthropic(**kw).messages.create(  # type: ignore[arg-type]
                    model="text-prime", max_tokens=16, messages=MSG)
                return reply.content[0].text  # type: ignore[union-attr]
            return asyncio.run(go_a())
        client = anthropic.Anthropic(**kw)  # type: ignore[arg-type]
        if mode == "anthropic-stream":
            with client.messages.stream(model="text-prime", max_tokens=16, messages=MSG) as stream:
                return "".join(stream.text_stream)
        return client.messages.create(model="text-prime", max_tokens=16, messages=MSG).content[0].text  # type: ignore[union-attr]
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    try:
        print("reply", main(sys.argv[1]))
    except Exception as exc:  # noqa: BLE001 - the SDKs' errors: only their name is the outcome
        print("error", type(exc).__name__)
