"""The Typer objects. Command modules register on these; gridctl.cli decides which modules load."""

from __future__ import annotations

import sys

import typer

from gridctl import __version__

app = typer.Typer(
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
        sys.stdout.write(f"gridctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Tells you in seconds why your calls to The Grid fail, and what to change."""
