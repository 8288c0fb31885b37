"""gridctl usage REQUEST_ID: the usage receipt of one request; no receipt is a warning, exit 0."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "usage", target=True, help="Show the usage receipt of a request (GET /v1/usage/{id}); fails soft.")
def usage_cmd(
    opts: Opts,
    request_id: Annotated[str, typer.Argument(help="The request ID (x-grid-request-id) of an earlier call.",
                                              show_default=False)],
) -> object:
    from gridctl.probe.run import usage_report

    return usage_report(opts.settings, request_id)
