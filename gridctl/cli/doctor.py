"""gridctl doctor: the whole "is it me or The Grid?" flow as one report."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import RETRIES, Opts, command, complete_scenario


@command(app, "doctor", target=True, help="Walk The Grid's troubleshooting flow; end with the root cause, "
         "the fix and the request ID for support.")
def doctor_cmd(
    opts: Opts,
    stream: Annotated[bool, typer.Option("--stream", help="Also check SSE streaming end to end.")] = False,
    body: Annotated[Path | None, typer.Option("--body", help="Lint the request body your client sends (JSON file).",
                                              show_default=False)] = None,
    report_file: Annotated[Path | None, typer.Option("--report", help="Write a redacted support report "
                                                     "(Markdown, or JSON for *.json).", show_default=False)] = None,
    emulate: Annotated[str | None, typer.Option("--emulate", help="Run against the built-in emulator with this "
                                                "scenario (see `gridctl emulator list`).", show_default=False,
                                                autocompletion=complete_scenario)] = None,
    retries: Annotated[int, RETRIES] = 2,
    idle_warn: Annotated[float, typer.Option("--idle-warn", help="With --stream: warn on gaps this long (s).")] = 5.0,
) -> int:
    from gridctl.doctor.flow import FIRST_ROUND
    from gridctl.doctor.run import emulated, read_body, run_doctor
    from gridctl.render.doctor import doctor
    from gridctl.render.progress import progress

    body_text = read_body(body)
    with contextlib.ExitStack() as stack:
        settings = stack.enter_context(emulated(opts.flags, emulate)) if emulate else opts.settings
        with progress(opts.out, "doctor", FIRST_ROUND) as on_step:
            report = run_doctor(settings, stream=stream, body=body_text, report_file=report_file, emulate=emulate,
                                retries=retries, idle_warn=idle_warn, on_step=on_step)
        return opts.show(report, doctor(report))
