"""The generator of the SDK rows in tests/unit/test_explain_evidence.py (issue 20): real SDKs failing
with the body hidden, and against the emulator's scenarios. Not a test; run it by hand to refresh:

    cd /tmp/nodeprobe && npm install openai @anthropic-ai/sdk     # openai 6.49.0, @anthropic-ai/sdk 1.17.0
    .venv/bin/python -m tests.support.explain_corpus_gen > rows.json

Every server binds 127.0.0.1: a stub that answers STATUS with an empty body (what makes openai-python
print only `Error code: 404`), and the emulator. Each SDK makes one call with retries off.
"""

from __future__ import annotations

import json
import subprocess
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NODE_DIR = "/tmp/nodeprobe"
KEY = "gk-demo-key-0000"
PING: list[Any] = [{"role": "user", "content": "ping"}]
NODE_OPENAI = ("const OpenAI=require('openai');(async()=>{try{await new OpenAI({baseURL:process.argv[1],apiKey:'%s',"
               "maxRetries:0,timeout:3000}).chat.completions.create({model:'%s',messages:[{role:'user',content:'ping'}]})}"
               "catch(e){console.log(String(e.constructor.name)+': '+e.message)}})()")
NODE_ANTHROPIC = ("const A=require('@anthropic-ai/sdk');(async()=>{try{await new (A.default||A)({baseURL:process.argv[1],"
                  "apiKey:'%s',maxRetries:0,timeout:3000}).messages.create({model:'%s',max_tokens:8,messages:"
                  "[{role:'user',content:'ping'}]})}catch(e){console.log(String(e.constructor.name)+': '+e.message)}})()")


class _Empty(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(int(self.path.split("/")[1]))
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _py_openai(base: str, model: str) -> str:
    import openai

    try:
        openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, timeout=3).chat.completions.create(
            model=model, messages=PING)
    except Exception as exc:  # noqa: BLE001 - whatever the SDK raises is the row
        return "".join(traceback.format_exception_only(exc)).strip()
    return ""


def _py_anthropic(base: str, model: str) -> str:
    import anthropic

    try:
        anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0, timeout=3).messages.create(
            model=model, max_tokens=8, messages=PING)
    except Exception as exc:  # noqa: BLE001
        return "".join(traceback.format_exception_only(exc)).strip()
    return ""


def _node(code: str, base: str) -> str:
    run = subprocess.run(["node", "-e", code, base], capture_output=True, text=True, timeout=30, cwd=NODE_DIR)
    return (run.stdout + run.stderr).strip()


def _all(base: str, root: str, model: str) -> list[tuple[str, str]]:
    return [("openai-python", _py_openai(base, model)), ("anthropic-python", _py_anthropic(root, model)),
            ("openai-node", _node(NODE_OPENAI % (KEY, model), base)),
            ("anthropic-node", _node(NODE_ANTHROPIC % (KEY, model), root))]


def main() -> None:
    from gridctl.emulator.server import start

    rows: list[tuple[str, str, str]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Empty)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for status in (401, 402, 403, 404, 429, 500, 502, 503):
        base = f"http://127.0.0.1:{server.server_address[1]}/{status}"
        rows += [(sdk, f"empty {status}", text) for sdk, text in _all(base, base, "text-prime")]
    server.shutdown()
    for scenario in ("bad-key", "no-credits", "instrument-no-tokens", "rate-limited", "server-error", "replenishing",
                     "html-error", "redirect-token-expired"):
        emu = start(scenario)
        try:
            rows += [(sdk, scenario, text) for sdk, text in _all(emu.base_url, emu.root_url, "text-max")]
        finally:
            emu.stop()
    print(json.dumps([r for r in rows if r[2]], indent=1))  # noqa: T201 - a script's output


if __name__ == "__main__":
    main()
