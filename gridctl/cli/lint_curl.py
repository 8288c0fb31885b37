"""gridctl lint-curl: every offline lint on a pasted curl command."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, UsageError, command
from gridctl.result import CheckResult, Report, Timer


@command(app, "lint-curl", help="Paste a failing curl command; lints its URL, headers and body, offline.")
def lint_curl_cmd(
    opts: Opts,
    curl: Annotated[str, typer.Argument(help="The whole command, quoted: 'curl https://... -H ...'. "
                                        "'-' reads it from standard input.")],
) -> int:
    from gridctl.lint.curl import CurlSyntaxError, lint_curl
    from gridctl.localfile import LocalFileError, read_stdin

    try:
        text = read_stdin(what="standard input (-)") if curl == "-" else curl
    except LocalFileError as exc:
        raise UsageError(str(exc)) from None
    timer = Timer()
    try:
        cmd, findings = lint_curl(text)
    except CurlSyntaxError as exc:
        raise UsageError(str(exc)) from None
    groups = {"url": ("Base URL", "url."), "auth": ("Auth header", "auth."), "model": ("Instrument", "model."),
              "body": ("Request body", "body."), "redirect": ("Redirects", "http.")}
    checks = [CheckResult(cid, title, [f for f in findings if f.code.startswith(prefix)])
              for cid, (title, prefix) in groups.items()]
    checks[0].duration_ms = timer.ms()
    checks[0].data = {"url": cmd.url, "method": cmd.method or ("POST" if cmd.body else "GET"),
                      "follows_redirects": cmd.follow}
    return opts.finish(Report("lint-curl", checks, target={"base_url": cmd.url}), header="gridctl lint-curl")
