"""gridctl status: the status page, whatever provider serves it; never sends credentials."""

from __future__ import annotations

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "status", target=True, help="Check The Grid's status page for incidents (no credentials sent).")
def status_cmd(opts: Opts) -> int:
    from gridctl.probe.run import status_report
    from gridctl.render.probe import status

    report = status_report(opts.settings)
    return opts.show(report, status(report))
