"""doctor: its heading, and the closing lines (diagnosis, request IDs, the support message)."""

from __future__ import annotations

from gridctl.doctor.support import closing_lines
from gridctl.render import Text
from gridctl.result import Report


def doctor(report: Report) -> Text:
    emulated = report.extra.get("emulated")
    return Text(f"gridctl doctor{' (emulator: ' + emulated + ')' if emulated else ''}", closing_lines(report, report.human.get("report_file")))
