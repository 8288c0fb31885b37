"""gridctl emulator serve / list: a local Grid with named fault scenarios, on loopback only."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import emulator_app
from gridctl.cli.common import Opts, UsageError, command


@command(emulator_app, "serve", cmd_name="emulator serve", help="Serve the emulator until Ctrl-C (loopback only).")
def serve_cmd(
    opts: Opts,
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="See `gridctl emulator list`.")] = "healthy",
    port: Annotated[int, typer.Option("--port", "-p", help="0 picks a free port.")] = 0,
    host: Annotated[str, typer.Option("--host", help="A loopback address; anything else is refused.")] = "127.0.0.1",
    latency: Annotated[float, typer.Option("--latency", help="Seconds added before every answer.")] = 0.0,
    first_byte: Annotated[float | None, typer.Option("--first-byte-delay", help="Seconds before an inference answer's headers.", show_default=False)] = None,
    first_token: Annotated[float | None, typer.Option("--first-token-delay", help="Seconds before a stream's first content chunk.", show_default=False)] = None,
    token_rate: Annotated[float | None, typer.Option("--token-rate", help="Content chunks per second after the first.", show_default=False)] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", help="Content chunks per streamed answer.", show_default=False)] = None,
) -> int:
    from gridctl.emulator.scenarios import DEMO_KEY
    from gridctl.emulator.server import Emulator, LoopbackOnlyError, UnknownScenarioError, serve_forever
    from gridctl.report import print_line, simple_envelope, write_json

    if not 0 <= port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    if not 0 <= latency <= 60:
        raise UsageError("--latency must be between 0 and 60 seconds")
    for value, flag in ((first_byte, "--first-byte-delay"), (first_token, "--first-token-delay")):
        if value is not None and not 0 <= value <= 60:
            raise UsageError(f"{flag} must be between 0 and 60 seconds")
    if token_rate is not None and not 0 < token_rate <= 100000:
        raise UsageError("--token-rate must be a positive number of tokens per second")
    if tokens is not None and not 1 <= tokens <= 10000:
        raise UsageError("--tokens must be between 1 and 10000")
    shapes = {"first_byte_delay": first_byte, "first_token_delay": first_token,
              "token_gap": None if token_rate is None else 1 / token_rate, "stream_tokens": tokens}

    def ready(emu: Emulator) -> None:
        if opts.out.json:
            write_json(simple_envelope("emulator serve", scenario=scenario, base_url=emu.base_url,
                                       status_url=emu.root_url, demo_key=DEMO_KEY), opts.out)
            return
        print_line(f"gridctl emulator: scenario {scenario} on {emu.base_url} (Ctrl-C stops)", opts.out)
        print_line(f"  export THEGRID_BASE_URL={emu.base_url} THEGRID_STATUS_URL={emu.root_url} "
                   f"THEGRID_API_KEY={DEMO_KEY}", opts.out)

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
    from gridctl.report import print_line, simple_envelope, write_json

    if opts.out.json:
        write_json(simple_envelope("emulator list", scenarios=[{"name": n, "description": s.description}
                                                               for n, s in SCENARIOS.items()]), opts.out)
        return 0
    for name, sc in SCENARIOS.items():
        print_line(f"{name:22} {sc.description}", opts.out)
    return 0
