"""P3: round trips on the critical path of `gridctl doctor` (healthy emulator).

doctor runs status page, network and ping concurrently, and follow-ups only on 402/404, so on
a healthy Grid its wall time should grow by about one emulator latency. Measured interleaved
against two in-process emulators (latency 0 and 0.5 s):
RT = (median wall at 0.5 s - median wall at 0) / 0.5. Target: <= 2 round trips.

    .venv/bin/python bench/p3_doctor.py [--runs N] [--write]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET = 2.0


def _healthy(proc: subprocess.CompletedProcess[str]) -> str | None:
    return None if "No problem found" in proc.stdout else "doctor did not report 'No problem found'"


def bench(runs: int) -> c.Result:
    return c.round_trip_bench("P3", "doctor round trips", ["doctor"], runs, TARGET,
                              min_requests=1, check=_healthy)


if __name__ == "__main__":
    sys.exit(c.main_single(bench, __doc__.splitlines()[0], default_runs=7))
