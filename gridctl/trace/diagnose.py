"""Per-call diagnosis with doctor's catalogue and lints, plus what only traffic shows.

A call's answer says what happened (classify_status, classify_exception); the lints on the URL
the SDK built, the auth header it sent and the body's model say why, in the same order as
doctor's diagnose(). Across calls: retries and their waits, redirects followed or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

from gridctl.findings import ERROR, URL_404_CAUSES, WARNING, ExitCode, Finding, confirmed_exit, finding
from gridctl.result import CheckResult, Report
from gridctl.textsafe import clean
from gridctl.trace.record import Call, StreamStats
from gridctl.trace.terms import in_user_terms

ENDPOINTS = ("/chat/completions", "/messages", "/models", "/completions", "/embeddings", "/responses")
RETRYABLE = (402, 408, 409, 429, 500, 502, 503, 504)
NO_BACKOFF_S = 0.1
IDLE_WARN_MS = 5000.0
LOOP_DEPTH = 5  # redirects in a row that make a loop, not The Grid's one normal hop


def api_of(call: Call) -> str:
    return "messages" if call.path.rstrip("/").endswith("/messages") else "chat"


def base_of(sdk_url: str, sdk: str | None = None) -> str:
    """The base URL the SDK was given: the request URL minus the endpoint it appended
    (the Anthropic SDK appends /v1 as well)."""
    parts = urlsplit(sdk_url)
    path = parts.path.rstrip("/")
    for ep in ENDPOINTS:
        ep = "/v1" + ep if sdk == "anthropic" else ep
        if path.endswith(ep):
            path = path[: -len(ep)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def lint_call(call: Call) -> dict[str, list[Finding]]:
    """The offline lints on what the client really sent, by step (url, auth, model, body)."""
    from gridctl.lint.body import lint_body
    from gridctl.lint.header import HeaderSyntaxError, lint_header
    from gridctl.lint.model import lint_model
    from gridctl.lint.url import lint_url

    api = api_of(call)
    sdk = "anthropic" if api == "messages" and call.slot == "a" else None
    out: dict[str, list[Finding]] = {"url": [], "auth": [], "model": [], "body": []}
    if call.proxy_answer is not None:  # trace answered before routing: no upstream URL to read
        return out
    base = base_of(call.sdk_url, sdk)
    out["url"] = [f for f in lint_url(base, api=api, sdk=sdk).findings if f.severity != "info"]
    out["url"] = in_user_terms(call, base, out["url"])  # issue 20: the fix names the variable trace rewrote
    if call.hop_of is None and call.method == "POST":
        if call.raw_auth is None:
            out["auth"] = [finding("auth.missing_key", "The request carried no Authorization (or x-api-key) header.")]
        else:
            try:
                # The server accepted the header: only what is certainly wrong is worth a word (anthropic
                # 2.x sends Bearer to the Messages API, which the lint would otherwise question).
                keep = ("error",) if call.status is not None and 200 <= call.status < 300 else ("error", "warning")
                out["auth"] = [f for f in lint_header(call.raw_auth, api=api).findings if f.severity in keep]
            except HeaderSyntaxError:
                out["auth"] = [finding("auth.missing_key")]
        out["auth"] = in_user_terms(call, base, out["auth"])  # issue 20: OPENAI_API_KEY, not THEGRID_API_KEY
        if call.model is not None:
            out["model"] = [f for f in lint_model(call.model).findings if f.severity != "info"]
        if api == "chat" and call.body_lint is not None:  # read whole when it arrived: the capture is cut
            out["body"] = list(call.body_lint)
        elif api == "chat" and call.raw_body:
            out["body"] = [f for f in lint_body(call.raw_body.decode("utf-8", "replace"), check_model=False)
                           if f.severity != "info"]
    return out


def answer_findings(call: Call, idle_warn_ms: float = IDLE_WARN_MS) -> list[Finding]:
    """What the upstream's answer (or its absence) says, as doctor's ping step would read it."""
    if call.proxy_answer is not None:
        return [call.proxy_answer]
    if call.refused is not None:
        return [call.refused]
    if call.upstream_error is not None:
        return [call.upstream_error]
    if call.status is None:
        ms = f" after {call.total_ms:.0f} ms" if call.total_ms else ""
        return [finding("net.no_response", f"The call had no answer{ms} when the client gave up or the program "
                        "ended.")]
    if 300 <= call.status < 400 and call.location:
        return [finding("http.redirect", f"HTTP {call.status} to {call.location}.")]
    if call.stream is not None and call.status == 200:
        return _stream_findings(call, call.stream, idle_warn_ms)
    if call.upstream_cut:
        return [_cut_body(call)]
    if call.client_gone:  # the program hung up before the end: what was read is a cut copy, not the answer
        return [finding("trace.body_not_checked", f"The program stopped reading after {call.response_bytes} bytes, "
                        "before the answer ended: not checked.")]
    if call.body_verdict is not None:  # read whole as it went by: the record keeps only its first part
        return _hop_reading(call, list(call.body_verdict))
    if call.response_bytes > len(call.raw_response) and not call.content_type.lower().startswith("text/html"):
        # Only a cut copy was kept (the client went before the end): never judged on it.
        return [finding("trace.body_not_checked", f"The answer was {call.response_bytes} bytes and only its first "
                        f"{len(call.raw_response)} were kept: not checked.")]
    return _hop_reading(call, body_reading(call, call.raw_response))


def body_reading(call: Call, body: bytes) -> list[Finding]:
    """What an answer's whole body says, as doctor's ping reads it ([] for a good 2xx)."""
    from gridctl.probe.classify import classify_status

    ctype = call.content_type.lower()
    jsonish = "json" in ctype or body[:1] in (b"{", b"[")
    if call.status is None or 200 <= call.status < 300 and not jsonish and not (body and "html" in ctype):
        return []  # a 2xx that is not meant to be JSON (an empty answer, a file): nothing to read into it
    return classify_status(call.status, body, call.content_type, call.sdk_url)


def _header(call: Call, name: str) -> str:
    return next((v for k, v in call.response_headers if k.lower() == name), "")


def _cut_body(call: Call) -> Finding:
    """The upstream's body stopped short of what its headers promised: doctor's net.reset, with the byte
    counts. The client saw its connection dropped too (the proxy mirrors the cut)."""
    got, length = call.response_bytes, _header(call, "content-length")
    if length.isdigit():
        said = f"after {got} of the {length} bytes its Content-Length announced"
    elif "chunked" in _header(call, "transfer-encoding").lower():
        said = f"after {got} bytes of a chunked body, before its last chunk"
    else:
        said = f"after {got} bytes, before the body ended"
    if call.cut_by is not None:  # a read timeout mid-body: the layer classify_exception named, with the count
        return finding(call.cut_by.code, f"{call.cut_by.message} The body stopped {said}.", bytes_received=got)
    cut = finding("net.reset", f"HTTP {call.status} arrived, then the upstream closed the connection {said}: "
                  "something between the proxy and the server (or the server) cut the response.",
                  bytes_received=got)
    if length.isdigit():
        cut.data["bytes_expected"] = int(length)
    return cut


def _signed_hop(call: Call) -> bool:
    """Is this the second hop of a redirect whose URL carried The Grid's signed `token` (redacted, still there)?"""
    from gridctl.probe.client import signed_redirect

    return call.hop_of is not None and signed_redirect(call.upstream_url)


def _hop_reading(call: Call, findings: list[Finding]) -> list[Finding]:
    """doctor's reading: a 401/403 from a signed redirect's target rejects the token, not the key (the first
    hop accepted the key), so no auth.* advice comes with it."""
    from gridctl.probe.client import rejected_hop

    if call.status not in (401, 403) or not _signed_hop(call):
        return findings
    parts = urlsplit(call.upstream_url)
    where = f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")
    return rejected_hop(call.status, where, f"the signed URL of call #{call.hop_of}'s 307, whose `token` is that "
                        "hop's credential", findings)


def _stream_findings(call: Call, stream: StreamStats, idle_warn_ms: float) -> list[Finding]:
    out: list[Finding] = []
    if call.upstream_cut or (not stream.done and not call.client_gone):
        out.append(stream_cut_of(call, stream))
    elif call.client_gone:
        state = "was complete" if stream.done else "was still coming"
        out.append(finding("trace.stream_cut_downstream", f"The Grid's stream {state}, but the client "
                           f"stopped reading after {call.response_bytes} bytes."))
    if stream.max_gap_ms >= idle_warn_ms:
        out.append(finding("stream.idle_gap", f"The stream was silent for {stream.max_gap_ms / 1000:.1f} s."))
    return out


def stream_cut_of(call: Call, stream: StreamStats) -> Finding:
    """doctor's reading of a cut stream (probe.stream.stream_cut), from what the proxy saw of this one."""
    from gridctl.probe.stream import stream_cut

    total = call.total_ms or 0.0
    headers = call.ttfb_ms if call.ttfb_ms is not None else 0.0
    last = stream.last_event_ms if stream.last_event_ms is not None else headers
    return stream_cut(stream.events, max(total - headers, 0.0) / 1000, max(total - last, 0.0) / 1000)


def root_of(call: Call, answer: list[Finding], lints: dict[str, list[Finding]]) -> tuple[Finding | None,
                                                                                          ExitCode | None]:
    """doctor's reading of a ping's evidence, applied to one real call."""
    errors = [f for f in answer if f.severity == ERROR]
    first = errors[0] if errors else None

    def errs(step: str, codes: tuple[str, ...] | None = None) -> list[Finding]:
        return [f for f in lints[step] if f.severity == ERROR and (codes is None or f.code in codes)]

    if call.proxy_answer is not None:
        return call.proxy_answer, None
    if call.refused is not None:
        return call.refused, None
    status = call.status
    if first is None:
        for step in ("auth", "url", "model", "body"):
            if errs(step):
                return errs(step)[0], None
        return None, None
    if status in (401, 403):
        cause = errs("auth")
    elif status == 404:
        cause = errs("url", URL_404_CAUSES) or errs("model")
    elif status in (400, 422):
        cause = errs("body") or errs("model")
    else:
        cause = []
    return (cause[0], confirmed_exit(cause[0].code, status)) if cause else (first, None)


def _signature(call: Call) -> tuple[str, str, str, bytes]:
    return call.slot, call.method, call.path, call.body_key or call.raw_body


def traffic_findings(call: Call, earlier: Sequence[Call]) -> tuple[list[Finding], Call | None]:
    """Retries of an earlier failed call and their waits; a 307 followed with another method."""
    out: list[Finding] = []
    if call.hop_of is not None:
        first = next((c for c in earlier if c.id == call.hop_of), None)
        if first is not None and (call.method != first.method or (first.raw_body and not call.raw_body)):
            out.append(finding("trace.redirect_as_get", f"The 307 of call #{first.id} ({first.method}) was followed "
                               f"with {call.method}{' and no body' if not call.raw_body else ''}."))
        return out, None
    prev = next((c for c in reversed(earlier) if c.hop_of is None and _signature(c) == _signature(call)), None)
    if prev is None:
        return out, None
    prev = _last_hop(prev, earlier)  # a redirected call failed or worked where its chain ended
    if not _failed(prev):
        return out, None
    wait = call.started - prev.ended
    if prev.answered_by_trace:  # what the client reacted to came from trace, not the upstream: say so
        call.notes.append(f"retry of #{prev.id} after {wait * 1000:.0f} ms, which gridctl trace answered "
                          f"{prev.status} itself")
        return out, prev
    if prev.status is None and prev.upstream_error is None:
        call.notes.append(f"retry of #{prev.id}, which the client gave up waiting on")
        return out, prev
    call.notes.append(f"retry of #{prev.id} after {wait * 1000:.0f} ms"
                      + (f" (Retry-After {prev.retry_after_s:g} s)" if prev.retry_after_s is not None else ""))
    if prev.retry_after_s is not None and wait + 0.05 < prev.retry_after_s:
        out.append(finding("trace.retry_too_soon", f"Call #{prev.id} got {prev.status} with Retry-After "
                           f"{prev.retry_after_s:g} s; the client retried after {wait:.2f} s."))
    elif prev.status in (402, 429) and wait < NO_BACKOFF_S:
        out.append(finding("trace.retry_no_backoff", f"Call #{prev.id} got {prev.status}; the client retried "
                           f"after {wait * 1000:.0f} ms."))
    return out, prev


def _last_hop(call: Call, calls: Sequence[Call]) -> Call:
    hops = {c.hop_of: c for c in calls if c.hop_of is not None}
    seen = call
    for _ in range(1000):
        if seen.id not in hops:
            break
        seen = hops[seen.id]
    return seen


def _depth(call: Call, calls: Sequence[Call]) -> int:
    by_id = {c.id: c for c in calls}
    depth, seen = 1, call
    while seen.hop_of is not None and seen.hop_of in by_id and depth < 1000:
        seen, depth = by_id[seen.hop_of], depth + 1
    return depth


def _failed(call: Call) -> bool:
    """Worth a retry: a retry that then works makes this attempt evidence, not the outcome. A rejected signed
    redirect is one (a new call gets a fresh token), and so is a body the upstream cut."""
    return (call.upstream_error is not None or call.status is None or call.status in RETRYABLE
            or call.upstream_cut or (call.status in (401, 403) and _signed_hop(call)))


def diagnose(calls: Sequence[Call], final: bool = True, idle_warn_ms: float = IDLE_WARN_MS) -> None:
    """Set every call's findings (root cause first); `final` adds what only the end of a run shows."""
    followed = {c.hop_of for c in calls if c.hop_of is not None}
    retried: set[int] = set()
    for i, call in enumerate(calls):
        call.notes = [n for n in call.notes if n.startswith(("unfinished", "gridctl trace"))]
        answer = answer_findings(call, idle_warn_ms)
        lints = lint_call(call)
        root, override = root_of(call, answer, lints)
        traffic, prev = traffic_findings(call, calls[:i])
        if prev is not None:
            retried.add(prev.id)
        if final and call.location and call.status in (301, 302, 303, 307, 308) and call.id not in followed:
            depth = _depth(call, calls)
            if depth >= LOOP_DEPTH:
                root = finding("http.redirect_loop", f"{depth} redirects in a row, and the client stopped following.")
            else:
                root = finding("trace.redirect_not_followed", f"Call #{call.id} got {call.status} to "
                               f"{call.location} and the client never requested it.")
            override = None
        found = [root] if root is not None else []
        for f in answer + [f for step in lints.values() for f in step] + traffic:
            if all(f.code != g.code for g in found):
                found.append(f)
        # Server and client words (an error detail, a path) reach lines: no terminal control in any of them.
        call.findings = [_clean(f) for f in found]
        call.exit_override = override
    for call in calls:
        if call.id in retried:
            # A retried attempt is evidence, not the outcome: the last attempt of the chain decides.
            call.findings = [replace(f, severity=WARNING, message=f.message + " (the client retried)")
                             if f.severity == ERROR else f for f in call.findings]


def _clean(f: Finding) -> Finding:
    """A finding whose words may quote a server or client (an error detail, a path) with no terminal control."""
    message, fix = clean(f.message, newlines=False), clean(f.fix, newlines=False) if f.fix else f.fix
    return f if (message, fix) == (f.message, f.fix) else replace(f, message=message, fix=fix)


def root_cause(call: Call) -> Finding | None:
    return next((f for f in call.findings if f.severity == ERROR), None)


def report(calls: Sequence[Call], target: dict[str, object],
           idle_warn_ms: float = IDLE_WARN_MS) -> Report:
    """The calls' diagnosis as a Report. No call at all is read by trace/nocalls.py (the program's own words
    first), which the caller adds."""
    diagnose(calls, final=True, idle_warn_ms=idle_warn_ms)
    rep = Report("trace", target=dict(target))
    for call in calls:
        title = f"#{call.id} {call.method} {call.path}"
        data = {"status": call.status, "model": call.model, "total_ms": round(call.total_ms or 0, 1),
                "request_id": call.request_id, "summary": f"{call.status or 'no answer'}"}
        rep.checks.append(CheckResult(f"call-{call.id}", title, list(call.findings), data=data,
                                      duration_ms=call.total_ms or 0))
        rep.add_request_id(call.request_id)
    for call in calls:
        cause = root_cause(call)
        if cause is not None:
            rep.diagnosis = cause
            rep.exit_override = call.exit_override
            break
    rep.extra["calls"] = [c.as_json() for c in calls]
    return rep

