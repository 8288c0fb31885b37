"""gridctl doctor: the whole "is it me or The Grid?" flow as one report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, UsageError, command


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
                                                "scenario (see `gridctl emulator list`).", show_default=False)] = None,
    retries: Annotated[int, typer.Option("--retries", help="Retries for 402/429/5xx/connection errors.")] = 2,
    idle_warn: Annotated[float, typer.Option("--idle-warn", help="With --stream: warn on gaps this long (s).")] = 5.0,
) -> int:
    from gridctl.cli.doctor_run import run_doctor

    if retries < 0 or retries > 10:
        raise UsageError("--retries must be between 0 and 10")
    body_text = None
    if body is not None:
        from gridctl.localfile import LocalFileError, read_limited

        try:
            body_text = read_limited(body).decode("utf-8")  # bounded: --body /dev/zero is an error, not a hang
        except LocalFileError as exc:
            raise UsageError(f"--body {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--body {body}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return run_doctor(opts, stream=stream, body=body_text, report_file=report_file, emulate=emulate,
                      retries=retries, idle_warn=idle_warn)
