"""gridctl explain: the error table, by code, HTTP status or phrase."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, UsageError, command


@command(app, "explain", help="Explain a finding code, an HTTP status or an error phrase: cause and fix.")
def explain_cmd(
    opts: Opts,
    query: Annotated[str | None, typer.Argument(help="e.g. 404, url.doubled_v1, 'connection refused'.",
                                                show_default=False)] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every code.")] = False,
) -> int:
    from gridctl.explain import lookup
    from gridctl.findings import CATALOGUE
    from gridctl.report import console, esc, simple_envelope, write_json

    if list_all:
        entries = list(CATALOGUE.values())
    elif query is None or not query.strip():
        raise UsageError("explain needs a code, an HTTP status or a phrase (or --list)")
    else:
        entries = lookup(query)
        if not entries:
            raise UsageError(f"nothing known about {query.strip()[:60]!r}; `gridctl explain --list` shows every code")
    docs = [{"code": e.code, "severity": e.severity, "title": e.title, "cause": e.cause, "fix": e.fix,
             "exit_code": int(e.exit_code), "doc": e.doc, "http_statuses": list(e.statuses)} for e in entries]
    if opts.out.json:
        write_json(simple_envelope("explain", query=query, entries=docs), opts.out)
        return 0
    con = console(opts.out)
    for n, e in enumerate(entries):
        if list_all:
            con.print(f"{e.code:34} {esc(e.title)}")
            continue
        if n:
            con.print("")
        con.print(f"[bold]{esc(e.code)}[/]  {esc(e.title)}  [dim](exit {int(e.exit_code)}, {e.severity})[/]")
        con.print(f"  [bold]cause:[/] {esc(e.cause)}")
        con.print(f"  [cyan]fix:[/]   {esc(e.fix)}")
        if e.doc:
            con.print(f"  [dim]docs:[/]  {esc(e.doc)}")
    return 0
