"""What `gridctl watch` shows: a live table on a terminal, plain lines elsewhere, a summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gridctl.findings import Finding, finding
from gridctl.report import Output, console, esc, finding_lines, print_line
from gridctl.result import Report
from gridctl.watch.stats import Sample, Series

_COLUMNS = (("TTFB", "ttfb_ms"), ("TTFT", "ttft_ms"), ("total", "total_ms"))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def probe_line(sample: Sample) -> str:
    """One probe, one line: `06:00:01Z text-prime ok 200 ttfb=52ms ttft=130ms total=180ms req=...`."""
    f = sample.figures
    rid = f" req={sample.request_id}" if sample.request_id else ""
    status = f" {sample.status_code}" if sample.status_code else ""
    if not sample.ok:
        return f"{sample.at} {sample.instrument} fail {sample.code}{status} {_ms(f.get('total_ms'))}ms{rid}"
    parts = [f"ttfb={_ms(f.get('ttfb_ms'))}ms"]
    if f.get("ttft_ms") is not None:
        parts.append(f"ttft={_ms(f.get('ttft_ms'))}ms")
    parts.append(f"total={_ms(f.get('total_ms'))}ms")
    if f.get("tokens_per_s") is not None:
        parts.append(f"{f['tokens_per_s']:.0f}tok/s")
    return f"{sample.at} {sample.instrument} ok{status} {' '.join(parts)}{rid}"


def _failures(stats: dict[str, Any]) -> str:
    return ", ".join(f"{code}×{n}" for code, n in stats["failures"].items()) or "-"


def table(rows: list[dict[str, Any]], title: str = "gridctl watch") -> Any:
    """The rich table: one row per instrument, p50/p95/p99 of each latency in ms."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", caption="milliseconds, p50/p95/p99 of the calls that succeeded",
              caption_justify="left")
    t.add_column("instrument", overflow="fold")
    t.add_column("calls", justify="right")
    t.add_column("failures", overflow="fold")
    for label, _ in _COLUMNS:
        t.add_column(label, justify="right", no_wrap=True)
    t.add_column("tok/s", justify="right")
    for st in rows:
        cells = ["/".join(_ms(st[key][f"p{q}"]) for q in (50, 95, 99)) for _, key in _COLUMNS]
        tps = st["tokens_per_s"]["p50"]
        t.add_row(esc(st["instrument"]), str(st["calls"]), esc(_failures(st)), *cells,
                  "-" if tps is None else f"{tps:.0f}")
    return t


class Live:
    """The live table on a terminal; plain lines (one per probe) anywhere else."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.live: Any = None
        if out.color and not out.quiet:
            from rich.live import Live as RichLive  # heavy: only when a terminal watches

            self.live = RichLive(table([]), console=console(out), auto_refresh=False, transient=True)

    def __enter__(self) -> Live:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def update(self, sample: Sample, series: dict[str, Series]) -> None:
        if self.live is not None:
            self.live.update(table([s.stats() for s in series.values()]), refresh=True)
        elif not self.out.quiet:
            print_line(probe_line(sample), self.out)


OnSample = Callable[[Sample, dict[str, Series]], None]


@contextmanager
def sink(out: Output, jsonl: bool) -> Iterator[OnSample | None]:
    """What each probe shows as it lands: nothing (--json, --quiet), a --jsonl record, or the live view."""
    if out.json or out.quiet:
        yield None
    elif jsonl:
        yield lambda sample, _series: write_record(sample.record(), out)
    else:
        with Live(out) as live:
            yield live.update


def summary_record(report: Report, out: Output) -> int:
    """--jsonl's last line: the envelope as a `summary` record; the exit code."""
    from gridctl.report import envelope

    write_record({"type": "summary", **envelope(report)}, out)
    return int(report.exit_code)


def summary(report: Report, out: Output) -> int:
    """The final summary: the table, then each failure code once with its cause and fix; the exit code."""
    con = console(out)
    watch = report.extra.get("watch", {})
    how = f"{watch.get('rounds', 0)} rounds" + (", interrupted" if watch.get("interrupted") else "")
    con.print(table([c.data for c in report.checks], title=f"gridctl watch: {how}"))
    by_code: dict[str, list[tuple[str, Finding]]] = {}
    for check in report.checks:
        for f in check.findings:
            by_code.setdefault(f.code, []).append((check.title, f))
    for code, seen in by_code.items():  # each code once, with every instrument it hit
        where = "; ".join(f"{title}: {f.message}" for title, f in seen)
        first = seen[0][1]
        for line in finding_lines(finding(code, where, fix=first.fix, severity=first.severity), plain=not out.color):
            con.print(line)
    return int(report.exit_code)


def write_record(record: dict[str, Any], out: Output) -> None:
    """One --jsonl line (compact JSON), through the key scrubber like every other output."""
    import json

    from gridctl.secrets import scrub

    out.stdout.write(scrub(json.dumps(record, separators=(",", ":"), ensure_ascii=False)) + "\n")
    out.stdout.flush()
