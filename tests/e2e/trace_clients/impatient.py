"""Hand-written clients that misbehave in ways only traffic shows.

retry-now: retries a 429 at once, three times, ignoring Retry-After.
abandon-stream: reads the first chunk of a stream, then hangs up.
"""

from __future__ import annotations

import os
import sys

import httpx

URL = os.environ["THEGRID_BASE_URL"] + "/chat/completions"
HEADERS = {"Authorization": "Bearer " + os.environ["CLIENT_KEY"]}
BODY = {"model": "text-prime", "messages": [{"role": "user", "content": "ping"}]}

with httpx.Client(timeout=5) as client:
    if sys.argv[1] == "retry-now":
        codes = [client.post(URL, headers=HEADERS, json=BODY).status_code for _ in range(3)]
        print("statuses", codes)
    else:
        with client.stream("POST", URL, headers=HEADERS, json=BODY | {"stream": True}) as r:
            first = next(r.iter_raw())
        print("first chunk", len(first))
