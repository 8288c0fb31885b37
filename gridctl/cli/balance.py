"""gridctl balance: which instruments answer 402, what that means, what to do."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "balance", target=True, help="Probe instruments for 402s and explain them (credits vs tokens).")
def balance_cmd(
    opts: Opts,
    all_: Annotated[bool, typer.Option("--all", help="Probe all nine instruments (the default unless --model).")] = False,
    retries: Annotated[int, typer.Option("--retries", help="Retries for each probe (402 may clear).")] = 2,
) -> int:
    from gridctl import context, grid
    from gridctl.probe.balance import check_balance
    from gridctl.probe.ping import refuse
    from gridctl.result import Report, Timer

    timer = Timer()
    settings = opts.settings
    models = [settings.model.value or grid.DEFAULT_MODEL] if opts.flags.model and not all_ else list(grid.INSTRUMENTS)
    tgt = context.target(settings)
    refused = refuse(tgt, "balance", "Balance")
    if refused is not None:
        return opts.finish(Report("balance", [refused], target=settings.target()))
    with context.net(settings, retries=max(0, retries)) as net:
        check = check_balance(net, tgt, models)
    report = Report("balance", [check], target=settings.target(), duration_ms=timer.ms())
    for row in check.data["instruments"]:
        report.add_request_id(row.get("request_id"))
    footer = [f"{r['model']:16} {r['status_code'] or 'no answer'}" for r in check.data["instruments"]]
    footer.append(f"Balances and Auto-Reload: {grid.DASHBOARD_URL}")
    return opts.finish(report, header="gridctl balance", footer=footer)
