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
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from gridctl import grid
from gridctl.findings import Finding, finding
from gridctl.probe import httplog
from gridctl.probe.classify import classify_exception, classify_status, parse_json
from gridctl.probe.deadline import Deadline as Deadline  # re-exported: the callers' one import for the seam
from gridctl.probe.policy import may_carry_key as may_carry_key
from gridctl.probe.policy import no_contact
from gridctl.probe.policy import signed_redirect as signed_redirect
from gridctl.probe.proxyenv import proxy_for as proxy_for
from gridctl.secrets import redact_url

if TYPE_CHECKING:
    from gridctl.settings import Settings

RETRY_STATUSES = (402, 429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
USER_AGENT = "gridctl"


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
    # Which hop gave the final answer (0: the URL asked for; 1: the first redirect target...), and whether
    # that hop's URL was a signed redirect (a `token` query parameter as its credential, no key sent).
    hop: int = 0
    signed_hop: bool = False
    headers_at: float | None = None  # perf_counter when a streamed answer's headers were complete

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


class Net:
    """One httpx client per run, shared by the threads of a run."""

    def __init__(self, deadline: Deadline, retries: int = 2, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.deadline = deadline
        self.retries = max(0, retries)
        self.sleep = sleep
        from gridctl.probe.bounded import ACCEPT_ENCODING
        from gridctl.probe.proxyenv import proxy_problem

        # A bad proxy variable makes httpx.Client() itself raise: that is net.proxy naming the variable,
        # reported by every request of the run, not a crash (exit 1) before any step runs.
        self.proxy_problem = proxy_problem() if transport is None else None
        self.client = httpx.Client(transport=transport, follow_redirects=False,
                                   trust_env=self.proxy_problem is None,
                                   headers={"user-agent": USER_AGENT, "accept-encoding": ACCEPT_ENCODING})
        # The deadline holds every socket of this client (each proxy mount's too): a server trickling its
        # headers a byte a second is cut at the deadline, not kept alive by per-read timeouts.
        from gridctl.probe.budget import Budget

        self.budget = Budget(deadline)
        self.budget.install(self.client)
        self.log = httplog.emit  # -v: prints only when httplog.enable() was called

    def close(self) -> None:
        self.budget.close()
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
             on_stream: Callable[[httpx.Response, Outcome], None] | None = None,
             content: bytes | None = None) -> Outcome:
        """One logical request. `auth` is (header, value): it is sent only where may_carry_key() allows.
        `content`: the body as bytes, sent as is (replay), instead of `json`."""
        out = Outcome(url=url)
        if self.proxy_problem is not None:
            out.findings.append(self.proxy_problem)
            return out
        if auth is not None:
            # The one seam every keyed request passes: a look-alike host, or plain http to another
            # machine, never gets the key, whichever step asked (models, features, a future one).
            refused = no_contact(url)
            if refused is not None:
                out.findings.append(refused)
                return out
        proxy = proxy_for(url)
        attempts_allowed = 1 + (self.retries if retry else 0)
        seen_402 = False
        while out.attempts < attempts_allowed:
            out.attempts += 1
            out.findings, out.status_code = [], None
            response = self._follow(method, url, headers or {}, json if content is None else content, auth, out,
                                    proxy, on_stream)
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
        out.hop, out.signed_hop = 0, False
        while True:
            send_headers = dict(headers)
            # A signed redirect's token is its credential: like The Grid's own client, send no key there.
            if auth is not None and may_carry_key(url, current) and not out.signed_hop:
                send_headers[auth[0]] = auth[1]
                host = urlsplit(current).hostname or ""
                if host not in out.key_sent_to:
                    out.key_sent_to.append(host)
            trace = _Trace()
            try:
                request = self.client.build_request(method, current, headers=send_headers,
                                                    **({"content": body} if isinstance(body, bytes) else {"json": body}),
                                                    timeout=self._timeout(), extensions={"trace": trace})
                if httplog.enabled():
                    self.log("*", f"{'via proxy ' + proxy if proxy else 'direct'}; time budget left "
                                  f"{self.deadline.remaining():.2f} s")
                    self.log(">", f"{method} {redact_url(current)}")
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
                        # One line for the loop (the hops, then "loop"), not one redirect note per hop.
                        out.findings = [f for f in out.findings if f.code != "http.redirect"]
                        out.findings.append(finding("http.redirect_loop", f"Redirected {len(out.redirects)} times "
                                                    f"without an answer: {_hops(url, out.redirects)}, then loop."))
                        out.url = target
                        return None
                    visited.append(target)
                    out.hop, out.signed_hop = out.hop + 1, signed_redirect(target)
                    note = _redirect_note(auth is not None, may_carry_key(url, target), out.signed_hop)
                    stripped = auth is not None and (out.signed_hop or not may_carry_key(url, target))
                    self.log("*", f"redirect {response.status_code} to {redact_url(target)}"
                                  f"{'; the key is not sent there' if stripped else ''}")
                    out.findings.append(finding("http.redirect", f"HTTP {response.status_code} to "
                                                f"{_short(target)}.{note}"))
                    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    current = target
                    continue
                out.url = current
                if on_stream is not None and 200 <= response.status_code < 300:
                    out.headers_at = trace.headers_at()  # stream offsets count from here, as TTFB ends here
                    on_stream(response, out)
                else:
                    out.body = self._read(response, out)
                    if out.findings and out.findings[-1].code.startswith("net."):
                        return None
                    redirect_notes = [f for f in out.findings if f.code == "http.redirect"]
                    read_problem = [f for f in out.findings[-1:] if f.code in ("http.oversized", "http.unexpected")]
                    out.findings = redirect_notes + (read_problem if read_problem and response.status_code < 300
                                                     else read_problem + _hop_reading(out, classify_status(
                                                         response.status_code, out.body,
                                                         response.headers.get("content-type", ""), current,
                                                         proxy=proxy_for(current))))
                out.timings_ms.update(trace.timings())
                return response.status_code
            finally:
                response.close()

    def _read(self, response: httpx.Response, out: Outcome) -> bytes:
        """Read the body within the deadline and a size cap; a stall, a cut or a flood is a finding."""
        from gridctl.probe.bounded import MAX_BODY, Expired, Oversized, chunks

        got: list[bytes] = []
        try:
            # Decoded (gzip/deflate, inflated with a ceiling), not raw: a compressed JSON error body
            # would otherwise look like garbage (http.unexpected) instead of The Grid's words.
            for chunk in chunks(response, MAX_BODY, lambda: self.deadline.expired):
                got.append(chunk)
        except Expired:
            # The budget ran out as a chunk came in: only a body still incomplete is a hang.
            if not _complete(response, got):
                out.findings.append(finding("net.no_response", "The body kept trickling past the time budget."))
        except Oversized as exc:
            out.findings.append(finding("http.oversized", f"HTTP {response.status_code} with an answer larger than "
                                        f"{exc.limit // 1024} KiB (after decompression); gridctl stopped reading."))
        except httpx.HTTPError as exc:
            # Fewer bytes than promised, or a chunked body without its last chunk: the network layer.
            out.findings.append(_cut_body(response, exc) if got or _cut(exc) else classify_exception(exc))
        except (OSError, ValueError) as exc:  # zlib.error is an Exception: see below
            if not got:
                out.findings.append(classify_exception(exc))
        except Exception as exc:  # noqa: BLE001 - zlib.error: a corrupt compressed body is evidence, not a crash
            out.findings.append(finding("http.unexpected", f"HTTP {response.status_code} with a body that could "
                                        f"not be decompressed ({exc.__class__.__name__})."))
        return b"".join(got)


def _cut(exc: httpx.HTTPError) -> bool:
    return isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError))


def _cut_body(response: httpx.Response, exc: httpx.HTTPError) -> Finding:
    """The body stopped short of what the headers promised: the network layer, with the byte counts."""
    got = response.num_bytes_downloaded
    length = response.headers.get("content-length", "")
    if length.isdigit():
        said = f"after {got} of the {length} bytes its Content-Length announced"
    elif "chunked" in response.headers.get("transfer-encoding", "").lower():
        said = f"after {got} bytes of a chunked body, before its last chunk"
    else:
        said = f"after {got} bytes, before the body ended"
    if not _cut(exc):  # a timeout mid-body: the layer classify_exception names, with the count
        base = classify_exception(exc)
        return finding(base.code, f"{base.message} The body stopped {said}.")
    cut = finding("net.reset", f"HTTP {response.status_code} arrived, then the connection closed {said}: "
                  "something between you and the server (or the server) cut the response.", bytes_received=got)
    if length.isdigit():
        cut.data["bytes_expected"] = int(length)
    return cut


def _complete(response: httpx.Response, chunks: list[bytes]) -> bool:
    """Has the whole body arrived? Content-Length says so, or the JSON parses."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and response.num_bytes_downloaded >= int(length):
        return True
    return parse_json(b"".join(chunks)) is not None


def _redirect_note(has_key: bool, key_allowed: bool, signed: bool) -> str:
    if has_key and signed:
        return " gridctl did not send your key there: the signed token in the URL is that hop's credential."
    if has_key and not key_allowed:
        return " gridctl did not send your key there (another host)."
    return ""


def _hop_reading(out: Outcome, findings: list[Finding]) -> list[Finding]:
    """A 401/403 from a signed redirect's target rejects the token, not the key: the first hop accepted it."""
    if not (out.hop and out.signed_hop and out.status_code in (401, 403)):
        return findings
    return rejected_hop(out.status_code, _short(out.url), "which gridctl reached with the signed token from the 307 "
                        "(no key sent there)", findings)


def rejected_hop(status: int, where: str, reached: str, findings: list[Finding]) -> list[Finding]:
    """The one reading of a 401/403 on a signed redirect's target (doctor's ping and trace's calls): the token was
    rejected, not the key, so no auth.* advice comes with it. `reached`: how that hop was made, in a clause."""
    said = next((f.message.split("The server said: ", 1)[1] for f in findings
                 if "The server said: " in f.message), "")
    rejected = finding("http.redirect_rejected", f"HTTP {status} on the redirect target {where}, {reached}; the first "
                       "hop accepted the key." + (f" The server said: {said}" if said else ""))
    return [rejected] + [f for f in findings if not f.code.startswith("auth.")]


def _retryable_net(findings: list[Finding]) -> bool:
    return any(f.code in ("net.refused", "net.reset") for f in findings)


def _request_id(headers: httpx.Headers) -> str | None:
    for name in grid.REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value).strip()[:200]
    return None


def _hops(first: str, redirects: list[str]) -> str:
    """`/v1/chat/completions -> /r/v1/chat/completions?… (x5)`: consecutive look-alike hops counted, not repeated."""
    shown: list[list[Any]] = []
    for hop in [first, *redirects]:
        label = _short(hop)
        if shown and shown[-1][0] == label:
            shown[-1][1] += 1
        else:
            shown.append([label, 1])
    return " -> ".join(f"{label}{f' (x{n})' if n > 1 else ''}" for label, n in shown)


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

    def headers_at(self) -> float | None:
        """When the response headers were complete (perf_counter), if httpcore said so."""
        return next((t for k, t in self.marks.items() if k.endswith("receive_response_headers.complete")), None)

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


def net_for(settings: Settings, retries: int = 2, deadline: Deadline | None = None) -> Net:
    """The client for a command: its --timeout as the whole budget, unless a deadline is handed in."""
    return Net(deadline or Deadline(settings.timeout), retries=retries)
