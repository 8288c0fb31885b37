"""gridctl ping: one chat completion with "ping", one line out. For scripts and CI."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import RETRIES, Opts, command


@command(app, "ping", target=True, quiet=True,
         help="Send the troubleshooting page's curl request (\"ping\" to text-prime); one line out.")
def ping_cmd(
    opts: Opts,
    all_: Annotated[bool, typer.Option("--all", help="Ping all nine instruments concurrently.")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="Stream the answer (SSE) and check it ends.")] = False,
    retries: Annotated[int, RETRIES] = 2,
    curl: Annotated[bool, typer.Option("--curl", help="Print the equivalent curl command instead of sending.")] = False,
    receipt: Annotated[bool, typer.Option("--receipt", help="Fetch the usage receipt; compare your TTFT with the server's.")] = False,
) -> int:
    from gridctl.probe.run import curl_report, ping_report
    from gridctl.render.ping import ping_lines

    if curl:
        report = curl_report(opts.settings, stream=stream)
    else:
        report = ping_report(opts.settings, all_=all_, stream=stream, retries=retries, receipt=receipt)
    return opts.lines(report, ping_lines(report))
