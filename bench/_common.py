"""Shared helpers for the gridctl benchmarks (scripts, not tests; run on demand, not in CI).

Method, because the machine is small (2 cores) and shared with other test suites:

* every benchmark INTERLEAVES the variants it compares (A B C A B C ...), after one warm-up run
  of each (the first run compiles .pyc files and fills the page cache), so a burst of load
  from elsewhere hits all variants alike;
* it reports MEDIANS over several runs and judges RATIOS between variants measured in the same
  run, never absolute times;
* every measured command must exit with the expected code (and pass an optional output check),
  so a broken command cannot produce a fast number.

The CLI is run as `[sys.executable, "-m", "gridctl", ...]`. The console script
(`.venv/bin/gridctl`) is the same program: pip's small wrapper that calls `gridctl.cli.main`,
as `gridctl/__main__.py` does (P1 also times it, for information).

Network benchmarks talk to the emulator started IN THIS PROCESS, in a background thread, on an
ephemeral 127.0.0.1 port (`emulator()` below always stops it). The emulator's `latency` is added
before every answer, so with two emulators (latency 0 and L) measured interleaved,
(median wall at L - median wall at 0) / L = round trips on the critical path.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_MD = BENCH_DIR / "results.md"
RESULTS_JSON = BENCH_DIR / "results.json"
PYTHON = sys.executable
COMMAND_TIMEOUT = 60.0  # seconds: no single measured command may take longer than this

if str(ROOT) not in sys.path:  # so `python bench/pN_x.py` works from any directory
    sys.path.insert(0, str(ROOT))


class BenchError(RuntimeError):
    """A measured command failed (wrong exit code, bad output, timeout): no number is reported."""


# --------------------------------------------------------------------------- commands

def gridctl(*args: str) -> list[str]:
    """The CLI as a subprocess: `python -m gridctl ARGS` with this interpreter."""
    return [PYTHON, "-m", "gridctl", *args]


def console_script() -> str | None:
    """The `gridctl` console script next to this interpreter, if installed."""
    return shutil.which("gridctl", path=str(Path(PYTHON).parent))


def python_c(code: str) -> list[str]:
    return [PYTHON, "-c", code]


@dataclass
class Variant:
    """One command to time.

    `check` gets the finished process and returns an error message or None. With `emu` set, the
    run must also have made at least `min_requests` requests to a path ending in `path_suffix`
    on that emulator (so a command that fails fast, or never reaches the network, is an error).
    """

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    expect_rc: int = 0
    check: Callable[[subprocess.CompletedProcess[str]], str | None] | None = None
    timeout: float = COMMAND_TIMEOUT
    emu: Any = None
    min_requests: int = 1
    path_suffix: str = "/chat/completions"


def _tail(text: str, n: int = 800) -> str:
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


def run_once(v: Variant) -> float:
    """Wall time of one run of `v`, in seconds; BenchError unless it behaved as expected."""
    seen = requests_reached(v.emu, v.path_suffix) if v.emu is not None else 0
    start = time.perf_counter()
    try:
        proc = subprocess.run(v.argv, env=v.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=v.timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{v.name}: no exit after {v.timeout:.0f} s: {v.argv}") from exc
    wall = time.perf_counter() - start
    if proc.returncode != v.expect_rc:
        raise BenchError(
            f"{v.name}: exit {proc.returncode}, expected {v.expect_rc}\n  argv: {v.argv}\n"
            f"  stdout: {_tail(proc.stdout)}\n  stderr: {_tail(proc.stderr)}")
    problem = None
    if v.emu is not None:
        made = requests_reached(v.emu, v.path_suffix) - seen
        if made < v.min_requests:
            problem = (f"made {made} request(s) to *{v.path_suffix} on the emulator, "
                       f"expected >= {v.min_requests}")
    if problem is None and v.check is not None:
        problem = v.check(proc)
    if problem:
        raise BenchError(f"{v.name}: {problem}\n  argv: {v.argv}\n"
                         f"  stdout: {_tail(proc.stdout)}\n  stderr: {_tail(proc.stderr)}")
    return wall


def run_interleaved(variants: Sequence[Variant], runs: int, warmup: int = 1,
                    progress: bool | None = None) -> dict[str, list[float]]:
    """Warm up each variant, then time A B C A B C ... `runs` times; wall times per variant."""
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique: {names}")
    for _ in range(warmup):
        for v in variants:
            run_once(v)
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    if progress is None:
        progress = sys.stderr.isatty()
    for i in range(runs):
        for v in variants:
            times[v.name].append(run_once(v))
        if progress:
            print(f"\r  run {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    if progress:
        print("\r" + " " * 20 + "\r", end="", file=sys.stderr, flush=True)
    return times


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """Median of a[i] / b[i] over interleaved rounds: a second, load-robust view of a/b."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def summary(xs: Sequence[float]) -> dict[str, Any]:
    return {"median_s": median(xs), "min_s": min(xs), "max_s": max(xs), "n": len(xs),
            "runs_s": [round(x, 6) for x in xs]}


# --------------------------------------------------------------------------- emulator

def clean_env(**extra: str) -> dict[str, str]:
    """The parent environment minus anything that could steer gridctl, httpx or curl elsewhere.

    No THEGRID_*/OPENAI_*/ANTHROPIC_* settings, no proxies (loopback is direct), an empty config
    directory (no profile from the user's config file), no colour.
    """
    drop = ("THEGRID_", "OPENAI_", "ANTHROPIC_", "GRIDCTL_")
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(drop) and "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["GRIDCTL_CONFIG_DIR"] = _config_dir()
    env["NO_COLOR"] = "1"
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE",
              "PYTHONTRACEMALLOC", "PYTHONWARNINGS"):  # none of them may slow what we time
        env.pop(k, None)
    env.update(extra)
    return env


_CONFIG_DIR: tempfile.TemporaryDirectory[str] | None = None


def _config_dir() -> str:
    global _CONFIG_DIR
    if _CONFIG_DIR is None:
        _CONFIG_DIR = tempfile.TemporaryDirectory(prefix="gridctl-bench-")
    return _CONFIG_DIR.name


@contextlib.contextmanager
def emulator(scenario: str = "healthy", latency: float = 0.0) -> Iterator[Any]:
    """An emulator serving in a background thread of this process; always stopped on exit."""
    from gridctl.emulator.server import start

    emu = start(scenario=scenario, latency=latency)
    try:
        yield emu
    finally:
        emu.stop()


def grid_env(emu: Any) -> dict[str, str]:
    """Environment pointing gridctl at `emu` with the demo key."""
    from gridctl.emulator.scenarios import DEMO_KEY

    return clean_env(THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=emu.base_url,
                     THEGRID_STATUS_URL=emu.root_url)


def demo_key() -> str:
    from gridctl.emulator.scenarios import DEMO_KEY

    return DEMO_KEY


def requests_reached(emu: Any, path_suffix: str = "/chat/completions") -> int:
    """How many requests whose path ends in `path_suffix` the emulator has received."""
    return sum(1 for r in list(emu.requests) if r["path"].split("?")[0].endswith(path_suffix))


def round_trips(wall_slow: float, wall_fast: float, latency: float) -> float:
    """Round trips on the critical path: (median wall at `latency` - median at 0) / latency."""
    return (wall_slow - wall_fast) / latency


# --------------------------------------------------------------------------- machine

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() if out.returncode == 0 else "?"


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "loadavg_at_start": loadavg(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gridctl": _version("gridctl"),
        "typer": _version("typer"),
        "click": _version("click").replace("not installed", "vendored in typer"),
        "rich": _version("rich"),
        "httpx": _version("httpx"),
        "curl": _curl_version(),
        "git": _git("rev-parse", "--short", "HEAD")
        + (" (+ uncommitted changes)" if dirty not in ("", "?") else ""),
    }


def _curl_version() -> str:
    curl = shutil.which("curl")
    if not curl:
        return "not installed"
    try:
        out = subprocess.run([curl, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.split()[1]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


# --------------------------------------------------------------------------- results

@dataclass
class Result:
    """One benchmark: its measured rows, the metric judged against the target, the verdict."""

    id: str
    title: str
    metric: str  # e.g. "ratio to `import typer`"
    value: float
    target: float
    unit: str  # "x", "RT", "s"
    rows: list[dict[str, Any]] = field(default_factory=list)  # {"variant", "median_s", ...}
    notes: list[str] = field(default_factory=list)
    runs: int = 0
    error: str | None = None  # the benchmark could not measure (a command failed): no number
    missed: list[str] = field(default_factory=list)  # its other targets that were not met (P6 has several)

    @property
    def ok(self) -> bool:
        return self.error is None and self.value <= self.target and not self.missed

    @property
    def verdict(self) -> str:
        return "ERROR" if self.error is not None else "PASS" if self.ok else "MISS"

    def fmt(self, x: float) -> str:
        if x != x:  # NaN: not measured
            return "n/a"
        return f"{x:.2f}{'x' if self.unit == 'x' else ' ' + self.unit}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "metric": self.metric,
                "value": round(self.value, 4), "target": self.target, "unit": self.unit,
                "verdict": self.verdict, "runs": self.runs, "rows": self.rows,
                "notes": self.notes, "error": self.error, "missed": self.missed}


def ratio_result(id: str, title: str, metric: str, times: dict[str, list[float]], cli: str, floor: str,
                 column: str, target: float, runs: int, extra_note: str) -> Result:
    """A start-up benchmark's verdict: the CLI's median over the floor's, every variant against the floor."""
    med = {k: median(v) for k, v in times.items()}
    rows = [row(name, ts, **{column: f"{med[name] / med[floor]:.2f}x"}) for name, ts in times.items()]
    notes = [f"median of per-round (paired) ratios: {paired_ratio(times[cli], times[floor]):.2f}x", extra_note]
    return Result(id, title, metric, med[cli] / med[floor], target, "x", rows, notes, runs)


def row(variant: str, times: Sequence[float], **extra: Any) -> dict[str, Any]:
    s = summary(times)
    return {"variant": variant, **{k: round(v, 6) if isinstance(v, float) else v
                                   for k, v in s.items()}, **extra}


def render_table(r: Result) -> str:
    """A Markdown table of one benchmark's rows, then its verdict line."""
    if r.error is not None:
        return f"**{r.id} ERROR**: not measured.\n\n```\n{r.error}\n```"
    extra_cols = [k for k in r.rows[0] if k not in ("variant", "median_s", "min_s", "max_s", "n",
                                                     "runs_s")] if r.rows else []
    head = ["variant", "median", "min", "max", *extra_cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for x in r.rows:
        cells = [x["variant"], f"{x['median_s'] * 1000:.0f} ms", f"{x['min_s'] * 1000:.0f} ms",
                 f"{x['max_s'] * 1000:.0f} ms", *(str(x.get(k, "")) for k in extra_cols)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"**{r.id} {r.verdict}**: {r.metric} = **{r.fmt(r.value)}** "
                 f"(target <= {r.fmt(r.target)}; medians of {r.runs} interleaved runs)")
    for n in r.notes:
        lines.append(f"- {n}")
    for n in r.missed:
        lines.append(f"- **missed**: {n}")
    return "\n".join(lines)


def render_summary(results: Sequence[Result]) -> str:
    lines = ["| benchmark | metric | value | target | verdict |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.id} {r.title} | {r.metric} | {r.fmt(r.value)} | "
                     f"<= {r.fmt(r.target)} | {r.verdict} |")
    return "\n".join(lines)


def render_machine(m: dict[str, Any]) -> str:
    return (f"{m['date']}; {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
            f"load {'/'.join(map(str, m['loadavg_at_start']))} at start"
            + (f", {'/'.join(map(str, m['loadavg_at_end']))} at end" if m.get("loadavg_at_end")
               else "") + f"; {m['platform']}; "
            f"{m['python']}; gridctl {m['gridctl']} (git {m['git']}), typer {m['typer']}, "
            f"click {m['click']}, rich {m['rich']}, httpx {m['httpx']}, curl {m['curl']}")


def render_markdown(results: Sequence[Result], m: dict[str, Any], elapsed: float | None) -> str:
    parts = ["# gridctl benchmarks: latest run", "",
             "Written by `bench/run_all.py` (overwritten on every run). Method: `bench/_common.py`;"
             " variants interleaved, one warm-up each, medians, ratios between variants of the "
             "same run.", "",
             f"Machine: {render_machine(m)}"
             + (f". Whole run: {elapsed:.0f} s." if elapsed else ".")
             + (f" **Note: {m['note']}.**" if m.get("note") else ""),
             "", "## Summary", "", render_summary(results)]
    for r in results:
        parts += ["", f"## {r.id}: {r.title}", "", render_table(r)]
    return "\n".join(parts) + "\n"


def write_results(results: Sequence[Result], m: dict[str, Any],
                  elapsed: float | None = None, merge: bool = False) -> None:
    """Write bench/results.md and bench/results.json (overwrite; `merge` keeps other ids)."""
    results = list(results)
    if merge and RESULTS_JSON.exists():
        try:
            old = json.loads(RESULTS_JSON.read_text())
            ours = {r.id for r in results}
            kept = [Result(**{k: v for k, v in d.items() if k != "verdict"})
                    for d in old.get("results", []) if d["id"] not in ours]
            results = sorted(kept + results, key=lambda r: r.id)
            m = dict(m, note="partial run merged into an earlier one: dates differ per benchmark")
        except (ValueError, KeyError, TypeError):
            pass
    RESULTS_MD.write_text(render_markdown(results, m, elapsed))
    payload = {"machine": m, "elapsed_s": round(elapsed, 1) if elapsed else None,
               "results": [r.to_json() for r in results]}
    RESULTS_JSON.write_text(json.dumps(payload, indent=2) + "\n")


# --------------------------------------------------------------------------- script entry

def cli(description: str, default_runs: int) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--runs", type=int, default=default_runs,
                   help=f"interleaved measured runs per variant (default {default_runs})")
    p.add_argument("--write", action="store_true",
                   help="also merge this result into bench/results.md and bench/results.json")
    return p.parse_args()


def main_single(bench: Callable[[int], Result], description: str, default_runs: int) -> int:
    """Entry point of one pN script: run, print table and verdict; exit 0 PASS, 1 MISS, 2 error."""
    args = cli(description, default_runs)
    m = machine()
    print(f"Machine: {render_machine(m)}\n")
    try:
        r = bench(args.runs)
    except BenchError as exc:
        print(f"BENCHMARK ERROR: {exc}", file=sys.stderr)
        return 2
    print(f"## {r.id}: {r.title}\n\n{render_table(r)}\n")
    if args.write:
        write_results([r], m, merge=True)
        print(f"merged into {RESULTS_MD.relative_to(ROOT)} and {RESULTS_JSON.relative_to(ROOT)}")
    return 0 if r.ok else 1


# --------------------------------------------------------------------------- round trips

def round_trip_bench(id: str, title: str, args: Sequence[str], runs: int, target: float,
                     latency: float = 0.5, min_requests: int = 1,
                     check: Callable[[subprocess.CompletedProcess[str]], str | None] | None = None,
                     ) -> Result:
    """Round trips on the critical path of `gridctl ARGS` (scenario healthy, must exit 0).

    Two emulators in this process, one answering at once and one after `latency` s; the same
    command against each, interleaved. RT = (median wall at latency - median wall at 0) / latency.
    """
    fast_name, slow_name = "latency 0", f"latency {latency:g} s"
    with emulator("healthy", 0.0) as fast, emulator("healthy", latency) as slow:
        variants = [Variant(f"gridctl {' '.join(args)} @ {n}", gridctl(*args), grid_env(e),
                            emu=e, min_requests=min_requests, check=check)
                    for n, e in ((fast_name, fast), (slow_name, slow))]
        t = run_interleaved(variants, runs)
    (n0, t0), (n1, t1) = t.items()
    rt = round_trips(median(t1), median(t0), latency)
    rows = [row(n0, t0), row(n1, t1)]
    notes = [f"RT = ({median(t1) * 1000:.0f} - {median(t0) * 1000:.0f} ms)"
             f" / {latency * 1000:.0f} ms",
             f"each run exited 0 and made >= {min_requests} inference request(s) to the emulator"]
    return Result(id, title, "round trips on the critical path", rt, target, "RT", rows,
                  notes, runs)
