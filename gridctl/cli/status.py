"""gridctl status: the status page, whatever provider serves it; never sends credentials."""

from __future__ import annotations

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "status", target=True, help="Check The Grid's status page for incidents (no credentials sent).")
def status_cmd(opts: Opts) -> int:
    from gridctl import context
    from gridctl.findings import ExitCode
    from gridctl.probe.status import check_status
    from gridctl.result import Report, Timer

    timer = Timer()
    settings = opts.settings
    url = settings.status_url
    with context.net(settings, retries=0) as net:
        check = check_status(net, url.value or "")
    check.data["source"] = url.source
    # Alone, reading the page is the command's one job: failing at it is an error (exit 9, the network
    # layer that failed), not the warning it is inside doctor, where the API answers for itself.
    unread = [f for f in check.findings if f.code == "status.unreachable"]
    for f in unread:
        f.severity = "error"
    check.refresh()
    report = Report("status", [check], target={"status_url": url.value}, duration_ms=timer.ms(),
                    exit_override=ExitCode.NETWORK if unread else None)
    return opts.finish(report, header=f"gridctl status ({url.value})")
