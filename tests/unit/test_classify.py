"""classify.py: every network failure and every HTTP answer becomes a contract finding.

Bodies are evidence, never a reason to raise: The Grid's `{"errors":{"detail"}}`, the older
`{"error":{...}}`, HTML from proxies, truncated JSON, binary and empty bodies all classify.
"""

from __future__ import annotations

import errno
import json
import ssl
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridctl.findings import CATALOGUE
from gridctl.probe.classify import classify_exception, classify_status, error_detail, looks_html, parse_json

URL = "https://api.thegrid.ai/v1/chat/completions"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
PROXY_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
REDIRECT_PAGE = b'<html><body>You are being <a href="/r/v1/chat/completions">redirected</a>.</body></html>'
CLOUDFLARE_403 = (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
                  b"<h1>Sorry, you have been blocked</h1><span>Cloudflare Ray ID: <strong>8a1b2c3d4e5f6a7b</strong>"
                  b"</span></body></html>")
AKAMAI_403 = (b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
              b"You don't have permission to access \"http&#58;&#47;&#47;api&#46;thegrid&#46;ai&#47;v1\" on this server."
              b"<P>\nReference&#32;&#35;18&#46;2f3e4d5c&#46;1700000000&#46;abcdef\n</BODY>\n</HTML>\n")
COMPLETION = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": "openai/gpt-oss-120b",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"},
                                      "finish_reason": "stop"}]}).encode()


def grid_error(detail: str) -> bytes:
    return json.dumps({"errors": {"detail": detail}}).encode()


def codes(status: int, body: bytes, ctype: str = JSON) -> list[str]:
    return [f.code for f in classify_status(status, body, ctype, URL)]


# ---------------------------------------------------------------- HTTP statuses


@pytest.mark.parametrize(("status", "body", "ctype", "expected"), [
    (400, grid_error("Required field 'messages' is missing"), JSON, ["http.bad_request"]),
    (401, grid_error("Invalid API key"), JSON, ["auth.rejected"]),
    (403, grid_error("This key may not use this instrument"), JSON, ["auth.forbidden"]),
    (402, grid_error("Insufficient credits"), JSON, ["balance.credits_empty"]),
    (402, grid_error("No available consumption tokens for instrument text-max"), JSON,
     ["balance.instrument_unavailable"]),
    (404, grid_error("Unknown instrument 'gpt-5.2'. Use one of: text-standard, text-prime"), JSON,
     ["model.not_found"]),
    (404, grid_error("model 'claude-sonnet-4-6' not found"), JSON, ["model.not_found"]),
    (404, grid_error("Not found: /v1/v1/chat/completions (the path has a doubled /v1)"), JSON,
     ["http.not_found_path"]),
    (404, b"<html><head><title>404 Not Found</title></head><body>model not here</body></html>", HTML,
     ["http.not_found_path", "http.html_body"]),
    (422, grid_error("Parameter 'temperature' is out of range: must be between 0 and 2, got 7"), JSON,
     ["http.unprocessable"]),
    (429, grid_error("Rate limit exceeded for text-prime; retry later"), JSON, ["http.rate_limited"]),
    (500, grid_error("Internal server error; the request was not billed"), JSON, ["http.server_error"]),
    (502, PROXY_502, "text/html", ["http.server_error", "http.html_body"]),
    (503, grid_error("Balance replenishment in progress"), JSON, ["http.replenishing"]),
    (503, b"<!DOCTYPE html><html><title>Service Unavailable</title></html>", "", ["http.server_error",
                                                                                   "http.html_body"]),
    (504, b"", "", ["http.server_error"]),
    (407, b"<html><title>407 Proxy Authentication Required</title></html>", HTML, ["net.proxy"]),
    (407, b"", "", ["net.proxy"]),
    (408, grid_error("Request timeout"), JSON, ["http.timeout"]),
    (408, b"", "", ["http.timeout"]),
    (409, grid_error("Idempotency key reused with a different body"), JSON, ["http.conflict"]),
    (413, grid_error("Request body too large: the limit is 1 MiB"), JSON, ["http.too_large"]),
    (413, b"<html><head><title>413 Request Entity Too Large</title></head></html>", HTML,
     ["http.too_large", "http.html_body"]),
    (403, CLOUDFLARE_403, HTML, ["http.blocked"]),
    (403, AKAMAI_403, HTML, ["http.blocked"]),
    (429, CLOUDFLARE_403, HTML, ["http.blocked"]),
    (403, b"<html><head><title>403 Forbidden</title></head><body>nginx</body></html>", HTML,
     ["auth.forbidden", "http.html_body"]),
    (307, b"", "", ["http.unexpected"]),
    (418, b"I'm a teapot", "text/plain", ["http.unexpected"]),
    (200, COMPLETION[: len(COMPLETION) // 2], JSON, ["http.unexpected"]),
    (200, b"pong", "text/plain", ["http.unexpected"]),
    (200, b"", "", ["http.unexpected"]),
    (200, REDIRECT_PAGE, HTML, ["http.html_body"]),
    (200, COMPLETION, JSON, []),
    (201, b"[]", JSON, []),
])
def test_every_status_maps_to_its_code(status: int, body: bytes, ctype: str, expected: list[str]) -> None:
    assert codes(status, body, ctype) == expected


def test_server_words_are_quoted_in_the_message() -> None:
    [f] = classify_status(401, grid_error("Invalid API key"), JSON, URL)
    assert f.severity == "error" and "Invalid API key" in f.message and "401" in f.message
    [f] = classify_status(404, grid_error("Not found: /v1/v1/chat/completions"), JSON, URL)
    assert URL in f.message


def test_html_error_page_is_an_extra_warning_not_the_cause() -> None:
    cause, html = classify_status(502, PROXY_502, "text/html", URL)
    assert cause.severity == "error"
    assert html.code == "http.html_body" and html.severity == "warning"
    assert "502 Bad Gateway" in html.message  # the page's title says who answered


def test_block_page_names_its_vendor_and_clears_the_key() -> None:
    [f] = classify_status(403, CLOUDFLARE_403, HTML, URL)
    assert "Cloudflare" in f.message and "Attention Required" in f.message
    assert "nothing about your key" in f.message and f.entry.exit_code == 9
    [f] = classify_status(403, AKAMAI_403, HTML, URL)
    assert "Akamai" in f.message


def test_proxy_407_is_the_network_layer_with_proxy_words() -> None:
    [f] = classify_status(407, b"", "", "http://api.thegrid.ai/v1/chat/completions", proxy="http://proxy.corp:3128")
    assert f.code == "net.proxy" and "proxy.corp:3128" in f.message and "407" in f.message
    assert "USER:PASSWORD" in f.fix and f.entry.exit_code == 9


def test_html_5xx_title_and_fix_name_the_same_party() -> None:
    # No proxy in use: the load balancer in front of the host wrote the page; both findings say so.
    cause, note = classify_status(502, PROXY_502, "text/html", URL)
    assert cause.code == "http.server_error" and "gateway at api.thegrid.ai" in cause.message
    assert "api.thegrid.ai's side" in cause.fix and "proxy" not in (cause.fix + note.message).lower()
    assert "load balancer at api.thegrid.ai" in note.message
    # Through a configured proxy: the proxy wrote the page; the cause, the fix and the note all say proxy.
    cause, note = classify_status(502, PROXY_502, "text/html", URL, proxy="http://proxy.corp:3128")
    assert cause.code == "net.proxy" and "proxy.corp:3128" in cause.message
    assert "NO_PROXY" in cause.fix and "proxy.corp:3128" in note.message


@pytest.mark.parametrize(("status", "exit_code"), [(408, 9), (409, 10), (413, 10)])
def test_408_409_413_have_their_own_words(status: int, exit_code: int) -> None:
    [f] = classify_status(status, grid_error("nope"), JSON, URL)
    assert f.code != "http.unexpected" and f.entry.exit_code == exit_code and str(status) in f.entry.title


def test_html_instead_of_json_on_success_is_an_error() -> None:
    [f] = classify_status(200, REDIRECT_PAGE, HTML, URL)
    assert f.severity == "error"


def test_truncated_json_is_named_as_such() -> None:
    [f] = classify_status(200, COMPLETION[:40], JSON, URL)
    assert "truncated or invalid JSON" in f.message
    [f] = classify_status(200, b"\x00\xff\xfe binary", "application/octet-stream", URL)
    assert "not JSON" in f.message


def test_html_sniffed_without_a_content_type() -> None:
    assert looks_html(b"  <!DOCTYPE html><html></html>", "")
    assert looks_html(b"{}", "text/html")
    assert not looks_html(b'{"a": 1}', JSON)


# ---------------------------------------------------------------- error bodies, all three shapes


@pytest.mark.parametrize(("body", "ctype", "expected"), [
    (grid_error("Invalid API key"), JSON, "Invalid API key"),
    (b'{"error": {"code": "invalid_api_key", "message": "Incorrect API key provided"}}', JSON,
     "Incorrect API key provided"),
    (b'{"error": {"code": "insufficient_quota"}}', JSON, "insufficient_quota"),
    (b'{"error": {"detail": "from detail"}}', JSON, "from detail"),
    (b'{"error": "plain string error"}', JSON, "plain string error"),
    (b'{"errors": [{"detail": "first of a list"}, {"detail": "second"}]}', JSON, "first of a list"),
    (b'{"errors": [{"message": "list message"}]}', JSON, "list message"),
    (b'{"errors": ["bare string"]}', JSON, "bare string"),
    (b'{"detail": "FastAPI style"}', JSON, "FastAPI style"),
    (b'{"message": "top-level message"}', JSON, "top-level message"),
    (b'{"errors": {"detail": null}}', JSON, ""),
    (b'{"unrelated": true}', JSON, ""),
    (PROXY_502, "text/html", "an HTML page: 502 Bad Gateway"),
    (b"<html><body>no title</body></html>", "", "an HTML page"),
    (b"upstream connect error or disconnect/reset\n  before headers", "text/plain",
     "upstream connect error or disconnect/reset before headers"),
    (b"", "", ""),
])
def test_error_detail_reads_every_shape(body: bytes, ctype: str, expected: str) -> None:
    assert error_detail(body, ctype) == expected


def test_error_detail_is_bounded() -> None:
    assert len(error_detail(grid_error("x" * 5000), JSON)) == 300
    assert len(error_detail(b"y" * 5000, "text/plain")) <= 300


@pytest.mark.parametrize("body", [
    b'{"errors": {"detail": "cut', b"[1, 2", b"\xff\xfe\x00garbage", b"[" * 100_000, b"null", b"42",
    b'"just a string"', b'{"errors": 5, "error": 7}', b'{"errors": [], "error": []}', b'{"errors": [null]}',
])
def test_odd_bodies_never_raise(body: bytes) -> None:
    assert isinstance(error_detail(body, ""), str)
    for status in (200, 400, 401, 402, 404, 429, 500, 503):
        assert all(f.code in CATALOGUE for f in classify_status(status, body, "", URL))


def test_parse_json_returns_none_for_non_json() -> None:
    assert parse_json(b'{"a": 1}') == {"a": 1}
    assert parse_json(b'{"a": ') is None
    assert parse_json(b"\xff") is None
    assert parse_json(b"[" * 100_000) is None


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=4),
                     max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(status=st.integers(100, 599), body=st.binary(max_size=300), ctype=st.text(max_size=30))
def test_any_bytes_classify_without_raising(status: int, body: bytes, ctype: str) -> None:
    found = classify_status(status, body, ctype, URL)
    assert all(f.code in CATALOGUE for f in found)
    if not 200 <= status < 300:
        assert found and found[0].severity == "error"


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["errors", "error", "detail", "message", "code"]), _json, max_size=3))
def test_any_json_error_shape_reads_without_raising(doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    assert isinstance(error_detail(body, JSON), str)
    assert classify_status(400, body, JSON, URL)[0].code == "http.bad_request"


# ---------------------------------------------------------------- network failures


def chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def cert_error() -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    err.verify_message = "self-signed certificate in certificate chain"  # set by the ssl module in real life
    err.reason = "CERTIFICATE_VERIFY_FAILED"
    return err


@pytest.mark.parametrize(("exc", "proxy", "code"), [
    (httpx.ConnectError("[Errno -2] Name or service not known"), None, "net.dns"),
    (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), None, "net.dns"),
    (httpx.ConnectError("[Errno 8] nodename nor servname provided, or not known"), None, "net.dns"),
    (httpx.ConnectError("[Errno 111] Connection refused"), None, "net.refused"),
    (chained(httpx.ConnectError(""), ConnectionRefusedError(errno.ECONNREFUSED, "")), None, "net.refused"),
    (httpx.ConnectError("[Errno 104] Connection reset by peer"), None, "net.reset"),
    (httpx.ConnectError("timed out"), None, "net.connect_timeout"),
    (httpx.ConnectTimeout("timed out"), None, "net.connect_timeout"),
    (httpx.ReadTimeout("The read operation timed out"), None, "net.no_response"),
    (httpx.WriteTimeout("timed out"), None, "net.no_response"),
    (httpx.PoolTimeout("timed out"), None, "net.no_response"),
    (httpx.ProxyError("407 Proxy Authentication Required"), "http://proxy.corp:3128", "net.proxy"),
    (httpx.ConnectError("[Errno 111] Connection refused"), "http://proxy.corp:3128", "net.proxy"),
    (chained(httpx.ConnectError("handshake"), cert_error()), None, "net.tls"),
    (chained(httpx.ConnectError("x"), ssl.SSLCertVerificationError(1, "bare")), None, "net.tls"),
    (chained(httpx.ConnectError("x"), ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")),
     None, "net.tls"),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local "
                        "issuer certificate (_ssl.c:1006)"), None, "net.tls"),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), None, "net.reset"),
    (httpx.WriteError("[Errno 32] Broken pipe"), None, "net.reset"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), None, "net.reset"),
    (httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."), None, "url.invalid"),
    (httpx.DecodingError("Error -3 while decompressing data"), None, "http.unexpected"),
    (httpx.RemoteProtocolError("Invalid URL in location header: Invalid port: 'abc'."), None, "http.unexpected"),
])
def test_every_network_failure_maps_to_its_code(exc: BaseException, proxy: str | None, code: str) -> None:
    f = classify_exception(exc, proxy)
    assert f.code == code
    assert f.severity == "error"


def test_tls_message_names_the_certificate_problem() -> None:
    f = classify_exception(chained(httpx.ConnectError("handshake"), cert_error()))
    assert "self-signed certificate in certificate chain" in f.message


def test_proxy_message_names_the_proxy() -> None:
    f = classify_exception(httpx.ConnectError("[Errno 111] Connection refused"), "http://proxy.corp:3128")
    assert "http://proxy.corp:3128" in f.message


def test_a_malformed_header_never_echoes_its_value() -> None:
    secret = "gk-canary-SECRETSECRETSECRET"
    exc = httpx.LocalProtocolError(f"Illegal header value b'Bearer {secret}\\nx'")
    f = classify_exception(exc)
    assert f.code == "auth.key_whitespace"
    assert "SECRET" not in f.message
