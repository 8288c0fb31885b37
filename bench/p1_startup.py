"""P1: start-up of an offline command against the floor of any typer CLI.

`gridctl url https://api.thegrid.ai/v1/ --json` (offline lint, no network) vs
`python -c "import typer"` (what every typer CLI pays before doing anything) vs `python -c pass`
(the interpreter alone). Target: gridctl <= 1.3x `import typer` (ratio of medians).
The `gridctl` console script is timed too, for information only: it is the same program.

    .venv/bin/python bench/p1_startup.py [--runs N] [--write]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET = 1.3
URL_ARGS = ["url", "https://api.thegrid.ai/v1/", "--json"]


def _url_ok(proc: subprocess.CompletedProcess[str]) -> str | None:
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        return "stdout is not one JSON document"
    if doc.get("canonical") != "https://api.thegrid.ai/v1":
        return f"unexpected canonical URL {doc.get('canonical')!r}"
    return None


def bench(runs: int) -> c.Result:
    env = c.clean_env()
    variants = [
        c.Variant("gridctl url --json", c.gridctl(*URL_ARGS), env, check=_url_ok),
        c.Variant("python -c 'import typer'", c.python_c("import typer"), env),
        c.Variant("python -c pass", c.python_c("pass"), env),
    ]
    script = c.console_script()
    if script:
        variants.append(c.Variant("console script gridctl url --json (info)",
                                  [script, *URL_ARGS], env, check=_url_ok))
    t = c.run_interleaved(variants, runs)
    cli, floor, bare = "gridctl url --json", "python -c 'import typer'", "python -c pass"
    med = {k: c.median(v) for k, v in t.items()}
    note = (f"above `python -c pass`: gridctl +{(med[cli] - med[bare]) * 1000:.0f} ms, "
            f"`import typer` +{(med[floor] - med[bare]) * 1000:.0f} ms")
    return c.ratio_result("P1", "offline command start-up", "gridctl url / `import typer`", t, cli, floor,
                          "vs_typer", TARGET, runs, note)


if __name__ == "__main__":
    sys.exit(c.main_single(bench, __doc__.splitlines()[0], default_runs=21))
