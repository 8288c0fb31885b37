"""The one HTTP seam: a deadline, timing phases, the redirect policy, retries, request IDs.

Every network step goes through `Net.send()`. Tests hand `Net` a transport (pytest-httpx or
httpx.MockTransport); the e2e tests use the real sockets against the emulator.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from gridctl import grid
from gridctl.findings import Finding, finding
from gridctl.probe import httplog
from gridctl.probe.classify import classify_exception, classify_status, parse_json

RETRY_STATUSES = (402, 429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
USER_AGENT = "gridctl"


class Deadline:
    """The command's whole time budget; every wait and every timeout is cut to what is left."""

    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass
class Outcome:
    """Everything one logical request (with its retries and redirects) produced."""

    url: str
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    findings: list[Finding] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    redirects: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # every status seen, retries included
    timings_ms: dict[str, float] = field(default_factory=dict)
    key_sent_to: list[str] = field(default_factory=list)  # hosts that received the key

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not any(
            f.severity == "error" for f in self.findings)

    @property
    def request_id(self) -> str | None:
        return self.request_ids[-1] if self.request_ids else None

    def json(self) -> Any:
        return parse_json(self.body)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from retry-after-ms, Retry-After (seconds or HTTP date), x-ratelimit-retry-after."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in h:
            return max(0.0, float(h["retry-after-ms"]) / 1000.0)
    except ValueError:
        pass
    for name in ("retry-after", "x-ratelimit-retry-after"):
        value = h.get(name, "").strip()
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
    return None


def may_carry_key(origin: str, target: str) -> bool:
    """The key follows a redirect only to the same host, or to a thegrid.ai host over https."""
    try:
        o, t = urlsplit(origin), urlsplit(target)
        same_port = t.port == o.port
    except ValueError:  # a Location with a bad port or bracket: certainly not trusted with the key
        return False
    if (t.hostname or "") == (o.hostname or "") and same_port and (t.scheme == o.scheme or t.scheme == "https"):
        return True
    return t.scheme == "https" and grid.is_grid_host(t.hostname or "")


def proxy_for(url: str) -> str | None:
    """The proxy from the environment that applies to `url` (for reports: host and port, never a password)."""
    import urllib.request

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # an unparseable URL is reported by the request itself, as url.invalid
        return None
    bypass = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009 - missing from typeshed
    if not host or bypass(host):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    return f"{p.scheme}://{p.hostname}{':' + str(p.port) if p.port else ''}"


class Net:
    """One httpx client per run, shared by the threads of a run."""

    def __init__(self, deadline: Deadline, retries: int = 2, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.deadline = deadline
        self.retries = max(0, retries)
        self.sleep = sleep
        self.client = httpx.Client(transport=transport, follow_redirects=False, trust_env=True,
                                   headers={"user-agent": USER_AGENT})
        self.log = httplog.emit  # -v: prints only when httplog.enable() was called

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Net:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _timeout(self) -> httpx.Timeout:
        left = max(0.01, self.deadline.remaining())
        return httpx.Timeout(connect=left, read=left, write=left, pool=left)

    def send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None, json: Any = None,
             auth: tuple[str, str] | None = None, retry: bool = True,
             on_stream: Callable[[httpx.Response, Outcome], None] | None = None) -> Outcome:
        """One logical request. `auth` is (header, value): it is sent only where may_carry_key() allows."""
        out = Outcome(url=url)
        proxy = proxy_for(url)
        attempts_allowed = 1 + (self.retries if retry else 0)
        seen_402 = False
        while out.attempts < attempts_allowed:
            out.attempts += 1
            out.findings, out.status_code = [], None
            response = self._follow(method, url, headers or {}, json, auth, out, proxy, on_stream)
            if response is None:  # a network failure, already classified
                if out.attempts < attempts_allowed and _retryable_net(out.findings) and self._backoff(out, None):
                    continue
                self.log("*", f"giving up after {out.attempts} attempt(s)")
                return out
            status = response
            seen_402 = seen_402 or status == 402
            if status in RETRY_STATUSES and retry and out.attempts < attempts_allowed \
                    and self._backoff(out, retry_after(out.headers)):
                continue
            break
        if out.ok and len(out.statuses) > 1:
            first = out.statuses[0]
            if seen_402:
                out.findings.append(finding("balance.recovered_after_retry", f"HTTP 402 cleared after "
                                            f"{out.attempts} attempts."))
            elif first == 503:
                out.findings.append(finding("http.replenishing", f"HTTP 503 cleared after {out.attempts} attempts.",
                                            severity="info"))
            elif first in RETRY_STATUSES:
                out.findings.append(finding("http.rate_limited" if first == 429 else "http.server_error",
                                            f"HTTP {first} cleared after {out.attempts} attempts.", severity="info"))
        return out

    def _backoff(self, out: Outcome, hinted: float | None) -> bool:
        """Sleep before the next attempt; False when the budget cannot cover the wait."""
        base = 0.25 * (2 ** (out.attempts - 1))
        wait = hinted if hinted is not None else random.uniform(0, base) + base / 2  # jitter
        if wait + 0.05 >= self.deadline.remaining():
            self.log("*", f"no retry: waiting {wait:.2f} s would pass the time budget "
                          f"({self.deadline.remaining():.2f} s left)")
            if hinted is not None:
                out.findings.append(finding("http.rate_limited" if out.status_code == 429 else "http.unexpected",
                                            f"The server asked to wait {hinted:.1f} s, more than the time budget "
                                            "left; not retrying.", severity="info"))
            return False
        why = f"HTTP {out.status_code}" if out.status_code else (out.findings[-1].code if out.findings else "error")
        self.log("*", f"retrying in {wait:.2f} s ({why}; attempt {out.attempts + 1} of {1 + self.retries}"
                      f"{', as Retry-After asks' if hinted is not None else ''})")
        self.sleep(wait)
        return True

    def _follow(self, method: str, url: str, headers: Mapping[str, str], body: Any,
                auth: tuple[str, str] | None, out: Outcome, proxy: str | None,
                on_stream: Callable[[httpx.Response, Outcome], None] | None) -> int | None:
        current, visited = url, [url]
        while True:
            send_headers = dict(headers)
            if auth is not None and may_carry_key(url, current):
                send_headers[auth[0]] = auth[1]
                host = urlsplit(current).hostname or ""
                if host not in out.key_sent_to:
                    out.key_sent_to.append(host)
            trace = _Trace()
            try:
                request = self.client.build_request(method, current, headers=send_headers, json=body,
                                                    timeout=self._timeout(), extensions={"trace": trace})
                if httplog.enabled():
                    self.log("*", f"{'via proxy ' + proxy if proxy else 'direct'}; time budget left "
                                  f"{self.deadline.remaining():.2f} s")
                    self.log(">", f"{method} {httplog.redact_url(current)}")
                    httplog.headers(">", request.headers.items())
                response = self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                self.log("*", f"{exc.__class__.__name__}: {exc}")
                out.findings.append(classify_exception(exc, proxy))
                out.timings_ms.update(trace.timings())
                out.url = current
                return None
            except UnicodeEncodeError as exc:
                # Header values must be ASCII; only the key in them comes from the user. The message
                # names the position, never the value.
                out.findings.append(finding("auth.non_ascii", f"The request could not be sent: a header value has "
                                            f"a non-ASCII character at position {exc.start} (usually in the key)."))
                out.url = current
                return None
            except (httpx.InvalidURL, UnicodeError) as exc:
                # Not HTTPError subclasses: a malformed URL, or a host name IDNA cannot encode
                # (a label over 63 characters fails inside getaddrinfo).
                out.findings.append(finding("url.invalid", f"The URL cannot be requested: {exc}"))
                out.url = current
                return None
            try:
                if httplog.enabled():
                    self.log("<", f"{response.http_version} {response.status_code} {response.reason_phrase}")
                    httplog.headers("<", response.headers.items())
                    phases = ", ".join(f"{k} {v:.0f} ms" for k, v in trace.timings().items())
                    self.log("*", f"timing: {phases or 'no phases recorded'}")
                out.status_code = response.status_code
                out.statuses.append(response.status_code)
                out.headers = dict(response.headers)
                rid = _request_id(response.headers)
                if rid and rid not in out.request_ids:
                    out.request_ids.append(rid)
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    target = urljoin(current, location)
                    response.close()
                    out.redirects.append(target)
                    if target in visited or len(out.redirects) > MAX_REDIRECTS:
                        out.findings.append(finding("http.redirect_loop", f"Redirected {len(out.redirects)} times "
                                                    f"(last to {_short(target)}) without an answer."))
                        out.url = target
                        return None
                    visited.append(target)
                    stripped = auth is not None and not may_carry_key(url, target)
                    note = " gridctl did not send your key there (another host)." if stripped else ""
                    self.log("*", f"redirect {response.status_code} to {httplog.redact_url(target)}"
                                  f"{'; the key is not sent there' if stripped else ''}")
                    out.findings.append(finding("http.redirect", f"HTTP {response.status_code} to "
                                                f"{_short(target)}.{note}"))
                    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    current = target
                    continue
                out.url = current
                if on_stream is not None and 200 <= response.status_code < 300:
                    on_stream(response, out)
                else:
                    out.body = self._read(response, out)
                    if out.findings and out.findings[-1].code.startswith("net."):
                        return None
                    redirect_notes = [f for f in out.findings if f.code == "http.redirect"]
                    out.findings = redirect_notes + classify_status(
                        response.status_code, out.body, response.headers.get("content-type", ""), current)
                out.timings_ms.update(trace.timings())
                return response.status_code
            finally:
                response.close()

    def _read(self, response: httpx.Response, out: Outcome) -> bytes:
        """Read the body within the deadline; a stall or a cut is a finding, not an exception."""
        chunks: list[bytes] = []
        try:
            # Decoded bytes, not iter_raw(): httpx asks for gzip/br, and a compressed JSON error body
            # would otherwise look like garbage (http.unexpected) instead of The Grid's words.
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if self.deadline.expired:
                    # The budget ran out as this chunk came in: only a body still incomplete is a hang.
                    if not _complete(response, chunks):
                        out.findings.append(finding("net.no_response",
                                                    "The body kept trickling past the time budget."))
                    break
                if sum(map(len, chunks)) > 4 * 1024 * 1024:
                    break
        except httpx.HTTPError as exc:
            if not chunks:
                out.findings.append(classify_exception(exc))
        return b"".join(chunks)


def _complete(response: httpx.Response, chunks: list[bytes]) -> bool:
    """Has the whole body arrived? Content-Length says so, or the JSON parses."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and response.num_bytes_downloaded >= int(length):
        return True
    return parse_json(b"".join(chunks)) is not None


def _retryable_net(findings: list[Finding]) -> bool:
    return any(f.code in ("net.refused", "net.reset") for f in findings)


def _request_id(headers: httpx.Headers) -> str | None:
    for name in grid.REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value).strip()[:200]
    return None


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


class _Trace:
    """Collects httpcore trace events into the phases of the contract (connect, tls, ttfb)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.marks: dict[str, float] = {}

    def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.marks.setdefault(name, time.perf_counter())

    def timings(self) -> dict[str, float]:
        m, out = self.marks, {}
        for phase, start, end in (("connect", "connection.connect_tcp.started", "connection.connect_tcp.complete"),
                                  ("tls", "connection.start_tls.started", "connection.start_tls.complete")):
            if start in m and end in m:
                out[phase] = round((m[end] - m[start]) * 1000, 1)
        heads = [k for k in m if k.endswith("receive_response_headers.complete")]
        if heads:
            out["ttfb"] = round((m[heads[0]] - self.t0) * 1000, 1)
        return out
