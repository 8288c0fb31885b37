"""The offline lint commands (url, lint-curl): heading and closing lines."""

from __future__ import annotations

from gridctl.render import Text
from gridctl.result import Report


def url(report: Report) -> Text:
    data = report.checks[0].data
    sdk, canonical = data["sdk"], data["canonical"]
    conv = sdk or ("messages API, raw HTTP; --sdk anthropic for the SDK" if data["api"] == "messages" else "openai")
    return Text(f"gridctl url ({data['source']})", [f"canonical base URL ({conv}): {canonical}" if canonical
                                                    else "no canonical URL: the input has no host"])
