"""The Typer objects. Command modules register on these; gridctl.cli decides which modules load."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from gridctl import __version__


class _OneLineErrors(TyperGroup):
    """Run standalone through gridctl.cli.main(), so a parser error (a bad choice or range) is one
    line and exit 2 however the app is invoked: `python -m gridctl`, the console script or CliRunner."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode or extra:
            return super().main(args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        from gridctl.cli import main

        main(list(sys.argv[1:] if args is None else args))


app = typer.Typer(
    cls=_OneLineErrors,
    name="gridctl",
    help="Tells you in seconds why your calls to The Grid fail, and what to change.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
auth_app = typer.Typer(help="Check the auth header; store, show and remove the key.", no_args_is_help=True)
emulator_app = typer.Typer(help="A local emulator of The Grid with named fault scenarios.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")
app.add_typer(emulator_app, name="emulator")


def _version(value: bool) -> None:
    if value:
        from gridctl.report import Output, print_line

        print_line(f"gridctl {__version__}", Output())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Tells you in seconds why your calls to The Grid fail, and what to change."""
