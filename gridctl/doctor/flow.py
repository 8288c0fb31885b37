"""The "is it me or The Grid?" flow: steps, what depends on what, concurrency, one deadline.

Offline lints run at once; status page, network and ping run in parallel; the live model list
and the balance probe run only when a 404 or a 402 makes them useful. The critical path is
about two round trips however many steps there are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from gridctl import grid
from gridctl.doctor.config import check_config
from gridctl.doctor.diagnose import diagnose
from gridctl.doctor.evidence import interpret
from gridctl.findings import ExitCode, Finding, finding
from gridctl.lint.body import lint_body
from gridctl.lint.header import header_for, lint_header
from gridctl.lint.model import lint_model
from gridctl.lint.url import lint_url
from gridctl.probe.client import Deadline, Net
from gridctl.result import SKIP, CheckResult, Interrupted, Report, Timer, request_ids_of
from gridctl.settings import Settings
from gridctl.target import Target

FLOW = ("config", "status", "network", "ping", "auth", "url", "model", "balance", "stream", "body")
TITLES = {"config": "Configuration", "status": "Status page", "network": "Network", "ping": "Ping",
          "auth": "Auth header", "url": "Base URL", "model": "Instrument", "balance": "Balance",
          "stream": "Streaming", "body": "Request body"}
# The first round, run in parallel: what the progress display names while it waits.
FIRST_ROUND = ("status", "network", "ping")
GRACE_S = 0.25  # every network call is bounded by the deadline itself; this only covers thread hand-off
# What to say about a step that was still running when the budget ran out.
LATE = {"status": "status.unreachable", "network": "net.connect_timeout", "ping": "net.no_response",
        "stream": "net.no_response", "models": "model.not_listed", "balance": "net.no_response",
        "diagnostics": "net.no_response"}  # a late diagnostics answer is dropped by diagnostics.fold()


@dataclass
class Plan:
    settings: Settings
    target: Target
    status_url: str
    timeout: float
    retries: int = 2
    stream: bool = False
    idle_warn_s: float = 5.0
    body: str | None = None
    on_step: Callable[[str], None] | None = None  # progress: called as each step finishes


def run(plan: Plan) -> Report:
    timer = Timer()
    deadline = Deadline(plan.timeout)
    tgt = plan.target
    checks: dict[str, CheckResult] = {"config": check_config(plan.settings, tgt.base_url)}
    checks.update(offline_steps(tgt, plan.body))
    with Net(deadline, retries=plan.retries) as net:
        from gridctl.probe.net import check_network
        from gridctl.probe.ping import ping
        from gridctl.probe.status import check_status

        jobs: dict[str, Callable[[], CheckResult]] = {
            "status": lambda: check_status(net, plan.status_url),
            "network": lambda: check_network(tgt.base_url, deadline),
            "ping": lambda: ping(net, tgt),
        }
        if _no_contact(tgt):
            # A look-alike host (or no host at all): not even a DNS lookup or a TCP handshake goes there.
            del jobs["network"]
            checks["network"] = CheckResult("network", TITLES["network"], [], status=SKIP,
                                            data={"summary": "not contacted: see Base URL"})
        if plan.stream:
            from gridctl.probe.stream import check_stream

            jobs["stream"] = lambda: check_stream(net, tgt, plan.idle_warn_s)
        stop: Finding | None = None
        try:
            checks.update(_parallel(jobs, deadline, plan.on_step))
            checks.update(_parallel(_follow_ups(net, checks, tgt), deadline, plan.on_step))
        except Interrupted as exc:
            checks.update(exc.checks)
            stop = finding("run.interrupted")
    if stop is None:
        from gridctl.probe.diagnostics import fold

        fold(checks)
        interpret(checks, tgt)
    ordered = [checks.get(step) or _skipped(step, plan) for step in FLOW]
    cause, override = diagnose(checks) if stop is None else (stop, ExitCode.INTERRUPTED)
    # The failing request's IDs first; "models" is evidence folded into the model step, not a check.
    ids = request_ids_of(checks.get(step) for step in ("ping", "stream", "balance", "models"))
    return Report("doctor", ordered, target=plan.settings.target() | {"base_url": tgt.base_url,
                                                                      "model": tgt.model, "api": tgt.api},
                  request_ids=ids, duration_ms=timer.ms(), diagnosis=cause, exit_override=override)


def offline_steps(tgt: Target, body: str | None) -> dict[str, CheckResult]:
    out: dict[str, CheckResult] = {}
    t = Timer()
    if tgt.key:
        out["auth"] = CheckResult("auth", TITLES["auth"], lint_header(header_for(tgt.key, tgt.api), api=tgt.api).findings,
                                  duration_ms=t.ms())
    else:
        out["auth"] = CheckResult("auth", TITLES["auth"], [], status=SKIP, data={"summary": "no key to check"})
    t = Timer()
    url = lint_url(tgt.base_url, api=tgt.api)
    out["url"] = CheckResult("url", TITLES["url"], url.findings, duration_ms=t.ms(),
                             data={"input": tgt.base_url, "canonical": url.canonical})
    t = Timer()
    model = lint_model(tgt.model)
    out["model"] = CheckResult("model", TITLES["model"], model.findings, duration_ms=t.ms(),
                               data={"name": tgt.model, "suggestion": model.suggestion})
    if body is not None:
        t = Timer()
        out["body"] = CheckResult("body", TITLES["body"], lint_body(body), duration_ms=t.ms())
    return out


def _no_contact(tgt: Target) -> bool:
    from gridctl.probe.policy import no_contact

    return no_contact(tgt.base_url, tgt.api) is not None


def _follow_ups(net: Net, checks: dict[str, CheckResult], tgt: Target) -> dict[str, Callable[[], CheckResult]]:
    """Second round, only where the ping's answer makes it useful."""
    code = checks["ping"].data.get("status_code")
    jobs: dict[str, Callable[[], CheckResult]] = {}
    if code == 404 and not any(f.severity == "error" for f in checks["url"].findings):
        from gridctl.probe.models import fetch_models

        jobs["models"] = lambda: fetch_models(net, tgt)
    if code == 402:
        from gridctl.probe.balance import check_balance

        jobs["balance"] = lambda: check_balance(net, tgt, grid.INSTRUMENTS, first=checks["ping"])
    elif code is not None and tgt.key:
        # The server's own checks, once, when the ping reached it. Not beside a balance sweep: the sweep
        # already asks the server about every instrument, and a no-credits doctor stays within 12 requests.
        from gridctl.probe.diagnostics import fetch_diagnostics

        jobs["diagnostics"] = lambda: fetch_diagnostics(net, tgt)
    return jobs


def _parallel(jobs: dict[str, Callable[[], CheckResult]], deadline: Deadline,
              on_step: Callable[[str], None] | None) -> dict[str, CheckResult]:
    if not jobs:
        return {}
    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="gridctl-step")
    futures: dict[str, Future[CheckResult]] = {name: pool.submit(fn) for name, fn in jobs.items()}
    if on_step is not None:
        for name, fut in futures.items():
            fut.add_done_callback(functools.partial(_step_done, on_step, name))
    stopped = False
    try:
        wait(list(futures.values()), timeout=deadline.remaining() + GRACE_S)
    except KeyboardInterrupt:
        stopped = True  # Ctrl-C: keep what finished, report the rest as interrupted
    pool.shutdown(wait=False, cancel_futures=True)
    out: dict[str, CheckResult] = {}
    for name, fut in futures.items():
        if fut.done() and not fut.cancelled():
            out[name] = fut.result()  # checks turn expected failures into findings; a bug still raises
        elif stopped:
            out[name] = CheckResult(name, TITLES.get(name, name), [finding("run.interrupted", "Still running when "
                                    "the run was interrupted.")], data={"summary": "interrupted"})
        else:
            late = finding(LATE[name], f"Still running when the {deadline.total:g} s budget ran out.")
            out[name] = CheckResult(name, TITLES.get(name, name), [late], data={"summary": "timed out"})
    if stopped:
        raise Interrupted(out)
    return out


def _step_done(on_step: Callable[[str], None], name: str, _future: object) -> None:
    on_step(name)


def _skipped(step: str, plan: Plan) -> CheckResult:
    why = {"balance": "no 402", "stream": "use --stream", "body": "use --body FILE", "models": "not needed"}
    return CheckResult(step, TITLES[step], [], status=SKIP, data={"summary": why.get(step, "not run")})
