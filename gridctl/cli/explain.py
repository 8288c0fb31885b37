"""gridctl explain: the error table (code, status, family), or any pasted text, stdin or log -> diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, UsageError, command

# keys gridctl may meet in pasted text because the user has them set: redacted even when they have
# no recognisable shape
_KEY_ENV = ("THEGRID_API_KEY", "THEGRIDAI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


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
    import os
    import sys

    from gridctl.secrets import register

    for name in _KEY_ENV:
        register(os.environ.get(name))
    if list_all:
        return _table(opts, None, list_all=True)
    if file is not None and query is not None:
        raise UsageError("give the text either as an argument or with --file, not both")
    if file is not None:
        return _from_file(opts, file)
    if query is None and not sys.stdin.isatty():
        query = "-"  # `app 2>&1 | gridctl explain`: the pipe is the text
    if query is None or not query.strip():
        raise UsageError("explain needs a code, an HTTP status, an error text, `-` (stdin) or --file LOG "
                         "(or --list)")
    if query.strip() == "-":
        from gridctl.lint.errors import explain_lines, read_stream

        return _text(opts, explain_lines(read_stream(getattr(sys.stdin, "buffer", sys.stdin))), None)
    from gridctl.explain import is_lookup

    if is_lookup(query):
        return _table(opts, query)
    from gridctl.lint.errors import explain_text

    return _text(opts, explain_text(query), query)


def _from_file(opts: Opts, file: Path) -> int:
    from gridctl.lint.errors import explain_lines, read_stream

    try:
        with file.open("rb") as fh:
            return _text(opts, explain_lines(read_stream(fh)), None)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc.__class__.__name__}") from None


def _text(opts: Opts, report: object, query: str | None) -> int:
    from gridctl.lint.errors import clean
    from gridctl.render.explain import recognised, render
    from gridctl.report import envelope, write_json
    from gridctl.result import Report

    assert isinstance(report, Report)
    shown = clean(query)[:200] if query is not None else None
    if report.root_cause() is None and query is not None:
        from gridctl.explain import lookup

        if lookup(query):  # a phrase from the table ("hangs", "streaming cuts off")
            return _table(opts, query)
    report.extra["query"] = shown
    cause = report.root_cause()
    report.extra["entries"] = [_entry_doc(f.code) for c in report.checks for f in c.findings]
    if cause is None and not report.extra.get("recognised"):
        # exit 2, one line: nothing at all (no status, URL, host, model, known message) was recognised
        raise UsageError("nothing recognised in the text (no status, URL, host, model or known error message); "
                         "`gridctl explain --list` shows every code, `gridctl doctor` tests the whole path")
    if opts.out.json:
        doc = envelope(report)
        if cause is None:
            doc["recognised_text"] = recognised(report.extra.get("facts", {}))
        write_json(doc, opts.out)
    elif not opts.out.quiet:
        render(report, opts.out)
    return int(report.exit_code)


def _entry_doc(code: str) -> dict[str, object]:
    from gridctl.findings import CATALOGUE

    e = CATALOGUE[code]
    return {"code": e.code, "severity": e.severity, "title": e.title, "cause": e.cause, "fix": e.fix,
            "exit_code": int(e.exit_code), "doc": e.doc, "http_statuses": list(e.statuses)}


def _table(opts: Opts, query: str | None, list_all: bool = False) -> int:
    from gridctl.explain import lookup
    from gridctl.findings import CATALOGUE
    from gridctl.lint.errors import clean
    from gridctl.report import console, esc, simple_envelope, write_json

    entries = list(CATALOGUE.values()) if list_all else lookup(query or "")
    if not entries:
        raise UsageError(f"nothing known about {clean(query or '').strip()[:60]!r}; `gridctl explain --list` "
                         "shows every code")
    docs = [_entry_doc(e.code) for e in entries]
    if opts.out.json:
        write_json(simple_envelope("explain", query=None if query is None else clean(query), entries=docs),
                   opts.out)
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
