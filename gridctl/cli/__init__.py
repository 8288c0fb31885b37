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
            "onboard": "onboard", "emulator": "emulator", "watch": "watch",
            "exporter": "exporter", "usage": "usage", "trace": "trace",
            "replay": "replay"}
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


def main(argv: list[str] | None = None, *, embedded: bool | None = None) -> None:
    """Run gridctl; parser errors become one line (and the error envelope under --json).

    `embedded` (default: True when argv is given): gridctl runs inside someone else's process (a test,
    a wrapper), which keeps its own Ctrl-C handler and gets SystemExit, never a hard exit. The console
    script and `python -m gridctl` own the process.
    """
    from gridctl.startup import hard_exit, harden, internal_error

    args = sys.argv[1:] if argv is None else argv
    owner = not (argv is not None if embedded is None else embedded)
    if args in ([], ["--help"], ["-h"]) and not any(k.endswith("_COMPLETE") for k in os.environ):
        from gridctl.render import fasthelp

        if fasthelp.show(list(COMMANDS)):  # the top-level help without typer (bench: --help)
            sys.exit(0)
    harden(args, owner)
    try:
        app = load(_wanted(args))  # a Ctrl-C while the command's modules load: exit 130, no traceback
        import typer
    except KeyboardInterrupt:
        hard_exit(130, owner)
        raise  # unreachable: _exit always exits

    from gridctl.report import closed_pipe, flush_stdout

    try:
        code = app(args=args, prog_name="gridctl", standalone_mode=False)
        flush_stdout()
    except BrokenPipeError:
        code = closed_pipe()
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except Exception as raised:  # noqa: BLE001 - sorted below: parser errors, else an internal error
        exc: Any = raised
        # The parser's errors: typer vendors click's exception classes (older typer used click's),
        # so they are recognised by their interface, as typer's own rich_utils does.
        if not (hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)):
            internal_error(exc, verbose="-v" in args or "--verbose" in args)
        if exc.__class__.__name__ == "NoArgsIsHelpError":
            exc.show()
            sys.exit(0)
        from gridctl.render.errors import parser_error
        from gridctl.report import Output, error_envelope, error_line, write_json

        out = Output(json="--json" in args)
        command = " ".join(a for a in args[:2] if not a.startswith("-") and a in _SUBCOMMAND_WORDS) or "gridctl"
        message = str(exc.format_message()).replace("\n", " ")
        if out.json:
            write_json(error_envelope(command, exc.exit_code, message), out)
        error_line(parser_error(message, command), out)
        code = exc.exit_code
    hard_exit(code if isinstance(code, int) else 0, owner)


_SUBCOMMAND_WORDS = set(COMMANDS) | {"lint", "login", "logout", "status", "serve", "list", "token"}
