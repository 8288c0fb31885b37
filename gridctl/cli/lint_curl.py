"""gridctl lint-curl: every offline lint on a pasted curl command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "lint-curl", help="Paste a failing curl command; lints its URL, headers and body, offline.")
def lint_curl_cmd(
    opts: Opts,
    curl: Annotated[str, typer.Argument(help="The whole command, quoted: 'curl https://... -H ...'. "
                                        "'-' reads it from standard input.")],
) -> int:
    from gridctl.lint.curl import curl_report
    from gridctl.render import Text

    report = curl_report(sys.stdin.read() if curl == "-" else curl)
    return opts.show(report, Text("gridctl lint-curl"))
