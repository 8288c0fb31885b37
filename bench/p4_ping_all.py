"""P4: round trips on the critical path of `gridctl ping --all` (nine instruments, healthy).

The nine pings run concurrently, so wall time should grow by about one emulator latency.
Measured interleaved against two in-process emulators (latency 0 and 0.5 s):
RT = (median wall at 0.5 s - median wall at 0) / 0.5. Target: <= 1.3 round trips.

    .venv/bin/python bench/p4_ping_all.py [--runs N] [--write]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET = 1.3
INSTRUMENTS = 9


def _nine_ok(proc: subprocess.CompletedProcess[str]) -> str | None:
    oks = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    return None if len(oks) == INSTRUMENTS else f"{len(oks)} 'ok' lines, expected {INSTRUMENTS}"


def bench(runs: int) -> c.Result:
    return c.round_trip_bench("P4", "ping --all round trips", ["ping", "--all"], runs, TARGET,
                              min_requests=INSTRUMENTS, check=_nine_ok)


if __name__ == "__main__":
    sys.exit(c.main_single(bench, __doc__.splitlines()[0], default_runs=7))
