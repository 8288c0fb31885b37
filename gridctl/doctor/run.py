"""doctor as one call: --emulate, the flow, the support report file. Was cli/doctor_run.py.

`emulated()` hands back overridden Settings (the built-in emulator's URLs and demo key) instead
of poking the CLI's cached settings; `run_doctor()` returns the Report and never prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from gridctl import context
from gridctl.doctor.flow import Plan, run
from gridctl.doctor.support import write_report
from gridctl.emulator.scenarios import DEMO_KEY, SCENARIOS
from gridctl.errors import UsageError
from gridctl.result import Report
from gridctl.settings import Flags, Settings, Sourced, from_env


@contextlib.contextmanager
def emulated(flags: Flags, scenario: str) -> Iterator[Settings]:
    """Settings pointing at a built-in emulator on a free loopback port, with the demo key."""
    from gridctl.emulator.server import start  # the server only when asked for

    if scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; `gridctl emulator list` shows them")
    with start(scenario=scenario) as emu:
        # The user's own key never goes to the emulator: only an explicit --api-key does.
        settings = from_env(replace(flags, base_url=flags.base_url or emu.base_url, status_url=emu.root_url,
                                    api_key=flags.api_key or DEMO_KEY, api_key_stdin=False))
        if flags.api_key is None:  # labelled as what it is, not as "from flag --api-key"
            settings = replace(settings, _key=Sourced(DEMO_KEY, "the emulator's demo key, --emulate"))
        yield settings


def read_body(path: Path | None) -> str | None:
    """The --body file's text, bounded (`--body /dev/zero` is an error, not a hang); unreadable is a usage error."""
    if path is None:
        return None
    from gridctl.localfile import LocalFileError, read_limited

    try:
        return read_limited(path).decode("utf-8")
    except LocalFileError as exc:
        raise UsageError(f"--body {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--body {path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None


def run_doctor(settings: Settings, *, stream: bool, body: str | None, report_file: Path | None,
               emulate: str | None, retries: int, idle_warn: float,
               on_step: Callable[[str], None] | None = None) -> Report:
    plan = Plan(settings=settings, target=context.target(settings), status_url=settings.status_url.value or "",
                timeout=settings.timeout, retries=retries, stream=stream, idle_warn_s=idle_warn, body=body,
                on_step=on_step)
    report = run(plan)
    if emulate:
        report.extra["emulated"] = emulate
    if report_file is not None:
        report.human["report_file"] = report_file  # the support message says "attached" only then
        sources = {name: f"{getattr(settings, name).value} ({getattr(settings, name).source})"
                   for name in ("base_url", "model", "status_url", "api", "profile")}
        sources["key"] = str(report.target.get("key"))
        try:
            write_report(report, report_file, sources)
        except OSError as exc:
            raise UsageError(f"--report {report_file}: cannot write ({exc.strerror})") from None
    return report
