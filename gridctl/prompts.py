"""Interactive questions that ask again on a wrong answer, instead of ending the command with exit 2."""

from __future__ import annotations

from collections.abc import Sequence

from gridctl.report import Output, error_line


def choose(question: str, choices: Sequence[str], default: str, out: Output | None = None) -> str:
    """One of `choices`; anything else is named and the question asked again (Ctrl-D/Ctrl-C abort)."""
    import typer

    while True:
        answer = str(typer.prompt(question, default=default)).strip()
        if answer in choices:
            return answer
        lowered = [c for c in choices if c.lower() == answer.lower()]
        if lowered:
            return lowered[0]
        error_line(f"{answer!r} is not one of {', '.join(choices)}; try again", out or Output())


def confirm(question: str, out: Output | None = None) -> bool:
    """yes/no, default no; anything else asks again."""
    return choose(f"{question} [y/N]", ("y", "yes", "n", "no"), "n", out) in ("y", "yes")


def allow_listen(host: str, yes: bool, question: str, option: str = "--listen") -> None:
    """The one rule for a server gridctl starts for the user (trace --listen, exporter): loopback by
    default; another address only with --yes, or a yes typed at a terminal. UsageError (exit 2) else."""
    import sys

    from gridctl.errors import UsageError
    from gridctl.grid import is_loopback_host

    if is_loopback_host(host) or yes:
        return
    if sys.stdin is not None and sys.stdin.isatty() and confirm(question):
        return
    raise UsageError(f"{option} {host}: not a loopback address; add --yes to confirm")
