"""The one-line errors of a command that could not run (parser errors, bugs outside a guard)."""

from __future__ import annotations


def parser_error(message: str, command: str) -> str:
    """`Invalid value for '--api': ... (see `gridctl url --help`)`: the parser's words, one line."""
    see = f"gridctl {command} --help" if command != "gridctl" else "gridctl --help"
    return f"{message.replace(chr(10), ' ')} (see `{see}`)"


def internal_error(exc: BaseException, report: bool = False) -> str:
    tail = "(run with -v for details; please report it)" if report else "(run with -v for details)"
    return f"internal error: {exc.__class__.__name__}: {exc} {tail}"
