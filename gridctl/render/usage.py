"""The usage receipt in one line (ping --receipt)."""

from __future__ import annotations

from gridctl.result import CheckResult


def receipt_line(check: CheckResult) -> str:
    """`receipt: <summary>; +50 ms added on the way` or `receipt: no receipt available (...)`."""
    d = check.data
    if "receipt" not in d:
        note = next((f.message for f in check.findings), "")
        return f"receipt: {d.get('summary', 'none')}" + (f" ({note})" if note else "")
    added = f"; {d['added_ms']:.0f} ms added between you and The Grid" if d.get("added_ms") is not None else ""
    return f"receipt: {d.get('summary')}{added}"
