"""The catalogue: every word a user reads about a problem comes from here.

`explain`, the rich report, the JSON envelope and the support report all read the same entry,
so adding a failure mode is one entry here, one place that detects it, and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from gridctl import grid


class ExitCode(IntEnum):
    OK = 0
    BUG = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    PAYMENT = 5
    NOT_FOUND = 6
    RATE_LIMITED = 7
    GRID_FAILING = 8
    NETWORK = 9
    BAD_REQUEST = 10
    INTERRUPTED = 130  # Ctrl-C: the shell's convention (128 + SIGINT)


class Severity(StrEnum):
    """A finding's weight; a str, so `f.severity == "error"` and the JSON stay as they were."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
E, W, N = ERROR, WARNING, INFO  # short names keep the catalogue table readable
_T = f"{grid.DOCS}/troubleshooting"
_AUTH = f"{grid.DOCS}/api-reference/authentication"
_ERR = f"{grid.DOCS}/api-reference/errors-and-rate-limits"
_REDIR = f"{grid.DOCS}/api-reference/request-routing-and-redirects"
_INSTR = f"{grid.DOCS}/current-instruments"
_RELOAD = f"{grid.DOCS}/api-reference/auto-reload"
_CHAT = f"{grid.DOCS}/api-reference/consumption-api"
_AGENT = f"{grid.DOCS}/integrations/custom-agent-integration"


@dataclass(frozen=True)
class Entry:
    code: str
    severity: str
    title: str
    cause: str
    fix: str
    exit_code: ExitCode
    doc: str | None = None
    # HTTP statuses and phrases that `gridctl explain` maps to this entry.
    statuses: tuple[int, ...] = ()
    phrases: tuple[str, ...] = ()


def _e(code: str, sev: str, title: str, cause: str, fix: str, exit_code: ExitCode,
       doc: str | None = None, statuses: tuple[int, ...] = (), phrases: tuple[str, ...] = ()) -> Entry:
    return Entry(code, sev, title, cause, fix, exit_code, doc, statuses, phrases)


X = ExitCode
_ENTRIES: tuple[Entry, ...] = (
    # config
    _e("config.no_key", E, "No API key configured",
       "gridctl found no consumption key in --api-key, THEGRID_API_KEY, or the keyring.",
       f"Create a consumption key at {grid.API_KEYS_URL}, then `export THEGRID_API_KEY=...` "
       "or run `gridctl auth login`.", X.CONFIG, _AUTH, phrases=("no key", "missing key")),
    _e("config.env_conflict", W, "SDK environment conflicts with The Grid settings",
       "An SDK environment variable (OPENAI_*, ANTHROPIC_*) points your harness somewhere other "
       "than what gridctl tested, or holds a different key.",
       "Make the SDK variables agree with The Grid: the base URL gridctl prints for your SDK, and "
       "the same consumption key.", X.CONFIG, _AGENT),
    _e("config.keyring_unavailable", W, "No working OS keyring",
       "The OS keyring could not be used (no backend, locked, or failing), so stored keys are unavailable.",
       "Set THEGRID_API_KEY in the environment, or `gridctl auth login --insecure-storage` "
       "to keep the key in a 0600 plain-text file.", X.CONFIG),
    _e("config.key_source", N, "Where the key came from",
       "Reports which source supplied the key in effect (flag, environment, keyring, file).",
       "Nothing to fix; remove the higher-precedence source if the wrong key is in effect.", X.OK),
    # url
    _e("url.invalid", E, "The base URL is not a URL",
       "The base URL cannot be parsed, has no host, or is not http(s).",
       f"Use {grid.DEFAULT_BASE_URL}.", X.CONFIG, _T),
    _e("url.whitespace", E, "Whitespace or quotes in the base URL",
       "The base URL has spaces, newlines or quote characters around or inside it, usually from copy-paste "
       "or quoting in a .env file.", "Remove the surrounding whitespace and quotes.", X.CONFIG, _T),
    _e("url.insecure_scheme", E, "The base URL uses http://",
       "The Grid serves HTTPS only on port 443; plain http is refused or redirected without the body.",
       "Use https://.", X.CONFIG, _T),
    _e("url.trailing_slash", W, "Trailing slash on the base URL",
       "The OpenAI and Anthropic SDKs normalise a trailing slash, but curl and clients that join strings "
       "request `//chat/completions`, which can 404.",
       "Remove the trailing slash.", X.CONFIG, _T),
    _e("url.doubled_v1", E, "Doubled /v1 in the URL",
       "The base URL already ends in /v1 and something adds another, giving /v1/v1/... which answers 404.",
       "If your SDK appends /v1 itself, set the base URL to https://api.thegrid.ai; otherwise use "
       f"{grid.DEFAULT_BASE_URL} exactly.", X.CONFIG, _T, statuses=(404,), phrases=("/v1/v1", "v1/v1")),
    _e("url.endpoint_appended", E, "An endpoint path is pasted into the base URL",
       "The base URL ends in an endpoint such as /chat/completions; the SDK appends it again.",
       f"Set the base URL to {grid.DEFAULT_BASE_URL}; the SDK adds /chat/completions itself.",
       X.CONFIG, _T),
    _e("url.missing_v1", E, "The base URL lacks /v1",
       "OpenAI-style SDKs append only /chat/completions, so a base without /v1 hits a path that does not exist.",
       f"Use {grid.DEFAULT_BASE_URL}.", X.CONFIG, _T),
    _e("url.extra_path", E, "Extra path segments in the base URL",
       "The base URL has path segments The Grid does not serve.", f"Use {grid.DEFAULT_BASE_URL}: no extra "
       "path segments.", X.CONFIG, _T),
    _e("url.host_typo", E, "The host looks like a typo of The Grid's",
       "The host is a near-miss of a Grid host; the key would be sent to someone else. gridctl refuses to "
       "send it.", f"Use {grid.DEFAULT_BASE_URL}.", X.CONFIG, _T, phrases=("typo", "thegird")),
    _e("url.wrong_api_host", E, "Wrong Grid host for this API",
       "This host of The Grid does not serve this API: trading and platform hosts are not for inference, "
       "and the Messages beta has its own host.",
       f"Chat Completions: {grid.DEFAULT_BASE_URL}. Anthropic Messages: {grid.MESSAGES_ROOT}.", X.CONFIG, _T),
    _e("url.docs_url", E, "The base URL is a documentation or dashboard page",
       "The base URL points at thegrid.ai's website, docs or dashboard, which answer with HTML.",
       f"Use the API host: {grid.DEFAULT_BASE_URL}.", X.CONFIG, _T),
    _e("url.nonstandard_port", W, "Non-standard port",
       "The Grid serves standard HTTPS on port 443; another port is refused or hangs.",
       "Remove the port from the URL.", X.CONFIG, _T),
    _e("url.unsupported_endpoint", E, "An endpoint The Grid does not serve",
       "The URL targets an endpoint The Grid does not serve (legacy /v1/completions, /v1/responses, "
       "/v1/embeddings, ...): the API answers 404.",
       f"Use Chat Completions: POST {grid.DEFAULT_BASE_URL}/chat/completions (or, with the Anthropic SDK, "
       f"the Messages beta at {grid.MESSAGES_ROOT}). For OpenAI's Responses API, switch the client to Chat "
       "Completions.", X.CONFIG, _CHAT, phrases=("/v1/completions", "/v1/responses", "/v1/embeddings")),
    _e("url.custom_host", N, "Not one of The Grid's hosts",
       "The base URL points at another host: a gateway, a proxy or a local emulator. That can be right; "
       "gridctl tests it as given and will not send the key elsewhere.",
       f"If you meant The Grid itself, use {grid.DEFAULT_BASE_URL}.", X.OK),
    # auth
    _e("auth.missing_key", E, "No key in the header",
       "The Authorization header has a scheme but no key (often an unset variable: `Bearer $THEGRID_API_KEY` "
       "with the variable empty).", "Export THEGRID_API_KEY in the shell that runs the client.",
       X.CONFIG, _AUTH),
    _e("auth.missing_bearer", E, "Missing `Bearer` before the key",
       "The Consumption API wants `Authorization: Bearer <key>`; the bare key is rejected with 401.",
       "Send `Authorization: Bearer $THEGRID_API_KEY`.", X.CONFIG, _AUTH, statuses=(401,)),
    _e("auth.scheme_case", E, "`Bearer` spelled with the wrong case",
       "The scheme must be exactly `Bearer` (capital B, lower-case rest).", "Write `Bearer`.", X.CONFIG, _AUTH),
    _e("auth.double_bearer", E, "`Bearer` appears twice",
       "The client adds `Bearer` and the key value already has it: `Bearer Bearer <key>`.",
       "Store the bare key (without `Bearer`) in THEGRID_API_KEY.", X.CONFIG, _AUTH),
    _e("auth.key_whitespace", E, "Whitespace in the key",
       "The key has spaces, tabs or a newline in or around it (a pasted line break, `echo` without -n).",
       "Strip the whitespace: `export THEGRID_API_KEY=\"$(printf %s \"$THEGRID_API_KEY\" | tr -d '[:space:]')\"`.",
       X.CONFIG, _AUTH),
    _e("auth.key_quoted", E, "Quotes around the key",
       "Quote characters became part of the key (a .env file quoted twice, or quotes inside the string).",
       "Remove the quote characters from the value.", X.CONFIG, _AUTH),
    _e("auth.non_ascii", E, "Non-ASCII characters in the header",
       "The header has characters such as smart quotes or a non-breaking space, usually from a word "
       "processor or chat app; HTTP clients reject or mangle them.", "Retype the header; copy the key "
       f"again from {grid.API_KEYS_URL}.", X.CONFIG, _AUTH),
    _e("auth.placeholder_key", E, "The key is a placeholder",
       "The key is example text such as YOUR_GRID_API_KEY, not a real key.",
       f"Create a consumption key at {grid.API_KEYS_URL}.", X.CONFIG, _AUTH),
    _e("auth.not_a_key", E, "That is not a key",
       "The value where the key should be is something else: a URL, an email address, a file path or a "
       "sentence, usually a copy-paste of the wrong field.",
       f"Copy the consumption key itself from {grid.API_KEYS_URL} (a single token without spaces).",
       X.CONFIG, _AUTH),
    _e("auth.foreign_key", E, "That is another vendor's key",
       "The key has another vendor's prefix (such as OpenAI's `sk-proj-` or Anthropic's `sk-ant-`); "
       "The Grid rejects it.", f"Use a Grid consumption key from {grid.API_KEYS_URL}.", X.CONFIG, _AUTH),
    _e("auth.wrong_header", E, "Wrong auth header for this API",
       "The Consumption API wants `Authorization: Bearer <key>`; the Messages beta wants "
       "`x-api-key: <key>` with no Bearer.", "Use the header for the API you call.", X.CONFIG, _AUTH),
    _e("auth.rejected", E, "The Grid rejected the key (401)",
       "401: the key is wrong, revoked, a Trading key (inference needs a Consumption key), or the header "
       "is malformed.", f"Check the header format, then create a consumption key at {grid.API_KEYS_URL}.",
       X.AUTH, _AUTH, statuses=(401,), phrases=("unauthorized", "invalid api key")),
    _e("auth.forbidden", E, "The key may not do this (403)",
       "403: the key is valid but not allowed to use this endpoint or instrument.",
       f"Use a consumption key; check its permissions at {grid.API_KEYS_URL}.", X.AUTH, _AUTH, statuses=(403,)),
    # model
    _e("model.unknown", E, "Unknown instrument",
       "The `model` is not one of The Grid's instruments, so the API answers 404.",
       "Use one of the nine instruments: " + ", ".join(grid.INSTRUMENTS) + ".", X.CONFIG, _INSTR),
    _e("model.foreign_name", E, "A lab model name, not an instrument",
       "Names such as gpt-5.2 or claude-sonnet-4-6 are lab model names; The Grid routes by instrument and "
       "answers 404 to them.", "Use the instrument for the job (see the suggestion).", X.CONFIG, _INSTR,
       phrases=("gpt-5.2", "claude-sonnet")),
    _e("model.case", E, "Instrument name in the wrong case",
       "Instrument names are lower case; `Text-Prime` is not `text-prime`.", "Write it in lower case.",
       X.CONFIG, _INSTR),
    _e("model.not_found", E, "The Grid answered 404 for this instrument",
       "The request reached The Grid with a correct URL, and the instrument was not found.",
       "Use one of the nine instruments: " + ", ".join(grid.INSTRUMENTS) + ".", X.NOT_FOUND, _INSTR,
       statuses=(404,), phrases=("model not found",)),
    _e("model.no_provider", E, "LiteLLM needs a provider prefix",
       "LiteLLM could not tell which provider to call from the model name alone (`LLM Provider NOT "
       "provided`).", "Write the model as openai/<instrument> (e.g. openai/text-prime) with api_base "
       f"{grid.DEFAULT_BASE_URL}; LiteLLM strips the prefix before sending.", X.CONFIG, _AGENT),
    _e("model.client_list", E, "The client library rejected the model name itself",
       "The client checks model names against its own list of OpenAI models before sending anything "
       "(LlamaIndex's OpenAI class: `Unknown model ... Please provide a valid OpenAI model name`); The Grid "
       "was never called.", "Use the library's OpenAI-compatible class, which does not check names (LlamaIndex: "
       f"OpenAILike(model=\"text-prime\", api_base=\"{grid.DEFAULT_BASE_URL}\", is_chat_model=True)).",
       X.CONFIG, _AGENT),
    _e("model.not_listed", W, "Instrument not in the live list",
       "GET /v1/models does not list this instrument for your key.",
       "Pick an instrument from `gridctl models`.", X.OK, _INSTR),
    # status
    _e("status.operational", N, "All systems operational",
       "The status page reports no incident.", "Nothing to do on The Grid's side.", X.OK),
    _e("status.degraded", W, "The Grid reports degraded performance",
       "The status page shows a minor problem; some requests may be slow or fail.",
       "Retry with backoff; watch https://status.thegrid.ai.", X.OK),
    _e("status.incident", E, "Active incident on The Grid",
       "The status page shows an active incident: it's not you.",
       "Wait for the incident to resolve; subscribe at https://status.thegrid.ai. Retries with backoff "
       "help in the meantime.", X.GRID_FAILING, phrases=("incident", "outage", "down")),
    _e("status.maintenance", W, "Maintenance in progress",
       "The status page shows scheduled maintenance.", "Expect errors until it ends.", X.OK),
    _e("status.diagnostics", W, "The Grid's own diagnostics flag a problem",
       "GET /v1/diagnostics (The Grid's server-side checks for this key) reported a check as warn or fail; "
       "the server's own words and next action are quoted.",
       "Follow the check's next action; the steps above show whether your own call works despite it.", X.OK),
    _e("status.unreachable", W, "The status page could not be read",
       "gridctl could not fetch or understand the status page; this says nothing about the API itself.",
       "Open https://status.thegrid.ai in a browser.", X.OK),
    # net
    _e("net.dns", E, "DNS lookup failed",
       "The host name of the base URL did not resolve: a typo, no network, or a DNS/VPN problem.",
       "Check the host name and your network; `nslookup api.thegrid.ai`.", X.NETWORK, _T,
       phrases=("name or service not known", "nodename nor servname", "getaddrinfo")),
    _e("net.refused", E, "Connection refused",
       "Nothing listens at that host and port: usually a wrong base URL (port, host) or a local proxy down.",
       f"Confirm {grid.DEFAULT_BASE_URL}: no trailing slash, no extra path segments, no typos.",
       X.NETWORK, _T, phrases=("connection refused", "econnrefused")),
    _e("net.connect_timeout", E, "Connection timed out",
       "The TCP connection did not complete in time: a firewall drops the traffic, or the network is down.",
       "Check your proxy or firewall; The Grid uses standard HTTPS on port 443.", X.NETWORK, _T,
       phrases=("connect timeout",)),
    _e("net.no_response", E, "No response (hang)",
       "The connection opened but no answer came in time: a proxy or firewall holds the request, or the "
       "server hangs.", "Check your proxy or firewall; The Grid uses standard HTTPS on port 443.",
       X.NETWORK, _T, phrases=("hang", "hangs", "no response", "read timeout", "timeout", "timed out")),
    _e("net.tls", E, "TLS failed",
       "The TLS handshake or certificate check failed. Behind a corporate proxy that inspects TLS, its "
       "certificate is not in your trust store.",
       "Point SSL_CERT_FILE (and REQUESTS_CA_BUNDLE) at your company's CA bundle; never turn verification off.",
       X.NETWORK, _T, phrases=("certificate", "ssl", "tls", "certificate verify failed")),
    _e("net.proxy", E, "The proxy failed",
       "A proxy from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY is in use and failed to connect or tunnel.",
       "Check the proxy settings, or set NO_PROXY=api.thegrid.ai if the proxy is not needed.", X.NETWORK, _T,
       phrases=("proxy",)),
    _e("net.connection_error", E, "The client could not reach the API (connection error)",
       "An SDK reported a connection error without saying why (openai/anthropic `APIConnectionError: "
       "Connection error.`, Node `TypeError: fetch failed`): DNS, a refused or reset connection, TLS, or a "
       "proxy. The chained cause (\"The above exception was the direct cause\", Node's `[cause]`) names it.",
       "Paste the whole traceback, including the exception above `Connection error.`, or run `gridctl doctor` "
       "to test DNS, TCP, TLS and the proxy step by step.", X.NETWORK, _T),
    _e("net.client_timeout", E, "The client's own timeout expired",
       "The client gave up waiting before an answer came (its read or total timeout is shorter than the "
       "answer takes, or the server or a proxy holds the request).",
       "Run `gridctl doctor` to see whether The Grid answers; if it does but slowly, raise your client's "
       "timeout (long completions and `*-max` instruments take longer).", X.NETWORK, _T),
    _e("net.reset", E, "Connection reset",
       "The connection was closed mid-request: a proxy, firewall or the server dropped it.",
       "Retry; if it repeats, check what sits between you and api.thegrid.ai.", X.NETWORK, _T,
       phrases=("connection reset", "econnreset", "broken pipe")),
    # http
    _e("http.redirect", N, "The API answered with a redirect",
       "The Grid answers an inference call with 307 Temporary Redirect to its inference gateway, a URL whose "
       "`token` query parameter is the credential for that hop; the client re-sends the same method and body "
       "there (no Authorization header needed).",
       "curl: add -L. SDKs (openai, anthropic, httpx, requests) follow it; a hand-written client must re-send "
       "the same method and body to the Location exactly as given.",
       X.OK, _REDIR, statuses=(307, 308), phrases=("redirect", "you are being redirected")),
    # 401/403 on a signed URL is about the URL's credential: exit 4 (authentication rejected), the layer
    # the contract gives 401/403, but the words point at the token and what alters it, never at the key.
    _e("http.redirect_rejected", E, "The signed redirect was rejected",
       "The first hop accepted the key and redirected (307) to a signed URL; that URL's `token` was refused "
       "(401/403): it expired before the request got there (a slow client, clock skew), or a proxy or client "
       "rewrote or re-encoded the URL and its query string.",
       "Your key is fine. Retry at once: each call gets a fresh token. Follow the Location exactly as given "
       "(do not rebuild or re-encode its query string); if a proxy sits in between, let it pass the URL "
       "unchanged. If it repeats, send the request ID to " + grid.SUPPORT_EMAIL + ".",
       X.AUTH, _REDIR, phrases=("redirect token", "signed url", "token expired")),
    _e("http.redirect_loop", E, "Redirect loop",
       "The server (or a proxy) kept redirecting past the limit.", "Check proxies between you and "
       f"{grid.API_HOST}; if it persists, send the request ID to {grid.SUPPORT_EMAIL}.", X.NETWORK, _REDIR),
    _e("http.html_body", E, "An HTML page instead of JSON",
       "Something answered with an HTML page: a proxy, captive portal, or the website instead of the API.",
       f"Check the base URL and any proxy; the API answers JSON at {grid.DEFAULT_BASE_URL}.", X.NETWORK, _T,
       phrases=("html", "<!doctype html>")),
    _e("http.bad_request", E, "Bad request (400)",
       "400: the request body is malformed: a missing required field, invalid JSON, or a parameter the "
       "API does not accept.", "Compare your body to the Consumption API reference; `gridctl doctor --body FILE` "
       "lints it.", X.BAD_REQUEST, _CHAT, statuses=(400,)),
    _e("http.unprocessable", E, "Parameter out of range (422)",
       "422: the body parses but a parameter value is out of range.", "Check the value named in the error.",
       X.BAD_REQUEST, _ERR, statuses=(422,)),
    _e("http.not_found_path", E, "Path not found (404)",
       "404 on the path: the base URL is wrong (doubled /v1, trailing slash, extra path) or the endpoint does "
       "not exist (legacy /completions and embeddings are not served).",
       f"The base URL is {grid.DEFAULT_BASE_URL}. If your SDK auto-appends /v1, set it to https://api.thegrid.ai.",
       X.NOT_FOUND, _T, statuses=(404,)),
    _e("http.rate_limited", E, "Rate limited (429)",
       "429: the per-key or per-instrument rate limit was hit, and stayed hit through the retries.",
       "Back off and retry; honour Retry-After; use exponential backoff with jitter.", X.RATE_LIMITED, _ERR,
       statuses=(429,), phrases=("too many requests", "rate limit")),
    _e("http.server_error", E, "The Grid failed (5xx)",
       "5xx after the retries: a transient service issue (failed requests are not billed).",
       "Retry with exponential backoff; check https://status.thegrid.ai.", X.GRID_FAILING, _T,
       statuses=(500, 502, 504), phrases=("internal server error", "bad gateway")),
    _e("http.replenishing", E, "Balance replenishment in progress (503)",
       "503: Auto Top Up is buying tokens for this instrument.",
       "Retry after a short delay; by the second or third attempt the tokens are usually there.",
       X.GRID_FAILING, _RELOAD, statuses=(503,), phrases=("service unavailable", "replenish")),
    # 408: the server gave up waiting for the request to arrive: the path to it (network, exit 9).
    _e("http.timeout", E, "The server timed out waiting for the request (408)",
       "408: the connection opened but the request (headers or body) did not arrive in time: a slow or stalled "
       "upload, or a proxy that holds the request back.",
       "Retry; if it repeats, check the upload path (proxy, VPN) and send smaller bodies.", X.NETWORK, _ERR,
       statuses=(408,), phrases=("request timeout",)),
    # 413: the request body itself must change (exit 10, like 400/422).
    _e("http.too_large", E, "Request too large (413)",
       "413: the request body is larger than the server (or a proxy in front of it) accepts: usually a long "
       "conversation history, large tool output or inline images.",
       "Send less: trim the message history, summarise large tool results, or split the work across calls.",
       X.BAD_REQUEST, _ERR, statuses=(413,), phrases=("payload too large", "request entity too large",
                                                      "content too large")),
    # 409: a 4xx about this request (a reused idempotency key, a concurrent change); the server is fine,
    # so it is the request layer (exit 10), not "The Grid is failing".
    _e("http.conflict", E, "Conflict (409)",
       "409: the request conflicts with another one: the same idempotency key reused with a different body, "
       "or a concurrent request on the same resource.",
       "Retry once (the SDKs do); use a fresh idempotency key per distinct request.", X.BAD_REQUEST, _ERR,
       statuses=(409,), phrases=("conflict",)),
    # A WAF/CDN block page: the request never reached The Grid's API, so the layer is the path (exit 9).
    _e("http.blocked", E, "A WAF/CDN block page answered",
       "A web application firewall or CDN in front of The Grid (or your own company's) blocked the request "
       "with its own HTML page; the API never saw it, so it says nothing about your key.",
       "Retry from another network or without the VPN/proxy; note the block page's reference ID (Ray ID, "
       f"Reference #) and send it with the time to {grid.SUPPORT_EMAIL}. Unusual request shapes (a body with "
       "script-like text) can also trip a WAF.", X.NETWORK, _T,
       phrases=("cloudflare", "attention required", "access denied", "ray id", "akamai", "request blocked")),
    _e("http.unexpected", E, "Unexpected answer",
       "The server answered something gridctl did not expect (an odd status, truncated or non-JSON body).",
       f"Retry; if it persists, send the request ID to {grid.SUPPORT_EMAIL}.", X.GRID_FAILING, _T),
    # issue 20: the client read something that is not JSON (a proxy page, a website, a captive portal)
    _e("http.not_json", E, "The answer was not JSON",
       "The client expected The Grid's JSON and got something else (an HTML or plain-text page, or nothing): "
       "what usually sends it is a proxy or captive portal, a base URL that points at a website instead of "
       "the API, or a gateway's own error page.",
       f"Check the base URL (it is {grid.DEFAULT_BASE_URL}) and any proxy between you and {grid.API_HOST}; "
       "`gridctl doctor` shows what answers.", X.NETWORK, _T,
       phrases=("not json", "expecting value", "has no attribute 'choices'")),
    _e("http.oversized", E, "The answer was too large to read",
       "The server sent more than gridctl reads from one answer (a body, an event-stream line or a whole "
       "stream): not The Grid's JSON, or something in between rewrites or inflates it.",
       f"Check what sits between you and {grid.API_HOST} (proxy, gateway); if it persists, send the request ID "
       f"to {grid.SUPPORT_EMAIL}.", X.GRID_FAILING, _T),
    _e("http.empty_answer", E, "A success status without an answer",
       "The server answered 2xx, but the body has no `choices` (or `content`): nothing came back to use.",
       f"Retry; if it persists, send the request ID to {grid.SUPPORT_EMAIL}.", X.GRID_FAILING, _T),
    # run
    _e("run.interrupted", E, "Interrupted",
       "The run was stopped (Ctrl-C) before it finished; what is shown is what was learned until then.",
       "Run it again and let it finish; lower --timeout to bound how long it may take.", X.INTERRUPTED),
    # balance
    _e("balance.credits_empty", E, "No credits (402)",
       "402 on every instrument: the USD credits balance is empty.",
       f"Add credits at {grid.DASHBOARD_URL} and enable Auto-Reload so it does not happen again.",
       X.PAYMENT, _RELOAD, statuses=(402,), phrases=("payment required", "insufficient credits")),
    _e("balance.instrument_unavailable", E, "No tokens for this instrument (402)",
       "402 on some instruments only: no consumption tokens are available for them right now.",
       "Enable Auto Top Up for the instrument, retry after a short delay, or use another tier meanwhile.",
       X.PAYMENT, _RELOAD, statuses=(402,), phrases=("no tokens",)),
    _e("balance.recovered_after_retry", W, "402 cleared on retry",
       "A 402 went away on retry: Auto-Reload or Auto Top Up bought what was missing.",
       "Nothing is broken; keep a 402 retry in your client (cold start after idle).", X.OK, _AGENT),
    # stream
    _e("stream.ok", N, "Streaming works", "The SSE stream ran to its end.", "Nothing to do.", X.OK),
    _e("stream.cut", E, "The stream was cut off",
       "The SSE stream ended without a finish reason or [DONE]: something in between closed it, usually an "
       "idle timeout on a proxy.", "Increase the idle timeout on whatever sits between your client and "
       f"{grid.API_HOST} (some corporate proxies cut at 30-60 s).", X.NETWORK, _T,
       phrases=("stream cut", "streaming cuts off")),
    _e("stream.idle_gap", W, "Long idle gap in the stream",
       "The stream went quiet for a long time between events; proxies with short idle timeouts cut such streams.",
       "Raise the proxy idle timeout above the gap.", X.OK, _T),
    # usage receipts (GET /v1/usage/{id}: not in The Grid's public docs, so its absence is no error)
    _e("usage.unavailable", W, "No usage receipt available",
       "GET /v1/usage/{request_id} gave no receipt: the endpoint is not published for every account or "
       "deployment (404), the key may not read it (401), or the request is too recent or not yours.",
       "Nothing is wrong with your calls. Check usage in the dashboard; quote the request ID to support.", X.OK),
    _e("usage.receipt", N, "Usage receipt",
       "The Grid's own record of a request: models, tokens, cost, and its server-side timing.",
       "Nothing to fix.", X.OK),
    _e("usage.added_latency", N, "Time added between you and The Grid",
       "Your client's time to first token minus the server's own ttft_ms from the receipt: the time the "
       "network, a proxy or a VPN added.",
       "If it is large, test without the proxy or VPN, or from a host nearer The Grid.", X.OK),
    # trace: what only the traffic of the user's own program shows
    _e("trace.no_calls", E, "The program made no call through gridctl trace",
       "The traced program ended without one request reaching the proxy: it builds its own base URL "
       "(hard-coded in the program or read from a config file or another variable), or it never got as far "
       "as calling The Grid.",
       "Let the SDK read OPENAI_BASE_URL / ANTHROPIC_BASE_URL / THEGRID_BASE_URL instead of a hard-coded "
       "base URL, or run the program with `gridctl trace --listen` and point it at the printed address.",
       X.CONFIG, _AGENT),
    _e("trace.redirect_not_followed", E, "The client did not follow the 307",
       "The Grid answered 307 Temporary Redirect (its normal path to the inference gateway) and the client "
       "never made the second request, so it got a redirect instead of an answer.",
       "Follow redirects: curl -L; fetch and the SDKs do it by default; a hand-written client must re-send "
       "the same method and body to the Location.", X.NETWORK, _REDIR),
    _e("trace.redirect_as_get", E, "The client followed the 307 with another method",
       "After The Grid's 307 the client re-sent the request with a different method or without its body "
       "(as for a 301/302/303), so the gateway cannot run it.",
       "A 307 keeps the method and body: re-send the same POST and JSON body to the Location.",
       X.BAD_REQUEST, _REDIR),
    _e("trace.retry_no_backoff", W, "Retried at once, without backoff",
       "The client repeated a request that got 402, 429 or 5xx almost at once, which only adds load and "
       "keeps hitting the limit.", "Retry with exponential backoff and jitter, and honour Retry-After.",
       X.OK, _ERR),
    _e("trace.retry_too_soon", W, "Retried before Retry-After",
       "The server said how long to wait (Retry-After) and the client retried sooner.",
       "Wait at least the Retry-After (or retry-after-ms) the answer names before retrying.", X.OK, _ERR),
    _e("trace.stream_cut_downstream", E, "The stream was cut between the proxy and the client",
       "The Grid's answer went on, but the client (or something in it: a timeout, a cancelled task) "
       "stopped reading before the end.",
       "Raise the client's read timeout for streams, and check the program does not abandon the stream.",
       X.NETWORK, _T),
    _e("trace.proxy_answered", E, "gridctl trace answered this call itself",
       "The request never reached the upstream: gridctl trace refused it (a request target that is not a path, "
       "an invalid Content-Length, a request not received in time, a body over trace's memory budget, or its "
       "connection limit), so the status the program saw came from trace, not from The Grid.",
       "Send a well-formed request (a path such as /v1/chat/completions, one valid Content-Length) and fewer at "
       "once; the message says which limit it was.", X.NETWORK, _T),
    _e("trace.body_not_checked", N, "A body too large for trace to read whole",
       "The body was longer than gridctl trace reads whole for its verdict, so it was passed on unchanged and not "
       "checked; the record keeps its first part only.", "Nothing to fix.", X.OK),
    # body
    _e("body.invalid_json", E, "The request body is not valid JSON",
       "The body does not parse as JSON (trailing commas, single quotes, unescaped newlines).",
       "Fix the JSON at the position given.", X.BAD_REQUEST, _CHAT),
    _e("body.missing_field", E, "A required field is missing",
       "Chat Completions needs `model` and a non-empty `messages` list.", "Add the field.", X.BAD_REQUEST, _CHAT),
    _e("body.unknown_param", W, "A parameter the API does not accept",
       "The body has a parameter that is not part of the Chat Completions API.",
       "Remove it, or check its spelling.", X.BAD_REQUEST, _CHAT),
    _e("body.content_type", E, "The body is not sent as JSON",
       "curl -d without `Content-Type: application/json` sends the body form-encoded; the API answers 400.",
       "Add -H 'Content-Type: application/json' (or use --json).", X.BAD_REQUEST, _CHAT),
    _e("body.context_length", E, "The conversation is longer than the context window",
       "The prompt (messages, tools and the room asked for the answer) has more tokens than the instrument "
       "accepts; the API answers 400 whatever the wording (`maximum context length`, `prompt is too long`).",
       "Send less: trim or summarise the message history and large tool results, lower max_tokens, or use a "
       "`-max` instrument (large context).", X.BAD_REQUEST, _CHAT,
       phrases=("context length", "context window", "prompt is too long", "maximum context length",
                "context_length_exceeded")),
    _e("body.out_of_range", E, "A parameter is out of range",
       "A parameter's value is outside its allowed range; the API answers 422.", "Use a value in range.",
       X.BAD_REQUEST, _CHAT),
    _e("body.tool_schema", E, "A tool without a valid JSON schema",
       "A `tools` entry is not a function tool with a name and a JSON schema as its `parameters` (a wrong "
       "`type`, `properties` that is not an object, `required` that is not a list of names).",
       "Fix the schema of the tool the error names; `gridctl replay FILE.har --minimize` finds it in a traced call.",
       X.BAD_REQUEST, _CHAT, phrases=("invalid schema for function", "invalid_tool_schema")),
    _e("body.response_format", E, "A response_format the instrument does not support",
       "`response_format` asks for a type the instrument does not offer (text, json_object and json_schema are "
       "served), or a json_schema without a name and a schema.",
       "Use json_object or json_schema (with `name` and `schema`), or drop response_format.", X.BAD_REQUEST, _CHAT,
       phrases=("invalid response_format", "unsupported_response_format")),
    # replay
    _e("replay.rehosted", N, "Replayed on another host than the recorded one",
       "The recorded URL's host is neither The Grid's nor this machine, so the call was sent to The Grid's host "
       "(or --base-url) instead: the key never goes to a host gridctl does not trust.",
       "To replay against your own gateway, name it with --base-url.", X.OK, _T),
    _e("replay.not_reproduced", W, "The recorded failure did not happen again",
       "The call, re-sent, got another answer than the one recorded: the failure depended on something that "
       "changed (the key, the balance, a transient fault, the host).",
       "Compare the two answers; `gridctl doctor` checks the rest of the path.", X.OK, _T),
    _e("replay.budget", W, "The search stopped before its end",
       "The request budget (--max-requests) or the time budget (--timeout) ran out before the smallest failing "
       "request was certain.", "Raise --max-requests or --timeout and run it again.", X.OK, _T),
)

CATALOGUE: dict[str, Entry] = {e.code: e for e in _ENTRIES}


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    fix: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def entry(self) -> Entry:
        return CATALOGUE[self.code]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message,
                               "fix": self.fix}
        if self.data:
            out["data"] = self.data
        return out


def finding(code: str, message: str | None = None, *, fix: str | None = None,
            severity: str | None = None, **data: Any) -> Finding:
    """A finding for `code`; message and fix default to the catalogue's words."""
    entry = CATALOGUE[code]  # KeyError here is a bug: every code must be catalogued
    return Finding(code, Severity(severity or entry.severity), message or entry.cause, fix or entry.fix, dict(data))


def exit_code_for(f: Finding) -> ExitCode:
    if f.severity != E:
        return ExitCode.OK
    return CATALOGUE[f.code].exit_code


# The URL lints a 404 confirms (the others, a look-alike host say, point away from The Grid's 404).
URL_404_CAUSES = ("url.unsupported_endpoint", "url.doubled_v1", "url.endpoint_appended", "url.missing_v1",
                  "url.extra_path", "url.trailing_slash", "url.docs_url", "url.wrong_api_host")


def confirmed_exit(code: str, status: int | None) -> ExitCode | None:
    """The exit code of a lint the server's answer confirmed, else None (the catalogue's own stands).

    One rule for doctor, trace and explain: a doubled /v1 that got a 404 exits 6 (not found: the
    server was reached), not 3 (a configuration problem found offline); an auth lint behind a 401 or
    403 exits 4; a model lint behind a 400 or 422 exits 10.
    """
    if CATALOGUE[code].exit_code != ExitCode.CONFIG:
        return None
    if status == 404 and (code in URL_404_CAUSES or code.startswith("model.")):
        return ExitCode.NOT_FOUND
    if status in (401, 403) and code.startswith("auth."):
        return ExitCode.AUTH
    if status in (400, 422) and code.startswith(("model.", "body.")):
        return ExitCode.BAD_REQUEST
    return None


Add = Callable[[Finding], None]  # a sink for findings, usually some list.append


# --- issue 20: an answer that is honestly unsure, and fixes in the words of the user's own client ----

# What a bare status can mean at The Grid, most likely first (api-facts "status meanings"; the signed
# 307's second hop). explain offers these as candidates when a text shows the status and nothing more.
STATUS_CANDIDATES: dict[int, tuple[str, ...]] = {
    401: ("auth.rejected", "auth.missing_bearer", "http.redirect_rejected"),
    402: ("balance.credits_empty", "balance.instrument_unavailable"),
    403: ("auth.forbidden", "http.redirect_rejected", "http.blocked"),
    404: ("http.not_found_path", "model.not_found"),
    500: ("http.server_error", "status.incident"),
    502: ("http.server_error", "http.html_body"),
    503: ("http.replenishing", "http.server_error"),
    504: ("http.server_error", "net.no_response"),
}
# The exit code of an answer that names candidates: the status's class (the contract's table).
STATUS_EXIT: dict[int, ExitCode] = {401: X.AUTH, 403: X.AUTH, 402: X.PAYMENT, 404: X.NOT_FOUND,
                                    429: X.RATE_LIMITED, 500: X.GRID_FAILING, 502: X.GRID_FAILING,
                                    503: X.GRID_FAILING, 504: X.GRID_FAILING}
UNSURE_MESSAGE = ("The text shows the status ({status}) but not the answer's body, which says why; at The Grid "
                  "a {status} is one of: {candidates}.")
UNSURE_HEADING = "{status}: one of these:"
# An unsure answer's fix is each candidate's own, said as a condition, after the command that settles it.
UNSURE_FIX = "Run `{next}` to tell them apart. {options}"
UNSURE_OPTION = "If it is {title}: {fix}"
UNSURE_NEXT = "`{next}` tells them apart."
NEXT_TRACE = "gridctl trace -- {command}"
NEXT_MODELS = "gridctl models {model}"
NEXT_BALANCE = "gridctl balance"
NEXT_DOCTOR = "gridctl doctor"

# The fix in the terms of the client that printed the text (gridctl/lint/client.py tells which):
# {label} the client, {key_env}/{base_env} the variables it reads, {base_url} the base URL it wants,
# {appends} what it adds to that base itself.
CLIENT_FIXES: dict[str, str] = {
    "config.no_key": ("{label} reads the key from {key_env}: `export {key_env}=<your consumption key>` (create "
                      f"one at {grid.API_KEYS_URL}), and set {{base_env}}={{base_url}}."),
    "auth.missing_key": "{label} sends the key it reads from {key_env}: set it (`export {key_env}=...`).",
    "auth.placeholder_key": ("{key_env} holds example text: set it to a consumption key from "
                             f"{grid.API_KEYS_URL}."),
    "auth.foreign_key": f"Set {{key_env}} to a Grid consumption key from {grid.API_KEYS_URL}.",
    "auth.rejected": (f"Check the key {{label}} reads from {{key_env}} (a consumption key from {grid.API_KEYS_URL}) "
                      "and that {base_env} is {base_url}."),
    "url.doubled_v1": "Set {base_env} (or base_url=) to {base_url}: {label} appends {appends} itself.",
    "url.endpoint_appended": "Set {base_env} (or base_url=) to {base_url}: {label} appends {appends} itself.",
    "url.missing_v1": "Set {base_env} (or base_url=) to {base_url}: {label} appends {appends} itself.",
    "url.extra_path": "Set {base_env} (or base_url=) to {base_url}: {label} appends {appends} itself.",
    "url.wrong_api_host": "Set {base_env} (or base_url=) to {base_url}: {label} appends {appends} itself.",
    "url.docs_url": "Set {base_env} (or base_url=) to {base_url}: the API, not the website.",
    "url.host_typo": "Set {base_env} (or base_url=) to {base_url}.",
    "http.not_found_path": "Set {base_env} (or base_url=) to {base_url}: {label} appends {appends} itself.",
}
# trace knows the variable it rewrote and its value: the fix names both.
VARIABLE_FIX = "{variable} is {value}: set it to {base_url}."
# trace, a call its program sent to a URL of its own (seen by the forward proxy, no base-URL variable read):
SOURCE_FIX = ("The base URL is set in the program's own code or config (it read no base-URL variable): {value} there "
              "should be {base_url} ({label} appends {appends} itself).")
