"""gridctl watch: repeated probes with latency percentiles and failures by code."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command
from gridctl.errors import UsageError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}


def duration(text: str, flag: str = "--every") -> float:
    """Seconds from `30s`, `1m`, `500ms`, `1.5` (seconds)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", text)
    if not match:
        raise UsageError(f"{flag} takes a duration such as 30s, 1m or 500ms, not {text!r}")
    seconds = float(match[1]) * _UNITS[match[2]]
    if not 0 <= seconds <= 86400:
        raise UsageError(f"{flag} must be between 0 and 24h")
    return seconds


@command(app, "watch", target=True, quiet=True,
         help="Probe repeatedly: p50/p95/p99 of TTFB, time to first token and total; failures by code. "
              "--timeout bounds each probe.")
def watch_cmd(
    opts: Opts,
    every: Annotated[str, typer.Option("--every", help="Time between rounds (30s, 1m, 500ms).")] = "30s",
    count: Annotated[int | None, typer.Option("--count", "-n", help="Stop after N rounds (default: Ctrl-C).",
                                              show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Probe all nine instruments each round.")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="Stream (SSE): adds time to first token and tokens/s.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON record per probe, then a summary record.")] = False,
    retries: Annotated[int, typer.Option("--retries", help="Retries per probe (default 0: see every failure).")] = 0,
) -> int:
    from gridctl import context, grid
    from gridctl.watch.run import WatchPlan, run_watch

    every_s = duration(every)
    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    if not 0 <= retries <= 10:
        raise UsageError("--retries must be between 0 and 10")
    if opts.out.json and jsonl:
        raise UsageError("--json and --jsonl exclude each other")
    settings = opts.settings
    models = list(grid.INSTRUMENTS) if all_ else [settings.model.value or grid.DEFAULT_MODEL]
    plan = WatchPlan([context.target(settings, model=m) for m in models], every_s=every_s, count=count,
                     stream=stream, timeout_s=settings.timeout, retries=retries)
    if opts.out.json or opts.out.quiet:
        report = run_watch(plan)
    elif jsonl:
        from gridctl.render.watch import write_record

        report = run_watch(plan, lambda sample, _series: write_record(sample.record(), opts.out))
    else:
        from gridctl.render.watch import Live

        with Live(opts.out) as live:
            report = run_watch(plan, live.update)
    report.target = settings.target()
    if jsonl:
        from gridctl.render.watch import write_record
        from gridctl.report import envelope

        write_record({"type": "summary", **envelope(report)}, opts.out)
        return int(report.exit_code)
    if opts.out.json or opts.out.quiet:
        return opts.finish(report)
    from gridctl.render.watch import summary

    summary(report, opts.out)
    return int(report.exit_code)
