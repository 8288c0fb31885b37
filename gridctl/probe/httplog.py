"""`-v`: the HTTP exchange on stderr, the way `curl -v` shows it, with every secret redacted.

Light on purpose (no httpx import): the CLI switches it on before any command module loads.
`Net` (probe/client.py) calls `emit()` at each step; nothing is printed unless `enable()` was called.
Redacted: the Authorization, x-api-key, Proxy-Authorization and Cookie values (a key's last four
characters stay, as everywhere), a `token`/`signature`/`key` query parameter (The Grid's signed
redirect URLs carry the credential there), and anything secrets.scrub() knows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie",
                            "api-key", "anthropic-api-key"})
SECRET_PARAMS = frozenset({"token", "signature", "sig", "key", "api_key", "x-amz-signature", "x-goog-signature"})
_sink: Callable[[str], None] | None = None


def enable(write: Callable[[str], None] | None = None) -> None:
    """Print the exchange from now on (to stderr unless `write` is given)."""
    global _sink
    _sink = write or _stderr


def disable() -> None:
    global _sink
    _sink = None


def enabled() -> bool:
    return _sink is not None


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def emit(mark: str, text: str) -> None:
    """One line: `*` a note, `>` what was sent, `<` what came back (curl's marks)."""
    if _sink is None:
        return
    from gridctl.secrets import scrub

    for line in text.splitlines() or [""]:
        _sink(scrub(f"{mark} {line}".rstrip()))


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url.split("?", 1)[0] + ("?…" if "?" in url else "")
    if not query:
        return url
    clean = [(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(clean, safe="/:")))


def redact_header(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    from gridctl.secrets import fingerprint

    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token"):
        return f"{scheme} {fingerprint(rest)}"
    return fingerprint(value)


def headers(mark: str, items: Iterable[tuple[str, str]]) -> None:
    if _sink is None:
        return
    for name, value in items:
        shown = redact_url(value) if name.lower() in ("location", "content-location") else redact_header(name, value)
        emit(mark, f"{name}: {shown}")
