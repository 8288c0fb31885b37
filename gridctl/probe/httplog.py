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

from gridctl.secrets import redact_header, redact_url

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


def headers(mark: str, items: Iterable[tuple[str, str]]) -> None:
    if _sink is None:
        return
    for name, value in items:
        shown = redact_url(value) if name.lower() in ("location", "content-location") else redact_header(name, value)
        emit(mark, f"{name}: {shown}")
