"""gridctl onboard: the onboarding checklist, ending in a working config snippet for your SDK."""

from __future__ import annotations

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
    import sys
    from dataclasses import replace

    from gridctl import context, grid
    from gridctl.cli.common import UsageError
    from gridctl.onboard import offline_checks, online_checks, sdk_base_url, snippet
    from gridctl.result import Report, Timer
    from gridctl.secrets import register

    choices = (*grid.SDK_NAMES, "env")
    interactive = not no_input and sys.stdin.isatty() and not opts.out.json
    if sdk is None:
        from gridctl.cli.prompts import choose

        sdk = choose(f"Which SDK or tool ({', '.join(choices)})?", choices, "openai", opts.out) \
            if interactive else "openai"
    if sdk not in choices:
        raise UsageError(f"--sdk must be one of {', '.join(choices)}, not {sdk!r}")
    timer = Timer()
    settings = opts.settings
    if sdk == "anthropic" and opts.flags.api is None:
        opts.flags.api = "messages"
    tgt = context.target(settings)
    if not tgt.key and interactive:
        import getpass

        key = getpass.getpass("Paste a consumption key for this check (input hidden, not stored): ").strip()
        register(key)
        tgt = replace(tgt, key=key or None)
    custom = settings.base_url.source != "default"
    checks = offline_checks(tgt, sdk, custom)
    if all(c.status != "fail" for c in checks):
        with context.net(settings) as net:
            checks += online_checks(net, tgt)
    report = Report("onboard", checks, target=settings.target(), duration_ms=timer.ms())
    for c in checks:
        report.add_request_id(c.data.get("request_id"))
    base = sdk_base_url(sdk, tgt.base_url, custom)
    snip = snippet(sdk, base, tgt.model)
    report.extra["snippet"] = {"sdk": sdk, "base_url": base, **snip}
    footer = []
    if report.ok:
        footer = ["", f"All set. Your {sdk} configuration:", "", snip["env"]]
        if snip["code"]:
            footer += ["", snip["code"].rstrip()]
    else:
        footer = ["", "Fix the failing step above, then run `gridctl onboard` again "
                  "(`gridctl explain CODE` says more about any code)."]
    return opts.finish(report, header=f"gridctl onboard ({sdk})", footer=footer)
