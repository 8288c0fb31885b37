"""Run every gridctl benchmark (P0-P7) once, print the tables and write the results files.

Writes bench/results.md and bench/results.json (overwritten: the latest run only), with the
machine the numbers came from. Exit 0 if every target is met, 1 if any is missed, 2 if any
benchmark could not measure (a command failed). `--only P0,P6` runs some and merges them into
the last results (their dates then differ, and the files say so).

    .venv/bin/python bench/run_all.py [--quick] [--only IDS] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
import p0_help  # noqa: E402
import p1_startup  # noqa: E402
import p2_ping  # noqa: E402
import p3_doctor  # noqa: E402
import p4_ping_all  # noqa: E402
import p5_timeout  # noqa: E402
import p6_trace  # noqa: E402
import p7_latency  # noqa: E402

# (module, id, title, runs, quick runs): ~2 minutes in all on a 2-core machine. P6 runs in this process
# (emulator, proxy and client on loopback, no subprocess per call): ~5 s of the total.
BENCHES = [
    (p0_help, "P0", "--help start-up", 21, 5),
    (p1_startup, "P1", "offline command start-up", 21, 5),
    (p2_ping, "P2", "ping vs minimal httpx / curl", 21, 5),
    (p3_doctor, "P3", "doctor round trips", 7, 3),
    (p4_ping_all, "P4", "ping --all round trips", 7, 3),
    (p5_timeout, "P5", "doctor --timeout overshoot (hang)", 5, 2),
    (p6_trace, "P6", "trace proxy overhead", 300, 60),
    (p7_latency, "P7", "watch/exporter latency accuracy", 20, 10),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke test; noisy)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--only", metavar="IDS", help="comma-separated ids (e.g. P0,P6): run these, merge the rest")
    args = ap.parse_args()
    known = [bid for _, bid, *_ in BENCHES]
    only = [x.strip().upper() for x in args.only.split(",")] if args.only else known
    if set(only) - set(known):
        ap.error(f"unknown benchmark id(s) {', '.join(sorted(set(only) - set(known)))}; known: {', '.join(known)}")
    m = c.machine()
    if m["loadavg_at_start"][0] > m["cores"]:
        m["note"] = (f"the machine was loaded (load average {m['loadavg_at_start'][0]} on {m['cores']} cores: other "
                     "processes shared the CPU); variants are interleaved and medians taken, so each ratio compares "
                     "runs made under the same load, but absolute times are inflated")
    print(f"Machine: {c.render_machine(m)}\n", flush=True)
    start = time.perf_counter()
    results: list[c.Result] = []
    for module, bid, title, runs, quick in BENCHES:
        if bid not in only:
            continue
        n = quick if args.quick else runs
        print(f"{bid}: {title} ({n} interleaved runs per variant) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            r = module.bench(n)
        except c.BenchError as exc:
            r = c.Result(bid, title, "", float("nan"), getattr(module, "TARGET", 0.0), "",
                         runs=n, error=str(exc))
        except Exception:  # noqa: BLE001 - a crash in one benchmark must not lose the others
            r = c.Result(bid, title, "", float("nan"), getattr(module, "TARGET", 0.0), "",
                         runs=n, error=traceback.format_exc())
        results.append(r)
        print(f"## {r.id}: {r.title}  ({time.perf_counter() - t0:.0f} s)\n\n{c.render_table(r)}\n",
              flush=True)
    elapsed = time.perf_counter() - start
    m["loadavg_at_end"] = c.loadavg()
    print(f"## Summary ({elapsed:.0f} s)\n\n{c.render_summary(results)}\n")
    if not args.no_write:
        c.write_results(results, m, elapsed, merge=bool(args.only))
        print(f"wrote {c.RESULTS_MD.relative_to(c.ROOT)} and {c.RESULTS_JSON.relative_to(c.ROOT)}")
    if any(r.error is not None for r in results):
        return 2
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
