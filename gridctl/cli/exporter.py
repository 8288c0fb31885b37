"""gridctl exporter: a Prometheus exporter, blackbox style (needs `pip install 'gridctl[exporter]'`)."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "exporter", target=True,
         help="Serve Prometheus metrics: /probe?instrument=text-prime&api=chat runs one probe per scrape.")
def exporter_cmd(
    opts: Opts,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to serve on; a non-loopback HOST needs --yes.")]
    = "127.0.0.1:9464",
    yes: Annotated[bool, typer.Option("--yes", help="Confirm serving on a non-loopback address.")] = False,
) -> int:
    from gridctl.render.exporter import beyond_loopback, ready
    from gridctl.report import emit_data, error_line
    from gridctl.watch.exporter import open_exporter, serve_until_stopped

    bound = open_exporter(opts.settings, listen, yes)
    if not bound.loopback:
        error_line(beyond_loopback(bound.host), opts.out)
    emit_data(*ready(bound.url, opts.settings.model.value), opts.out)
    serve_until_stopped(bound.server)
    return 0
