"""gridctl usage REQUEST_ID: the usage receipt of one request; no receipt is a warning, exit 0."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command
from gridctl.errors import UsageError


@command(app, "usage", target=True, help="Show the usage receipt of a request (GET /v1/usage/{id}); fails soft.")
def usage_cmd(
    opts: Opts,
    request_id: Annotated[str, typer.Argument(help="The request ID (x-grid-request-id) of an earlier call.",
                                              show_default=False)],
) -> object:
    from gridctl import context
    from gridctl.probe.usage import fetch_receipt
    from gridctl.result import Report, Timer

    rid = request_id.strip()
    if not rid or len(rid) > 200 or any(c.isspace() or ord(c) < 32 for c in rid):
        raise UsageError("REQUEST_ID must be one request ID (no spaces), as printed by `gridctl ping`")
    timer = Timer()
    settings = opts.settings
    with context.net(settings, retries=0) as net:
        check = fetch_receipt(net, context.target(settings), rid)
    report = Report("usage", [check], target=settings.target(), duration_ms=timer.ms())
    report.add_request_id(rid)
    if "receipt" in check.data:
        report.extra["receipt"] = check.data["receipt"]
    return report
