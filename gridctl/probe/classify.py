"""Turn what came back (an httpx exception, or a status and a body) into contract findings.

Never raises on a body: HTML, truncated JSON, binary and empty bodies are all just evidence.
"""

from __future__ import annotations

import errno
import json
import re
import ssl
from typing import Any

from gridctl.findings import Finding, finding

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_DNS_WORDS = ("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution",
              "no address associated", "non-recoverable failure in name")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def looks_html(body: bytes, content_type: str) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def error_detail(body: bytes, content_type: str = "") -> str:
    """The server's own words for an error, from any of the three shapes or an HTML page."""
    data = parse_json(body)
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, dict) and errors.get("detail"):
            return str(errors["detail"])[:300]
        if isinstance(errors, list) and errors:
            first = errors[0]
            return str(first.get("detail") or first.get("message") or first)[:300] if isinstance(first, dict) \
                else str(first)[:300]
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err.get("code") or err)[:300]
        if isinstance(err, str):
            return err[:300]
        for k in ("detail", "message"):
            if isinstance(data.get(k), str):
                return str(data[k])[:300]
        return ""
    if looks_html(body, content_type):
        m = _TITLE.search(body[:4096])
        title = re.sub(r"\s+", " ", m.group(1).decode("utf-8", "replace")).strip() if m else ""
        return f"an HTML page{': ' + title if title else ''}"
    text = body[:300].decode("utf-8", "replace").strip()
    return re.sub(r"\s+", " ", text)


def classify_exception(exc: BaseException, proxy: str | None = None) -> Finding:  # noqa: C901 - a flat table of exception types; issue 11 adds cases today, split after that lands
    """One network failure -> one `net.*` (or `url.invalid`) finding, with the layer in words."""
    import httpx

    text = _chain_text(exc)
    low = text.lower()
    if isinstance(exc, httpx.ProxyError):
        return finding("net.proxy", f"The proxy {proxy or ''} failed: {text}".replace("  ", " "))
    if isinstance(exc, httpx.ConnectTimeout):
        return finding("net.connect_timeout", "The TCP connection did not complete before the time budget ran out.")
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return finding("net.no_response", "The connection opened, but no answer came before the time budget ran out.")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return finding("url.invalid", f"The URL cannot be requested: {text}")
    tls = _ssl_error(exc)
    if tls is not None:
        return finding("net.tls", f"TLS failed: {tls}")
    if isinstance(exc, httpx.ConnectError):
        if any(w in low for w in _DNS_WORDS):
            return finding("net.dns", "The host name did not resolve (DNS).")
        if proxy:
            return finding("net.proxy", f"Could not connect through the proxy {proxy}: {text}")
        if "refused" in low or _errno(exc) == errno.ECONNREFUSED:
            return finding("net.refused", "Nothing accepts connections at that host and port.")
        if "reset" in low or _errno(exc) == errno.ECONNRESET:
            return finding("net.reset", "The connection was reset while connecting.")
        if "timed out" in low:
            return finding("net.connect_timeout")
        return finding("net.refused", f"Could not connect: {text}")
    if isinstance(exc, httpx.LocalProtocolError):
        # Our own request was malformed: in practice a line break or control character in the key.
        # h11's message quotes the header value (the key, repr-escaped), so it is never shown.
        return finding("auth.key_whitespace", "The request could not be sent: a header value has a line break or "
                       "control character (usually in the key).")
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in low:
        # httpx builds the next request even with redirects off, and fails on a malformed Location.
        return finding("http.unexpected", f"A redirect with an unusable Location header: {text}")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return finding("net.reset", f"The connection was closed mid-request: {text or exc.__class__.__name__}.")
    if isinstance(exc, httpx.DecodingError):
        return finding("http.unexpected", f"The response could not be decoded: {text}")
    return finding("net.reset", f"The request failed: {exc.__class__.__name__}: {text}")


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        msg = str(seen).strip()
        if msg and msg not in parts:
            parts.append(msg)
        seen = seen.__cause__ or seen.__context__
    return "; ".join(parts)[:300]


def _errno(exc: BaseException) -> int | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return seen.errno
        seen = seen.__cause__ or seen.__context__
    return None


def _ssl_error(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    while seen is not None:
        # getattr: the ssl module sets verify_message and reason, but an SSLError raised by other code
        # (a proxy library, a test) may lack them, and classification must never raise.
        if isinstance(seen, ssl.SSLCertVerificationError):
            why = getattr(seen, "verify_message", None) or getattr(seen, "reason", None) or seen
            return f"the certificate could not be verified ({why})"
        if isinstance(seen, ssl.SSLError):
            return f"the TLS handshake failed ({getattr(seen, 'reason', None) or seen})"
        seen = seen.__cause__ or seen.__context__
    low = str(exc).lower()
    if "certificate_verify_failed" in low or "ssl" in low and "handshake" in low:
        return str(exc)[:200]
    return None


# (vendor, markers that must all appear) in a block page's lower-cased HTML; the first match names it.
_BLOCK_PAGES: tuple[tuple[str, tuple[bytes, ...]], ...] = (
    ("Cloudflare", (b"cloudflare", b"ray id")),
    ("Cloudflare", (b"cloudflare", b"attention required")),
    ("Cloudflare", (b"cloudflare", b"you have been blocked")),
    ("Akamai", (b"access denied", b"permission to access", b"reference")),
    ("Akamai", (b"access denied", b"edgesuite")),
    ("AWS CloudFront/WAF", (b"cloudfront", b"request could not be satisfied")),
    ("Imperva/Incapsula", (b"incapsula",)),
    ("Sucuri", (b"sucuri website firewall",)),
    ("a web application firewall", (b"request rejected", b"support id")),
    ("a web application firewall", (b"web application firewall",)),
    ("a web application firewall", (b"request blocked",)),
)


def block_page_vendor(body: bytes) -> str | None:
    """Who served this HTML block page (Cloudflare, Akamai, a WAF), or None when it is not one."""
    low = body[:65536].lower()
    return next((vendor for vendor, marks in _BLOCK_PAGES if all(m in low for m in marks)), None)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def classify_status(status: int, body: bytes, content_type: str, url: str,
                    proxy: str | None = None) -> list[Finding]:
    """Findings for an HTTP answer; [] for a good 2xx. `proxy`: the proxy the request went through, if any."""
    detail = error_detail(body, content_type)
    said = f" The server said: {detail}" if detail else ""
    html = looks_html(body, content_type)
    out: list[Finding] = []
    if status in (301, 302, 303, 307, 308):
        return [finding("http.unexpected", f"HTTP {status} redirect without a usable Location header.")]
    if status == 407:
        # A plain-HTTP proxy answers 407 itself (through CONNECT, httpx raises ProxyError instead).
        return [finding("net.proxy", f"HTTP 407 Proxy Authentication Required{' from ' + proxy if proxy else ''}: "
                        "the proxy wants credentials before it forwards anything to The Grid.",
                        fix="Put the proxy's user and password in its URL (HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT) "
                        "or ask your network admin; set NO_PROXY=api.thegrid.ai if no proxy is needed.")]
    vendor = block_page_vendor(body) if html and status >= 400 else None
    if vendor is not None:
        return [finding("http.blocked", f"HTTP {status} with a block page from {vendor} ({detail}): the request was "
                        "stopped before The Grid's API, so this says nothing about your key.")]
    if 200 <= status < 300:
        if html:
            return [finding("http.html_body", f"HTTP {status} with an HTML page ({detail or 'no title'}) instead of "
                            "JSON: a proxy, captive portal or website answered.")]
        data = parse_json(body)
        if data is None:
            kind = "truncated or invalid JSON" if body.lstrip()[:1] in (b"{", b"[") else "a body that is not JSON"
            return [finding("http.unexpected", f"HTTP {status} with {kind} ({len(body)} bytes).")]
        return []
    if status >= 500 and html and status != 503:
        return _html_5xx(status, detail, url, proxy)
    code = (body_code(body) if status in (400, 422) and not html else None) or _status_code(status, detail.lower(), html)
    out.append(finding(code, f"HTTP {status}{' at ' + url if status == 404 else ''}.{said}",
                       **({"severity": "error"} if code.startswith("body.") else {})))
    if html:
        out.append(finding("http.html_body", f"The {status} came as an HTML page ({detail}), not The Grid's JSON "
                           "error: a proxy or load balancer answered.", severity="warning"))
    return out


# The machine-readable code of a 400/422 body (`errors.code`, or `error.code` in the older shape) -> the finding
# that names the part of the body at fault. Without one, the status's own code stands (http.bad_request...).
BODY_CODES = {"unknown_parameter": "body.unknown_param", "unrecognized_request_argument": "body.unknown_param",
              "out_of_range": "body.out_of_range", "invalid_tool_schema": "body.tool_schema",
              "unsupported_response_format": "body.response_format",
              "context_length_exceeded": "body.context_length", "missing_required_parameter": "body.missing_field"}


def body_code(body: bytes) -> str | None:
    """The body.* finding an error body's own code names, or None."""
    data = parse_json(body)
    if not isinstance(data, dict):
        return None
    for key in ("errors", "error"):
        err = data.get(key)
        if isinstance(err, dict) and isinstance(err.get("code"), str):
            return BODY_CODES.get(err["code"])
    return None


# A status whose meaning needs no reading of the body (402 and 404 do; see _status_code).
_BY_STATUS = {400: "http.bad_request", 401: "auth.rejected", 403: "auth.forbidden", 408: "http.timeout",
              409: "http.conflict", 413: "http.too_large", 422: "http.unprocessable", 429: "http.rate_limited"}


def _status_code(status: int, low_detail: str, html: bool) -> str:
    """The finding code of an error status (not 2xx, 407, redirects or HTML 5xx pages, handled before)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status == 402:
        return "balance.instrument_unavailable" if ("instrument" in low_detail or "token" in low_detail) \
            else "balance.credits_empty"
    if status == 404:
        about_model = any(w in low_detail for w in ("model", "instrument")) and not html
        return "model.not_found" if about_model else "http.not_found_path"
    if status == 503 and not html:
        return "http.replenishing"
    return "http.server_error" if status >= 500 else "http.unexpected"


def _html_5xx(status: int, detail: str, url: str, proxy: str | None) -> list[Finding]:
    """A 5xx HTML page: whoever wrote the page is who the title and the fix both name."""
    if proxy:
        # Through a configured proxy, the proxy is the likeliest author of an HTML error page.
        return [finding("net.proxy", f"HTTP {status} as an HTML page ({detail}) while the proxy {proxy} is in use: "
                        "the proxy answered with its own page instead of The Grid's JSON (it could not reach or "
                        "get an answer from The Grid).",
                        fix="Check the proxy (its logs show why), or bypass it: NO_PROXY=api.thegrid.ai. Check "
                        "https://status.thegrid.ai in case The Grid itself is down."),
                finding("http.html_body", f"The {status} page came from the proxy {proxy}, not The Grid.",
                        severity="warning")]
    host = _host(url)
    return [finding("http.server_error", f"HTTP {status} as an HTML page ({detail}) from the gateway at {host}: "
                    "the load balancer in front of the API answered because the API behind it did not.",
                    fix=f"The failure is on {host}'s side, not in your request: retry with backoff and check "
                    "https://status.thegrid.ai. If that host is your own gateway, check its upstream."),
            finding("http.html_body", f"The {status} came as an HTML page ({detail}) from the load balancer at {host}, "
                    "not as The Grid's JSON error.", severity="warning")]
