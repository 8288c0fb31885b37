"""The expected failures a core function may raise; the CLI guard turns each into one line."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: one line, exit 2."""


class ConfigProblem(Exception):
    """A configuration problem found offline: one line, exit 3."""


class NetworkProblem(Exception):
    """A network setting that cannot work (a proxy variable), found before anything was sent: one line, exit 9."""
