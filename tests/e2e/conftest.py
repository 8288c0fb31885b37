"""Fixtures for end-to-end tests: real emulators on ephemeral loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gridctl.emulator.server import Emulator, start

EmulatorFactory = Callable[..., Emulator]


@pytest.fixture
def emulator() -> Iterator[EmulatorFactory]:
    """`emulator(scenario="healthy", latency=0.0)` -> a running Emulator, stopped at teardown."""
    started: list[Emulator] = []

    def factory(scenario: str = "healthy", latency: float = 0.0, **kwargs: Any) -> Emulator:
        emu = start(scenario=scenario, latency=latency, **kwargs)
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def healthy_emulator(emulator: EmulatorFactory) -> Emulator:
    return emulator("healthy")
