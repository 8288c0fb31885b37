"""Human text, one module per command. gridctl/report.py is the facade that prints it.

A render function reads a Report (or plain data) and returns lines or a `Text`; it never prints.
Only this package and gridctl/report.py compose what a user reads (ruff enforces it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Text(NamedTuple):
    """What a command shows around its checklist: a heading line and closing lines."""

    header: str | None = None
    footer: Sequence[str] = ()
