"""gridctl models: list instruments, or validate one; the live list when it can be read."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "models", target=True, help="List the instruments, or validate NAME and suggest the right one.")
def models_cmd(
    opts: Opts,
    name: Annotated[str | None, typer.Argument(help="An instrument (model) name to validate.",
                                               show_default=False)] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the live list (GET /v1/models).")] = False,
) -> int:
    from gridctl import grid
    from gridctl.lint.model import lint_model
    from gridctl.result import CheckResult, Report, Timer

    timer = Timer()
    settings = opts.settings
    checks: list[CheckResult] = []
    live: list[str] | None = None
    if not offline:
        from gridctl import context
        from gridctl.probe.models import fetch_models
        from gridctl.probe.ping import no_contact

        tgt = context.target(settings)
        # Only a look-alike host stops the live list (no key is needed to list): nothing, not even an
        # unauthenticated GET, goes to a host that is probably someone else's.
        bad = no_contact(tgt.base_url, tgt.api)
        if bad is not None and bad.code == "url.host_typo":
            checks.append(CheckResult("models", "Live instrument list", [bad], data={"sent": False}))
        else:
            with context.net(settings, retries=0) as net:
                checks.append(fetch_models(net, tgt))
            live = checks[-1].data.get("live")
    listed = live if live is not None else list(grid.INSTRUMENTS) + list(grid.LAB_MARKET)
    rows = [(m, "instrument" if m in grid.INSTRUMENTS else "lab market", m in (live or [])) for m in listed]
    footer: list[str] = []
    if name is not None:
        from gridctl.lint.redact import redact
        from gridctl.secrets import register

        if redact(name) != name:
            register(name)  # a key pasted where the model goes: every line written scrubs it
        lint = lint_model(name, live)
        checks.append(CheckResult("model", "Instrument", lint.findings, duration_ms=timer.ms(),
                                  data={"name": name, "suggestion": lint.suggestion, "known": lint.known}))
        if lint.suggestion:
            footer.append(f"suggestion: {lint.suggestion}")
    else:
        source = "live list" if live is not None else "built-in list"
        footer = [f"{m:24} {kind}" for m, kind, _ in rows] + [f"({len(rows)} from the {source})"]
        checks.append(CheckResult("model", "Instruments", [], duration_ms=timer.ms(),
                                  data={"instruments": [m for m, _, _ in rows], "source": source,
                                        "summary": f"{len(rows)} from the {source}"}))
    report = Report("models", checks, target=settings.target(with_key=False), duration_ms=timer.ms())
    for c in checks:
        report.add_request_id(c.data.get("request_id"))
    return opts.finish(report, header="gridctl models", footer=footer)
