"""The new commands keep start-up light: their help imports no network, rich.live or prometheus_client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "keyring", "rich.live", "prometheus_client", "gridctl.watch.exporter", "gridctl.probe.client")


@pytest.mark.parametrize("command", ["watch", "exporter", "usage"])
def test_help_imports_nothing_heavy(command: str) -> None:
    code = ("import sys, contextlib, io\n"
            "from gridctl.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n"
            f"        main([{command!r}, '--help'])\n"
            "    except SystemExit:\n"
            "        pass\n"
            "assert 'Usage' in out.getvalue(), out.getvalue()\n"
            "print(' '.join(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    mods = set(proc.stdout.split())
    assert f"gridctl.cli.{command}" in mods
    heavy = sorted(m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []
