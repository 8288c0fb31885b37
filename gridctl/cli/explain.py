"""gridctl explain: the error table (code, status, family), or any pasted text, stdin or log -> diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "explain", help="Explain a finding code, an HTTP status, or any pasted error text, traceback, "
         "response body or log (TEXT, `-` for stdin, or --file LOG): cause, fix, exit code.")
def explain_cmd(
    opts: Opts,
    query: Annotated[str | None, typer.Argument(help="e.g. 404, url.doubled_v1, 'connection refused', a pasted "
                                                "error, or - to read standard input.", show_default=False)] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the text from a log file.",
                                              show_default=False)] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List every code.")] = False,
) -> int:
    import sys

    from gridctl.explain import explain
    from gridctl.render.explain import explain_lines, recognised, render
    from gridctl.report import closed_pipe, envelope, print_markup, write_json

    # Keys the user has set are registered by main() before anything runs: redacted here even without a key shape.
    stdin = getattr(sys.stdin, "buffer", None)  # None when stdin is closed (`<&-`)
    report = explain(query, file=file, stdin=stdin, piped=stdin is not None and not sys.stdin.isatty(),
                     list_all=list_all)
    try:
        if opts.out.json:
            doc = envelope(report)
            if "table" not in report.human and report.root_cause() is None:
                doc["recognised_text"] = recognised(report.extra.get("facts", {}))
            write_json(doc, opts.out)
        elif "table" in report.human:
            print_markup(explain_lines(report.human["table"], report.human["list_all"]), opts.out)
        elif not opts.out.quiet:
            render(report, opts.out)
        opts.out.stdout.flush()
    except BrokenPipeError:  # `gridctl explain ... | head -1`: the reader left; the diagnosis's exit code stands
        closed_pipe()
    return int(report.exit_code)
