"""gridctl auth: lint the header (offline); login, status, logout, token for the stored key."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import auth_app
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
    # the header as given, with the key itself replaced by its fingerprint
    shown = header.strip()
    if result.key:
        shown = shown.replace(result.key, fingerprint(result.key))
    check = CheckResult("auth", "Auth header", result.findings, duration_ms=timer.ms(),
                        data={"header": result.name, "key": fingerprint(result.key), "source": source, "api": api})
    report = Report("auth lint", [check], target={"api": api, "key": f"{fingerprint(result.key)} ({source})"})
    return opts.finish(report, header=f"gridctl auth lint ({source})", footer=[f"header: {shown}"])


@command(auth_app, "login", profile=True, cmd_name="auth login",
         help="Store a consumption key in the OS keyring (prompted without echo, or --api-key-stdin).")
def login_cmd(
    opts: Opts,
    api_key_stdin: Annotated[bool, typer.Option("--api-key-stdin", help="Read the key from standard input.")] = False,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Also save this base URL in the profile.",
                                                 show_default=False)] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Store without checking the key with a ping.")] = False,
    insecure_storage: Annotated[bool, typer.Option("--insecure-storage", help="Without a working keyring, "
                                                   "write the key to a 0600 plain-text file.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Budget for the verifying ping (s).")] = 10.0,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt; without a keyring, "
                                           "--insecure-storage is then required.")] = False,
) -> int:
    from gridctl.cli.credentials import login

    return login(opts, api_key_stdin=api_key_stdin, base_url=base_url, verify=not no_verify,
                 insecure_storage=insecure_storage, timeout=timeout, no_input=no_input)


@command(auth_app, "token", profile=True, cmd_name="auth token",
         help='Print the key in effect, for scripts: export THEGRID_API_KEY="$(gridctl auth token)". '
              "Refuses a terminal unless --show.")
def token_cmd(
    opts: Opts,
    show: Annotated[bool, typer.Option("--show", help="Print the key even when stdout is a terminal.")] = False,
) -> int:
    from gridctl.cli.credentials import token

    return token(opts, on_terminal=show)


@command(auth_app, "status", target=True, cmd_name="auth status",
         help="Which key is in effect, where it came from, and whether it authenticates.")
def status_cmd(
    opts: Opts,
    offline: Annotated[bool, typer.Option("--offline", help="Do not ping; only show where things come from.")] = False,
) -> int:
    from gridctl.cli.credentials import status

    return status(opts, offline=offline)


@command(auth_app, "logout", profile=True, cmd_name="auth logout", help="Remove the stored key of a profile.")
def logout_cmd(opts: Opts) -> int:
    from gridctl.cli.credentials import logout

    return logout(opts)
