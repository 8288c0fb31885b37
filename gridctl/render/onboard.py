"""onboard: the heading, then the working configuration or what to do next."""

from __future__ import annotations

from gridctl.render import Text
from gridctl.result import Report


def onboard(report: Report) -> Text:
    snip = report.extra["snippet"]
    header = f"gridctl onboard ({snip['sdk']})"
    if not report.ok:
        return Text(header, ["", "Fix the failing step above, then run `gridctl onboard` again "
                             "(`gridctl explain CODE` says more about any code)."])
    footer = ["", f"All set. Your {snip['sdk']} configuration:", "", snip["env"]]
    if snip["code"]:
        footer += ["", snip["code"].rstrip()]
    return Text(header, footer)
