"""gridctl auth: lint the header (offline); login, status, logout for the stored key."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli import auth_app
from gridctl.cli.common import Opts, api_of, command
from gridctl.result import CheckResult, Report, Timer


@command(auth_app, "lint", target=True, cmd_name="auth lint",
         help="Lint an auth header, offline; without HEADER, the one gridctl would send.")
def lint_cmd(
    opts: Opts,
    header: Annotated[str | None, typer.Argument(help="e.g. 'Authorization: Bearer ...'; quote it.",
                                                 show_default=False)] = None,
) -> int:
    from gridctl.cli.common import UsageError
    from gridctl.findings import finding
    from gridctl.lint.header import HeaderSyntaxError, lint_header
    from gridctl.secrets import fingerprint

    api = api_of(opts.flags.api)
    timer = Timer()
    settings = opts.settings
    if header is None:
        key = settings.key
        if not key.value:
            check = CheckResult("auth", "Auth header", [finding("config.no_key")], duration_ms=timer.ms())
            return opts.finish(Report("auth lint", [check], target=settings.target()))
        name = "x-api-key" if api == "messages" else "Authorization"
        header = f"{name}: {key.value}" if api == "messages" else f"Authorization: Bearer {key.value}"
        source = key.source
    else:
        source = "argument"
    try:
        result = lint_header(header, api=api)
    except HeaderSyntaxError as exc:
        raise UsageError(str(exc)) from None
    shown = f"{result.name}: {'Bearer ' if result.name.lower() == 'authorization' else ''}{fingerprint(result.key)}"
    check = CheckResult("auth", "Auth header", result.findings, duration_ms=timer.ms(),
                        data={"header": result.name, "key": fingerprint(result.key), "source": source, "api": api})
    report = Report("auth lint", [check], target={"api": api, "key": f"{fingerprint(result.key)} ({source})"})
    return opts.finish(report, header=f"gridctl auth lint ({source})", footer=[f"header: {shown}"])
