"""doctor's plumbing, kept out of the adapter: --emulate, progress on stderr, the report."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from gridctl.cli.common import Opts, UsageError


@contextlib.contextmanager
def emulated(opts: Opts, scenario: str | None) -> Iterator[None]:
    """Point the run at a built-in emulator on a free loopback port, with the demo key."""
    if scenario is None:
        yield
        return
    from gridctl.emulator.scenarios import DEMO_KEY, SCENARIOS
    from gridctl.emulator.server import start

    if scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; `gridctl emulator list` shows them")
    with start(scenario=scenario) as emu:
        flags = opts.flags
        # The user's own key never goes to the emulator: only an explicit --api-key does.
        opts.flags = replace(flags, base_url=flags.base_url or emu.base_url, status_url=emu.root_url,
                             api_key=flags.api_key or DEMO_KEY, api_key_stdin=False)
        opts._settings = None
        if flags.api_key is None:
            _label_demo_key(opts, DEMO_KEY)
        yield


def _label_demo_key(opts: Opts, demo_key: str) -> None:
    """The key doctor --emulate supplies is the emulator's demo key, not something the user passed."""
    from gridctl import secrets
    from gridctl.settings import Sourced

    secrets.register(demo_key)
    opts.settings._key = Sourced(demo_key, "the emulator's demo key, --emulate")


def run_doctor(opts: Opts, *, stream: bool, body: str | None, report_file: Path | None, emulate: str | None,
               retries: int, idle_warn: float) -> int:
    from gridctl import context
    from gridctl.doctor.flow import Plan, run
    from gridctl.doctor.support import closing_lines, write_report

    with emulated(opts, emulate):
        settings = opts.settings
        plan = Plan(settings=settings, target=context.target(settings), status_url=settings.status_url.value or "",
                    timeout=settings.timeout, retries=retries, stream=stream, idle_warn_s=idle_warn, body=body)
        with _progress(opts) as on_step:
            plan.on_step = on_step
            report = run(plan)
        if emulate:
            report.extra["emulated"] = emulate
        if report_file is not None:
            sources = {name: f"{getattr(settings, name).value} ({getattr(settings, name).source})"
                       for name in ("base_url", "model", "status_url", "api", "profile")}
            sources["key"] = str(report.target.get("key"))
            try:
                write_report(report, report_file, sources)
            except OSError as exc:
                raise UsageError(f"--report {report_file}: cannot write ({exc.strerror})") from None
        header = f"gridctl doctor{' (emulator: ' + emulate + ')' if emulate else ''}"
        code = opts.finish(report, header=header, footer=closing_lines(report, report_file))
    return code


@contextlib.contextmanager
def _progress(opts: Opts) -> Iterator[Any]:
    """A spinner on stderr naming what is still running, only on a terminal."""
    if not opts.out.interactive_stderr:
        yield None
        return
    from gridctl.report import console

    pending = {"status", "network", "ping"}
    con = console(opts.out, stderr=True)
    with con.status("doctor: status page, network, ping…") as spinner:
        def done(step: str) -> None:
            pending.discard(step)
            spinner.update(f"doctor: {', '.join(sorted(pending)) or 'finishing'}…")

        yield done
