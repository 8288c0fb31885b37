"""Result objects: what checks return and what the renderers read. No I/O here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gridctl.findings import ERROR, WARNING, ExitCode, Finding, exit_code_for

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
STATUSES = (PASS, WARN, FAIL, SKIP)


@dataclass
class CheckResult:
    id: str
    title: str
    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    status: str = ""  # derived from the findings unless a check sets it (e.g. skip)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = derive_status(self.findings)

    def refresh(self) -> CheckResult:
        if self.status != SKIP:
            self.status = derive_status(self.findings)
        return self

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "duration_ms": round(self.duration_ms, 1),
                "findings": [f.as_json() for f in self.findings], "data": self.data}


def derive_status(findings: list[Finding]) -> str:
    if any(f.severity == ERROR for f in findings):
        return FAIL
    if any(f.severity == WARNING for f in findings):
        return WARN
    return PASS


class Timer:
    """Measures a check's duration in milliseconds."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000.0


@dataclass
class Report:
    command: str
    checks: list[CheckResult] = field(default_factory=list)
    target: dict[str, Any] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    duration_ms: float = 0.0
    diagnosis: Finding | None = None  # None: the first error finding in check order
    extra: dict[str, Any] = field(default_factory=dict)  # command-specific top-level fields
    # doctor: evidence can change the exit code of a finding (url.doubled_v1 confirmed by a 404 is 6, not 3)
    exit_override: ExitCode | None = None

    def root_cause(self) -> Finding | None:
        if self.diagnosis is not None:
            return self.diagnosis
        for check in self.checks:
            for f in check.findings:
                if f.severity == ERROR:
                    return f
        return None

    @property
    def exit_code(self) -> ExitCode:
        cause = self.root_cause()
        if cause is None:
            return ExitCode.OK
        return self.exit_override if self.exit_override is not None else exit_code_for(cause)

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def add_request_id(self, rid: str | None) -> None:
        if rid and rid not in self.request_ids:
            self.request_ids.append(rid)
