"""gridctl auth: lint the header (offline); login, status, logout, token for the stored key."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import auth_app
from gridctl.cli.common import Opts, command
from gridctl.errors import UsageError


@command(auth_app, "lint", target=True, cmd_name="auth lint",
         help="Lint an auth header, offline; without HEADER, the one gridctl would send.")
def lint_cmd(
    opts: Opts,
    header: Annotated[str | None, typer.Argument(help="e.g. 'Authorization: Bearer ...'; quote it.",
                                                 show_default=False)] = None,
) -> int:
    from gridctl import auth
    from gridctl.render import auth as text

    report = auth.lint(opts.settings, header)
    return opts.show(report, text.lint(report))


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
    from gridctl import auth
    from gridctl.render import auth as text

    report = auth.login_flow(opts.settings, from_stdin=api_key_stdin, no_input=no_input, json=opts.out.json,
                             insecure_storage=insecure_storage, base_url=base_url, verify=not no_verify,
                             timeout=timeout, agree=lambda plan: text.agree_to_file(plan, opts.out))
    text.warn_login(report, opts.out)
    return opts.show(report, text.login(report))


@command(auth_app, "token", profile=True, cmd_name="auth token",
         help='Print the key in effect, for scripts: export THEGRID_API_KEY="$(gridctl auth token)". '
              "Refuses a terminal unless --show.")
def token_cmd(
    opts: Opts,
    show: Annotated[bool, typer.Option("--show", help="Print the key even when stdout is a terminal.")] = False,
) -> int:
    from gridctl import auth
    from gridctl.render import auth as text
    from gridctl.report import print_key

    if opts.out.json:  # the bare key never goes into a JSON document (or a report built from one)
        raise UsageError(text.token_no_json())
    key = auth.token(opts.settings)
    if opts.out.stdout.isatty() and not show:
        raise UsageError(text.token_on_terminal())
    print_key(key, opts.out)
    return 0


@command(auth_app, "status", target=True, cmd_name="auth status",
         help="Which key is in effect, where it came from, and whether it authenticates.")
def status_cmd(
    opts: Opts,
    offline: Annotated[bool, typer.Option("--offline", help="Do not ping; only show where things come from.")] = False,
) -> int:
    from gridctl import auth
    from gridctl.render import auth as text

    report = auth.status(opts.settings, offline=offline)
    return opts.show(report, text.status(report))


@command(auth_app, "logout", profile=True, cmd_name="auth logout", help="Remove the stored key of a profile.")
def logout_cmd(opts: Opts) -> int:
    from gridctl import auth
    from gridctl.render import auth as text

    report = auth.logout(opts.settings)
    return opts.show(report, text.logout(report))
