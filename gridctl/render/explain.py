"""explain's layout: a table of codes for --list, else cause / fix / docs per entry (rich markup)."""

from __future__ import annotations

from gridctl.findings import Entry
from gridctl.report import esc


def explain_lines(entries: list[Entry], list_all: bool) -> list[str]:
    if list_all:
        return [f"{e.code:34} {esc(e.title)}" for e in entries]
    lines: list[str] = []
    for n, e in enumerate(entries):
        if n:
            lines.append("")
        lines.append(f"[bold]{esc(e.code)}[/]  {esc(e.title)}  [dim](exit {int(e.exit_code)}, {e.severity})[/]")
        lines.append(f"  [bold]cause:[/] {esc(e.cause)}")
        lines.append(f"  [cyan]fix:[/]   {esc(e.fix)}")
        if e.doc:
            lines.append(f"  [dim]docs:[/]  {esc(e.doc)}")
    return lines
