"""The `stream` step: does SSE run end to end, without a cut or a long idle gap?"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from gridctl.findings import Finding, finding
from gridctl.probe.client import Net, Outcome
from gridctl.probe.ping import refuse
from gridctl.result import CheckResult, Timer
from gridctl.target import Target

IDLE_WARN_S = 5.0  # proxies cut idle streams at 30-60 s; a gap this long is worth knowing about


@dataclass
class StreamStats:
    events: int = 0
    done: bool = False
    finish_reason: str | None = None
    max_gap_s: float = 0.0
    first_event_s: float | None = None
    # Seconds after the response headers: the first and last event that carried content
    # (time to first token = the first chunk with content, as the LLM benchmarking tools and
    # OpenTelemetry's gen_ai.client.operation.time_to_first_chunk define it), and the end.
    first_content_s: float | None = None
    last_content_s: float | None = None
    end_s: float | None = None
    content_events: int = 0
    usage_tokens: int | None = None  # the stream's own usage.completion_tokens, when it sends one
    error: str | None = None
    gaps: list[float] = field(default_factory=list)
    not_sse: list[Finding] = field(default_factory=list)  # a 2xx that was no event stream at all
    elapsed_s: float = 0.0  # from the response headers to the end (or cut) of the stream
    quiet_s: float = 0.0  # silence between the last event and that end: what an idle timeout measures


def check_stream(net: Net, target: Target, idle_warn_s: float = IDLE_WARN_S) -> CheckResult:
    timer = Timer()
    refused = refuse(target, "stream", "Streaming")
    if refused is not None:
        return refused
    stats = StreamStats()
    out = net.send("POST", target.endpoint, headers={**target.headers(), "accept": "text/event-stream"},
                   json=target.body(stream=True), auth=target.auth(), retry=True,
                   on_stream=lambda resp, o: _consume(resp, o, stats, net))
    data: dict[str, Any] = {"status_code": out.status_code, "request_id": out.request_id, "events": stats.events,
                            "done": stats.done, "finish_reason": stats.finish_reason,
                            "max_gap_ms": round(stats.max_gap_s * 1000, 1),
                            "first_event_ms": None if stats.first_event_s is None else round(stats.first_event_s * 1000, 1)}
    findings = [f for f in out.findings if f.code != "http.redirect"] if not out.ok or stats.error else []
    if out.status_code is not None and 200 <= out.status_code < 300:
        findings = []
        if stats.not_sse:
            findings = stats.not_sse
        elif not stats.done and stats.finish_reason is None:
            findings.append(cut_reading(stats))
        else:
            findings.append(finding("stream.ok", f"{stats.events} events, finish reason "
                                    f"{stats.finish_reason or 'n/a'}, longest gap {stats.max_gap_s * 1000:.0f} ms."))
        if stats.max_gap_s >= idle_warn_s:
            findings.append(finding("stream.idle_gap", f"The stream went quiet for {stats.max_gap_s:.1f} s between "
                                    "events; a proxy with a shorter idle timeout would cut it."))
    data["timings_ms"] = {k: out.timings_ms.get(k) for k in ("connect", "tls", "ttfb")}
    data.update(latency_of(stats, out.timings_ms.get("ttfb")))
    data["summary"] = f"{stats.events} events" + (", complete" if stats.done or stats.finish_reason else "")
    return CheckResult("stream", "Streaming", findings, data=data, duration_ms=timer.ms())


IDLE_CUT_S = 25.0  # silences this long before a cut match proxy idle timeouts (commonly 30-60 s)


def cut_reading(stats: StreamStats) -> Finding:
    """stream.cut with a cause and fix proportional to the evidence: when it was cut, and after what silence."""
    return stream_cut(stats.events, stats.elapsed_s, stats.quiet_s, stats.error)


def stream_cut(events: int, elapsed_s: float, quiet_s: float, error: str | None = None) -> Finding:
    """The one reading of a cut stream, for doctor's stream step and trace's calls alike: `elapsed_s` from the
    response headers to the cut, `quiet_s` the silence between the last event and the cut."""
    why = f" ({error})" if error else ""
    when = (f"The stream stopped after {events} events, {_dur(elapsed_s)} in and "
            f"{_dur(quiet_s)} after the last event, without a finish reason or [DONE]{why}.")
    if quiet_s >= IDLE_CUT_S:
        fix = (f"The cut came after {_dur(quiet_s)} of silence, like a proxy idle timeout: raise the idle "
               "timeout on whatever sits between your client and api.thegrid.ai above that (some corporate proxies "
               "cut at 30-60 s), or keep the stream busy.")
    elif elapsed_s >= IDLE_CUT_S:
        fix = (f"Not an idle timeout (only {_dur(quiet_s)} of silence), but {_dur(elapsed_s)} into the "
               "stream: look for a maximum response or connection duration on a proxy or load balancer in "
               "between; retry, and send the request ID to support@thegrid.ai if it repeats.")
    else:
        fix = (f"Too early and too short a silence for an idle timeout: the connection was closed actively "
               f"({_dur(elapsed_s)} in). Retry; if it repeats, check for a proxy, VPN or antivirus that "
               "inspects streams, try another network, and send the request ID to support@thegrid.ai.")
    return finding("stream.cut", when, fix=fix, elapsed_ms=round(elapsed_s * 1000, 1),
                   quiet_ms=round(quiet_s * 1000, 1))


def _dur(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _consume(response: httpx.Response, out: Outcome, stats: StreamStats, net: Net) -> None:
    import json

    # Offsets from the moment the headers were complete, where TTFB ends: TTFT = TTFB + offset, with no
    # gap between the two clocks (the time to get here from the headers would otherwise be lost).
    t0 = last = out.headers_at or time.perf_counter()
    ctype = response.headers.get("content-type", "")
    sse = "event-stream" in ctype.lower()
    seen: list[str] = []  # without the SSE content type: the first lines, to say what came instead
    from gridctl.probe.bounded import Expired, Oversized, lines

    try:
        # Bounded: the deadline is checked on every chunk (a trickle never ends a line), each line and
        # the whole stream have a size cap (an endless line used to grow memory without limit).
        for line in lines(response, lambda: net.deadline.expired):
            now = time.perf_counter()
            if not sse and len(seen) < 200 and sum(map(len, seen)) < 64 * 1024:
                seen.append(line)
            if not line.strip():
                continue
            if line.startswith("data:"):
                payload = line[5:].strip()
                stats.events += 1
                if stats.first_event_s is None:
                    stats.first_event_s = now - t0
                else:
                    gap = now - last
                    stats.max_gap_s = max(stats.max_gap_s, gap)
                last = now
                if payload == "[DONE]":
                    stats.done = True
                    break
                try:
                    doc = json.loads(payload)
                except ValueError:
                    continue
                stats.finish_reason = _finish(doc) or stats.finish_reason
                _count_content(doc, now - t0, stats)
                if isinstance(doc, dict) and doc.get("type") == "message_stop":
                    stats.done = True
                    break
            if net.deadline.expired:
                stats.error = "the time budget ran out mid-stream"
                break
    except Expired:
        stats.error = "the time budget ran out mid-stream"
    except Oversized as exc:
        stats.error = f"{exc.what} was larger than {exc.limit // 1024} KiB"
        stats.not_sse = [finding("http.oversized", f"HTTP {response.status_code}: {stats.error}; gridctl stopped "
                                 f"reading after {stats.events} events.")]
    except httpx.HTTPError as exc:
        stats.error = f"{exc.__class__.__name__}: {exc}"[:200]
    except Exception as exc:  # noqa: BLE001 - zlib.error: a corrupt compressed stream is a cut, not a crash
        stats.error = f"the stream could not be decompressed ({exc.__class__.__name__})"
    end = time.perf_counter()
    stats.elapsed_s, stats.quiet_s = end - t0, end - last
    stats.end_s = stats.elapsed_s
    if not sse and stats.events == 0 and not stats.not_sse:
        # A captive portal's page or a buffered JSON answer is not a stream "cut" by an idle timeout.
        from gridctl.probe.classify import classify_status

        body = "\n".join(seen).encode("utf-8", "replace")
        stats.not_sse = classify_status(response.status_code, body, ctype, out.url) or [
            finding("http.unexpected", f"HTTP {response.status_code} with {ctype or 'no content type'} instead of "
                    "an event stream (text/event-stream): something between you and The Grid buffers or rewrites "
                    "streams.")]


def latency_of(stats: StreamStats, ttfb_ms: float | None) -> dict[str, Any]:
    """TTFT, total, tokens, tokens/s and inter-token latency (ms), all from the request's start.

    The stream's offsets count from the response headers, so the headers' own time (TTFB)
    is added. Inter-token latency = (total - TTFT) / (tokens - 1); tokens/s is its inverse
    (the generation rate after the first token).
    """
    out: dict[str, Any] = {"ttft_ms": None, "stream_total_ms": None, "tokens": stats.usage_tokens or
                           stats.content_events, "tokens_per_s": None, "itl_ms": None}
    if ttfb_ms is None or stats.first_content_s is None:
        return out
    ttft = ttfb_ms + stats.first_content_s * 1000
    total = ttfb_ms + (stats.end_s if stats.end_s is not None else stats.first_content_s) * 1000
    out["ttft_ms"], out["stream_total_ms"] = round(ttft, 2), round(total, 2)
    tokens = int(out["tokens"])
    if tokens > 1 and total > ttft:
        itl = (total - ttft) / (tokens - 1)
        out["itl_ms"], out["tokens_per_s"] = round(itl, 3), round(1000 / itl, 2)
    return out


def _count_content(doc: Any, offset_s: float, stats: StreamStats) -> None:
    if not isinstance(doc, dict):
        return
    usage = doc.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        stats.usage_tokens = usage["completion_tokens"]
    if doc.get("type") == "content_block_delta":
        has = True
    else:
        choices = doc.get("choices")
        delta = choices[0].get("delta") if isinstance(choices, list) and choices and isinstance(choices[0], dict) \
            else None
        has = isinstance(delta, dict) and bool(delta.get("content") or delta.get("tool_calls"))
    if has:
        stats.content_events += 1
        if stats.first_content_s is None:
            stats.first_content_s = offset_s
        stats.last_content_s = offset_s


def _finish(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for choice in doc.get("choices") or []:
        if isinstance(choice, dict) and choice.get("finish_reason"):
            return str(choice["finish_reason"])
    delta = doc.get("delta")
    if doc.get("type") == "message_delta" and isinstance(delta, dict) and delta.get("stop_reason"):
        return str(delta["stop_reason"])
    return None
