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
            "exporter": "exporter", "usage": "usage", "trace": "trace"}
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
    if args in ([], ["--help"], ["-h"]) and not any(k.endswith("_COMPLETE") for k in os.environ):
        from gridctl.render import fasthelp

        if fasthelp.show(list(COMMANDS)):  # the top-level help without typer (bench: --help)
            sys.exit(0)
    _harden(args)
    try:
        app = load(_wanted(args))  # a Ctrl-C while the command's modules load: exit 130, no traceback
        import typer
    except KeyboardInterrupt:
        _exit(130)
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
            _internal_error(exc, verbose="-v" in args or "--verbose" in args)
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
    _exit(code if isinstance(code, int) else 0)


def _harden(args: list[str]) -> None:
    """Before anything can be printed: know every secret, survive any output encoding, own Ctrl-C."""
    from gridctl import grid
    from gridctl.secrets import register, register_argv

    # A usage error echoes the argument it rejects (`--timeout $THEGRID_API_KEY`): every key from the
    # environment, and anything key-shaped on the command line, is known to scrub() before click speaks.
    for name in (grid.ENV_API_KEY, grid.ENV_LEGACY_KEY, *(n for n in grid.SDK_ENV_VARS if "KEY" in n or "TOKEN" in n)):
        register(os.environ.get(name))
    register_argv(args)
    from gridctl.report import harden_streams

    harden_streams()
    if _is_main_program():
        from gridctl import interrupt

        interrupt.install()


def _exit(code: int) -> None:
    """Exit now, even when worker threads are still blocked in a socket read after Ctrl-C or a
    deadline: interpreter shutdown would join them and run past the budget."""
    import threading

    if any(t is not threading.current_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()) \
            and threading.current_thread() is threading.main_thread() and _is_main_program():
        from gridctl.report import flush_all

        flush_all()
        os._exit(code)
    sys.exit(code)


def _is_main_program() -> bool:
    # In-process callers (tests) get SystemExit, never a hard exit.
    return "pytest" not in sys.modules


def _internal_error(exc: BaseException, verbose: bool) -> None:
    """A bug outside any command's guard: one line, exit 1; the traceback only with -v."""
    import traceback

    from gridctl.render.errors import internal_error
    from gridctl.report import Output, error_line
    from gridctl.secrets import scrub
    from gridctl.textsafe import clean

    if verbose:
        sys.stderr.write(clean(scrub(traceback.format_exc())))
    error_line(internal_error(exc), Output())
    sys.exit(1)


_SUBCOMMAND_WORDS = set(COMMANDS) | {"lint", "login", "logout", "status", "serve", "list", "token"}
