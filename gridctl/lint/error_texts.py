"""The catalogue of real error texts: what clients, proxies and tools print, mapped to finding codes.

Data only; gridctl/lint/errors.py does the matching. Every pattern was taken from a source, named in
`source` (a package and version, a command run against the emulator or a closed loopback port, or a
page), and tests/unit/test_explain_text.py holds the real text each one came from.

Weights rank the candidates when several match: a specific cause (a Grid error body, `Connection
refused`, a lint that fired) beats a status code, which beats a generic wrapper (`Connection error.`).
The regexes are linear: literals, classes and bounded repeats only, never nested quantifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    code: str
    weight: int
    regex: re.Pattern[str]
    source: str
    # a warning entry (body.unknown_param, config.env_conflict) that is the failure when pasted
    severity: str | None = None


SPECIFIC, CAUSE, STATUS, HINT, WRAPPER = 95, 80, 60, 50, 30


def _p(code: str, weight: int, regex: str, source: str, severity: str | None = None) -> Pattern:
    # matched against the lower-cased line: case-sensitive matching is several times faster
    return Pattern(code, weight, re.compile(regex), source, severity)


_PY = "python 3.11 socket/ssl errno texts"
_OAI = "openai 3.57.0 (openai/_exceptions.py, _base_client.py)"
_ANT = "anthropic 2.14.0 (anthropic/_exceptions.py, _client.py)"
_HTTPX = "httpx 0.28.1 / httpcore 1.0.9 / h11 0.16.0"
_REQ = "requests 2.34.2 / urllib3 2.8.0"
_CURL = "curl 8 (man curl, EXIT CODES; libcurl-errors)"
_NODE = "node 20.20.2 fetch/undici"
_ONPM = "openai npm 6.49.0 (core/error.js)"
_GRID = "The Grid error bodies (grid-docs, emulator handler)"
_OPENAI_API = "OpenAI API error bodies (platform.openai.com/docs/guides/error-codes)"
_LLM = "litellm (GitHub issues BerriAI/litellm#6343, OpenHands#786)"
_CC = "Claude Code auth conflict (anthropics/claude-code#9515, musistudio/claude-code-router#214)"
_CHROME = "Chromium net error list (net_error_list.h)"

PATTERNS: tuple[Pattern, ...] = (
    # --- The Grid's own error bodies: the most specific words there are -------------------------
    _p("balance.instrument_unavailable", SPECIFIC, r"no available consumption tokens|no tokens (?:available )?for "
       r"(?:the )?instrument|no token capacity", _GRID),
    _p("balance.credits_empty", SPECIFIC, r"insufficient credits|credit balance is too low|"
       r"exceeded your current quota|insufficient_quota|insufficient balance|insufficient funds", _GRID + "; Anthropic/OpenAI billing errors"),
    _p("http.replenishing", SPECIFIC, r"balance replenishment|replenishment in progress", _GRID),
    _p("model.not_found", SPECIFIC - 5, r"unknown instrument|model_not_found|the model [`'\"][^`'\"]{1,80}[`'\"] "
       r"does not exist|model [`'\"][^`'\"]{1,80}[`'\"] (?:is )?not found|invalid model name", _GRID + "; " + _OPENAI_API),
    _p("http.rate_limited", SPECIFIC - 5, r"rate limit exceeded|rate_limit_exceeded|rate_limit_error|"
       r"too many requests|ratelimiterror", _GRID + "; " + _OAI),
    _p("body.invalid_json", SPECIFIC, r"request body is not valid json|we could not parse the json body", _GRID),
    _p("body.missing_field", SPECIFIC, r"required field '[a-z_]{1,40}' is|missing required parameter|"
       r"field required", _GRID + "; OpenAI/pydantic"),
    _p("body.unknown_param", SPECIFIC - 10, r"unrecognized request arguments? supplied|extra inputs are not "
       r"permitted|unknown parameter", _OPENAI_API, severity="error"),
    _p("auth.rejected", SPECIFIC - 5, r"invalid api key|invalid_api_key|incorrect api key provided|"
       r"invalid x-api-key|invalid bearer token|api key not valid|invalid authentication|"
       r"incorrect authentication credentials", _GRID + "; " + _OPENAI_API),
    # bare status words: weaker than the number, stronger than nothing
    _p("auth.rejected", HINT + 5, r"\bunauthorized\b|\bunauthenticated\b|api key is invalid", "HTTP reason phrases"),
    _p("auth.forbidden", HINT + 5, r"\bforbidden\b", "HTTP reason phrases"),
    _p("http.replenishing", HINT + 5, r"service unavailable", "HTTP reason phrases"),
    _p("body.missing_field", SPECIFIC - 5, r"you must provide a model parameter|is a required property",
       _OPENAI_API),
    _p("model.not_found", CAUSE + 5, r"unsupported model|model not supported|instrument not found|unknown model|"
       r"issue with the selected model",
       _OPENAI_API + "; gateways"),
    _p("auth.placeholder_key", SPECIFIC + 1, r"incorrect api key provided: (?:your[_-]|<|\$|x{3,}|sk-\.\.\.|"
       r"changeme|api[_-]?key\b)", _OPENAI_API + " (the key echoed back is example text)"),
    _p("http.redirect_rejected", SPECIFIC - 5, r"invalid token\b|invalid or expired token|invalid redirect token|"
       r"invalid signed token|expired token|expired redirect token|missing token|missing redirect token|bad token\b|token (?:is )?(?:invalid|expired)|signature (?:mismatch|expired|invalid)|signed url",
       "The Grid's signed 307 (grid-docs api-facts: the token query parameter is the credential)"),
    _p("auth.missing_key", SPECIFIC - 5, r"you didn't provide an api key|no api key provided|"
       r"x-api-key header is required|authentication credentials were not provided",
       _OPENAI_API + "; Anthropic API; Django REST framework (the shape of The Grid's error body)"),
    _p("auth.forbidden", SPECIFIC - 10, r"you do not have permission to perform this action", "Django REST framework"),
    _p("http.server_error", CAUSE - 10, r"internal server error|the request was not billed|bad gateway|"
       r"gateway time-?out|overloaded_error|server had an error|currently overloaded|model is overloaded|"
       r"upstream connect error or disconnect/reset before headers|no healthy upstream|upstream request timeout|"
       r"invalid response was received from the upstream server", _GRID + "; " + _OAI + "; Envoy/Kong gateway bodies"),
    # --- issue 20: more shapes of the same causes ------------------------------------------------------
    _p("auth.missing_key", SPECIFIC - 5, r"missing bearer or basic authentication|missing bearer token|"
       r"missing authorization header|no authorization header|authorization header is missing|"
       r"missing authentication token|no auth credentials found", "gateways and proxies (Kong, OpenRouter, "
       "LiteLLM proxy) answering a request without a key"),
    _p("auth.key_quoted", SPECIFIC + 2, r"incorrect api key provided: [\"'`]|invalid api key: [\"'`]{2}|"
       r"api key provided: [\"'`]", _OPENAI_API + " (the key echoed back starts with a quote character)"),
    _p("body.context_length", SPECIFIC, r"context_length_exceeded|maximum context length|prompt is too long|"
       r"contextwindowexceedederror|exceeds? the context window|input is too long|too many (?:input )?tokens|"
       r"tokens? > \d{1,9} maximum|context length of|reduce the length of the messages",
       _OPENAI_API + "; Anthropic API (`prompt is too long: 202609 tokens > 200000 maximum`); litellm"),
    _p("url.missing_v1", SPECIFIC + 3, r"invalid url \((?:post|get) /(?:chat/completions|completions|models|"
       r"embeddings|responses)\)", "OpenAI-compatible servers' 404 body for a path without /v1"),
    _p("http.not_found_path", CAUSE, r"invalid url \((?:post|get|put|delete) /v1/",
       "OpenAI API's 404 body for a path or method it does not serve (chatboxai/chatbox#199)"),
    _p("net.connect_timeout", CAUSE + 2, r"err_socket_connection_timeout|socket connection timeout|"
       r"und_err_connect_timeout|connecttimeouterror", _NODE + " (net: the connect phase)"),
    _p("http.not_json", CAUSE - 5, r"'str' object has no attribute '(?:choices|content|model_dump|usage|id|data|"
       r"get)'|expecting value: line 1 column 1 \(char 0\)|is not valid json|unexpected end of json input|"
       r"invalid json response body|content-type: text/html|mimetype=text/html|unexpected mimetype|"
       r"unexpected content-type", "python (an SDK handed back the raw text); json; node fetch/undici; aiohttp"),
    _p("trace.redirect_not_followed", CAUSE, r"you are being (?:<a [^>]{0,300}>)?redirected|<title>redirecting|moved temporarily|"
       r"redirect response '307", "Rails/CDN redirect pages; " + _HTTPX + " (a 307 the client did not follow)"),
    # Anthropic's and OpenAI's error types in a body: {"type":"error","error":{"type":"...","message":...}}
    _p("auth.forbidden", STATUS, r"permission_error|permission_denied", "Anthropic API error types"),
    _p("http.not_found_path", STATUS, r"not_found_error", "Anthropic API error types"),
    _p("http.server_error", STATUS, r"\bapi_error\b", "Anthropic API error types"),
    _p("http.too_large", STATUS + 5, r"request_too_large", "Anthropic API error types"),
    _p("balance.credits_empty", STATUS, r"billing_error", "Anthropic API error types"),
    # --- SDK and tool configuration --------------------------------------------------------------
    _p("config.no_key", SPECIFIC, r"missing credentials\. please pass an `api_key`|the api_key client option "
       r"must be set|could not resolve authentication method|environment variable is missing or empty|"
       r"did not find openai_api_key|api_key must be set|api key is missing", _OAI + "; " + _ANT + "; openai 1.x; langchain-openai"),
    _p("config.env_conflict", SPECIFIC, r"auth conflict", _CC, severity="error"),
    _p("model.no_provider", SPECIFIC, r"llm provider not provided", _LLM),
    _p("model.client_list", SPECIFIC, r"please provide a valid openai model name",
       "llama-index-llms-openai utils.py (openai_modelname_to_contextsize)"),
    _p("config.no_key", SPECIFIC - 5, r"missing api key|api key (?:is )?required|no api key found", "Claude Code; SDKs"),
    # --- header encoding: a non-ASCII or broken key never leaves the client ----------------------
    _p("auth.non_ascii", SPECIFIC, r"codec can't encode character|invalid character in "
       r"header content|cannot convert argument to a bytestring|non-iso-8859-1 code point",
       _HTTPX + "; " + _REQ + "; node http/undici"),
    _p("auth.key_whitespace", SPECIFIC, r"illegal header value b?['\"][^'\"]{0,300}(?:\\n|\\r|\\t|\s['\"])|"
       r"invalid leading whitespace, reserved character\(s\), or return character\(s\) in header value|"
       r"is an invalid header value|invalid header value b?['\"]", _HTTPX + "; " + _REQ + "; python http.client"),
    _p("auth.double_bearer", SPECIFIC, r"bearer\s+bearer\s", "header texts"),
    # --- network layer -------------------------------------------------------------------------
    _p("net.proxy", CAUSE + 5, r"proxyerror|unable to connect to proxy|tunnel connection failed|"
       r"proxy authentication required|cannot connect to proxy|curl: \((?:5|97)\)|proxy connect aborted|"
       r"connect tunnel failed|err_proxy_connection_failed|requested url could not be retrieved|"
       r"network error \(tcp_error\)",
       _REQ + "; " + _CURL + "; " + _CHROME + "; Squid error page"),
    _p("net.refused", CAUSE, r"connection refused|\beconnrefused|errno 111\]|errno 61\]|winerror 10061|actively "
       r"refused|couldn't connect to server|curl: \(7\)|err_connection_refused|connectionrefused", _PY + "; " + _CURL + "; " + _NODE),
    _p("net.dns", CAUSE, r"name or service not known|nodename nor servname|getaddrinfo|\benotfound|\beai_again|"
       r"temporary failure in name resolution|could not resolve host|curl: \(6\)|nameresolutionerror|"
       r"failed to resolve|no address associated with hostname|err_name_not_resolved|dns error|"
       r"no such host|unknownhostexception", _PY + "; " + _REQ + "; " + _CURL + "; " + _NODE + "; Go net"),
    _p("net.connect_timeout", CAUSE, r"connecttimeout|connect timeout|connection to \S{1,100} timed out|"
       r"\betimedout|und_err_connect_timeout|connection timed out|errno 110\]|winerror 10060|"
       r"err_connection_timed_out|curl: \(28\) (?:connection|failed to connect|resolving)|connect timed out|"
       r"did not properly respond after a period of time|network is unreachable|no route to host|\behostunreach|"
       r"\benetunreach",
       _HTTPX + "; " + _REQ + "; " + _NODE + "; " + _CURL),
    _p("net.no_response", CAUSE - 5, r"readtimeout|read timed out|servertimeouterror|request timed out|apitimeouterror|"
       r"operation timed out after \d{1,9} milliseconds with \d{1,12} (?:out of|bytes)|und_err_headers_timeout|"
       r"headers timeout error|und_err_body_timeout|body timeout error|\besockettimedout|curl: \(28\)|"
       r"read operation timed out|write operation timed out|sockettimeoutexception",
       _OAI + "; " + _ANT + "; " + _HTTPX + "; " + _REQ + "; " + _NODE + "; " + _CURL),
    _p("net.client_timeout", CAUSE - 5, r"operation was aborted due to timeout|request was aborted|"
       r"timeout of \d{1,9}ms exceeded|\beconnaborted|"
       r"aborterror|client\.timeout exceeded|context deadline exceeded|asyncio\.(?:exceptions\.)?timeouterror",
       _ONPM + "; Node AbortSignal.timeout; Go net/http"),
    _p("net.tls", CAUSE + 2, r"certificate verify failed|certificate_verify_failed|sslerror|\[ssl[:\]]|"
       r"sslcertverificationerror|self[- ]signed certificate|self_signed_cert_in_chain|"
       r"depth_zero_self_signed_cert|unable_to_get_issuer_cert|unable to get local issuer certificate|"
       r"unable_to_verify_leaf_signature|cert_has_expired|certificate has expired|"
       r"err_tls_cert_altname_invalid|does not match certificate|ssl certificate problem|"
       r"curl: \((?:35|51|58|60|77|83|90|91)\)|wrong version number|tlsv1_alert|sslv3_alert|"
       r"handshake failure|ssl_error_syscall|err_cert_|x509: certificate|unexpected_eof_while_reading|"
       r"eof occurred in violation of protocol|sslhandshakeexception|pkix path building failed|"
       r"ssl connection could not be established|tls handshake timeout|unable to verify the first certificate|"
       r"clientconnectorcertificateerror|clientsslerror",
       _PY + " ssl; " + _REQ + "; " + _NODE + "; " + _CURL + "; Go crypto/x509"),
    _p("net.reset", CAUSE, r"connection reset|\beconnreset|errno 104\]|winerror 10054|forcibly closed|"
       r"connection aborted|remotedisconnected|remote end closed connection|server disconnected|"
       r"peer closed connection|incomplete chunked read|incompleteread|chunkedencodingerror|socket hang up|"
       r"und_err_socket|other side closed|curl: \((?:18|52|55|56)\)|empty reply from server|recv failure|"
       r"broken ?pipe|\bepipe|premature close|err_connection_reset|err_empty_response|unexpected eof|"
       r"curl: \((?:16|92)\)|stream \d{1,9} was not closed cleanly",
       _PY + "; " + _HTTPX + "; " + _REQ + "; " + _NODE + "; " + _CURL),
    _p("net.reset", HINT, r"remoteprotocolerror", _HTTPX),
    _p("net.refused", CAUSE - 5, r"all connection attempts failed", _HTTPX + " (anyio, every address refused)"),
    _p("net.no_response", CAUSE + 5, r"litellm\.timeout|litellm\.exceptions\.timeout", _LLM + " Timeout"),
    _p("net.no_response", HINT, r"\btimed? ?out\b|timeouterror", "generic timeout words"),
    _p("stream.cut", CAUSE, r"error occurred during streaming|stream ended unexpectedly|"
       r"incomplete chunked encoding", _OAI + " streaming; browsers"),
    _p("url.invalid", SPECIFIC, r"curl: \(3\)|unsupportedprotocol|missing an 'http://' or 'https://' protocol|"
       r"missingschema|no scheme supplied|invalid url(?! \()|err_invalid_url|curl: \(1\) protocol",
       _HTTPX + "; " + _REQ + "; " + _CURL + "; node URL"),
    _p("url.whitespace", SPECIFIC, r"url can't contain control characters|non-printable ascii character in url",
       "python http.client; " + _HTTPX),
    _p("http.not_found_path", STATUS + 5, r"detail[\"']:\s{0,3}[\"']not found[\"']",
       "FastAPI-style 404 body for an unknown path"),
    # --- redirects -----------------------------------------------------------------------------
    _p("http.redirect_loop", CAUSE + 5, r"toomanyredirects|exceeded \d{1,3} redirects|exceeded maximum allowed "
       r"redirects|maximum \(\d{1,3}\) redirects followed|curl: \(47\)|redirect count exceeded|"
       r"err_too_many_redirects|stopped after \d{1,3} redirects", _HTTPX + "; " + _REQ + "; " + _CURL),
    _p("http.redirect", HINT, r"redirect response '30[78]", _HTTPX),
    # --- what came back was not the API's JSON --------------------------------------------------
    _p("http.blocked", SPECIFIC, r"attention required! \| cloudflare|sorry, you have been blocked|"
       r"access denied.{0,200}reference #|the requested url was rejected|"
       r"request could not be satisfied|web page blocked|request blocked|zscaler|policy_denied|has been blocked|"
       r"err_access_denied|site is blocked|access blocked|web filter block",
       "Cloudflare/Akamai/CloudFront/F5/Zscaler block pages"),
    _p("http.html_body", HINT + 5, r"<!doctype html|<html|<title>|<body", "proxy and website HTML pages"),
    _p("http.html_body", CAUSE - 5, r"unexpected token '?<'?,? ?(?:\"<|in json)", "V8 JSON.parse on an HTML page"),
    _p("http.unexpected", CAUSE - 10, r"jsondecodeerror|unterminated string starting at|expecting value: line|"
       r"apiresponsevalidationerror|unexpected token .{1,20} in json|curl: \(1\) received http/0\.9", _OAI + " (truncated body, emulator truncated-json); node JSON.parse"),
    # --- generic wrappers: a connection failed, the cause is elsewhere --------------------------
    _p("net.connection_error", WRAPPER, r"apiconnectionerror|connection error\.|fetch failed|"
       r"failed to fetch|networkerror when attempting|connecterror|err_internet_disconnected|"
       r"connectionerror|newconnectionerror|max retries exceeded with url|error communicating with",
       _OAI + "; " + _ANT + "; " + _NODE + "; " + _REQ),
    # --- exception classes that carry a status ---------------------------------------------------
    _p("auth.rejected", STATUS, r"authenticationerror|authentication error|authentication_error", _OAI + "; " + _ANT
       + "; " + _LLM),
    _p("auth.forbidden", STATUS, r"permissiondeniederror", _OAI + "; " + _ANT),
    # the class is less precise than the number: InternalServerError covers 500, 502, 503, 504
    _p("http.server_error", STATUS - 5, r"internalservererror|apistatuserror: error code: 5", _OAI + "; " + _ANT),
    _p("balance.credits_empty", STATUS, r"paymentrequirederror|payment required", _ANT),
    _p("http.bad_request", STATUS - 5, r"badrequesterror|invalid_request_error", _OAI + "; " + _OPENAI_API),
    _p("http.unprocessable", STATUS, r"unprocessableentityerror", _OAI),
    _p("http.replenishing", STATUS - 5, r"serviceunavailableerror", _ANT),
    _p("http.conflict", STATUS, r"conflicterror", _OAI),
)

# Status codes inside error texts: OpenAI/Anthropic SDKs, httpx, requests, curl, axios, the openai
# npm package, HTML titles, JSON bodies and access logs. Group 1 is the status.
STATUS_RES: tuple[re.Pattern[str], ...] = tuple(re.compile(r) for r in (  # on the lower-cased line
    r"error code: ([1-5]\d\d)\b",                                     # openai/anthropic python, litellm
    r"(?:client|server) error '([1-5]\d\d)\b",                        # httpx raise_for_status
    r"redirect response '([1-5]\d\d)\b",                              # httpx raise_for_status
    r"\b([1-5]\d\d) (?:client|server) error\b",                       # requests raise_for_status
    r"\bhttp/\d(?:\.\d)? ([1-5]\d\d)\b",                               # curl -i, logs
    r"\bstatus(?:[ _-]?code)?[\"']?\s{0,3}[:=]\s{0,3}[\"']?([1-5]\d\d)\b",  # JSON, logs, repr()
    r"request failed with status code ([1-5]\d\d)\b",                 # axios
    r"returned error: ([1-5]\d\d)\b",                                 # curl -f: (22)
    r"api error: ([1-5]\d\d)\b",                                      # Claude Code
    r"(?:error|exception)[:\]] ([1-5]\d\d)\b",                        # openai npm: `401 Incorrect API key`
    r"\breturned (?:an? )?(?:error:? )?(?:status )?(?:code )?\(?([1-5]\d\d)\b",  # .NET WebException, logs
    r"\b(?:response|status) code ([1-5]\d\d)\b",
    r"\b([1-5]\d\d) error\b",
    r"\bgot (?:an? )?(?:http )?([1-5]\d\d)\b",
    r"\b([1-5]\d\d) status code \(no body\)",                         # openai npm
    r"<title>\s{0,5}([1-5]\d\d)\b",                                   # nginx, proxies
    r"<h1>\s{0,5}([1-5]\d\d)\b",
    r"\bhttp (?:error )?([1-5]\d\d)\b",
    r"\b([1-5]\d\d) (?:unauthorized|forbidden|not found|payment required|too many requests|internal server error"
    r"|bad gateway|service unavailable|gateway time-?out|bad request|unprocessable|request timeout|conflict"
    r"|payload too large|content too large|proxy authentication required|temporary redirect|permanent redirect"
    r"|method not allowed)\b",
    r"\" ([1-5]\d\d) \d{1,12}\b",
    r"\b([1-5]\d\d), message=",                                       # aiohttp ClientResponseError
    r"\bstatus ([1-5]\d\d)\b",
    r"\berror ([1-5]\d\d):",                                           # `ChatGPT error 404: {...}`
    r"[\"']code[\"']\s{0,3}:\s{0,3}[\"']?([1-5]\d\d)\b",               # {"error": {"code": 401, ...}}
    r"\[([1-5]\d\d)\] ",                                             # `API error: [403] Forbidden <!doctype html>`                                      # access log: "POST /v1/... HTTP/1.1" 404 123
))

# Exception classes that carry a status the text may not print (`openai.NotFoundError`, LiteLLM's
# wrapped `litellm.exceptions.AuthenticationError`, anthropic's PaymentRequiredError): on the lower-cased line.
# Not BadRequestError and its kin: LiteLLM raises those before any request is sent.
EXCEPTION_CLASSES: dict[str, int] = {
    "authenticationerror": 401, "paymentrequirederror": 402, "permissiondeniederror": 403, "notfounderror": 404,
    "ratelimiterror": 429, "internalservererror": 500, "serviceunavailableerror": 503,
}
EXCEPTION_STATUS: re.Pattern[str] = re.compile(r"(?:^|[\s:\[(.])(" + "|".join(EXCEPTION_CLASSES) + r")(?=[:\s(\]'\"]|$)")

# What a status means when nothing more specific is known.
STATUS_CODES: dict[int, str] = {
    400: "http.bad_request", 401: "auth.rejected", 402: "balance.credits_empty", 403: "auth.forbidden",
    404: "http.not_found_path", 407: "net.proxy", 408: "http.timeout", 409: "http.conflict",
    413: "http.too_large", 422: "http.unprocessable", 429: "http.rate_limited", 500: "http.server_error",
    502: "http.server_error", 503: "http.replenishing", 504: "http.server_error", 307: "http.redirect",
    308: "http.redirect",
}

# A line without three digits in a row holds no status: most lines of a log skip STATUS_RES.
ANY_STATUS: re.Pattern[str] = re.compile(r"[1-5]\d\d")
# all of STATUS_RES in one pass; the status is the one group that matched
STATUS_ANY: re.Pattern[str] = re.compile("|".join(f"(?:{rx.pattern})" for rx in STATUS_RES))


def _branches(source: str) -> list[str]:
    """The top-level alternatives of a regex source."""
    out: list[str] = []
    depth, cur, i = 0, "", 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            cur += source[i:i + 2]
            i += 2
            continue
        depth += (c in "([") - (c in ")]")
        if c == "|" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    return out + [cur]


def anchor(branch: str) -> str | None:
    """The literal text every match of `branch` starts with (3+ characters), or None."""
    while branch.startswith("\\b"):
        branch = branch[2:]
    lit, i = "", 0
    while i < len(branch):
        c = branch[i]
        if c == "\\" and i + 1 < len(branch) and not branch[i + 1].isalnum():
            lit += branch[i + 1]
            i += 2
            continue
        if c in ".()[]|?*+{}\\$^":
            break
        lit += c
        i += 1
    if i < len(branch) and branch[i] in "?*{" and lit:
        lit = lit[:-1]  # a quantifier makes the last literal character optional
    return lit if len(lit) >= 3 else None


# Most lines of a log hold none of these words, and then no pattern can match: each alternative of
# each pattern starts with its anchor (a test keeps it so). Looked up by the anchors' first three
# characters, which is several times faster than one big alternation in `re`.
ANCHORS: frozenset[str] = frozenset(a for p in PATTERNS for b in _branches(p.regex.pattern)
                                    if (a := anchor(b)) is not None)
_BY_TRIGRAM: dict[str, tuple[str, ...]] = {}
for _a in sorted(ANCHORS):
    _BY_TRIGRAM[_a[:3]] = (*_BY_TRIGRAM.get(_a[:3], ()), _a)


def could_match(low: str) -> bool:
    """False when no pattern can match the lower-cased line `low`."""
    for tri in _BY_TRIGRAM.keys() & {low[i:i + 3] for i in range(len(low) - 2)}:
        if any(a in low for a in _BY_TRIGRAM[tri]):
            return True
    return False
