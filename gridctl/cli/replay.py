"""gridctl replay: re-send a recorded call, shrink a failing one, or diff it against gridctl's ping."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command, complete_scenario

if TYPE_CHECKING:
    from gridctl.settings import Settings

HELP = ("Re-send a call recorded by `trace --har`; shrink a failing one to the field that breaks it "
        "(--minimize), or diff it against gridctl's own ping (--diff).")
EPILOG = ("The key comes from gridctl's own settings (--api-key, THEGRID_API_KEY, profile, keyring) and goes only "
          "where `gridctl ping` would send it; a HAR recorded against another host is replayed on The Grid's host "
          "(or --base-url). --minimize sends at most --max-requests requests with max_tokens 1 and streaming off, "
          "asks first on a terminal (--yes for scripts; none under --emulate).")


@command(app, "replay", target=True, help=HELP, epilog=EPILOG)
def replay_cmd(
    opts: Opts,
    har: Annotated[Path, typer.Argument(help="The HAR file (`gridctl trace --har FILE`).", show_default=False,
                                        metavar="FILE.har")],
    call: Annotated[int | None, typer.Option("--call", help="The call to replay (1-based; default: the first "
                                             "failing one).", min=1, show_default=False)] = None,
    emulate: Annotated[str | None, typer.Option("--emulate", help="Replay against the built-in emulator with this "
                                                "scenario.", show_default=False,
                                                autocompletion=complete_scenario)] = None,
    minimize: Annotated[bool, typer.Option("--minimize", help="Shrink the failing call to the smallest request "
                                           "that still fails, and the change that makes it pass.")] = False,
    max_requests: Annotated[int, typer.Option("--max-requests", help="At most this many requests for --minimize.",
                                              min=1, max=1000)] = 32,
    diff: Annotated[bool, typer.Option("--diff", help="Compare the call with gridctl's own working ping: URL, "
                                       "headers, body fields.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --minimize's requests without asking.")] = False,
) -> int:
    from gridctl.errors import UsageError

    if minimize and diff:
        raise UsageError("--minimize and --diff exclude each other")
    if emulate is None:
        return _run(opts, opts.settings, har, call, minimize, max_requests, diff, yes, None)
    from gridctl.doctor.run import emulated

    with emulated(opts.flags, emulate) as settings:
        return _run(opts, settings, har, call, minimize, max_requests, diff, True, emulate)


def _run(opts: Opts, settings: Settings, har: Path, call: int | None, minimize: bool, max_requests: int, diff: bool,
         yes: bool, emulate: str | None) -> int:
    from gridctl.render import replay as render
    from gridctl.replay.main import minimize_report, plan, replay_report
    base = settings.base_url.value if settings.base_url.source.startswith("flag") else None
    p = plan(settings, har, call, base, emulate)
    if diff:
        from gridctl.replay.diff import diff_report

        report = diff_report(settings, p, base)
        return opts.show(report, render.diff_text(report))
    if minimize:
        _confirm(opts, p.dest.url, max_requests, yes)
        report = minimize_report(settings, p, max_requests)
        return opts.show(report, render.minimize_text(report))
    report = replay_report(settings, p)
    return opts.show(report, render.replay_text(report))


def _confirm(opts: Opts, url: str, max_requests: int, yes: bool) -> None:
    """Announce the total and ask on a terminal; a script must say --yes."""
    if yes:
        return
    from urllib.parse import urlsplit

    from gridctl.errors import UsageError

    host = urlsplit(url).netloc
    question = (f"replay --minimize will send up to {max_requests} requests to {host} (max_tokens 1, no streaming); "
                "each costs like one small call. Go on?")
    stdin = sys.stdin
    if stdin is None or not stdin.isatty() or opts.out.json:
        why = "--json asks nothing" if opts.out.json else "no terminal to ask on"
        raise UsageError(f"--minimize would send up to {max_requests} requests to {host}: confirm with --yes "
                         f"({why})")
    from gridctl.prompts import confirm

    if not confirm(question, opts.out):
        raise UsageError("--minimize: not confirmed; nothing was sent")
