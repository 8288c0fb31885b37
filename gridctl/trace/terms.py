"""trace's fixes in the user's own terms: the variable trace rewrote and the client that sent the call.

"OPENAI_BASE_URL is https://api.thegrid.ai/v1/v1: set it to https://api.thegrid.ai/v1" rather than
doctor's words about THEGRID_BASE_URL, which the traced program may never read. The client comes from
the variable the call came through, else the recorded User-Agent (gridctl/lint/client.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gridctl.findings import Finding
from gridctl.trace.record import Call


def in_user_terms(call: Call, base: str, findings: list[Finding]) -> list[Finding]:
    """`findings` on the call's base URL with each fix naming the client's own variable and base URL; for a
    call whose program set the URL itself (the forward proxy saw it), its code or config instead."""
    from gridctl.lint.client import for_call, in_client_terms, source_fix, user_agent_of, variable_fix

    if not findings:
        return findings
    variable = variable_of(call)
    client = for_call(variable, user_agent_of(call.request_headers))
    out: list[Finding] = []
    for f in findings:
        if variable is not None and client is not None:
            f = variable_fix(f, variable, base, client.base_url)
        elif client is not None and own_url(call):
            f = source_fix(f, client, base)
        changed = f.fix.startswith(variable or "\0") or f.fix.startswith("The base URL is set in the program")
        out.append(f if changed else in_client_terms(f, client))
    return out


def variable_of(call: Call) -> str | None:
    """The variable the call's base URL came from: only a call that arrived under its slot's prefix
    (`/_g/o/...`) read it. An intercepted call (the program's own https URL) or an unprefixed one did not."""
    from gridctl.trace.proxy import PREFIX
    from gridctl.trace.session import SLOTS

    if call.slot not in SLOTS:
        return None
    return SLOTS[call.slot][0] if urlsplit(call.url).path.startswith(f"{PREFIX}{call.slot}/") else None


def own_url(call: Call) -> bool:
    """Did the program name The Grid's host itself (a call the forward proxy recorded)?"""
    from gridctl import grid

    return not grid.is_loopback_host(urlsplit(call.url).hostname or "")
