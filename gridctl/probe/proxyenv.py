"""Proxy settings from the environment that cannot work: net.proxy naming the variable, not a crash.

httpx raises while building its client for some (`socks5://` without the socks extra, `ftp://`,
`http://[::1`), and fails later in odd ways for others (port 99999 -> OverflowError in connect).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from gridctl.findings import Finding, finding

VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_SCHEMES = ("http", "https", "socks5", "socks5h")


def shown(value: str) -> str:
    """A proxy URL fit to print: no user name or password, at most 100 characters."""
    return re.sub(r"//[^@/]*@", "//…@", value)[:100]


def why_unusable(value: str) -> str | None:
    """Why this proxy URL cannot be used, or None when it looks usable."""
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value.strip()):
        return "it has a space or a control character in it"
    url = value.strip() if "://" in value else "http://" + value.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in _SCHEMES:
        return f"the scheme {parts.scheme}:// is not a proxy scheme (use http://, https:// or socks5://)"
    if not parts.hostname:
        return "it names no host"
    if port is not None and not 0 < port < 65536:
        return f"port {port} is out of range"
    if parts.scheme.lower().startswith("socks"):
        import importlib.util

        if importlib.util.find_spec("socksio") is None:
            return "SOCKS proxies need the socks extra (pip install 'httpx[socks]')"
    try:
        import httpx

        httpx.Proxy(url)
    except (ValueError, TypeError, ImportError, httpx.InvalidURL) as exc:
        return str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
    return None


def proxy_problem() -> Finding | None:
    """net.proxy for the first proxy variable that cannot work, or None."""
    for name in VARIABLES:
        value = os.environ.get(name)
        if not value:
            continue
        why = why_unusable(value)
        if why is not None:
            return finding("net.proxy", f"The proxy setting {name}={shown(value)} cannot be used: {why}. Nothing "
                           "was sent.", fix=f"Fix {name} (for example http://proxy.example:3128), or unset it if no "
                           "proxy is needed.", variable=name)
    return None


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
    try:
        p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
        port = p.port
    except ValueError:  # port 99999, `http://[::1`: proxy_problem() reports it as net.proxy naming the variable
        return shown(proxy)
    return f"{p.scheme}://{p.hostname}{':' + str(port) if port else ''}"
