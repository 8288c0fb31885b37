"""P0: `gridctl --help` start-up against the floor of any typer CLI.

`gridctl --help` (the top-level help, the first command a new user runs) vs
`python -c "import typer"` vs `python -c pass`. Target: gridctl --help <= 1.5x `import typer`.

    .venv/bin/python bench/p0_help.py [--runs N] [--write]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET = 1.5


def _help_ok(proc: subprocess.CompletedProcess[str]) -> str | None:
    if "Usage: gridctl" not in proc.stdout or "doctor" not in proc.stdout:
        return "stdout is not gridctl's help"
    return None


def bench(runs: int) -> c.Result:
    env = c.clean_env()
    variants = [
        c.Variant("gridctl --help", c.gridctl("--help"), env, check=_help_ok),
        c.Variant("python -c 'import typer'", c.python_c("import typer"), env),
        c.Variant("python -c pass", c.python_c("pass"), env),
    ]
    t = c.run_interleaved(variants, runs)
    cli, floor, bare = "gridctl --help", "python -c 'import typer'", "python -c pass"
    med = {k: c.median(v) for k, v in t.items()}
    note = (f"above `python -c pass`: gridctl --help +{(med[cli] - med[bare]) * 1000:.0f} ms, "
            f"`import typer` +{(med[floor] - med[bare]) * 1000:.0f} ms")
    return c.ratio_result("P0", "--help start-up", "gridctl --help / `import typer`", t, cli, floor,
                          "vs_typer", TARGET, runs, note)


if __name__ == "__main__":
    sys.exit(c.main_single(bench, __doc__.splitlines()[0], default_runs=21))
