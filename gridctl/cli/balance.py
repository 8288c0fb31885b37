"""gridctl balance: which instruments answer 402, what that means, what to do."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command, retries_option


@command(app, "balance", target=True, help="Probe instruments for 402s and explain them (credits vs tokens).")
def balance_cmd(
    opts: Opts,
    all_: Annotated[bool, typer.Option("--all", help="Probe all nine instruments (the default unless --model).")] = False,
    retries: Annotated[int, retries_option("Retries for each probe (402 may clear).")] = 2,
) -> int:
    from gridctl.probe.run import balance_report
    from gridctl.render.probe import balance

    report = balance_report(opts.settings, model_only=bool(opts.flags.model) and not all_, retries=retries)
    return opts.show(report, balance(report))
