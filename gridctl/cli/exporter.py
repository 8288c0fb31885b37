"""gridctl exporter: a Prometheus exporter, blackbox style (needs `pip install 'gridctl[exporter]'`)."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command
from gridctl.errors import ConfigProblem, UsageError


@command(app, "exporter", target=True,
         help="Serve Prometheus metrics: /probe?instrument=text-prime&api=chat runs one probe per scrape.")
def exporter_cmd(
    opts: Opts,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to serve on (loopback unless told otherwise).")]
    = "127.0.0.1:9464",
) -> int:
    import ipaddress

    from gridctl import context, grid
    from gridctl.findings import finding
    from gridctl.report import error_line, print_line, simple_envelope, write_json
    from gridctl.target import Target
    from gridctl.watch.exporter import ExporterState, available, make_server, parse_listen

    if not available():
        raise UsageError("the exporter needs prometheus_client: pip install 'gridctl[exporter]'")
    try:
        host, _port = parse_listen(listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    settings = opts.settings
    if not settings.key.value:
        raise ConfigProblem(finding("config.no_key").message)

    def make_target(instrument: str, api: str) -> Target:
        base = context.base_url_for(settings)
        if api != (settings.api.value or "chat") and settings.base_url.source == "default":
            base = f"{grid.MESSAGES_ROOT}/v1" if api == "messages" else grid.DEFAULT_BASE_URL
        return Target(base_url=base, key=settings.key.value, model=instrument, api=api)

    try:
        server = make_server(listen, ExporterState(make_target, timeout_s=settings.timeout))
    except OSError as exc:
        raise UsageError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        error_line(f"warning: listening on {host}, beyond this machine; the metrics name your instruments "
                   "(never your key)", opts.out)
    if opts.out.json:
        write_json(simple_envelope("exporter", listen=url, probe_url=f"{url}/probe?instrument={settings.model.value}"
                                   "&api=chat", metrics_url=f"{url}/metrics"), opts.out)
    else:
        print_line(f"gridctl exporter on {url}: {url}/probe?instrument={settings.model.value}&api=chat, "
                   f"{url}/metrics (Ctrl-C stops)", opts.out)
    _stop_on_sigterm()
    try:
        server.serve_forever(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop) ends the exporter like Ctrl-C: cleanly, exit 0."""
    import signal
    import threading

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
