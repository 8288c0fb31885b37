"""`gridctl explain`: the table of codes (--list, a code, a status), or the diagnosis of a pasted text.

Everything shown was redacted by gridctl/lint/errors.py before it got here, and passes esc()
(secrets.scrub) again on the way out.
"""

from __future__ import annotations

from typing import Any

from gridctl.findings import CATALOGUE, UNSURE_HEADING, UNSURE_NEXT, Entry
from gridctl.report import Output, console, esc
from gridctl.result import Report


def render(report: Report, out: Output) -> None:
    con = console(out)
    cause = report.root_cause()
    matches: list[dict[str, Any]] = report.extra.get("matches", [])
    facts: dict[str, Any] = report.extra.get("facts", {})
    if cause is None:
        con.print("[bold]Nothing in this text matches a known failure.[/]")
        seen = recognised(facts)
        con.print(f"  recognised: {esc(seen)}" if seen else "  recognised: nothing (no status, URL, host, "
                  "model or error message gridctl knows)")
        con.print("  next: run `gridctl doctor` to test the whole path to The Grid step by step.")
        return
    entry = cause.entry
    if report.candidates:
        # not certain (issue 20): the candidates, most likely first, and the command that settles it
        status = report.human.get("unsure_status") or ""
        con.print(f"[bold]{esc(UNSURE_HEADING.format(status=status).lstrip(': '))}[/]  [dim](exit {int(report.exit_code)})[/]")
        for n, f in enumerate(report.candidates, 1):
            con.print(f"  {n}. {esc(f.code):32} {esc(f.entry.title)}")
        if report.next_step:
            con.print(f"  [bold]next:[/]  {esc(UNSURE_NEXT.format(next=report.next_step))}")
    else:
        con.print(f"[bold]{esc(cause.code)}[/]  {esc(entry.title)}  [dim](exit {int(report.exit_code)})[/]")
    con.print(f"  [bold]cause:[/] {esc(cause.message)}")
    con.print(f"  [cyan]fix:[/]   {esc(cause.fix)}")
    if matches:
        top = matches[0]
        where = f"line {top['line']}: " if top["line"] else ""
        con.print(f"  [dim]matched:[/] {esc(where)}[dim]{esc(repr(top['quote']))}[/]")
        via = str(top["via"])
        if via.startswith("text (") and via.endswith(")"):  # the JSON keeps every source; a person needs the first
            via = "a known error text (" + via[6:-1].split("; ")[0] + ")"
        con.print(f"  [dim]by:[/]      {esc(via)}")
    if entry.doc:
        con.print(f"  [dim]docs:[/]    {esc(entry.doc)}")
    for rid in report.request_ids[:3]:
        con.print(f"  request ID: {esc(rid)} (send it to support with the time of the call)")
    others = matches[1:]
    if others:
        con.print("[bold]Also possible[/]")
        for m in others:
            con.print(f"  {esc(m['code']):32} {esc(CATALOGUE[m['code']].title)} [dim](line {m['line']})[/]")
    seen = recognised(facts)
    if seen:
        con.print(f"[dim]recognised: {esc(seen)}[/]")


def recognised(facts: dict[str, Any]) -> str:
    parts = []
    for key, label in (("statuses", "status"), ("urls", "URL"), ("hosts", "host"), ("models", "model"),
                       ("request_ids", "request ID"), ("headers", "header")):
        values = facts.get(key) or []
        if values:
            parts.append(f"{label} {', '.join(str(v) for v in values[:3])}")
    keys = facts.get("keys") or []
    if keys:
        parts.append("key " + ", ".join(f"{k['kind']} {k['key']}" for k in keys[:2]))
    return "; ".join(parts)


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
