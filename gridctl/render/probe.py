"""balance, status, models: heading and closing lines around the checklist."""

from __future__ import annotations

from gridctl import grid
from gridctl.render import Text
from gridctl.result import Report


def balance(report: Report) -> Text:
    data = report.checks[0].data if report.checks else {}
    footer = [f"{r['model']:16} {r['status_code'] or 'no answer'}" for r in data.get("instruments", [])]
    footer += [f"{model:16} interrupted" for model in data.get("waiting", [])]  # Ctrl-C came first
    return Text("gridctl balance", [*footer, f"Balances and Auto-Reload: {grid.DASHBOARD_URL}"])


def status(report: Report) -> Text:
    return Text(f"gridctl status ({report.target.get('status_url')})")


def models(report: Report) -> Text:
    last = report.checks[-1].data
    if "name" in last:
        return Text("gridctl models", [f"suggestion: {last['suggestion']}"] if last.get("suggestion") else [])
    listed: list[str] = last["instruments"]
    rows = [f"{m:24} {'instrument' if m in grid.INSTRUMENTS else 'lab market'}" for m in listed]
    return Text("gridctl models", [*rows, f"({len(listed)} from the {last['source']})"])
