"""P2: `gridctl ping -q` vs the same request from a minimal httpx script, and from curl.

All three send one POST /v1/chat/completions with the demo key to the emulator (scenario healthy,
latency 0), started in this process; each run must exit 0 and reach the emulator.
Target: gridctl <= 1.2x the minimal httpx script (ratio of medians).

    .venv/bin/python bench/p2_ping.py [--runs N] [--write]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET = 1.2
BODY = {"model": "text-prime", "messages": [{"role": "user", "content": "ping"}]}

# The minimal script: everything gridctl ping must do at the least (import httpx, one POST).
HTTPX_ONE_LINER = (
    "import os,httpx;"
    "httpx.post(os.environ['THEGRID_BASE_URL']+'/chat/completions',"
    "headers={'Authorization':'Bearer '+os.environ['THEGRID_API_KEY']},"
    "json={'model':'text-prime','messages':[{'role':'user','content':'ping'}]}"
    ").raise_for_status()"
)


def bench(runs: int) -> c.Result:
    curl = shutil.which("curl") or "/usr/bin/curl"
    with c.emulator("healthy", latency=0.0) as emu:
        env = c.grid_env(emu)
        key = c.demo_key()
        variants = [
            c.Variant("gridctl ping -q", c.gridctl("ping", "-q"), env, emu=emu),
            c.Variant("python -c httpx.post(...)", c.python_c(HTTPX_ONE_LINER), env, emu=emu),
            c.Variant("curl -sS -f", [curl, "-sS", "-f", "-o", "/dev/null",
                                      f"{emu.base_url}/chat/completions",
                                      "-H", f"Authorization: Bearer {key}",
                                      "-H", "Content-Type: application/json",
                                      "-d", json.dumps(BODY, separators=(",", ":"))], env, emu=emu),
        ]
        t = c.run_interleaved(variants, runs)
    cli, floor, curl_name = "gridctl ping -q", "python -c httpx.post(...)", "curl -sS -f"
    med = {k: c.median(v) for k, v in t.items()}
    note = (f"gridctl - httpx script: +{(med[cli] - med[floor]) * 1000:.0f} ms; "
            f"httpx script - curl: +{(med[floor] - med[curl_name]) * 1000:.0f} ms")
    return c.ratio_result("P2", "ping vs minimal httpx / curl", "gridctl ping -q / httpx script", t, cli, floor,
                          "vs_httpx", TARGET, runs, note)


if __name__ == "__main__":
    sys.exit(c.main_single(bench, __doc__.splitlines()[0], default_runs=21))
