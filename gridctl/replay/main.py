"""replay's two sending forms as one call each: settings and a HAR in, Report out.

`replay_report`: the recorded call re-sent once. `minimize_report`: ddmin over the call's removable
parts (minimize.py), each test one request, bounded by --max-requests and the time budget, a 429
waited out (Retry-After) instead of read as "keeps the failure".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridctl import context
from gridctl.errors import UsageError
from gridctl.findings import finding
from gridctl.probe.client import Deadline, Net, retry_after
from gridctl.replay import har
from gridctl.replay.minimize import Exhausted, ddmin
from gridctl.replay.request import DEFAULTS, Change, Request, changes, clamp, clampable, from_call, with_field, without
from gridctl.replay.send import Answer, Destination, check, destination, send
from gridctl.result import CheckResult, Report, Timer
from gridctl.settings import Settings

MAX_RATE_WAIT = 30.0  # seconds one 429 may pause the search (and never past the time budget)


@dataclass(frozen=True)
class Plan:
    """What the replay is about: the call, where it goes, gridctl's key for it."""

    call: har.RecordedCall
    dest: Destination
    key: str | None
    source: str           # the HAR file, as named
    emulated: str | None = None


def plan(settings: Settings, path: Path, call: int | None, base: str | None, emulated: str | None = None) -> Plan:
    calls = har.load(path)
    chosen = har.pick(calls, call, str(path))
    dest = destination(chosen, base, context.base_url_for(settings))
    return Plan(chosen, dest, settings.key.value, str(path), emulated)


def recorded(p: Plan) -> dict[str, Any]:
    c = p.call
    return {"call": c.index, "method": c.method, "url": c.url, "status": c.status, "request_id": c.request_id,
            "codes": list(c.codes), "model": c.model}


def _report(command: str, settings: Settings, p: Plan, checks: list[CheckResult], timer: Timer) -> Report:
    report = Report(command, checks, target={**settings.target(), "base_url": p.dest.url}, duration_ms=timer.ms())
    report.extra["recorded"] = recorded(p)
    report.extra["har"] = p.source
    if p.emulated:
        report.extra["emulated"] = p.emulated
    return report


def _refused(p: Plan) -> CheckResult | None:
    from gridctl.probe.policy import no_contact

    bad = no_contact(p.dest.url.rsplit("/", 1)[0], p.call.api)
    if bad is not None:
        return CheckResult("replay", "Replay", [*p.dest.notes, bad], data={"sent": False})
    if not p.key:
        return CheckResult("replay", "Replay", [*p.dest.notes, finding("config.no_key")], data={"sent": False})
    return None


def replay_report(settings: Settings, p: Plan) -> Report:
    """The recorded call, re-sent once as the program sent it, with gridctl's key."""
    timer = Timer()
    refused = _refused(p)
    if refused is not None:
        return _report("replay", settings, p, [refused], timer)
    req = from_call(p.call, p.dest.url)
    with context.net(settings, retries=0) as net:
        answer = send(net, req, p.key)
    result = check(answer, p.call.model, timer)
    result.findings = [*p.dest.notes, *result.findings]
    result.refresh()
    same = answer.status == p.call.status
    result.data["same_status"] = same
    if p.call.failing and answer.ok:
        result.findings.append(finding("replay.not_reproduced", f"The call failed when recorded (HTTP "
                                       f"{p.call.status or 'no answer'}) and succeeded now (HTTP {answer.status})."))
        result.refresh()
    report = _report("replay", settings, p, [result], timer)
    report.extra["replayed"] = {**answer.as_json(), "url": req.url, "curl": req.curl()}
    return report


@dataclass
class Budget:
    """Requests sent and allowed; the time budget; a pause for each 429."""

    limit: int
    net: Net
    key: str | None
    sleep: Callable[[float], None] = time.sleep
    sent: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def ask(self, req: Request, label: str) -> Answer:
        while True:
            if self.sent >= self.limit or self.net.deadline.expired:
                raise Exhausted
            self.sent += 1
            answer = send(self.net, req, self.key)
            self.log.append({"try": label, **answer.as_json()})
            if answer.status is None and self.net.deadline.expired:
                raise Exhausted  # the time budget ran out mid-request: that says nothing about the request
            if answer.status != 429:
                return answer
            wait = min(retry_after(answer.outcome.headers) or 1.0, MAX_RATE_WAIT)
            if wait + 0.05 >= self.net.deadline.remaining() or self.sent >= self.limit:
                raise Exhausted
            self.sleep(wait)  # a rate limit says nothing about the request: the same one goes again


def minimize_report(settings: Settings, p: Plan, max_requests: int,
                    sleep: Callable[[float], None] = time.sleep) -> Report:
    timer = Timer()
    refused = _refused(p)
    if refused is not None:
        return _report("replay", settings, p, [refused], timer)
    if not isinstance(p.call.json_body(), dict):
        raise UsageError(f"call {p.call.index}: --minimize needs a JSON object body; this call has "
                         f"{'none' if p.call.body_text is None else 'another body'}")
    full = from_call(p.call, p.dest.url)
    with context.net(settings, retries=0, deadline=Deadline(settings.timeout)) as net:
        budget = Budget(max_requests, net, p.key, sleep)
        search = _Minimize(full, budget)
        baseline = search.run()
    result = check(baseline, p.call.model, timer, "replay", "Replay (max_tokens 1, no stream)") if baseline else \
        CheckResult("replay", "Replay", [finding("replay.budget", "No request could be sent within the budget.")])
    result.findings = [*p.dest.notes, *result.findings]
    result.refresh()
    summary = search.summary()
    mini = CheckResult("minimize", "Minimize", search.notes(), data={**summary, "tries": budget.log},
                       duration_ms=timer.ms())
    report = _report("replay", settings, p, [result, mini], timer)
    report.extra["minimize"] = summary
    return report


class _Minimize:
    """The search: the clamped call, then (when the clamp cured it) the clamped field, then ddmin."""

    def __init__(self, full: Request, budget: Budget) -> None:
        self.full, self.budget = full, budget
        self.under_test: str | None = None
        self.base = clamp(full)
        self.parts: list[Change] = []
        self.target: tuple[int | None, str | None] | None = None
        self.kept: tuple[int, ...] = ()
        self.complete = False
        self.default_passes: bool | None = None
        self.baseline: Answer | None = None
        self.exhausted = False

    def run(self) -> Answer | None:
        try:
            self.baseline = self.budget.ask(self.base, "the call, max_tokens 1, no stream")
            if self.baseline.ok:
                self._clamped_fields()
            if self.baseline.ok and self.under_test is None:
                return self.baseline
            self.target = self.baseline.signature if self.under_test is None else self.target
            self.parts = [c for c in changes(self.base) if not (c.kind == "field" and c.name == self.under_test)]
            self._ddmin()
        except Exhausted:  # (after a complete search, only the extra "at its default" request is lost)
            self.exhausted = not self.complete
        return self.baseline

    def _clamped_fields(self) -> None:
        """The clamp cured the failure: is it the max_tokens (or stream) value itself? One request each."""
        for name in clampable(self.full):
            req = clamp(self.full, under_test=name)
            answer = self.budget.ask(req, f"the call with `{name}` as recorded")
            if not answer.ok:
                self.under_test, self.base, self.target = name, req, answer.signature
                self.baseline = answer
                return

    def keeps(self, kept: tuple[int, ...]) -> bool:
        removed = [c for i, c in enumerate(self.parts) if i not in kept]
        answer = self.budget.ask(self.build(kept), "without " + ", ".join(c.label for c in removed))
        return answer.signature == self.target

    def build(self, kept: tuple[int, ...]) -> Request:
        return clamp(without(self.base, [c for i, c in enumerate(self.parts) if i not in kept]), self.under_test)

    def _ddmin(self) -> None:
        search = ddmin(len(self.parts), self.keeps)
        self.kept, self.complete = search.kept, search.complete
        self.exhausted = not search.complete
        culprit = self.culprit()
        if self.complete and culprit is not None and culprit.kind == "field" and culprit.name in DEFAULTS:
            req = clamp(with_field(self.build(self.kept), culprit.name, DEFAULTS[culprit.name]), self.under_test)
            self.default_passes = self.budget.ask(req, f"`{culprit.name}` at its default").ok

    def culprit(self) -> Change | None:
        if self.under_test is not None:
            return Change("field", self.under_test, f"`{self.under_test}`")
        return self.parts[self.kept[0]] if len(self.kept) == 1 else None

    def summary(self) -> dict[str, Any]:
        kept = [self.parts[i] for i in self.kept]
        minimal = self.build(self.kept) if self.target is not None else self.base
        culprit = self.culprit()
        out: dict[str, Any] = {
            "requests": self.budget.sent, "max_requests": self.budget.limit, "complete": self.complete,
            "failure": None if self.target is None else {"status": self.target[0], "code": self.target[1]},
            "kept": [c.as_json() for c in kept], "removed": [c.as_json() for c in self.parts if c not in kept],
            "field": None, "value": None, "sentence": None, "minimal": minimal.as_json(),
            "minimal_curl": minimal.curl(), "passing_curl": None,
        }
        if self.target is None:
            return out
        if self.under_test is not None:
            passing = clamp(minimal)
            out["sentence"] = f"with `{self.under_test}` at 1 the call succeeds" if self.under_test != "stream" \
                else "without streaming the call succeeds"
        elif culprit is not None:
            passing = self.build(tuple(i for i in self.kept if self.parts[i] != culprit))  # ddmin tested it
            out["sentence"] = f"without {culprit.label} the call succeeds"
        elif kept:
            passing = None
            out["sentence"] = "the call succeeds without any one of: " + ", ".join(c.label for c in kept)
        else:
            passing = None
            out["sentence"] = "the call fails even without every removable part (its model or messages)"
        if culprit is not None and culprit.kind == "field" and isinstance(self.full.body, dict):
            out["field"], out["value"] = culprit.name, self.full.body.get(culprit.name)
        if self.default_passes and culprit is not None:
            out["default"] = DEFAULTS[culprit.name]
            out["sentence"] += f"; so does `{culprit.name}` at The Grid's default ({DEFAULTS[culprit.name]!r})"
        if passing is not None:
            out["passing"], out["passing_curl"] = passing.as_json(), passing.curl()
        return out

    def notes(self) -> list[Any]:
        out = []
        if self.exhausted:
            out.append(finding("replay.budget", f"Stopped after {self.budget.sent} requests (at most "
                               f"{self.budget.limit}); the request shown still fails but may not be the smallest."))
        elif self.target is None and self.baseline is not None:
            out.append(finding("replay.not_reproduced", "The call succeeded when re-sent (max_tokens 1, no stream): "
                               "there is no failure to shrink."))
        return out
