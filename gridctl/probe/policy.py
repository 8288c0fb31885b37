"""Where the key may go: the checks every keyed request passes before and during its hops.

Pure and light (no httpx): probe/client.py applies them to every request, doctor and trace ask them
before any connection. Below client, ping and net in probe/'s order of imports.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from gridctl import grid
from gridctl.findings import Finding, finding


def no_contact(base_url: str, api: str = "chat") -> Finding | None:
    """Why nothing may be sent to this base URL (a look-alike host, or not a usable URL), or None."""
    from gridctl.lint.url import lint_url

    lint = lint_url(base_url, api=api)
    bad = [f for f in lint.findings if f.code in ("url.host_typo", "url.invalid") and f.severity == "error"]
    if lint.refuse_key or lint.host is None or bad:
        return bad[0] if bad else finding("url.invalid")
    if any(f.code == "url.insecure_scheme" for f in lint.findings):
        # Plain http to another machine: the key would cross the network (and any proxy) in clear text.
        return finding("url.insecure_scheme", f"The base URL uses http:// to {lint.host}; gridctl will not send "
                       "your key in clear text over the network (only to this machine).")
    return None


def signed_redirect(url: str) -> bool:
    """Does this redirect target carry The Grid's signed `token` query parameter (the second hop's credential)?"""
    try:
        return bool(parse_qs(urlsplit(url).query).get("token", [""])[0])
    except ValueError:
        return False


def may_carry_key(origin: str, target: str) -> bool:
    """The key follows a redirect only to the same host, or to a thegrid.ai host over https.

    Never to a URL with user information (`https://api.thegrid.ai@evil.com/`: the host is evil.com,
    and a client that reads it the other way round must not be the one holding the key).
    """
    try:
        o, t = urlsplit(origin), urlsplit(target)
        same_port = t.port == o.port
    except ValueError:  # a Location with a bad port or bracket: certainly not trusted with the key
        return False
    if "@" in t.netloc or "\\" in t.netloc:
        return False
    if (t.hostname or "") == (o.hostname or "") and same_port and (t.scheme == o.scheme or t.scheme == "https"):
        return True
    return t.scheme == "https" and grid.is_grid_host(t.hostname or "")
