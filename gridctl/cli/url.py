"""gridctl url: base-URL lint and normalisation, offline."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl import grid
from gridctl.cli.apps import app
from gridctl.cli.common import Opts, command


@command(app, "url", profile=True, help="Lint a base URL and print the canonical one for your SDK (offline).")
def url_cmd(
    opts: Opts,
    url: Annotated[str | None, typer.Argument(help="Base URL to lint; default: the one gridctl would use.",
                                              show_default=False)] = None,
    api: Annotated[grid.ApiName | None, typer.Option("--api", help="Default: the profile's api, else chat.",
                                                     show_default=False)] = None,
    sdk: Annotated[grid.SdkName | None, typer.Option("--sdk", help="Print the base URL in this SDK's "
                                                     "convention.", show_default=False)] = None,
) -> int:
    from gridctl.lint.url import url_report
    from gridctl.render.lints import url as text

    source = "argument"
    if url is None:
        url, source = opts.settings.base_url.value or "", opts.settings.base_url.source
    report = url_report(url, source, api=api or opts.settings.api.value or "chat", sdk=sdk)
    return opts.show(report, text(report))
