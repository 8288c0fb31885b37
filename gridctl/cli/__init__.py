"""The CLI. Each command lives in its own module; `main()` loads only the one invoked.

Loading one module instead of eleven keeps typer from importing and introspecting every
command on every call (bench P1/P2). `gridctl.cli.app` (tests, completion generation) loads all.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from gridctl.cli.apps import app as _app

COMMANDS = {"doctor": "doctor", "status": "status", "ping": "ping", "auth": "auth", "url": "url",
            "models": "models", "balance": "balance", "explain": "explain", "lint-curl": "lint_curl",
            "onboard": "onboard", "emulator": "emulator"}
_loaded: set[str] = set()


def load(names: list[str] | None = None) -> Any:
    """Import (and so register) the named command modules, or all of them."""
    for name in names if names is not None else list(COMMANDS):
        module = COMMANDS[name]
        if module not in _loaded:
            importlib.import_module(f"gridctl.cli.{module}")
            _loaded.add(module)
    return _app


def _wanted(argv: list[str]) -> list[str] | None:
    """The one command argv invokes, or None (help, completion, unknown: load everything)."""
    if any(k.endswith("_COMPLETE") for k in os.environ):
        return None
    first = next((a for a in argv if not a.startswith("-")), None)
    return [first] if first in COMMANDS else None


def __getattr__(name: str) -> Any:
    if name == "app":
        return load()
    raise AttributeError(name)


def main() -> None:
    load(_wanted(sys.argv[1:]))(prog_name="gridctl")
