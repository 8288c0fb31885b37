"""HAR 1.2 of every traced call, from the already-redacted records (devtools and HAR viewers open it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gridctl import __version__
from gridctl.trace.record import Call


def _headers(items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in items]


def entry(call: Call) -> dict[str, Any]:
    d = call.as_json()
    query = parse_qsl(urlsplit(call.url).query, keep_blank_values=True)
    ttfb = call.ttfb_ms if call.ttfb_ms is not None else (call.total_ms or 0)
    total = call.total_ms or 0
    req_type = next((v for k, v in call.request_headers if k.lower() == "content-type"), "application/json")
    return {
        "startedDateTime": d["started_at"],
        "time": round(total, 3),
        "request": {
            "method": call.method, "url": call.url, "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": _headers(call.request_headers),
            "queryString": [{"name": k, "value": v} for k, v in query],
            **({"postData": {"mimeType": req_type, "params": [], "text": call.request_body}} if call.request_bytes else {}),
            "headersSize": -1, "bodySize": call.request_bytes,
        },
        "response": {
            "status": call.status or 0, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": _headers(call.response_headers),
            "content": {"size": call.response_bytes, "mimeType": call.content_type or "x-unknown",
                        "text": call.response_body},
            "redirectURL": call.location or "", "headersSize": -1, "bodySize": call.response_bytes,
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(ttfb, 3), "receive": round(max(total - ttfb, 0), 3)},
        "comment": " ".join(f.code for f in call.findings),
        "_gridctl": {"sdk_url": call.sdk_url, "upstream_url": call.upstream_url, "findings": d["findings"],
                     "stream": d["stream"], "hop_of": call.hop_of, "notes": d["notes"]},
    }


def har(calls: Sequence[Call]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": {"name": "gridctl trace", "version": __version__},
                    "pages": [], "entries": [entry(c) for c in calls]}}
