"""Result objects: what checks return and what the renderers read. No I/O here."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from gridctl.findings import ERROR, WARNING, ExitCode, Finding, exit_code_for


class Status(StrEnum):
    """A check's outcome; a str, so `check.status == "fail"` and the JSON stay as they were."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


PASS, WARN, FAIL, SKIP = Status.PASS, Status.WARN, Status.FAIL, Status.SKIP


@dataclass(frozen=True)
class PingEvidence:
    """What one sent request proved, typed, for the readers that reason about it (diagnose,
    support, balance). `CheckResult.data` keeps the same facts as the JSON-facing dict."""

    status_code: int | None
    model: str | None
    served_model: str | None = None
    request_ids: tuple[str, ...] = ()
    attempts: int = 0
    statuses: tuple[int, ...] = ()
    redirects: tuple[str, ...] = ()
    key_sent_to: tuple[str, ...] = ()
    timings_ms: dict[str, float | None] = field(default_factory=dict)

    @property
    def request_id(self) -> str | None:
        return self.request_ids[-1] if self.request_ids else None


@dataclass
class CheckResult:
    id: str
    title: str
    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    status: str = ""  # derived from the findings unless a check sets it (e.g. skip)
    evidence: PingEvidence | None = None  # set by the checks that send a request and read its answer

    def __post_init__(self) -> None:
        self.status = Status(self.status) if self.status else derive_status(self.findings)

    @property
    def request_ids(self) -> list[str]:
        """Every request ID this check saw, in order: its own requests', then per-instrument rows'."""
        ids: list[str | None] = list(self.evidence.request_ids) if self.evidence is not None else []
        ids += list(self.data.get("request_ids") or []) or [self.data.get("request_id")]
        for row in self.data.get("instruments") or []:  # balance's rows; models lists plain names
            ids.append(row.get("request_id") if isinstance(row, dict) else None)
        return [r for i, r in enumerate(ids) if r and r not in ids[:i]]

    def refresh(self) -> CheckResult:
        if self.status != SKIP:
            self.status = derive_status(self.findings)
        return self

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "duration_ms": round(self.duration_ms, 1),
                "findings": [f.as_json() for f in self.findings], "data": self.data}


def derive_status(findings: list[Finding]) -> Status:
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
    human: dict[str, Any] = field(default_factory=dict)  # facts only the human renderer shows (never JSON)
    # doctor: evidence can change the exit code of a finding (url.doubled_v1 confirmed by a 404 is 6, not 3)
    exit_override: ExitCode | None = None
    # explain (issue 20): whether the diagnosis is certain; when not, the candidates most likely first and
    # the one command that tells them apart. None: the command does not say (doctor, trace: certain).
    certain: bool | None = None
    candidates: list[Finding] = field(default_factory=list)
    next_step: str | None = None

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

    def __post_init__(self) -> None:
        # Request IDs come from the checks themselves; ones passed in explicitly (a step that is
        # not shown as a check, or an order that matters) come first.
        for rid in request_ids_of(self.checks):
            self.add_request_id(rid)

    def add_request_id(self, rid: str | None) -> None:
        if rid and rid not in self.request_ids:
            self.request_ids.append(rid)


def request_ids_of(checks: Iterable[CheckResult | None]) -> list[str]:
    """The request IDs of these checks, in order, each once."""
    out: list[str] = []
    for check in checks:
        for rid in check.request_ids if check is not None else []:
            if rid not in out:
                out.append(rid)
    return out


class Interrupted(Exception):
    """Ctrl-C during a round of concurrent work (doctor's steps, a sweep of instruments): carries the
    results by name, the finished ones as they came and the others as `run.interrupted`."""

    def __init__(self, checks: dict[str, CheckResult]) -> None:
        super().__init__("interrupted")
        self.checks = checks
