"""gridctl lint-curl: every offline lint on a pasted curl command."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command
from gridctl.errors import UsageError


@command(app, "lint-curl", help="Paste a failing curl command; lints its URL, headers and body, offline.")
def lint_curl_cmd(
    opts: Opts,
    curl: Annotated[str, typer.Argument(help="The whole command, quoted: 'curl https://... -H ...'. "
                                        "'-' reads it from standard input.")],
) -> int:
    from gridctl.lint.curl import curl_report
    from gridctl.localfile import LocalFileError, read_stdin
    from gridctl.render import Text

    try:
        text = read_stdin(what="standard input (-)") if curl == "-" else curl
    except LocalFileError as exc:
        raise UsageError(str(exc)) from None
    report = curl_report(text)
    return opts.show(report, Text("gridctl lint-curl"))
