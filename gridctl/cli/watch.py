"""gridctl watch: repeated probes with latency percentiles and failures by code."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command, retries_option


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
    retries: Annotated[int, retries_option("Retries per probe (default 0: see every failure).")] = 0,
) -> int:
    from gridctl.render.watch import sink, summary, summary_record
    from gridctl.watch.run import run_watch, watch_plan

    plan = watch_plan(opts.settings, every=every, count=count, all_=all_, stream=stream, retries=retries,
                      json=opts.out.json, jsonl=jsonl)
    with sink(opts.out, jsonl) as on_sample:
        report = run_watch(plan, on_sample)
    if jsonl:
        return summary_record(report, opts.out)
    if opts.out.json or opts.out.quiet:
        return opts.finish(report)
    return summary(report, opts.out)
