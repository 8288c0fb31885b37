"""gridctl trace: run your own program through a loopback recording proxy; diagnose every call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command, complete_scenario

HELP = "Run your own program through a loopback recording proxy and diagnose every call it makes."
EPILOG = ("gridctl trace [OPTIONS] -- CMD [ARGS...] runs CMD with OPENAI_BASE_URL, OPENAI_API_BASE, "
          "ANTHROPIC_BASE_URL and THEGRID_BASE_URL pointed at the proxy (your own path kept), one line per call "
          "on stderr. Exit code: CMD's own (like `time`), or gridctl's diagnosis with --exit-code diagnosis. "
          "Without CMD, --listen serves until Ctrl-C. With --json, CMD's stdout goes to stderr so stdout holds "
          "only the JSON document.")


@command(app, "trace", help=HELP, epilog=EPILOG, context_settings={"allow_interspersed_args": False})
def trace_cmd(
    opts: Opts,
    cmd: Annotated[list[str] | None, typer.Argument(help="The program to run, after `--`.", show_default=False,
                                                            metavar="-- CMD [ARGS]...")] = None,
    emulate: Annotated[str | None, typer.Option("--emulate", help="Forward to the built-in emulator with this "
                                                "scenario instead of The Grid.", show_default=False,
                                                autocompletion=complete_scenario)] = None,
    har: Annotated[Path | None, typer.Option("--har", help="Write every call, redacted, as a HAR 1.2 file.",
                                             show_default=False)] = None,
    exit_code: Annotated[Literal["child", "diagnosis"], typer.Option("--exit-code", help="child: CMD's own exit "
                                                                     "code; diagnosis: gridctl's (contract exit "
                                                                     "codes).")] = "child",
    listen: Annotated[str | None, typer.Option("--listen", help="[HOST:]PORT to listen on (default a free "
                                               "loopback port); a non-loopback HOST needs --yes.",
                                               show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm listening on a non-loopback address.")] = False,
    upstream_timeout: Annotated[float, typer.Option("--upstream-timeout", help="Seconds the proxy waits on "
                                                    "the upstream (connect 10 s, then per read).",
                                                    min=0.001, max=3600)] = 300.0,
    idle_warn: Annotated[float, typer.Option("--idle-warn", help="Warn on stream gaps this long (s).")] = 5.0,
) -> int:
    from gridctl.trace.main import exit_status, run_trace, trace_options

    topts = trace_options(list(cmd or []), dict(os.environ), emulate=emulate, har=har, listen=listen, yes=yes,
                          timeout=upstream_timeout, idle_warn_s=idle_warn, json=opts.out.json, exit_code=exit_code)
    result = run_trace(topts, verbose=opts.out.verbose)
    diagnosis = opts.finish(result.report) if opts.out.json else int(result.report.exit_code)
    return exit_status(topts, diagnosis, result.child_code, result.interrupted)
