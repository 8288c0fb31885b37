"""gridctl trace: run your own program through a loopback recording proxy; diagnose every call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command
from gridctl.errors import UsageError

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
                                                "scenario instead of The Grid.", show_default=False)] = None,
    har: Annotated[Path | None, typer.Option("--har", help="Write every call, redacted, as a HAR 1.2 file.",
                                             show_default=False)] = None,
    exit_code: Annotated[str, typer.Option("--exit-code", help="child: CMD's own exit code; diagnosis: "
                                           "gridctl's (contract exit codes).")] = "child",
    listen: Annotated[str | None, typer.Option("--listen", help="[HOST:]PORT to listen on (default a free "
                                               "loopback port); a non-loopback HOST needs --yes.",
                                               show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm listening on a non-loopback address.")] = False,
    upstream_timeout: Annotated[float, typer.Option("--upstream-timeout", help="Seconds the proxy waits on "
                                                    "the upstream (connect 10 s, then per read).")] = 300.0,
    idle_warn: Annotated[float, typer.Option("--idle-warn", help="Warn on stream gaps this long (s).")] = 5.0,
) -> int:
    from gridctl.trace.main import TraceOptions, stderr_say, trace
    from gridctl.trace.session import ChildError

    argv = list(cmd or [])
    host, port = _checked(argv, exit_code, listen, yes, upstream_timeout, emulate)
    topts = TraceOptions(argv=argv, env=dict(os.environ), emulate=emulate, har=har, host=host, port=port,
                         timeout=upstream_timeout, idle_warn_s=idle_warn, json=opts.out.json)
    child_stdout = None
    if opts.out.json:
        try:
            child_stdout = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # a captured stderr (tests): the child's output is dropped
            child_stdout = subprocess.DEVNULL
    try:
        report, code, calls = trace(topts, stderr_say, child_stdout)
    except ChildError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot start the proxy on {host}:{port}: {exc.strerror or exc}") from None
    from gridctl.render.trace import summary_lines

    if not opts.out.json:
        for line in summary_lines(report, calls, code):
            stderr_say(line)
    diagnosis_code = opts.finish(report) if opts.out.json else int(report.exit_code)
    if exit_code == "diagnosis" or code is None:
        return diagnosis_code
    return code


def _checked(argv: list[str], exit_code: str, listen: str | None, yes: bool, upstream_timeout: float,
             emulate: str | None) -> tuple[str, int]:
    """The options' usage errors; the address to listen on."""
    from gridctl.trace.main import is_loopback, parse_listen

    if exit_code not in ("child", "diagnosis"):
        raise UsageError("--exit-code must be child or diagnosis")
    if not argv and listen is None:
        raise UsageError("give a command after `--`, or --listen [HOST:]PORT to run the proxy alone")
    if not 0 < upstream_timeout <= 3600:
        raise UsageError("--upstream-timeout must be between 0 and 3600 seconds")
    if emulate is not None:
        from gridctl.emulator.scenarios import SCENARIOS

        if emulate not in SCENARIOS:
            raise UsageError(f"unknown scenario {emulate!r}; `gridctl emulator list` shows them")
    if listen is None:
        return "127.0.0.1", 0
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not is_loopback(host) and not yes and not (sys.stdin.isatty() and typer.confirm(
            f"Listen on {host}, reachable from other machines, with your key passing through?")):
        raise UsageError(f"--listen {host}: not a loopback address; add --yes to confirm")
    return host, port
