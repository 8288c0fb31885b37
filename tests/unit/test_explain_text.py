"""gridctl explain on real error texts: each row is a text a real client, tool or server printed.

Sources: `py` rows were produced today by running the client named (max_retries=0, timeout=2)
against the emulator scenario or a closed loopback port (127.0.0.1:1) and copying its stderr's last
lines; `curl`/`node` rows likewise (curl 8, node 20.20.2); `man curl` rows come from curl's
EXIT CODES documentation where the condition cannot be produced on loopback; `issue` rows are
quoted from the GitHub issue named; `docs` rows from the vendor's documented error bodies.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridctl.lint.errors import explain_text

# (text, code, exit code, source)
CASES: list[tuple[str, str, int, str]] = [
    # openai 3.57.0 (python) against the emulator
    ("openai.AuthenticationError: Error code: 401", "auth.rejected", 4, "py openai 3.57.0 bad-key"),
    ("openai.APIStatusError: Error code: 402", "balance.credits_empty", 5, "py openai 3.57.0 no-credits"),
    ("openai.RateLimitError: Error code: 429", "http.rate_limited", 7, "py openai 3.57.0 rate-limited"),
    ("openai.InternalServerError: Error code: 500", "http.server_error", 8, "py openai 3.57.0 server-error"),
    ("openai.InternalServerError: Error code: 503", "http.replenishing", 8, "py openai 3.57.0 replenishing"),
    ("openai.InternalServerError: Error code: 502", "http.server_error", 8, "py openai 3.57.0 html-error"),
    ("openai.NotFoundError: Error code: 404", "http.not_found_path", 6, "py openai 3.57.0 404"),
    ("httpx2.TooManyRedirects: Exceeded maximum allowed redirects.\n\nThe above exception was the direct cause "
     "of the following exception:\n\nTraceback (most recent call last):\nopenai.APIConnectionError: Connection "
     "error.", "http.redirect_loop", 9, "py openai 3.57.0 redirect-loop"),
    ("httpx2.ReadTimeout: timed out\n\nThe above exception was the direct cause of the following exception:\n"
     "openai.APITimeoutError: Request timed out.", "net.no_response", 9, "py openai 3.57.0 hang"),
    ("openai.APITimeoutError: Request timed out.", "net.no_response", 9, "py openai 3.57.0 hang"),
    ("httpx2.ReadError: [Errno 104] Connection reset by peer\n\nThe above exception was the direct cause of the "
     "following exception:\nopenai.APIConnectionError: Connection error.", "net.reset", 9, "py openai reset"),
    ("  File \"openai/_base_client.py\", line 1104, in _send_request\nhttpx2.ConnectError: [Errno 111] Connection "
     "refused\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent "
     "call last):\nopenai.APIConnectionError: Connection error.", "net.refused", 9, "py openai 127.0.0.1:1"),
    ("httpx2.ConnectError: [Errno -2] Name or service not known\n\nThe above exception was the direct cause of "
     "the following exception:\nopenai.APIConnectionError: Connection error.", "net.dns", 9, "py openai dns"),
    ("json.decoder.JSONDecodeError: Unterminated string starting at: line 1 column 174 (char 173)",
     "http.unexpected", 8, "py openai 3.57.0 truncated-json"),
    ("httpx2.LocalProtocolError: Illegal header value b'Bearer gk-demokey\\n'\n\nThe above exception was the "
     "direct cause of the following exception:\nopenai.APIConnectionError: Connection error.",
     "auth.key_whitespace", 3, "py openai 3.57.0 key with newline"),
    ("UnicodeEncodeError: 'ascii' codec can't encode character '\\u201c' in position 14: ordinal not in "
     "range(128)", "auth.non_ascii", 3, "py openai 3.57.0 smart quote in key"),
    ("openai.OpenAIError: Missing credentials. Please pass an `api_key`, `workload_identity`, `admin_api_key`, or "
     "set the `OPENAI_API_KEY` or `OPENAI_ADMIN_KEY` environment variable.", "config.no_key", 3,
     "py openai 3.57.0 no key"),
    ("openai.APIConnectionError: Connection error.", "net.connection_error", 9, "py openai 3.57.0 (tail only)"),
    # anthropic 2.14.0 against the emulator
    ("anthropic.AuthenticationError: Error code: 401 - {'errors': {'detail': 'Invalid API key'}}",
     "auth.rejected", 4, "py anthropic 2.14.0 bad-key"),
    ("anthropic.PaymentRequiredError: Error code: 402 - {'errors': {'detail': 'Insufficient credits'}}",
     "balance.credits_empty", 5, "py anthropic 2.14.0 no-credits"),
    ("anthropic.PaymentRequiredError: Error code: 402 - {'errors': {'detail': 'No available consumption tokens "
     "for instrument text-max'}}", "balance.instrument_unavailable", 5, "py anthropic 2.14.0 instrument-no-tokens"),
    ("anthropic.RateLimitError: Error code: 429 - {'errors': {'detail': 'Rate limit exceeded for text-prime; "
     "retry later'}}", "http.rate_limited", 7, "py anthropic 2.14.0 rate-limited"),
    ("anthropic.InternalServerError: Error code: 500 - {'errors': {'detail': 'Internal server error; the request "
     "was not billed'}}", "http.server_error", 8, "py anthropic 2.14.0 server-error"),
    ("anthropic.ServiceUnavailableError: Error code: 503 - {'errors': {'detail': 'Balance replenishment in "
     "progress'}}", "http.replenishing", 8, "py anthropic 2.14.0 replenishing"),
    ("anthropic.InternalServerError: <html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 "
     "Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>", "http.server_error", 8,
     "py anthropic 2.14.0 html-error"),
    ("anthropic.APITimeoutError: Request timed out or interrupted. This could be due to a network timeout, "
     "dropped connection, or request cancellation. See https://docs.anthropic.com/en/api/errors#long-requests "
     "for more details.", "net.no_response", 9, "py anthropic 2.14.0 hang"),
    ("TypeError: \"Could not resolve authentication method. Expected one of api_key, auth_token, or credentials "
     "to be set. Or for the `Authorization` header to be explicitly omitted\"", "config.no_key", 3,
     "py anthropic 2.14.0 no key"),
    ("anthropic.AuthenticationError: Error code: 401 - {'errors': {'detail': \"Missing Authorization header: send "
     "'Authorization: Bearer YOUR_KEY'\"}}", "auth.rejected", 4, "py anthropic 2.14.0 redirect-cross-host"),
    # httpx 0.28.1
    ("httpx.HTTPStatusError: Client error '401 Unauthorized' for url 'http://127.0.0.1:44115/v1/chat/completions'"
     "\nFor more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
     "auth.rejected", 4, "py httpx 0.28.1 bad-key"),
    ("httpx.HTTPStatusError: Server error '502 Bad Gateway' for url 'http://127.0.0.1:42749/v1/chat/completions'",
     "http.server_error", 8, "py httpx 0.28.1 html-error"),
    ("httpx.HTTPStatusError: Client error '400 Bad Request' for url 'http://127.0.0.1:45165/v1/chat/completions'",
     "http.bad_request", 10, "py httpx 0.28.1 empty body"),
    ("httpx.ReadTimeout: timed out", "net.no_response", 9, "py httpx 0.28.1 hang"),
    ("httpx.ReadError: [Errno 104] Connection reset by peer", "net.reset", 9, "py httpx 0.28.1 reset"),
    ("httpx.ConnectError: [Errno 111] Connection refused", "net.refused", 9, "py httpx 0.28.1 closed port"),
    ("httpx.ConnectError: [Errno -2] Name or service not known", "net.dns", 9, "py httpx 0.28.1 dns"),
    ("httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
     "(_ssl.c:1006)", "net.tls", 9, "py httpx 0.28.1 openssl s_server self-signed"),
    ("httpx.RemoteProtocolError: Server disconnected without sending a response.", "net.reset", 9,
     "httpcore 1.0.9 _sync/http11.py"),
    ("httpx.ConnectTimeout: timed out", "net.connect_timeout", 9, "httpx 0.28.1 _exceptions.py ConnectTimeout"),
    ("httpx.ProxyError: 407 Proxy Authentication Required", "net.proxy", 9, "httpx 0.28.1 ProxyError"),
    ("Redirect location: 'http://localhost:46799/r/v1/chat/completions?token=xO0d5RC0VFtW0G-1'\nhttpx."
     "HTTPStatusError: Redirect response '307 Temporary Redirect' for url 'http://127.0.0.1:46799/v1/chat/"
     "completions'", "http.redirect", 0, "py httpx 0.28.1 redirect (not followed)"),
    ("UnicodeEncodeError: 'ascii' codec can't encode character '\\u2013' in position 14: ordinal not in range(128)",
     "auth.non_ascii", 3, "py httpx 0.28.1 en dash in key"),
    # requests 2.34.2 / urllib3 2.8.0
    ("requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: http://127.0.0.1:44115/v1/chat/"
     "completions", "auth.rejected", 4, "py requests 2.34.2 bad-key"),
    ("requests.exceptions.HTTPError: 502 Server Error: Bad Gateway for url: http://127.0.0.1:42749/v1/chat/"
     "completions", "http.server_error", 8, "py requests 2.34.2 html-error"),
    ("requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: http://localhost:46799/r/v1/chat/"
     "completions?token=XPKiXrk2gxGcYi7_", "http.redirect_rejected", 4, "py requests 2.34.2 redirect-cross-host"),
    ("requests.exceptions.TooManyRedirects: Exceeded 30 redirects.", "http.redirect_loop", 9,
     "py requests 2.34.2 redirect-loop"),
    ("requests.exceptions.ReadTimeout: HTTPConnectionPool(host='127.0.0.1', port=37145): Read timed out. (read "
     "timeout=2)", "net.no_response", 9, "py requests 2.34.2 hang"),
    ("requests.exceptions.ConnectionError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by "
     "peer'))", "net.reset", 9, "py requests 2.34.2 reset"),
    ("requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with "
     "url: /v1/chat/completions (Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=1): Failed "
     "to establish a new connection: [Errno 111] Connection refused\"))", "net.refused", 9,
     "py requests 2.34.2 closed port"),
    ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.thegird.invalid', port=443): Max retries "
     "exceeded with url: /v1/chat/completions (Caused by NameResolutionError(\"HTTPSConnection(host='api.thegird."
     "invalid', port=443): Failed to resolve 'api.thegird.invalid' ([Errno -2] Name or service not known)\"))",
     "url.host_typo", 3, "py requests 2.34.2 dns, typo host"),
    ("requests.exceptions.SSLError: HTTPSConnectionPool(host='localhost', port=45994): Max retries exceeded with "
     "url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
     "failed: self-signed certificate (_ssl.c:1006)')))", "net.tls", 9, "py requests 2.34.2 self-signed"),
    ("UnicodeEncodeError: 'latin-1' codec can't encode character '\\u2013' in position 14: ordinal not in "
     "range(256)", "auth.non_ascii", 3, "py requests 2.34.2 en dash in key"),
    ("requests.exceptions.ProxyError: HTTPSConnectionPool(host='api.thegrid.ai', port=443): Max retries exceeded "
     "with url: /v1/chat/completions (Caused by ProxyError('Unable to connect to proxy', "
     "NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new "
     "connection: [Errno 111] Connection refused')))", "net.proxy", 9, "urllib3 2.8.0 ProxyError text"),
    ("requests.exceptions.ChunkedEncodingError: ('Connection broken: IncompleteRead(0 bytes read)', "
     "IncompleteRead(0 bytes read))", "net.reset", 9, "requests 2.34.2 models.py"),
    # curl 8
    ("curl: (7) Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server", "net.refused", 9,
     "curl 127.0.0.1:1"),
    ("curl: (6) Could not resolve host: api.thegird.ai", "url.host_typo", 3, "curl, typo host"),
    ("curl: (6) Could not resolve host: api.example.invalid", "net.dns", 9, "curl"),
    ("curl: (52) Empty reply from server", "net.reset", 9, "curl, server closing on loopback"),
    ("curl: (28) Connection timed out after 1000 milliseconds", "net.connect_timeout", 9, "curl -m 1"),
    ("curl: (28) Operation timed out after 10001 milliseconds with 0 bytes received", "net.no_response", 9,
     "man curl exit 28"),
    ("curl: (56) Recv failure: Connection reset by peer", "net.reset", 9, "curl, RST on loopback"),
    ("curl: (60) SSL certificate problem: self-signed certificate\nMore details here: https://curl.se/docs/"
     "sslcerts.html", "net.tls", 9, "curl against openssl s_server"),
    ("curl: (35) OpenSSL/3.0.13: error:0A00010B:SSL routines::wrong version number", "net.tls", 9,
     "man curl exit 35 (SSL connect error)"),
    ("curl: (47) Maximum (50) redirects followed", "http.redirect_loop", 9, "man curl exit 47"),
    ("curl: (22) The requested URL returned error: 401", "auth.rejected", 4, "curl -f"),
    ("curl: (5) Could not resolve proxy: proxy.corp.example", "net.proxy", 9, "man curl exit 5"),
    ("curl: (56) CONNECT tunnel failed, response 407", "net.proxy", 9, "man curl exit 56 via proxy"),
    ("curl: (18) transfer closed with 120 bytes remaining to read", "net.reset", 9, "man curl exit 18"),
    # node 20.20.2 fetch / undici and the openai npm package 6.49.0
    ("TypeError: fetch failed\n    at node:internal/deps/undici/undici:14976:13 {\n  [cause]: Error: connect "
     "ECONNREFUSED 127.0.0.1:45998\n      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {\n"
     "    errno: -111,\n    code: 'ECONNREFUSED',", "net.refused", 9, "node fetch closed port"),
    ("TypeError: fetch failed\n  [cause]: Error: getaddrinfo ENOTFOUND api.thegird.ai\n    code: 'ENOTFOUND',",
     "url.host_typo", 3, "node fetch, typo host"),
    ("TypeError: fetch failed\n  [cause]: Error: getaddrinfo ENOTFOUND api.example.invalid", "net.dns", 9,
     "node fetch"),
    ("TypeError: fetch failed\n  [cause]: SocketError: other side closed\n    code: 'UND_ERR_SOCKET',",
     "net.reset", 9, "node fetch, server closing"),
    ("TypeError: fetch failed\n  [cause]: Error: self-signed certificate\n    code: 'DEPTH_ZERO_SELF_SIGNED_CERT'",
     "net.tls", 9, "node fetch self-signed"),
    ("Error: self-signed certificate in certificate chain\n  code: 'SELF_SIGNED_CERT_IN_CHAIN'", "net.tls", 9,
     "node tls error codes (corporate MITM)"),
    ("Error: unable to get local issuer certificate\n  code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'", "net.tls", 9,
     "node tls error codes"),
    ("TypeError: fetch failed\n  [cause]: ConnectTimeoutError: Connect Timeout Error (attempted address: "
     "api.thegrid.ai:443, timeout: 10000ms)\n    code: 'UND_ERR_CONNECT_TIMEOUT'", "net.connect_timeout", 9,
     "undici errors.js"),
    ("Error: connect ETIMEDOUT 104.18.0.1:443", "net.connect_timeout", 9, "node net"),
    ("Error: socket hang up\n    code: 'ECONNRESET'", "net.reset", 9, "node http"),
    ("TypeError: fetch failed", "net.connection_error", 9, "node fetch (cause not pasted)"),
    ("AuthenticationError: 401 Invalid API key", "auth.rejected", 4, "openai npm 6.49.0 makeMessage"),
    ("NotFoundError: 404 status code (no body)", "http.not_found_path", 6, "openai npm 6.49.0 makeMessage"),
    ("RateLimitError: 429 Rate limit exceeded for text-prime; retry later", "http.rate_limited", 7,
     "openai npm 6.49.0"),
    ("APIConnectionTimeoutError: Request timed out.", "net.no_response", 9, "openai npm 6.49.0 core/error.js"),
    ("APIUserAbortError: Request was aborted.", "net.client_timeout", 9, "openai npm 6.49.0 core/error.js"),
    ("TypeError: Cannot convert argument to a ByteString because the character at index 7 has a value of 8220 "
     "which is greater than 255.", "auth.non_ascii", 3, "node fetch Headers, smart quote"),
    # The Grid / OpenAI-style bodies, proxies, wrappers
    ("Error code: 401 - {'errors': {'detail': 'Invalid API key'}}", "auth.rejected", 4, "The Grid 401 body"),
    ("Error code: 404 - {'errors': {'detail': \"Unknown instrument 'gpt-4o'. Use one of: text-standard\"}}",
     "model.foreign_name", 3, "The Grid 404 body (emulator handler)"),
    ("Error code: 404 - {'errors': {'detail': \"Unknown instrument 'text-primo'. Use one of: text-standard\"}}",
     "model.unknown", 3, "The Grid 404 body (emulator handler)"),
    ("openai.NotFoundError: Error code: 404 - {'error': {'message': 'The model `gpt-5.2` does not exist or you "
     "do not have access to it.', 'type': 'invalid_request_error', 'param': None, 'code': 'model_not_found'}}",
     "model.foreign_name", 3, "OpenAI error body (platform docs)"),
    ("openai.NotFoundError: Error code: 404 - {'detail': 'Not Found'} POST https://api.thegrid.ai/v1/v1/chat/"
     "completions", "url.doubled_v1", 3, "py openai, base URL with /v1 twice"),
    ("POST /v1/chat/completions/chat/completions HTTP/1.1\" 404 22", "url.endpoint_appended", 3,
     "access log, endpoint in base URL"),
    ("openai.NotFoundError: Error code: 404 for url https://api.thegrid.ai/v1/responses", "url.unsupported_endpoint",
     3, "openai responses API against The Grid"),
    ("Error code: 400 - {'errors': {'detail': \"Required field 'messages' is missing\"}}", "body.missing_field", 10,
     "The Grid 400 body (emulator handler)"),
    ("openai.AuthenticationError: Error code: 401 - {'error': {'message': 'Incorrect API key provided: "
     "sk-proj-********************abcd. You can find your API key at https://platform.openai.com/account/api-keys.'"
     ", 'type': 'invalid_request_error', 'code': 'invalid_api_key'}}", "auth.foreign_key", 3,
     "OpenAI 401 body (platform docs)"),
    ("<html><head><title>Attention Required! | Cloudflare</title></head><body>Sorry, you have been blocked</body>"
     "</html>", "http.blocked", 9, "Cloudflare block page"),
    ("<!DOCTYPE html><html><head><title>Sign in to the network</title></head><body>captive portal</body></html>",
     "http.html_body", 9, "captive portal page"),
    ("ERROR: The requested URL could not be retrieved\nThe following error was encountered while trying to "
     "retrieve the URL: https://api.thegrid.ai/v1/chat/completions\nConnection to 104.18.0.1 failed.",
     "net.proxy", 9, "Squid error page"),
    ("litellm.AuthenticationError: AuthenticationError: OpenAIException - Error code: 401 - {'errors': {'detail': "
     "'Invalid API key'}}", "auth.rejected", 4, "litellm wrapper of the openai SDK"),
    ("litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to call. You "
     "passed model=text-prime\n Pass model as E.g. For 'Huggingface' inference endpoints pass in "
     "`completion(model='huggingface/starcoder',..)` Learn more: https://docs.litellm.ai/docs/providers",
     "model.no_provider", 3, "issue BerriAI/litellm#6343"),
    ("litellm.RateLimitError: RateLimitError: OpenAIException - Error code: 429", "http.rate_limited", 7,
     "litellm wrapper"),
    ("⚠Auth conflict: Both a token (ANTHROPIC_AUTH_TOKEN) and an API key (ANTHROPIC_API_KEY) are set. This may "
     "lead to unexpected behavior.", "config.env_conflict", 3, "issue musistudio/claude-code-router#214"),
    ("Please run /login · API Error: 401 {\"detail\":\"Invalid API key\"}", "auth.rejected", 4,
     "issue Alishahryar1/free-claude-code#350"),
    ("pydantic_core._pydantic_core.ValidationError: 1 validation error for ChatOpenAI\n  Value error, Did not find "
     "openai_api_key, please add an environment variable `OPENAI_API_KEY` which contains it",
     "config.no_key", 3, "langchain-openai"),
    ("Error: Request failed with status code 402", "balance.credits_empty", 5, "axios"),
    ("HTTP/1.1 429 Too Many Requests\nretry-after: 1\nx-request-id: 7f3c2a9e-1b2d-4c5e-8f90-123456789abc",
     "http.rate_limited", 7, "curl -i against the emulator"),
]


@pytest.mark.parametrize(("text", "code", "exit_code", "source"), CASES, ids=[c[3][:60] for c in CASES])
def test_real_error_texts(text: str, code: str, exit_code: int, source: str) -> None:
    report = explain_text(text)
    cause = report.root_cause()
    assert cause is not None and cause.code == code, (source, [m["code"] for m in report.extra["matches"]])
    assert int(report.exit_code) == exit_code


def test_there_are_at_least_80_real_texts() -> None:
    assert len(CASES) >= 80
    assert all(source.strip() for *_, source in CASES)


def test_the_match_is_quoted_with_its_line_and_what_fired() -> None:
    report = explain_text("Traceback (most recent call last):\n  File \"app.py\", line 3\n"
                          "httpx.ConnectError: [Errno 111] Connection refused")
    top = report.extra["matches"][0]
    assert top["line"] == 3 and "Connection refused" in top["quote"] and top["via"].startswith("text")
    lint = explain_text("curl: (6) Could not resolve host: api.thegird.ai").extra["matches"][0]
    assert lint["via"] == "lint host"


def test_request_ids_are_shown_for_support() -> None:
    report = explain_text("Error code: 500 - {'errors': {'detail': 'Internal server error'}}\n"
                          "x-request-id: 7f3c2a9e-1b2d-4c5e-8f90-123456789abc\nrequest_id=req_011CSHoEeqs5C35K2UUq")
    assert "7f3c2a9e-1b2d-4c5e-8f90-123456789abc" in report.request_ids
    assert "req_011CSHoEeqs5C35K2UUq" in report.request_ids


def test_nothing_recognised() -> None:
    report = explain_text("hello, world")
    assert report.root_cause() is None and not report.extra["recognised"]


def test_a_long_log_picks_the_relevant_line() -> None:
    noise = "\n".join(f"2026-11-27 INFO step {i} done" for i in range(20000))
    report = explain_text(noise + "\nERROR openai.RateLimitError: Error code: 429\n" + noise)
    cause = report.root_cause()
    assert cause is not None and cause.code == "http.rate_limited"
    assert report.extra["matches"][0]["line"] == 20001


# --- redaction: never echo a key -----------------------------------------------------------------

CANARY = "Zk3pQ9vX2mL7nR4tY8wB1cD6fH0jK5sA3eG9uI2oP7q"
FOREIGN = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123456789"


def _all_output(text: str) -> str:
    import io

    from gridctl.render.explain import render
    from gridctl.report import Output, envelope

    report = explain_text(text)
    buf = io.StringIO()
    render(report, Output(stdout=buf, no_color=True))
    return buf.getvalue() + json.dumps(envelope(report), ensure_ascii=False)


@pytest.mark.parametrize("template", [
    "Authorization: Bearer {k}", "x-api-key: {k}", "api_key='{k}'", "Illegal header value b'Bearer {k}\\n'",
    "{k}", "key={k}&x=1", "https://host/r/v1/chat?token={k}", "Error code: 401 {k}", "/Users/a/b/c/{k}/d",
])
def test_keys_in_pasted_text_are_never_echoed(template: str) -> None:
    for key in (CANARY, FOREIGN):
        out = _all_output(template.format(k=key))
        assert key not in out
        assert key[4:-4] not in out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.text(max_size=300), after=st.text(max_size=300))
def test_any_text_with_a_canary_never_echoes_it(before: str, after: str) -> None:
    assert CANARY not in _all_output(before + CANARY + after)
    assert FOREIGN not in _all_output(before + " " + FOREIGN + after)


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_never_crash(data: bytes) -> None:
    report = explain_text(data)
    json.dumps(envelope_of(report))


def envelope_of(report: object) -> object:
    from gridctl.report import envelope
    from gridctl.result import Report

    assert isinstance(report, Report)
    return envelope(report)


def test_one_megabyte_of_junk_and_invalid_utf8() -> None:
    import random

    rng = random.Random(13)
    junk = bytes(rng.getrandbits(8) for _ in range(1 << 20))
    report = explain_text(junk + b"\xff\xfe" + CANARY.encode() + b"\xc3")
    assert CANARY not in json.dumps(envelope_of(report))
    one_line = "x" * (1 << 20) + CANARY + "curl: (7) Failed to connect"
    report = explain_text(one_line)
    assert report.root_cause() is not None and report.root_cause().code == "net.refused"  # type: ignore[union-attr]
    assert CANARY not in json.dumps(envelope_of(report))
