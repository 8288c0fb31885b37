"""gridctl emulator serve / list: a local Grid with named fault scenarios, on loopback only."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import emulator_app
from gridctl.cli.common import Opts, command, complete_scenario
from gridctl.errors import UsageError


@command(emulator_app, "serve", cmd_name="emulator serve", help="Serve the emulator until Ctrl-C (loopback only).")
def serve_cmd(
    opts: Opts,
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="See `gridctl emulator list`.",
                                          autocompletion=complete_scenario)] = "healthy",
    port: Annotated[int, typer.Option("--port", "-p", help="0 picks a free port.", min=0, max=65535)] = 0,
    host: Annotated[str, typer.Option("--host", help="A loopback address; anything else is refused.")] = "127.0.0.1",
    latency: Annotated[float, typer.Option("--latency", help="Seconds added before every answer.",
                                           min=0, max=60)] = 0.0,
    first_byte: Annotated[float | None, typer.Option("--first-byte-delay", min=0, max=60, show_default=False,
                                                     help="Seconds before an inference answer's headers.")] = None,
    first_token: Annotated[float | None, typer.Option("--first-token-delay", min=0, max=60, show_default=False,
                                                      help="Seconds before a stream's first content chunk.")] = None,
    token_rate: Annotated[float | None, typer.Option("--token-rate", min=0.001, max=100000, show_default=False,
                                                     help="Content chunks per second after the first.")] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", min=1, max=10000, show_default=False,
                                               help="Content chunks per streamed answer.")] = None,
) -> int:
    from gridctl.emulator.scenarios import DEMO_KEY
    from gridctl.emulator.server import Emulator, LoopbackOnlyError, UnknownScenarioError, serve_forever
    from gridctl.render.emulator import serve
    from gridctl.report import emit_data

    shapes = {"first_byte_delay": first_byte, "first_token_delay": first_token,
              "token_gap": None if token_rate is None else 1 / token_rate, "stream_tokens": tokens}

    def ready(emu: Emulator) -> None:
        emit_data(*serve(scenario, emu.base_url, emu.root_url, DEMO_KEY), opts.out)

    try:
        serve_forever(scenario, host, port, latency, ready=ready, verbose=opts.out.verbose, **shapes)
    except (LoopbackOnlyError, UnknownScenarioError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return 0


@command(emulator_app, "list", cmd_name="emulator list", help="List the emulator's scenarios.")
def list_cmd(opts: Opts) -> int:
    from gridctl.emulator.scenarios import SCENARIOS
    from gridctl.emulator.validate import SUMMARY
    from gridctl.render.emulator import scenario_list
    from gridctl.report import emit_data

    emit_data(*scenario_list({n: s.description for n, s in SCENARIOS.items()}, SUMMARY), opts.out)
    return 0
