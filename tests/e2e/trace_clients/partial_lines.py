"""Writes its stderr in pieces (a progress line built across calls) while its calls fail, ITERATIONS times.

Some iterations stall mid-line (longer than trace holds a partial line), before or after the call, so
trace's lines meet the program's partial lines in every order. Every byte it writes is also written to
the file named by argv[1], so a test can compare what it wrote with what reached the user.
"""

import os
import sys
import time

import httpx

ITERATIONS = int(os.environ.get("ITERATIONS", "100"))
copy = open(sys.argv[1], "w", encoding="utf-8")


def err(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()
    copy.write(text)


with httpx.Client(timeout=5) as client:
    for i in range(ITERATIONS):
        err(f"progress {i}: ")
        if i % 25 == 0:
            time.sleep(0.25)  # silent mid-line before the call: the partial line is relayed as it is
        client.post(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
                    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]},
                    json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]})
        err("call ")
        if i % 25 == 12:
            time.sleep(0.25)  # silent mid-line after the call: trace's line may not wait for this one
        err("done\n")
copy.close()
