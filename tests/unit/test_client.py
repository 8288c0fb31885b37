"""client.py, the one HTTP seam: classification, retries and their waits, redirects and the key, request IDs.

pytest-httpx stands in for the network; `Net(..., sleep=Sleeps())` records every backoff wait
instead of sleeping, so the retry tests run in milliseconds.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from gridctl.probe.client import Deadline, Net, Outcome, may_carry_key, proxy_for, retry_after

URL = "https://api.thegrid.ai/v1/chat/completions"
KEY = "gk-unit-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5Aa0"
AUTH = ("authorization", f"Bearer {KEY}")
BODY: dict[str, Any] = {"model": "text-prime", "messages": [{"role": "user", "content": "ping"}]}
OK_BODY = {"id": "chatcmpl-1", "object": "chat.completion", "model": "openai/gpt-oss-120b",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}]}
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy")


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


class Sleeps(list[float]):
    """A fake `sleep` that records the waits."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_net(budget: float = 30.0, retries: int = 2, sleeps: Sleeps | None = None,
             transport: httpx.BaseTransport | None = None) -> Net:
    return Net(Deadline(budget), retries=retries, sleep=sleeps if sleeps is not None else Sleeps(),
               transport=transport)


def post(net: Net, url: str = URL, **kwargs: Any) -> Outcome:
    with net:
        return net.send("POST", url, headers={"content-type": "application/json"}, json=BODY, auth=AUTH, **kwargs)


def grid_error(detail: str) -> dict[str, Any]:
    return {"errors": {"detail": detail}}


def codes(out: Outcome) -> list[str]:
    return [f.code for f in out.findings]


def errors(out: Outcome) -> list[str]:
    return [f.code for f in out.findings if f.severity == "error"]


# ---------------------------------------------------------------- every classification, through the seam


@pytest.mark.parametrize(("exc", "code"), [
    (httpx.ConnectError("[Errno -2] Name or service not known"), "net.dns"),
    (httpx.ConnectError("[Errno 111] Connection refused"), "net.refused"),
    (httpx.ConnectTimeout("timed out"), "net.connect_timeout"),
    (httpx.ReadTimeout("The read operation timed out"), "net.no_response"),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)"), "net.tls"),
    (httpx.ProxyError("407 Proxy Authentication Required"), "net.proxy"),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), "net.reset"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "net.reset"),
])
def test_network_failures_become_findings(httpx_mock: HTTPXMock, exc: Exception, code: str) -> None:
    httpx_mock.add_exception(exc)
    out = post(make_net(retries=0))
    assert errors(out) == [code]
    assert out.status_code is None and not out.ok and out.attempts == 1


@pytest.mark.parametrize(("status", "body", "headers", "code"), [
    (400, grid_error("Request body is not valid JSON"), {}, "http.bad_request"),
    (401, grid_error("Invalid API key"), {}, "auth.rejected"),
    (403, grid_error("Forbidden for this key"), {}, "auth.forbidden"),
    (402, grid_error("Insufficient credits"), {}, "balance.credits_empty"),
    (402, grid_error("No available consumption tokens for instrument text-max"), {},
     "balance.instrument_unavailable"),
    (404, grid_error("Unknown instrument 'gpt-5.2'. Use one of: text-prime"), {}, "model.not_found"),
    (404, grid_error("Not found: /v1/v1/chat/completions (the path has a doubled /v1)"), {},
     "http.not_found_path"),
    (422, grid_error("Parameter 'temperature' is out of range"), {}, "http.unprocessable"),
    (429, grid_error("Rate limit exceeded"), {"Retry-After": "1"}, "http.rate_limited"),
    (500, grid_error("Internal server error; the request was not billed"), {}, "http.server_error"),
    (503, grid_error("Balance replenishment in progress"), {}, "http.replenishing"),
    (418, {"what": "teapot"}, {}, "http.unexpected"),
])
def test_http_statuses_become_findings(httpx_mock: HTTPXMock, status: int, body: Any, headers: dict[str, str],
                                       code: str) -> None:
    httpx_mock.add_response(status_code=status, json=body, headers=headers)
    out = post(make_net(retries=0))
    assert errors(out) == [code]
    assert out.status_code == status and not out.ok
    assert out.json() == body


@pytest.mark.parametrize(("status", "content", "ctype", "expected"), [
    (502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "text/html",
     ["http.server_error", "http.html_body"]),
    (200, b"<html><body>You are being <a href='/r'>redirected</a>.</body></html>", "text/html",
     ["http.html_body"]),
    (200, json.dumps(OK_BODY).encode()[:60], "application/json", ["http.unexpected"]),
    (200, b"", "application/json", ["http.unexpected"]),
])
def test_odd_bodies_become_findings(httpx_mock: HTTPXMock, status: int, content: bytes, ctype: str,
                                   expected: list[str]) -> None:
    httpx_mock.add_response(status_code=status, content=content, headers={"content-type": ctype})
    out = post(make_net(retries=0))
    assert codes(out) == expected and not out.ok


def test_success_has_no_findings(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=OK_BODY)
    out = post(make_net())
    assert out.ok and out.findings == [] and out.attempts == 1 and out.statuses == [200]
    assert out.json()["model"] == "openai/gpt-oss-120b"
    assert out.key_sent_to == ["api.thegrid.ai"]


@pytest.mark.parametrize(("body", "ctype", "words"), [
    (b'{"errors": {"detail": "Invalid API key"}}', "application/json", "Invalid API key"),
    (b'{"error": {"code": "invalid_api_key", "message": "Incorrect API key provided"}}', "application/json",
     "Incorrect API key provided"),
    (b"<html><head><title>401 Authorization Required</title></head></html>", "text/html",
     "401 Authorization Required"),
    (b"Unauthorized\r\n", "text/plain", "Unauthorized"),
    (b'{"errors": {"detail": "cut off', "application/json", '{"errors": {"detail": "cut off'),
    (b"\xff\xfe\x00\x01", "application/octet-stream", "HTTP 401"),
])
def test_error_bodies_in_every_shape_never_raise(httpx_mock: HTTPXMock, body: bytes, ctype: str,
                                                 words: str) -> None:
    httpx_mock.add_response(status_code=401, content=body, headers={"content-type": ctype})
    out = post(make_net())
    assert errors(out)[0] == "auth.rejected"
    assert words in out.findings[0].message


def test_compressed_error_body_is_decoded() -> None:
    """httpx asks for gzip; a gzipped JSON error must still give The Grid's own words."""
    payload = json.dumps(grid_error("Invalid API key")).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=gzip.compress(payload),
                              headers={"content-encoding": "gzip", "content-type": "application/json"})

    out = post(make_net(transport=httpx.MockTransport(handler)))
    assert errors(out) == ["auth.rejected"]
    assert "Invalid API key" in out.findings[0].message
    assert out.json() == grid_error("Invalid API key")


def test_compressed_success_is_ok() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(json.dumps(OK_BODY).encode()),
                              headers={"content-encoding": "gzip", "content-type": "application/json"})

    out = post(make_net(transport=httpx.MockTransport(handler)))
    assert out.ok and out.json() == OK_BODY


class _CutStream(httpx.SyncByteStream):
    """Yields `part`, then fails as h11 does when the peer closes before the announced end."""

    def __init__(self, part: bytes) -> None:
        self.part = part

    def __iter__(self) -> Iterator[bytes]:
        if self.part:
            yield self.part
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


@pytest.mark.parametrize(("headers", "words"), [
    ({"content-length": str(len(json.dumps(OK_BODY)))}, "after 40 of the {n} bytes its Content-Length announced"),
    ({"transfer-encoding": "chunked"}, "after 40 bytes of a chunked body, before its last chunk"),
])
def test_body_cut_in_transit_is_net_reset_with_byte_counts(headers: dict[str, str], words: str) -> None:
    full = json.dumps(OK_BODY).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json", **headers},
                              stream=_CutStream(full[:40]))

    out = post(make_net(retries=0, transport=httpx.MockTransport(handler)))
    assert errors(out) == ["net.reset"] and not out.ok
    assert words.format(n=len(full)) in out.findings[-1].message
    assert out.findings[-1].data["bytes_received"] == 40


def test_body_cut_before_any_byte_still_counts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": "120"}, stream=_CutStream(b""))

    out = post(make_net(retries=0, transport=httpx.MockTransport(handler)))
    assert errors(out) == ["net.reset"] and "after 0 of the 120 bytes" in out.findings[-1].message


CLOUDFLARE_PAGE = ("<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
                   "<h1>Sorry, you have been blocked</h1>Cloudflare Ray ID: 8a1b2c3d4e5f6a7b</body></html>")


@pytest.mark.parametrize(("status", "kwargs", "code", "exit_code"), [
    (403, {"html": CLOUDFLARE_PAGE}, "http.blocked", 9),
    (408, {"json": grid_error("Request timeout")}, "http.timeout", 9),
    (409, {"json": grid_error("Conflict")}, "http.conflict", 10),
    (413, {"json": grid_error("Request body too large")}, "http.too_large", 10),
])
def test_failure_shapes_that_used_to_be_unexpected(httpx_mock: HTTPXMock, status: int, kwargs: dict[str, Any],
                                                   code: str, exit_code: int) -> None:
    httpx_mock.add_response(status_code=status, **kwargs)
    out = post(make_net(retries=0))
    assert errors(out) == [code] and out.findings[0].entry.exit_code == exit_code
    assert not any(f.code.startswith("auth.") for f in out.findings)


def test_html_502_through_a_configured_proxy_blames_the_proxy(httpx_mock: HTTPXMock,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    httpx_mock.add_response(status_code=502, html="<html><head><title>502 Bad Gateway</title></head></html>")
    out = post(make_net(retries=0))
    assert errors(out) == ["net.proxy"] and "proxy.corp:3128" in out.findings[0].message
    assert "proxy" in out.findings[1].message and out.findings[1].code == "http.html_body"


def test_plain_http_proxy_407_is_net_proxy(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=407, headers={"proxy-authenticate": 'Basic realm="corp"'})
    out = post(make_net())
    assert errors(out) == ["net.proxy"] and "407" in out.findings[0].message


def test_body_trickling_past_the_budget_is_no_response(httpx_mock: HTTPXMock) -> None:
    def slow() -> Iterator[bytes]:
        yield b'{"id": "chatcmpl-1",'
        time.sleep(0.4)
        yield b' "object":'
        yield b' "chat.completion"}'

    httpx_mock.add_response(stream=IteratorStream(slow()), headers={"content-type": "application/json"})
    out = post(make_net(budget=0.3))
    assert errors(out) == ["net.no_response"]


def test_a_complete_body_arriving_as_the_budget_ends_is_not_a_hang(httpx_mock: HTTPXMock) -> None:
    def late() -> Iterator[bytes]:
        time.sleep(0.35)
        yield json.dumps(OK_BODY).encode()

    httpx_mock.add_response(stream=IteratorStream(late()), headers={"content-type": "application/json"})
    out = post(make_net(budget=0.3))
    assert out.ok and out.findings == []


# ---------------------------------------------------------------- request IDs


@pytest.mark.parametrize(("headers", "expected"), [
    ({"x-grid-request-id": "grid_1", "x-request-id": "req_1"}, "grid_1"),
    ({"x-request-id": "req_2"}, "req_2"),
    ({"request-id": "req_3"}, "req_3"),
    ({"X-Request-ID": "  req_4  "}, "req_4"),
    ({}, None),
])
def test_request_id_headers(httpx_mock: HTTPXMock, headers: dict[str, str], expected: str | None) -> None:
    httpx_mock.add_response(status_code=401, json=grid_error("Invalid API key"), headers=headers)
    out = post(make_net())
    assert out.request_id == expected
    assert out.request_ids == ([expected] if expected else [])


def test_request_ids_of_every_attempt_are_kept(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500, json=grid_error("boom"), headers={"x-request-id": "req_a"})
    httpx_mock.add_response(json=OK_BODY, headers={"x-grid-request-id": "req_b"})
    out = post(make_net())
    assert out.request_ids == ["req_a", "req_b"] and out.request_id == "req_b"


# ---------------------------------------------------------------- retries and their waits


@pytest.mark.parametrize(("headers", "low", "high"), [
    ({"retry-after-ms": "1500"}, 1.5, 1.5),
    ({"Retry-After": "2"}, 2.0, 2.0),
    ({"Retry-After": "0.5"}, 0.5, 0.5),
    ({"x-ratelimit-retry-after": "3"}, 3.0, 3.0),
    ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25, 0.25),  # the precise one wins
    ({"retry-after-ms": "soon", "Retry-After": "2"}, 2.0, 2.0),  # a bad value falls through
    ({"Retry-After": "later", "x-ratelimit-retry-after": "4"}, 4.0, 4.0),
    ({}, 0.125, 0.375),  # no hint: jittered exponential backoff, first step
])
def test_every_retry_header_form_sets_the_wait(httpx_mock: HTTPXMock, headers: dict[str, str], low: float,
                                              high: float) -> None:
    httpx_mock.add_response(status_code=429, json=grid_error("Rate limit exceeded"), headers=headers)
    httpx_mock.add_response(json=OK_BODY)
    sleeps = Sleeps()
    out = post(make_net(sleeps=sleeps))
    assert len(sleeps) == 1 and low <= sleeps[0] <= high
    assert out.ok and out.attempts == 2 and out.statuses == [429, 200]
    assert [(f.code, f.severity) for f in out.findings] == [("http.rate_limited", "info")]


def test_retry_after_as_http_date(httpx_mock: HTTPXMock) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    httpx_mock.add_response(status_code=429, json=grid_error("slow down"), headers={"Retry-After": when})
    httpx_mock.add_response(json=OK_BODY)
    sleeps = Sleeps()
    out = post(make_net(sleeps=sleeps))
    # The date has one-second resolution and a little time passes: between 3 and 5 seconds.
    assert out.ok and len(sleeps) == 1 and 3.0 <= sleeps[0] <= 5.0


def test_retry_after_date_in_the_past_means_now(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, json=grid_error("replenishing"),
                            headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    httpx_mock.add_response(json=OK_BODY)
    sleeps = Sleeps()
    assert post(make_net(sleeps=sleeps)).ok
    assert sleeps == [0.0]


def test_a_wait_longer_than_the_budget_stops_retrying(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, json=grid_error("Rate limit exceeded"), headers={"Retry-After": "30"})
    sleeps = Sleeps()
    out = post(make_net(budget=2.0, sleeps=sleeps))
    assert sleeps == [] and out.attempts == 1
    assert errors(out) == ["http.rate_limited"]
    assert any(f.severity == "info" and "more than the time budget" in f.message for f in out.findings)


def test_retries_are_exhausted_then_the_last_answer_stands(httpx_mock: HTTPXMock) -> None:
    for _ in range(3):
        httpx_mock.add_response(status_code=429, json=grid_error("Rate limit exceeded"), headers={"Retry-After": "1"})
    sleeps = Sleeps()
    out = post(make_net(retries=2, sleeps=sleeps))
    assert sleeps == [1.0, 1.0] and out.attempts == 3 and out.statuses == [429, 429, 429]
    assert errors(out) == ["http.rate_limited"]


def test_backoff_grows_without_a_hint(httpx_mock: HTTPXMock) -> None:
    for _ in range(3):
        httpx_mock.add_response(status_code=500, json=grid_error("boom"))
    sleeps = Sleeps()
    out = post(make_net(retries=2, sleeps=sleeps))
    assert errors(out) == ["http.server_error"] and out.attempts == 3
    assert 0.125 <= sleeps[0] <= 0.375 and 0.25 <= sleeps[1] <= 0.75


def test_retry_false_sends_once(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500, json=grid_error("boom"))
    sleeps = Sleeps()
    out = post(make_net(sleeps=sleeps), retry=False)
    assert out.attempts == 1 and sleeps == [] and errors(out) == ["http.server_error"]


@pytest.mark.parametrize(("first", "detail", "code", "severity"), [
    (503, "Balance replenishment in progress", "http.replenishing", "info"),
    (402, "No available consumption tokens for instrument text-prime", "balance.recovered_after_retry", "warning"),
    (500, "Internal server error", "http.server_error", "info"),
    (502, "Bad gateway", "http.server_error", "info"),
])
def test_a_failure_that_clears_on_retry_is_noted(httpx_mock: HTTPXMock, first: int, detail: str, code: str,
                                                 severity: str) -> None:
    httpx_mock.add_response(status_code=first, json=grid_error(detail))
    httpx_mock.add_response(json=OK_BODY)
    out = post(make_net())
    assert out.ok and out.attempts == 2
    assert [(f.code, f.severity) for f in out.findings] == [(code, severity)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(httpx_mock: HTTPXMock, status: int) -> None:
    httpx_mock.add_response(status_code=status, json=grid_error("no"))
    sleeps = Sleeps()
    out = post(make_net(sleeps=sleeps))
    assert out.attempts == 1 and sleeps == []


def test_refused_and_reset_connections_are_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("[Errno 111] Connection refused"))
    httpx_mock.add_exception(httpx.ReadError("[Errno 104] Connection reset by peer"))
    httpx_mock.add_response(json=OK_BODY)
    sleeps = Sleeps()
    out = post(make_net(sleeps=sleeps))
    assert out.ok and out.attempts == 3 and len(sleeps) == 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("timed out"), httpx.ConnectError("[Errno -2] Name or service "
                                                                                    "not known")])
def test_hangs_and_dns_failures_are_not_retried(httpx_mock: HTTPXMock, exc: Exception) -> None:
    httpx_mock.add_exception(exc)
    out = post(make_net())
    assert out.attempts == 1


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after-ms": "1200"}, 1.2),
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after": "-3"}, 0.0),
    ({"x-ratelimit-retry-after": "2"}, 2.0),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ({"Retry-After": "not a date"}, None),
    ({"Retry-After": ""}, None),
    ({"x-ratelimit-reset": "1999999999"}, None),  # a reset time is not a wait
    ({}, None),
])
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(headers) == expected


# ---------------------------------------------------------------- redirects and where the key goes


@pytest.mark.parametrize(("origin", "target", "allowed"), [
    (URL, "https://api.thegrid.ai/r/v1/chat/completions?token=x", True),
    (URL, "https://synapse.thegrid.ai/v1/chat/completions", True),
    (URL, "https://thegrid.ai/v1", True),
    (URL, "http://synapse.thegrid.ai/v1", False),  # never in clear text to another host
    (URL, "http://api.thegrid.ai/v1", False),  # downgrade on the same host
    (URL, "https://api.thegrid.ai.evil.com/v1", False),
    (URL, "https://evilthegrid.ai/v1", False),
    (URL, "https://api.openai.com/v1", False),
    (URL, "https://api.thegrid.ai:8443/v1", True),  # still The Grid, over https
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/r/v1", True),
    ("http://127.0.0.1:8080/v1", "https://127.0.0.1:8080/r/v1", True),
    ("http://127.0.0.1:8080/v1", "http://localhost:8080/r/v1", False),
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:9090/r/v1", False),
    ("https://gw.example.com/v1", "https://gw.example.com:444/v1", False),
    (URL, "http://api.thegrid.ai:notaport/v1", False),
    (URL, "https://[::1/v1", False),
])
def test_may_carry_key(origin: str, target: str, allowed: bool) -> None:
    assert may_carry_key(origin, target) is allowed


def test_signed_redirect_resends_method_and_body_without_the_key(httpx_mock: HTTPXMock) -> None:
    # The Grid's 307 carries a signed `token`: that is the second hop's credential, as in The Grid's own CLI.
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": "/r/v1/chat/completions?token=abc"},
                            html="<html><body>You are being redirected</body></html>")
    httpx_mock.add_response(url="https://api.thegrid.ai/r/v1/chat/completions?token=abc", json=OK_BODY)
    out = post(make_net())
    first, second = httpx_mock.get_requests()
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert second.method == "POST" and json.loads(second.content) == BODY
    assert "authorization" not in second.headers and all(KEY not in v for v in second.headers.values())
    assert out.ok and out.redirects == ["https://api.thegrid.ai/r/v1/chat/completions?token=abc"]
    assert [(f.code, f.severity) for f in out.findings] == [("http.redirect", "info")]
    assert "signed token" in out.findings[0].message
    assert out.key_sent_to == ["api.thegrid.ai"] and (out.hop, out.signed_hop) == (1, True)


def test_same_host_redirect_without_a_token_keeps_the_key(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": "/r/v1/chat/completions"})
    httpx_mock.add_response(url="https://api.thegrid.ai/r/v1/chat/completions", json=OK_BODY)
    out = post(make_net())
    assert httpx_mock.get_requests()[1].headers["authorization"] == f"Bearer {KEY}"
    assert out.ok and (out.hop, out.signed_hop) == (1, False)


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_signed_second_hop_is_the_token_not_the_key(httpx_mock: HTTPXMock, status: int) -> None:
    target = "https://synapse.thegrid.ai/v1/chat/completions?token=1.abc"
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": target})
    httpx_mock.add_response(url=target, status_code=status, json=grid_error("Redirect token expired"))
    out = post(make_net())
    assert errors(out) == ["http.redirect_rejected"] and out.status_code == status
    assert not any(f.code.startswith("auth.") for f in out.findings)
    [rejected] = [f for f in out.findings if f.code == "http.redirect_rejected"]
    assert "Redirect token expired" in rejected.message and "synapse.thegrid.ai" in rejected.message
    assert "Authorization" not in rejected.fix and "create" not in rejected.fix.lower()
    assert out.key_sent_to == ["api.thegrid.ai"] and out.attempts == 1


def test_401_on_the_first_hop_is_still_the_key(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL + "?token=x", status_code=401, json=grid_error("Invalid API key"))
    out = post(make_net(), url=URL + "?token=x")
    assert errors(out) == ["auth.rejected"] and out.hop == 0


def test_redirect_to_another_grid_host_over_https_keeps_the_key(httpx_mock: HTTPXMock) -> None:
    target = "https://synapse.thegrid.ai/v1/chat/completions"
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": target})
    httpx_mock.add_response(url=target, json=OK_BODY)
    out = post(make_net())
    assert httpx_mock.get_requests()[1].headers["authorization"] == f"Bearer {KEY}"
    assert out.ok and out.key_sent_to == ["api.thegrid.ai", "synapse.thegrid.ai"]


def test_cross_host_redirect_never_carries_the_key(httpx_mock: HTTPXMock) -> None:
    target = "https://collector.example.com/v1/chat/completions"
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": target})
    httpx_mock.add_response(url=target, status_code=401, json=grid_error("Missing Authorization header"))
    out = post(make_net())
    leg = httpx_mock.get_requests(url=target)[0]
    assert "authorization" not in leg.headers
    assert all(KEY not in v for v in leg.headers.values())
    assert out.key_sent_to == ["api.thegrid.ai"]
    [note] = [f for f in out.findings if f.code == "http.redirect"]
    assert "did not send your key" in note.message and "another host" in note.message
    assert errors(out) == ["auth.rejected"]  # no signed token: a 401 there is not the redirect's token


def test_https_to_http_downgrade_drops_the_key(httpx_mock: HTTPXMock) -> None:
    target = "http://api.thegrid.ai/v1/chat/completions"
    httpx_mock.add_response(url=URL, status_code=302, headers={"location": target})
    httpx_mock.add_response(url=target, json=OK_BODY)
    post(make_net())
    assert "authorization" not in httpx_mock.get_requests(url=target)[0].headers


@pytest.mark.parametrize(("status", "method"), [(303, "GET"), (301, "GET"), (302, "GET"), (307, "POST"),
                                                (308, "POST")])
def test_redirect_method_rules(httpx_mock: HTTPXMock, status: int, method: str) -> None:
    target = "https://api.thegrid.ai/r/v1/chat/completions"
    httpx_mock.add_response(url=URL, status_code=status, headers={"location": target})
    httpx_mock.add_response(url=target, json=OK_BODY)
    post(make_net())
    leg = httpx_mock.get_requests(url=target)[0]
    assert leg.method == method
    assert (leg.content == b"") is (method == "GET")


def test_redirect_to_itself_is_a_loop(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": URL})
    out = post(make_net())
    assert errors(out) == ["http.redirect_loop"] and out.status_code == 307 and not out.ok
    assert out.attempts == 1  # a loop is not retried


def test_endless_redirect_chain_stops_at_the_limit(httpx_mock: HTTPXMock) -> None:
    def hop(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("token", "0"))
        return httpx.Response(307, headers={"location": f"/r/v1/chat/completions?token={n + 1}"})

    httpx_mock.add_callback(hop, is_reusable=True)
    out = post(make_net())
    assert errors(out) == ["http.redirect_loop"]
    assert len(httpx_mock.get_requests()) == 6 and len(out.redirects) == 6
    # the loop once: the hops, then "loop"; no per-hop redirect notes
    assert [f.code for f in out.findings] == ["http.redirect_loop"]
    assert out.findings[0].message.endswith("-> https://api.thegrid.ai/r/v1/chat/completions?… (x6), then loop.")


def test_malformed_location_is_a_finding_not_a_crash(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=307, headers={"location": "https://api.thegrid.ai:abc/x"})
    out = post(make_net())
    assert errors(out) == ["http.unexpected"]
    assert len(httpx_mock.get_requests()) == 1


# ---------------------------------------------------------------- inputs that cannot become a request


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://api.thegrid.ai/v1", "url.invalid"),
    ("http://[::1/v1/chat/completions", "url.invalid"),
    ("https://" + "a" * 64 + ".com/v1/chat/completions", "url.invalid"),  # IDNA refuses a 64-char label
])
def test_unrequestable_urls_become_findings(url: str, code: str) -> None:
    out = post(make_net(), url)
    assert errors(out) == [code] and out.status_code is None


def test_non_ascii_key_is_a_finding_and_never_quoted() -> None:
    net = make_net(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=OK_BODY)))
    with net:
        out = net.send("POST", URL, json=BODY, auth=("authorization", "Bearer gk-\u201csecretsecret\u201d"))
    assert errors(out) == ["auth.non_ascii"]
    assert "secretsecret" not in out.findings[0].message


# ---------------------------------------------------------------- proxies and the deadline


def test_proxy_for_hides_credentials_and_honours_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert proxy_for(URL) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:hunter2@proxy.corp:3128")
    assert proxy_for(URL) == "http://proxy.corp:3128"
    assert proxy_for("http://api.thegrid.ai/v1") is None  # only https_proxy is set
    monkeypatch.setenv("NO_PROXY", "thegrid.ai")
    assert proxy_for(URL) is None
    assert proxy_for("http://[::1/x") is None


def test_connect_failure_through_a_proxy_is_net_proxy(monkeypatch: pytest.MonkeyPatch,
                                                      httpx_mock: HTTPXMock) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:hunter2@proxy.corp:3128")
    httpx_mock.add_exception(httpx.ConnectError("[Errno 111] Connection refused"), is_reusable=True)
    out = post(make_net(retries=0))
    assert errors(out) == ["net.proxy"]
    assert "proxy.corp:3128" in out.findings[0].message and "hunter2" not in out.findings[0].message


def test_deadline_counts_down() -> None:
    d = Deadline(30)  # a budget no pause of a busy machine eats between two lines
    assert 0.0 < d.remaining() <= 30 and not d.expired
    short = Deadline(0.05)
    time.sleep(0.1)
    assert short.remaining() == 0.0 and short.expired


# ---------------------------------------------------------------- the stream step over the seam


def sse(*events: Any) -> bytes:
    return b"".join(b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n" for e in events)


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


SSE = {"content-type": "text/event-stream; charset=utf-8"}


def stream_check(api: str = "chat", idle_warn: float = 5.0) -> Any:
    from gridctl.probe.stream import check_stream
    from gridctl.target import Target

    base = "https://messages-beta.api.thegrid.ai/v1" if api == "messages" else "https://api.thegrid.ai/v1"
    with make_net(retries=0) as net:
        return check_stream(net, Target(base_url=base, key=KEY, model="text-prime", api=api), idle_warn)


def stream_codes(check: Any) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in check.findings]


def test_stream_ok(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(content=sse(chunk("po"), chunk("ng"), chunk(finish="stop"), b"[DONE]"), headers=SSE)
    check = stream_check()
    assert stream_codes(check) == [("stream.ok", "info")]
    assert check.data["events"] == 4 and check.data["done"] and check.data["finish_reason"] == "stop"
    sent = httpx_mock.get_requests()[0]
    assert json.loads(sent.content)["stream"] is True and sent.headers["accept"] == "text/event-stream"


def test_stream_cut(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(content=sse(chunk("po"), chunk("ng")), headers=SSE)
    check = stream_check()
    assert stream_codes(check) == [("stream.cut", "error")]
    [cut] = check.findings
    # cut within milliseconds: the fix must not blame a 30-60 s idle timeout
    assert "ms in and" in cut.message and "after the last event" in cut.message
    assert "30-60" not in cut.fix and "Too early" in cut.fix and cut.data["elapsed_ms"] < 1000


@pytest.mark.parametrize(("elapsed", "quiet", "words", "absent"), [
    (0.011, 0.004, ["11 ms in", "4 ms after the last event"], "30-60"),
    (45.0, 40.0, ["45.0 s in", "40.0 s after"], "Too early"),
    (120.0, 0.5, ["120.0 s in"], "30-60"),
])
def test_stream_cut_fix_is_proportional(elapsed: float, quiet: float, words: list[str], absent: str) -> None:
    from gridctl.probe.stream import StreamStats, cut_reading

    f = cut_reading(StreamStats(events=3, elapsed_s=elapsed, quiet_s=quiet))
    assert all(w in f.message for w in words), f.message
    assert absent not in f.fix
    assert ("idle timeout" in f.fix and "raise" in f.fix) is (quiet >= 25)


def test_stream_odd_events_do_not_crash(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(content=sse(b"[1, 2]", b"42", b"not json", b'"text"', chunk(finish="stop"), b"[DONE]")
                            + b": comment\n\nevent: ping\n\n", headers=SSE)
    assert stream_codes(stream_check()) == [("stream.ok", "info")]


def test_stream_messages_api_ends_at_message_stop(httpx_mock: HTTPXMock) -> None:
    events = [{"type": "message_start"}, {"type": "content_block_delta", "delta": {"text": "pong"}},
              {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}, {"type": "message_stop"}]
    httpx_mock.add_response(content=sse(*events), headers=SSE)
    check = stream_check(api="messages")
    assert stream_codes(check) == [("stream.ok", "info")] and check.data["finish_reason"] == "end_turn"
    assert httpx_mock.get_requests()[0].headers["x-api-key"] == KEY


def test_stream_idle_gap(httpx_mock: HTTPXMock) -> None:
    def paced() -> Iterator[bytes]:
        yield sse(chunk("po"))
        time.sleep(0.3)
        yield sse(chunk("ng"), chunk(finish="stop"), b"[DONE]")

    httpx_mock.add_response(stream=IteratorStream(paced()), headers=SSE)
    check = stream_check(idle_warn=0.2)
    assert stream_codes(check) == [("stream.ok", "info"), ("stream.idle_gap", "warning")]


@pytest.mark.parametrize(("content", "ctype", "code"), [
    (b"<html><head><title>Login</title></head><body>Wi-Fi portal</body></html>", "text/html", "http.html_body"),
    (json.dumps(OK_BODY).encode(), "application/json", "http.unexpected"),
    (b'{"id": "chatcmpl', "application/json", "http.unexpected"),
])
def test_a_2xx_that_is_not_a_stream_is_not_called_a_cut(httpx_mock: HTTPXMock, content: bytes, ctype: str,
                                                         code: str) -> None:
    httpx_mock.add_response(content=content, headers={"content-type": ctype})
    assert stream_codes(stream_check()) == [(code, "error")]


def test_stream_rejected_key(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json=grid_error("Invalid API key"))
    assert stream_codes(stream_check()) == [("auth.rejected", "error")]
