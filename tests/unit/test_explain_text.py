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
    # the path quoted bare inside the error body (gridctl's emulator words its 404 like this)
    ("openai.NotFoundError: Error code: 404 - {'errors': {'detail': 'Not found: /v1/v1/chat/completions "
     "(the path has a doubled /v1: drop one from your base URL)'}}", "url.doubled_v1", 6,
     "py openai 3.57.0, base_url .../v1/v1"),
    ("openai.NotFoundError: Error code: 404 - {'errors': {'detail': 'Not found: /v1/chat/completions/chat/"
     "completions (check your base URL is https://api.thegrid.ai/v1 with nothing appended)'}}",
     "url.endpoint_appended", 6, "py openai 3.57.0, base_url .../v1/chat/completions"),
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
     "'Authorization: Bearer YOUR_KEY'\"}}", "auth.missing_key", 4, "py anthropic 2.14.0 redirect-cross-host"),
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
     "completions'", "trace.redirect_not_followed", 9, "py httpx 0.28.1 redirect (not followed)"),
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
     "model.foreign_name", 6, "The Grid 404 body (emulator handler)"),
    ("Error code: 404 - {'errors': {'detail': \"Unknown instrument 'text-primo'. Use one of: text-standard\"}}",
     "model.unknown", 6, "The Grid 404 body (emulator handler)"),
    ("openai.NotFoundError: Error code: 404 - {'error': {'message': 'The model `gpt-5.2` does not exist or you "
     "do not have access to it.', 'type': 'invalid_request_error', 'param': None, 'code': 'model_not_found'}}",
     "model.foreign_name", 6, "OpenAI error body (platform docs)"),
    ("openai.NotFoundError: Error code: 404 - {'detail': 'Not Found'} POST https://api.thegrid.ai/v1/v1/chat/"
     "completions", "url.doubled_v1", 6, "py openai, base URL with /v1 twice"),
    ("POST /v1/chat/completions/chat/completions HTTP/1.1\" 404 22", "url.endpoint_appended", 6,
     "access log, endpoint in base URL"),
    ("openai.NotFoundError: Error code: 404 for url https://api.thegrid.ai/v1/responses", "url.unsupported_endpoint",
     6, "openai responses API against The Grid"),
    ("Error code: 400 - {'errors': {'detail': \"Required field 'messages' is missing\"}}", "body.missing_field", 10,
     "The Grid 400 body (emulator handler)"),
    ("openai.AuthenticationError: Error code: 401 - {'error': {'message': 'Incorrect API key provided: "
     "sk-proj-********************abcd. You can find your API key at https://platform.openai.com/account/api-keys.'"
     ", 'type': 'invalid_request_error', 'code': 'invalid_api_key'}}", "auth.foreign_key", 4,
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


# Phrasings of the same failures from other stacks and versions, as their libraries print them
# (message formats from each library's source or documentation; not reproduced on this machine).
OTHER_STACKS: list[tuple[str, str, int, str]] = [
    ('402 {"errors":{"detail":"Insufficient credits"}}', 'balance.credits_empty', 5, 'The Grid / FastAPI-style error bodies'),
    ("PermissionDeniedError: Error code: 403 - {'errors': {'detail': 'Forbidden'}}", 'auth.forbidden', 4, 'node / openai npm error texts'),
    ('Post "https://api.thegrid.ai/v1/chat/completions": dial tcp: lookup api.thegrid.ai: no such host', 'net.dns', 9, 'Go net/http error texts'),
    ('dial tcp 127.0.0.1:8080: connect: connection refused', 'net.refused', 9, 'Go net/http error texts'),
    ('error sending request for url (https://api.thegrid.ai/v1/chat/completions): error trying to connect: tcp connect error: Connection refused (os error 111)', 'net.refused', 9, 'Rust reqwest error texts'),
    ('java.net.UnknownHostException: api.thegird.ai', 'url.host_typo', 3, 'Java (java.net / javax.net.ssl exception texts)'),
    ('javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target', 'net.tls', 9, 'python 3.11 ssl module'),
    ('java.net.SocketTimeoutException: Read timed out', 'net.no_response', 9, 'Java (java.net / javax.net.ssl exception texts)'),
    ('java.net.SocketTimeoutException: connect timed out', 'net.connect_timeout', 9, 'Java (java.net / javax.net.ssl exception texts)'),
    ('System.Net.Http.HttpRequestException: No such host is known. (api.thegrid.ai:443)', 'net.dns', 9, '.NET HttpRequestException texts'),
    ('System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception.', 'net.tls', 9, '.NET HttpRequestException texts'),
    ('ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)', 'net.tls', 9, 'python 3.11 ssl module'),
    ("urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool(host='api.thegrid.ai', port=443): Read timed out. (read timeout=600)", 'net.no_response', 9, 'urllib3 2.8.0'),
    ('TimeoutError: The read operation timed out', 'net.no_response', 9, 'node / openai npm error texts'),
    ("<html><body><h1>504 Gateway Time-out</h1>The server didn't respond in time.</body></html>", 'http.server_error', 8, 'proxy / CDN HTML pages'),
    ('<html><head><title>413 Request Entity Too Large</title></head></html>', 'http.too_large', 10, 'proxy / CDN HTML pages'),
    ("openai.BadRequestError: Error code: 400 - {'errors': {'detail': 'Request body is not valid JSON: Expecting value: line 1 column 1 (char 0)'}}", 'body.invalid_json', 10, 'openai-python exception texts'),
    ("openai.UnprocessableEntityError: Error code: 422 - {'errors': {'detail': 'temperature must be between 0 and 2'}}", 'http.unprocessable', 10, 'openai-python exception texts'),
    ("anthropic.InternalServerError: Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}", 'http.server_error', 8, 'anthropic-python exception texts'),
    ('curl: (3) URL using bad/illegal format or missing URL', 'url.invalid', 3, 'curl 8 (man curl, EXIT CODES)'),
    ("httpx.UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.", 'url.invalid', 3, 'httpx 0.28.1 _exceptions.py / httpcore'),
    ("requests.exceptions.MissingSchema: Invalid URL 'api.thegrid.ai/v1/chat/completions': No scheme supplied. Perhaps you meant https://api.thegrid.ai/v1/chat/completions?", 'url.invalid', 3, 'requests 2.34.2 / urllib3 2.8.0'),
    ('curl: (16) Error in the HTTP2 framing layer', 'net.reset', 9, 'curl 8 (man curl, EXIT CODES)'),
    ('Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)', 'net.reset', 9, 'node 20 net errors'),
    ('Error: connect EHOSTUNREACH 10.0.0.1:443', 'net.connect_timeout', 9, 'node / openai npm error texts'),
    ('OSError: [Errno 101] Network is unreachable', 'net.connect_timeout', 9, 'node / openai npm error texts'),
    ('httpx.ConnectError: All connection attempts failed', 'net.refused', 9, 'httpx 0.28.1 _exceptions.py / httpcore'),
    ('litellm.exceptions.APIConnectionError: litellm.APIConnectionError: OpenAIException - Connection error.', 'net.connection_error', 9, 'litellm exception texts (GitHub issues BerriAI/litellm)'),
    ('litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {\'errors\': {\'detail\': "Unknown instrument \'gpt-4\'. Use one of: text-standard"}}', 'model.foreign_name', 6, 'litellm exception texts (GitHub issues BerriAI/litellm)'),
    ('litellm.exceptions.AuthenticationError: litellm.AuthenticationError: AuthenticationError: OpenAIException - The api_key client option must be set either by passing api_key to the client or by setting the OPENAI_API_KEY environment variable', 'config.no_key', 3, 'litellm exception texts (GitHub issues BerriAI/litellm)'),
    ('litellm.Timeout: Connection timed out after 600.0 seconds.', 'net.no_response', 9, 'litellm exception texts (GitHub issues BerriAI/litellm)'),
    ('API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}', 'auth.rejected', 4, 'Claude Code error lines (GitHub issues anthropics/claude-code)'),
    ('Missing API key · Run /login', 'config.no_key', 3, 'Claude Code error lines'),
    ('API Error: 404 {"type":"error","error":{"type":"not_found_error","message":"model: claude-sonnet-4-5-20250929"}}', 'model.foreign_name', 6, 'Claude Code error lines (GitHub issues anthropics/claude-code)'),
    ("openai.error.APIConnectionError: Error communicating with OpenAI: HTTPSConnectionPool(host='api.thegrid.ai', port=443)", 'net.connection_error', 9, 'openai-python 0.28 error texts'),
    ('{"errors":{"detail":"Not Found"}}', 'http.not_found_path', 6, 'The Grid / FastAPI-style error bodies'),
    ("openai.NotFoundError: Error code: 404 - {'errors': {'detail': 'Not Found'}}", 'http.not_found_path', 6, 'openai-python exception texts'),
    ('HTTP Request: POST https://api.thegrid.ai/v1/chat/completions "HTTP/1.1 404 Not Found"', 'model.not_found', 6, 'openai-python httpx INFO log line'),
    ('HTTP Request: POST https://api.thegrid.ai/v1/v1/chat/completions "HTTP/1.1 404 Not Found"', 'url.doubled_v1', 6, 'openai-python httpx INFO log line'),
    ('HTTP Request: POST https://api.thegrid.ai/v1/chat/completions/chat/completions "HTTP/1.1 404 Not Found"', 'url.endpoint_appended', 6, 'openai-python httpx INFO log line'),
    ('HTTP Request: POST https://api.thegrid.ai/chat/completions "HTTP/1.1 404 Not Found"', 'url.missing_v1', 6, 'openai-python httpx INFO log line'),
    ('openai.APIError: An error occurred during streaming', 'stream.cut', 9, 'openai-python exception texts'),
    ("http.client.InvalidURL: URL can't contain control characters. '/v1 /chat/completions' (found at least ' ')", 'url.whitespace', 3, 'python 3.11 http.client'),
    ("Error: unable to verify the first certificate\n  code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'", 'net.tls', 9, 'node / openai npm error texts'),
    ("curl: (60) SSL: no alternative certificate subject name matches target host name 'api.thegrid.ai'", 'net.tls', 9, 'curl 8 (man curl, EXIT CODES)'),
    ('Error: 429 You exceeded your current quota, please check your plan and billing details.', 'balance.credits_empty', 5, 'node / openai npm error texts'),
    ("openai.AuthenticationError: Error code: 401 - {'error': {'message': 'Incorrect API key provided: YOUR_API_KEY.', 'code': 'invalid_api_key'}}", 'auth.placeholder_key', 4, 'openai-python exception texts'),
    ('curl https://api.thegrid.ai/v1/chat/completions -H \'Authorization: Bearer $THEGRID_API_KEY\'\n{"errors":{"detail":"Invalid API key"}}', 'auth.rejected', 4, 'The Grid / FastAPI-style error bodies'),
    ('Authorization: bearer abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\nHTTP/1.1 401 Unauthorized', 'auth.scheme_case', 4, 'misc'),
    ('Authorization: Bearer Bearer abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\nHTTP/1.1 401 Unauthorized', 'auth.double_bearer', 4, 'misc'),
    ('TypeError [ERR_INVALID_CHAR]: Invalid character in header content ["Authorization"]', 'auth.non_ascii', 3, 'node 20 errors'),
    ('TypeError: fetch failed\n  [cause]: Error: getaddrinfo EAI_AGAIN api.thegrid.ai', 'net.dns', 9, 'node 20 fetch/undici'),
    ("TypeError: fetch failed\n  [cause]: HeadersTimeoutError: Headers Timeout Error\n    code: 'UND_ERR_HEADERS_TIMEOUT'", 'net.no_response', 9, 'node 20 fetch/undici'),
    ('DOMException [TimeoutError]: The operation was aborted due to timeout', 'net.client_timeout', 9, 'node 20 AbortSignal.timeout'),
    ('<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>You don\'t have permission to access "http://api.thegrid.ai/v1/chat/completions" on this server.<p>Reference #18.2d351ab8.1557333295.a4e16ab</p></body></html>', 'http.blocked', 9, 'proxy / CDN HTML pages'),
    ('openai.PermissionDeniedError: <html><head><title>Attention Required! | Cloudflare</title>', 'http.blocked', 9, 'openai-python exception texts'),
    ('json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)', 'http.not_json', 9, 'node / openai npm error texts'),
    ('openai.APIStatusError: Error code: 307', 'http.redirect', 0, 'openai-python exception texts'),
    ('curl: (35) error:0A000126:SSL routines::unexpected eof while reading', 'net.tls', 9, 'curl 8 (man curl, EXIT CODES)'),
    ('ECONNREFUSED 127.0.0.1:11434', 'net.refused', 9, 'node 20 net errors'),
    ('ProxyError: Cannot connect to proxy.', 'net.proxy', 9, 'node / openai npm error texts'),
    ('raise APIConnectionError(request=request) from err\nopenai.APIConnectionError: Connection error.\nhttpcore.ConnectError: [Errno 111] Connection refused', 'net.refused', 9, 'openai-python exception texts'),
    ('Error: 401 Incorrect API key provided: sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789. You can find your API key at https://platform.openai.com/account/api-keys.', 'auth.foreign_key', 4, 'openai-python exception texts'),
    ('openai.BadRequestError: Error code: 400 - {\'error\': {\'message\': "This model\'s maximum context length is 8192 tokens.", \'code\': \'context_length_exceeded\'}}', 'body.context_length', 10, 'openai-python exception texts'),
    ("openai.BadRequestError: Error code: 400 - {'error': {'message': 'Unrecognized request argument supplied: foo'}}", 'body.unknown_param', 10, 'openai-python exception texts'),
    ('curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)', 'net.reset', 9, 'curl 8 (man curl, EXIT CODES)'),
    ('openai.APIConnectionError: Connection error.\nssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)', 'net.tls', 9, 'openai-python exception texts'),
    ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.thegrid.ai', port=443): Max retries exceeded with url: /v1/chat/completions (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x10>: Failed to establish a new connection: [Errno 8] nodename nor servname provided, or not known'))", 'net.dns', 9, 'requests 2.34.2 / urllib3 2.8.0'),
    ("anthropic.NotFoundError: Error code: 404 - {'type': 'error', 'error': {'type': 'not_found_error', 'message': 'Not Found'}}", 'http.not_found_path', 6, 'anthropic-python exception texts'),
    ('Error: 404 404 page not found', 'http.not_found_path', 6, 'node / openai npm error texts'),
    ('aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host api.thegrid.ai:443 ssl:default [Connection refused]', 'net.refused', 9, 'aiohttp client_exceptions texts'),
    ("aiohttp.client_exceptions.ClientResponseError: 401, message='Unauthorized', url=URL('https://api.thegrid.ai/v1/chat/completions')", 'auth.rejected', 4, 'aiohttp client_exceptions texts'),
    ('aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected', 'net.reset', 9, 'aiohttp client_exceptions texts'),
    ('asyncio.exceptions.TimeoutError', 'net.client_timeout', 9, 'python 3.11 asyncio'),
    ('error, status code: 401, status: 401 Unauthorized, message: Invalid API key', 'auth.rejected', 4, 'go-openai error text'),
    ('upstream connect error or disconnect/reset before headers. reset reason: connection failure', 'http.server_error', 8, 'Envoy gateway body'),
    ('Error code: 503 - no healthy upstream', 'http.server_error', 8, 'Envoy gateway body'),
    ('Error: Unable to connect. Is the computer able to access the url?\n  code: "ConnectionRefused"', 'net.refused', 9, 'Bun fetch error'),
    ('FetchError: request to https://api.thegrid.ai/v1/chat/completions failed, reason: getaddrinfo ENOTFOUND api.thegrid.ai', 'net.dns', 9, 'node-fetch (openai npm v4 on Node 16)'),
    ('openai.APIError: The server had an error while processing your request. Sorry about that!', 'http.server_error', 8, 'OpenAI 500 body'),
    ('{"error":{"message":"Insufficient Balance","type":"unknown_error"}}', 'balance.credits_empty', 5, 'DeepSeek-style OpenAI-compatible body'),
    ("RateLimitError: Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4 in organization org-x on tokens per min (TPM): Limit 10000'}}", 'http.rate_limited', 7, 'OpenAI 429 body'),
    ("anthropic.BadRequestError: Error code: 400 - {'type': 'error', 'error': {'type': 'invalid_request_error', 'message': 'max_tokens: Field required'}}", 'body.missing_field', 10, 'Anthropic 400 body'),
    ('Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.', 'balance.credits_empty', 5, 'Anthropic billing error'),
    ("urllib3.exceptions.ProtocolError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", 'net.reset', 9, 'urllib3 2.8.0 ProtocolError'),
    ('ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1002)', 'net.tls', 9, 'python 3.11 ssl'),
    ('Error: 500 The server had an error processing your request.', 'http.server_error', 8, 'OpenAI 500 body'),
    ('APIConnectionError: Connection error.\n    at OpenAI.makeRequest (node_modules/openai/core.mjs:316:19)\n  cause: FetchError: request to https://api.thegrid.ai/v1/chat/completions failed, reason: connect ECONNREFUSED 127.0.0.1:443', 'net.refused', 9, 'node-fetch (openai npm v4 on Node 16)'),
    ('Error: 401 status code (no body)\n    at APIError.generate (node_modules/openai/error.mjs:41:20)', 'auth.rejected', 4, 'openai npm makeMessage'),
    ('BadRequestError: 400 {"errors":{"detail":"Request body must be a JSON object"}}', 'http.bad_request', 10, 'openai npm with a Grid body'),
    ('requests.exceptions.HTTPError: 401', 'auth.rejected', 4, 'requests 2.34.2 raise_for_status (status only)'),
    ('System.Net.WebException: The remote server returned an error: (401) Unauthorized.', 'auth.rejected', 4, '.NET WebException text'),
    ('Unauthorized', 'auth.rejected', 4, 'HTTP reason phrase alone'),
    ('403 Forbidden', 'auth.forbidden', 4, 'HTTP status line'),
    ("AxiosError: timeout of 10000ms exceeded\n  code: 'ECONNABORTED'", 'net.client_timeout', 9, 'axios timeout error'),
    ('socket.gaierror: [Errno -3] Temporary failure in name resolution', 'net.dns', 9, 'python 3.11 socket.gaierror'),
    ('TimeoutError: [Errno 110] Connection timed out', 'net.connect_timeout', 9, 'python 3.11 TimeoutError errno 110'),
    ("requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='api.thegrid.ai', port=443): Max retries exceeded with url: /v1/chat/completions (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f>, 'Connection to api.thegrid.ai timed out. (connect timeout=10)'))", 'net.connect_timeout', 9, 'requests 2.34.2 / urllib3 ConnectTimeout'),
    ("openai.BadRequestError: Error code: 400 - {'error': {'message': 'you must provide a model parameter', 'type': 'invalid_request_error'}}", 'body.missing_field', 10, 'OpenAI 400 body'),
    ("Error code: 400 - {'error': {'message': 'Unsupported model: gpt-4o'}}", 'model.foreign_name', 10, 'OpenAI-compatible gateway 400 body'),
    ('the server responded with status 500', 'http.server_error', 8, 'generic client log line'),
    ('ConnectionRefusedError: [Errno 111] Connection refused', 'net.refused', 9, 'python 3.11 ConnectionRefusedError'),
    ('ERROR: got 429 from https://api.thegrid.ai/v1/chat/completions', 'http.rate_limited', 7, 'application log line'),
    ('HTTP 402 Payment Required', 'balance.credits_empty', 5, 'HTTP status line'),
    ("litellm.exceptions.NotFoundError: litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - "
     "{'errors': {'detail': \"Unknown instrument 'openai/text-prime'. Use one of: text-standard\"}}", "model.unknown",
     6, "litellm wrapper of a Grid 404 (the provider prefix reached the wire)"),
    ("litellm.AuthenticationError: OpenAIException - Error code: 401 model=openai/text-prime", "auth.rejected", 4,
     "litellm log: openai/<instrument> is LiteLLM's right spelling, not the cause"),
    ("SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", "http.html_body", 9,
     "V8 JSON.parse (node 20) on an HTML page"),
    ("There's an issue with the selected model (gpt-5). It may not exist or you may not have access to it. Run /model "
     "to pick a different model.", "model.foreign_name", 3, "Claude Code model error (anthropics/claude-code issues)"),
    ("ValueError: Unknown model 'text-prime'. Please provide a valid OpenAI model name in: o1, o1-mini, gpt-4o",
     "model.client_list", 3, "llama-index-llms-openai model-name check"),
    ("AI_LoadAPIKeyError: OpenAI API key is missing. Pass it using the 'apiKey' parameter or the OPENAI_API_KEY "
     "environment variable.", "config.no_key", 3, "Vercel AI SDK (@ai-sdk/openai) error text"),
    ("AI_RetryError: Failed after 3 attempts. Last error: Too Many Requests", "http.rate_limited", 7,
     "Vercel AI SDK retry error"),
    ("tenacity.RetryError: RetryError[<Future at 0x7f state=finished raised APIConnectionError>]",
     "net.connection_error", 9, "tenacity around the openai SDK (LangChain, LlamaIndex)"),
    ("requests.exceptions.ProxyError: HTTPSConnectionPool(host='api.thegrid.ai', port=443): Max retries exceeded "
     "with url: /v1/chat/completions (Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection "
     "failed: 403 Forbidden')))", "net.proxy", 9, "urllib3 2.8.0 tunnel refused by the proxy"),
    ('HTTP Request: POST https://api.thegrid.ai/v1/messages "HTTP/1.1 404 Not Found"', "url.wrong_api_host", 6,
     "httpx INFO log line (Messages sent to the Consumption host)"),
    ('HTTP Request: POST https://messages-beta.api.thegrid.ai/v1/v1/messages "HTTP/1.1 404 Not Found"',
     "url.doubled_v1", 6, "httpx INFO log line (anthropic SDK with a /v1 base URL)"),
    ('HTTP Request: POST https://api.thegrid.ai/v1/chat/completions "HTTP/1.1 307 Temporary Redirect"\n'
     'HTTP Request: POST https://gw.thegrid.ai/r/v1/chat/completions?token=abcdefghijklmnop "HTTP/1.1 401 '
     'Unauthorized"', "http.redirect_rejected", 4, "httpx INFO log lines of a signed 307 whose token was refused"),
    ("openai.NotFoundError: Error code: 404 - {'errors': {'detail': 'Not Found'}}\nbase_url=https://thegrid.ai/v1",
     "url.docs_url", 6, "openai-python 404 with the website as base URL"),
    ("Error code: 401 - {'errors': {'detail': 'Invalid token.'}}", "auth.rejected", 4,
     "Django REST framework TokenAuthentication body (no signed redirect in sight)"),
    ("Error code: 401 - {'errors': {'detail': 'Authentication credentials were not provided.'}}", "auth.missing_key",
     4, "Django REST framework NotAuthenticated body"),
    ("Error code: 403 - {'errors': {'detail': 'You do not have permission to perform this action.'}}",
     "auth.forbidden", 4, "Django REST framework PermissionDenied body"),
]



@pytest.mark.parametrize(("text", "code", "exit_code", "source"), OTHER_STACKS, ids=[c[0][:50] for c in OTHER_STACKS])
def test_other_stacks(text: str, code: str, exit_code: int, source: str) -> None:
    test_real_error_texts(text, code, exit_code, source)


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
    noise = "\n".join(f"2026-11-27 INFO step {i} done" for i in range(5000))
    report = explain_text(noise + "\nERROR openai.RateLimitError: Error code: 429\n" + noise)
    cause = report.root_cause()
    assert cause is not None and cause.code == "http.rate_limited"
    assert report.extra["matches"][0]["line"] == 5001


# --- redaction: never echo a key -----------------------------------------------------------------

CANARY = "Qw8eR7tY6uI5oP4aS3dF2gH1jK0lZx9Cv8Bn7Mm6Lk5"
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


@pytest.mark.parametrize("text", [
    "ModuleNotFoundError: No module named 'openai'",  # "modulenotfounderror" holds Node's "enotfound"
    "bash: gridctl: command not found",
    "KeyError: 'choices'",
    "my program does not work",
])
def test_unrelated_errors_are_not_diagnosed(text: str) -> None:
    assert explain_text(text).root_cause() is None


def test_every_pattern_alternative_has_an_anchor() -> None:
    """could_match() skips a line holding no anchor: an alternative without one would never fire."""
    from gridctl.lint.error_texts import PATTERNS, _branches, anchor, could_match

    unanchored = [(p.code, b) for p in PATTERNS for b in _branches(p.regex.pattern) if anchor(b) is None]
    assert unanchored == []
    assert could_match("httpx.connecterror: [errno 111] connection refused")
    assert not could_match("2026-11-27 info worker-3 processed job 12 in 40 ms")
