"""A local emulator of The Grid with named fault scenarios (stdlib only, loopback only)."""

from __future__ import annotations

from gridctl.emulator.scenarios import DEMO_KEY, SCENARIOS, Scenario
from gridctl.emulator.server import Emulator, LoopbackOnlyError, UnknownScenarioError, start

__all__ = [
    "DEMO_KEY", "SCENARIOS", "Emulator", "LoopbackOnlyError", "Scenario",
    "UnknownScenarioError", "start",
]
