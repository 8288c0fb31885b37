"""gridctl onboard: the onboarding checklist, ending in a working config snippet for your SDK."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "onboard", target=True, help="The onboarding checklist: key, base URL, ping, instrument, streaming, "
         "tools and JSON mode, balance; ends with a config snippet for your SDK.")
def onboard_cmd(
    opts: Opts,
    sdk: Annotated[str | None, typer.Option("--sdk", help="openai, anthropic, litellm, langchain, curl or env.",
                                            show_default=False)] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt (CI); also implied off a terminal.")] = False,
) -> int:
    from gridctl.onboard import choose_sdk, onboard_report
    from gridctl.render.onboard import onboard

    # --sdk stays a checked string, not a typer choice: the same check covers the prompted answer.
    interactive = not no_input and sys.stdin.isatty() and not opts.out.json
    sdk = choose_sdk(sdk, interactive)
    if sdk == "anthropic" and opts.flags.api is None:
        opts.flags.api = "messages"
    report = onboard_report(opts.settings, sdk, interactive)
    return opts.show(report, onboard(report))
