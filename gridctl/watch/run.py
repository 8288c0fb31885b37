"""`gridctl watch`: probe every `every` seconds until `count` rounds or Ctrl-C, then summarise.

The loop only schedules: probes come from watch/probe.py, figures from watch/stats.py, and
every line a user reads from render/watch.py (through the `on_sample` callback).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gridctl.errors import UsageError
from gridctl.findings import finding
from gridctl.result import CheckResult, Report, Timer
from gridctl.settings import Settings
from gridctl.target import Target
from gridctl.watch.probe import probe_once
from gridctl.watch.stats import Sample, Series


@dataclass
class WatchPlan:
    targets: list[Target]
    every_s: float = 30.0
    count: int | None = None  # rounds; None = until Ctrl-C
    stream: bool = False
    timeout_s: float = 10.0  # each probe's budget
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    target_info: dict[str, Any] | None = None  # the envelope's `target` (the settings', key shown as fingerprint)


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


def watch_plan(settings: Settings, *, every: str, count: int | None, all_: bool, stream: bool, retries: int,
               json: bool, jsonl: bool) -> WatchPlan:
    """The options of `gridctl watch` as a plan; their usage errors (exit 2)."""
    from gridctl import context, grid

    every_s = duration(every)
    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    if json and jsonl:
        raise UsageError("--json and --jsonl exclude each other")
    models = list(grid.INSTRUMENTS) if all_ else [settings.model.value or grid.DEFAULT_MODEL]
    return WatchPlan([context.target(settings, model=m) for m in models], every_s=every_s, count=count,
                     stream=stream, timeout_s=settings.timeout, retries=retries, target_info=settings.target())


def run_watch(plan: WatchPlan, on_sample: Callable[[Sample, dict[str, Series]], None] | None = None) -> Report:
    """Probe until done or interrupted; the Report holds one check per instrument."""
    timer = Timer()
    series = {t.model: Series(t.model) for t in plan.targets}
    rounds, interrupted = 0, False
    pool = ThreadPoolExecutor(max_workers=min(len(plan.targets), 9), thread_name_prefix="gridctl-watch")
    try:
        while plan.count is None or rounds < plan.count:
            futures = [pool.submit(probe_once, t, stream=plan.stream, timeout=plan.timeout_s, retries=plan.retries)
                       for t in plan.targets]
            for future in futures:
                sample, _check = future.result()
                series[sample.instrument].add(sample)
                if on_sample is not None:
                    on_sample(sample, series)
            rounds += 1
            if plan.count is not None and rounds >= plan.count:
                break
            if plan.stop.wait(plan.every_s):
                break
    except KeyboardInterrupt:
        interrupted = True  # Ctrl-C ends the watch; the summary still comes
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    report = Report("watch", [check_of(s) for s in series.values()], duration_ms=timer.ms())
    if plan.target_info is not None:
        report.target = plan.target_info
    for s in series.values():
        if s.last is not None:
            report.add_request_id(s.last.request_id)
        for sample in s.first_failure.values():
            report.add_request_id(sample.request_id)
    report.extra["watch"] = {"rounds": rounds, "every_s": plan.every_s, "stream": plan.stream,
                             "timeout_s": plan.timeout_s, "interrupted": interrupted}
    return report


def check_of(s: Series) -> CheckResult:
    """An instrument's figures as a check: failures become findings, each under its own code."""
    findings = []
    for code, n in s.failures.most_common():
        first = s.first_failure[code]
        findings.append(finding(code, f"{n} of {s.calls} probes: {first.message}".rstrip(": ")))
    data = s.stats()
    p50 = data["ttft_ms"]["p50"] if data["ttft_ms"]["n"] else data["total_ms"]["p50"]
    data["summary"] = f"{s.ok_calls}/{s.calls} ok" + (f", p50 {p50:.0f} ms" if p50 is not None else "")
    return CheckResult(f"watch.{s.instrument}", s.instrument, findings, data=data)
