"""gridctl url: base-URL lint and normalisation, offline."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command, sdk_of
from gridctl.result import CheckResult, Report, Timer


@command(app, "url", profile=True, help="Lint a base URL and print the canonical one for your SDK (offline).")
def url_cmd(
    opts: Opts,
    url: Annotated[str | None, typer.Argument(help="Base URL to lint; default: the one gridctl would use.",
                                              show_default=False)] = None,
    api: Annotated[str, typer.Option("--api", help="chat or messages.")] = "chat",
    sdk: Annotated[str | None, typer.Option("--sdk", help="openai, anthropic, litellm, langchain, curl.",
                                            show_default=False)] = None,
) -> int:
    from gridctl.cli.common import api_of
    from gridctl.lint.url import lint_url

    api = api_of(api)
    sdk = sdk_of(sdk)
    source = "argument"
    if url is None:
        sourced = opts.settings.base_url
        url, source = sourced.value or "", sourced.source
    timer = Timer()
    result = lint_url(url, api=api, sdk=sdk)
    conv = sdk or ("messages API, raw HTTP; --sdk anthropic for the SDK" if api == "messages" else "openai")
    check = CheckResult("url", "Base URL", result.findings, duration_ms=timer.ms(),
                        data={"input": url, "source": source, "canonical": result.canonical, "sdk": sdk,
                              "api": api, "grid_host": result.grid_host})
    report = Report("url", [check], target={"base_url": url, "api": api, "model": None})
    report.extra["canonical"] = result.canonical
    footer = [f"canonical base URL ({conv}): {result.canonical}" if result.canonical
              else "no canonical URL: the input has no host"]
    return opts.finish(report, header=f"gridctl url ({source})", footer=footer)
