"""gridctl models: list instruments, or validate one; the live list when it can be read."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "models", target=True, help="List the instruments, or validate NAME and suggest the right one.")
def models_cmd(
    opts: Opts,
    name: Annotated[str | None, typer.Argument(help="An instrument (model) name to validate.",
                                               show_default=False)] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the live list (GET /v1/models).")] = False,
) -> int:
    from gridctl.probe.run import models_report
    from gridctl.render.probe import models

    report = models_report(opts.settings, name, offline=offline)
    return opts.show(report, models(report))
