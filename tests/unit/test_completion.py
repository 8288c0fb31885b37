"""Shell completion offers the values the parser accepts: scenario names, --api and --sdk choices.

completions/ holds generic scripts that call back into gridctl, so these run the real program the
way the scripts do (`_GRIDCTL_COMPLETE=complete_bash`); test_startup.py checks completions/ is current.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gridctl import grid
from gridctl.emulator.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]


def complete(line: str) -> list[str]:
    words = line.split(" ")
    env = {**os.environ, "_GRIDCTL_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    proc = subprocess.run([sys.executable, "-m", "gridctl"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("line", ["gridctl doctor --emulate ", "gridctl emulator serve --scenario "])
def test_scenario_options_complete_every_scenario_name(line: str) -> None:
    assert complete(line) == list(SCENARIOS)


def test_scenario_completion_narrows_on_a_prefix() -> None:
    assert complete("gridctl doctor --emulate rate") == [n for n in SCENARIOS if n.startswith("rate")] != []


def test_api_and_sdk_complete_their_choices() -> None:
    assert complete("gridctl url --api ") == ["chat", "messages"]
    assert complete("gridctl url --sdk ") == list(grid.SDK_NAMES)

