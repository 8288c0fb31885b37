"""The command's whole time budget. Stdlib only: the bottom of probe/, imported by everything above it."""

from __future__ import annotations

import time


class Deadline:
    """The command's whole time budget; every wait and every timeout is cut to what is left."""

    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0
