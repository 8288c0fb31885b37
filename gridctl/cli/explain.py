"""gridctl explain: the error table, by code, HTTP status or phrase."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "explain", help="Explain a finding code, an HTTP status or an error phrase: cause and fix.")
def explain_cmd(
    opts: Opts,
    query: Annotated[str | None, typer.Argument(help="e.g. 404, url.doubled_v1, 'connection refused'.",
                                                show_default=False)] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every code.")] = False,
) -> int:
    from gridctl.explain import entries_for, entry_doc
    from gridctl.render.explain import explain_lines
    from gridctl.report import print_markup, simple_envelope, write_json

    entries = entries_for(query, list_all)
    if opts.out.json:
        write_json(simple_envelope("explain", query=query, entries=[entry_doc(e) for e in entries]), opts.out)
        return 0
    print_markup(explain_lines(entries, list_all), opts.out)
    return 0
