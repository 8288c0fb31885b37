"""trace's fixes in the user's own terms: the variable trace rewrote and the client that sent the call.

"OPENAI_BASE_URL is https://api.thegrid.ai/v1/v1: set it to https://api.thegrid.ai/v1" rather than
doctor's words about THEGRID_BASE_URL, which the traced program may never read. The client comes from
the variable the call came through, else the recorded User-Agent (gridctl/lint/client.py).
"""

from __future__ import annotations

from gridctl.findings import Finding
from gridctl.trace.record import Call


def in_user_terms(call: Call, base: str, findings: list[Finding]) -> list[Finding]:
    """`findings` on the call's base URL with each fix naming the client's own variable and base URL."""
    from gridctl.lint.client import for_call, in_client_terms, user_agent_of, variable_fix
    from gridctl.trace.session import SLOTS

    if not findings:
        return findings
    variable = SLOTS[call.slot][0] if call.slot in SLOTS else None
    client = for_call(variable, user_agent_of(call.request_headers))
    out: list[Finding] = []
    for f in findings:
        if variable is not None and client is not None:
            f = variable_fix(f, variable, base, client.base_url)
        out.append(f if f.fix.startswith(variable or "\0") else in_client_terms(f, client))
    return out
