"""Starts a grandchild that sleeps, writes its pid to argv[1], then makes one call that hangs (--emulate hang)."""

import os
import subprocess
import sys

import httpx

grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    fh.write(str(grandchild.pid))
print("calling", file=sys.stderr, flush=True)
httpx.post(os.environ["OPENAI_BASE_URL"] + "/chat/completions", timeout=float(os.environ.get("CLIENT_TIMEOUT", "60")),
           headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]},
           json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]})
