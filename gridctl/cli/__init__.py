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
            "onboard": "onboard", "emulator": "emulator", "trace": "trace"}
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


def main(argv: list[str] | None = None) -> None:
    """Run gridctl; parser errors become one line (and the error envelope under --json)."""
    args = sys.argv[1:] if argv is None else argv
    app = load(_wanted(args))
    import typer

    try:
        code = app(args=args, prog_name="gridctl", standalone_mode=False)
    except typer.Abort:
        code = 130
    except Exception as raised:  # noqa: BLE001 - sorted below: parser errors, else an internal error
        exc: Any = raised
        # The parser's errors: typer vendors click's exception classes (older typer used click's),
        # so they are recognised by their interface, as typer's own rich_utils does.
        if not (hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)):
            _internal_error(exc, verbose="-v" in args or "--verbose" in args)
        if exc.__class__.__name__ == "NoArgsIsHelpError":
            exc.show()
            sys.exit(0)
        from gridctl.report import Output, error_envelope, error_line, write_json

        out = Output(json="--json" in args)
        command = " ".join(a for a in args[:2] if not a.startswith("-") and a in _SUBCOMMAND_WORDS) or "gridctl"
        message = str(exc.format_message()).replace("\n", " ")
        if out.json:
            write_json(error_envelope(command, exc.exit_code, message), out)
        hint = f" (see `gridctl {command} --help`)" if command != "gridctl" else " (see `gridctl --help`)"
        error_line(message + hint, out)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)


def _internal_error(exc: BaseException, verbose: bool) -> None:
    """A bug outside any command's guard: one line, exit 1; the traceback only with -v."""
    import traceback

    from gridctl.report import Output, error_line
    from gridctl.secrets import scrub

    if verbose:
        sys.stderr.write(scrub(traceback.format_exc()))
    error_line(f"internal error: {exc.__class__.__name__}: {exc} (run with -v for details)", Output())
    sys.exit(1)


_SUBCOMMAND_WORDS = set(COMMANDS) | {"lint", "login", "logout", "status", "serve", "list"}
