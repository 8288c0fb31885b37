"""A program that ignores the environment: its base URL is hard-coded (a closed loopback port)."""

import httpx

BASE_URL = "http://127.0.0.1:9/v1"

try:
    httpx.post(BASE_URL + "/chat/completions", json={"model": "text-prime"}, timeout=1)
except httpx.HTTPError as exc:
    print("error", type(exc).__name__)
