"""The `balance` step: which instruments answer 402, and what that means.

No balance endpoint works with a consumption key, so the evidence is the 402s themselves:
every instrument 402 -> no USD credits; some -> no tokens for those instruments.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from gridctl import grid
from gridctl.findings import finding
from gridctl.probe.client import Net
from gridctl.probe.ping import ping
from gridctl.result import CheckResult, Interrupted, PingEvidence, Timer
from gridctl.target import Target


def probe_instruments(net: Net, target: Target, models: Sequence[str], retry: bool = True,
                      known: dict[str, CheckResult] | None = None) -> list[CheckResult]:
    """Ping each instrument concurrently (one client, one deadline); results in the order given.

    `known`: instruments already pinged (reused, not sent again); retry=False: one request each.
    Ctrl-C raises Interrupted with every instrument's result: the answers that came in, and
    `run.interrupted` for the ones still waiting.
    """
    timer = Timer()
    known = known or {}
    todo = [m for m in models if m not in known]
    # Not `with`: leaving it joins the workers, so a Ctrl-C would wait for every probe to time out.
    pool = ThreadPoolExecutor(max_workers=min(9, max(1, len(todo))), thread_name_prefix="gridctl-probe")
    futures = {m: pool.submit(ping, net, replace(target, model=m), retry) for m in todo}
    try:
        fresh = {m: fut.result() for m, fut in futures.items()}
    except KeyboardInterrupt:
        came = {m: fut.result() for m, fut in futures.items()
                if fut.done() and not fut.cancelled() and fut.exception() is None}
        raise Interrupted({m: known.get(m) or came.get(m) or _still_waiting(m, timer) for m in models}) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return [known.get(m) or fresh[m] for m in models]


def _still_waiting(model: str, timer: Timer) -> CheckResult:
    stop = finding("run.interrupted", f"{model}: no answer yet when the run was interrupted.", model=model)
    return CheckResult("ping", "Ping", [stop], data={"model": model, "summary": "interrupted"},
                       duration_ms=timer.ms())


def interrupted_sweep(names: Sequence[str], checks: dict[str, CheckResult]) -> CheckResult:
    """balance after Ctrl-C: what each instrument answered so far, and no verdict. Credits or tokens is
    read from every instrument's answer; from part of them it would be a guess."""
    answered = [m for m in names if not _is_waiting(checks[m])]
    waiting = [m for m in names if m not in answered]
    rows = _rows(answered, [checks[m] for m in answered])
    stop = finding("run.interrupted", f"Interrupted with {len(waiting)} of {len(names)} instruments still to "
                   f"answer ({', '.join(waiting)}): no balance verdict from part of the instruments.")
    data = {"instruments": rows, "waiting": waiting, "dashboard": grid.DASHBOARD_URL,
            "summary": f"interrupted: {len(answered)}/{len(names)} instruments answered"}
    return CheckResult("balance", "Balance", [stop], data=data)


def _is_waiting(check: CheckResult) -> bool:
    return any(f.code == "run.interrupted" for f in check.findings)


def _evidence(name: str, res: CheckResult) -> PingEvidence:
    return res.evidence or PingEvidence(status_code=None, model=name)  # a refused ping sent nothing


def _rows(names: Sequence[str], results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    return [{"model": name, "status_code": (ev := _evidence(name, res)).status_code,
             "attempts": res.data.get("attempts"), "request_id": ev.request_id}
            for name, res in zip(names, results, strict=True)]


def sweep_after(first: CheckResult) -> dict[str, CheckResult]:
    """doctor's sweep after a 402: the first ping (with its retries) stands for its instrument."""
    model = first.data.get("model")
    return {model: first} if isinstance(model, str) and first.data.get("status_code") is not None else {}


def check_balance(net: Net, target: Target, models: Sequence[str] | None = None,
                  pings: list[CheckResult] | None = None, first: CheckResult | None = None) -> CheckResult:
    """`first`: doctor's ping that got the 402; then the other instruments get one request each, no retries
    (a 402 is retried once, on the first ping: retrying it nine more times only multiplies the requests)."""
    timer = Timer()
    names = list(models or grid.INSTRUMENTS)
    if pings is not None:
        results = pings
    elif first is not None:
        results = probe_instruments(net, target, names, retry=False, known=sweep_after(first))
    else:
        results = probe_instruments(net, target, names)
    rows = _rows(names, results)
    paid, unpaid, recovered, other = [], [], [], []
    for name, res in zip(names, results, strict=True):
        ev = _evidence(name, res)
        status, statuses = ev.status_code, ev.statuses
        if status == 402:
            unpaid.append(name)
        elif 402 in statuses and status is not None and 200 <= status < 300:
            recovered.append(name)
        elif status is not None and 200 <= status < 300:
            paid.append(name)
        else:
            other.append(name)
    findings = []
    if len(unpaid) == 1 and len(names) == 1:
        # One 402 alone cannot tell credits from tokens: the server's own words decide.
        own = next((f for f in results[0].findings if f.code.startswith("balance.")), None)
        code = own.code if own is not None else "balance.credits_empty"
        findings.append(finding(code, f"{unpaid[0]} answers 402 (the only instrument probed): "
                                f"{own.message if own else 'payment required'}", model=unpaid[0]))
    elif unpaid and not paid and not recovered:
        said = "Every instrument probed answered 402" if not other else \
            f"No instrument works: {len(unpaid)} answered 402 and {len(other)} gave no usable answer"
        findings.append(finding("balance.credits_empty", f"{said} ({', '.join(unpaid)}): the USD credits "
                                "balance is empty."))
    elif unpaid:
        for name in unpaid:
            tier_mate = _working_alternative(name, paid)
            alt = f" Meanwhile {tier_mate} works." if tier_mate else ""
            findings.append(finding("balance.instrument_unavailable",
                                    f"{name} answers 402 while {len(paid)} other(s) work: no consumption tokens "
                                    f"for {name} right now.{alt}", model=name))
    elif other and not paid and not recovered:
        # No instrument answered at all (a timeout, a refusal, a reset): that failure is the verdict,
        # not a pass with nine "no answer" rows.
        why = next((f for res in results for f in res.findings if f.severity == "error"), None)
        if why is not None:
            findings.append(finding(why.code, f"No instrument answered ({len(other)} of {len(names)} probed): "
                                    f"{why.message}"))
    for name in recovered:
        findings.append(finding("balance.recovered_after_retry", f"{name}: 402 cleared on retry (Auto-Reload / "
                                "Auto Top Up).", model=name))
    data = {"instruments": rows, "paid": paid, "unpaid": unpaid, "other": other,
            "dashboard": grid.DASHBOARD_URL,
            "summary": f"{len(paid) + len(recovered)}/{len(names)} instruments answer"}
    return CheckResult("balance", "Balance", findings, data=data, duration_ms=timer.ms())


def _working_alternative(name: str, paid: list[str]) -> str | None:
    family = name.split("-")[0]
    same_family = [p for p in paid if p.startswith(family + "-")]
    choices = same_family or paid
    return choices[0] if choices else None
