"""P5: how far `gridctl doctor` overshoots `--timeout` against a Grid that never answers.

The emulator's `hang` scenario reads requests and never answers. `--timeout S` is the whole
command's budget, start-up included, so overshoot = wall - S. Both budgets (2 s and 4 s) are
measured interleaved; each run must exit 9 (network: no response) and must have reached the
emulator. Target: median overshoot <= 0.5 s for each budget.

    .venv/bin/python bench/p5_timeout.py [--runs N] [--write]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET = 0.5
BUDGETS = (2.0, 4.0)
EXIT_NETWORK = 9


def _no_response(proc: subprocess.CompletedProcess[str]) -> str | None:
    return None if "net.no_response" in proc.stdout else "diagnosis is not net.no_response"


def bench(runs: int) -> c.Result:
    with c.emulator("hang", latency=0.0) as emu:
        env = c.grid_env(emu)
        variants = [c.Variant(f"doctor --timeout {b:g}", c.gridctl("doctor", "--timeout", f"{b:g}"),
                              env, expect_rc=EXIT_NETWORK, check=_no_response, emu=emu,
                              timeout=b + 30)
                    for b in BUDGETS]
        t = c.run_interleaved(variants, runs)
    rows, overshoots = [], []
    for b, (name, times) in zip(BUDGETS, t.items(), strict=True):
        over = c.median(times) - b
        overshoots.append(over)
        rows.append(c.row(name, times, overshoot=f"{over * 1000:+.0f} ms",
                          max_overshoot=f"{(max(times) - b) * 1000:+.0f} ms"))
    notes = ["overshoot = median wall - budget; the value judged is the worse of the budgets",
             "the wall includes interpreter start-up and imports (part of the budget)"]
    return c.Result("P5", "doctor --timeout overshoot (hang)", "median overshoot past --timeout",
                    max(overshoots), TARGET, "s", rows, notes, runs)


if __name__ == "__main__":
    sys.exit(c.main_single(bench, __doc__.splitlines()[0], default_runs=5))
