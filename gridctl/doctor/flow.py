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
from gridctl.findings import ExitCode, Finding, finding
from gridctl.lint.body import lint_body
from gridctl.lint.header import lint_header
from gridctl.lint.model import lint_model
from gridctl.lint.url import lint_url
from gridctl.probe.client import Deadline, Net
from gridctl.result import SKIP, CheckResult, Report, Timer
from gridctl.settings import Settings
from gridctl.target import Target

FLOW = ("config", "status", "network", "ping", "auth", "url", "model", "balance", "stream", "body")
TITLES = {"config": "Configuration", "status": "Status page", "network": "Network", "ping": "Ping",
          "auth": "Auth header", "url": "Base URL", "model": "Instrument", "balance": "Balance",
          "stream": "Streaming", "body": "Request body"}
GRACE_S = 0.25  # every network call is bounded by the deadline itself; this only covers thread hand-off
# What to say about a step that was still running when the budget ran out.
LATE = {"status": "status.unreachable", "network": "net.connect_timeout", "ping": "net.no_response",
        "stream": "net.no_response", "models": "model.not_listed", "balance": "net.no_response"}


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
        interpret(checks, tgt)
    ordered = [checks.get(step) or _skipped(step, plan) for step in FLOW]
    cause, override = diagnose(checks) if stop is None else (stop, ExitCode.INTERRUPTED)
    report = Report("doctor", ordered, target=plan.settings.target() | {"base_url": tgt.base_url,
                                                                        "model": tgt.model, "api": tgt.api},
                    duration_ms=timer.ms(), diagnosis=cause, exit_override=override)
    for step in ("ping", "stream", "balance", "models"):
        c = checks.get(step)
        if c is not None:
            for rid in c.data.get("request_ids") or [c.data.get("request_id")]:
                report.add_request_id(rid)
            for row in c.data.get("instruments", []) if step == "balance" else []:
                report.add_request_id(row.get("request_id"))
    return report


def offline_steps(tgt: Target, body: str | None) -> dict[str, CheckResult]:
    out: dict[str, CheckResult] = {}
    t = Timer()
    if tgt.key:
        header = f"x-api-key: {tgt.key}" if tgt.api == "messages" else f"Authorization: Bearer {tgt.key}"
        out["auth"] = CheckResult("auth", TITLES["auth"], lint_header(header, api=tgt.api).findings,
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
    from gridctl.probe.ping import no_contact

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

        jobs["balance"] = lambda: check_balance(net, tgt, grid.INSTRUMENTS)
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


class Interrupted(Exception):
    """Ctrl-C during a round of steps: carries the steps' results, finished or interrupted."""

    def __init__(self, checks: dict[str, CheckResult]) -> None:
        super().__init__("interrupted")
        self.checks = checks


def _step_done(on_step: Callable[[str], None], name: str, _future: object) -> None:
    on_step(name)


def interpret(checks: dict[str, CheckResult], tgt: Target) -> None:
    """Read the ping's answer into the steps that explain it (auth for 401, url and model for 404)."""
    ping = checks["ping"]
    code = ping.data.get("status_code")
    auth, url, model = checks["auth"], checks["url"], checks["model"]
    if code in (401, 403) and auth.status != SKIP:
        auth.findings.append(_auth_reading(code, ping, auth))
    elif code is not None and 200 <= code < 300:
        auth.data["summary"] = "accepted by the server"
    live = checks.get("models")
    # The model list 404s at the same base too: the path is wrong, whatever the instrument.
    path_404 = code == 404 and live is not None and live.data.get("status_code") == 404
    if path_404 and not _has_v1(tgt.base_url) and not any(f.severity == "error" for f in url.findings):
        url.findings.append(finding("url.missing_v1", f"{tgt.endpoint} answered 404, and so did "
                                    f"{tgt.base_url.strip()}{grid.MODELS_PATH}: the base URL lacks /v1."))
    if live is not None:
        ids = live.data.get("live")
        model.findings = lint_model(tgt.model, ids).findings
        model.data["live"] = ids is not None
        if not path_404:
            model.findings.extend(f for f in live.findings if f.severity != "info")
        if code == 404 and not path_404 and not any(f.severity == "error" for f in model.findings):
            model.findings.append(finding("model.not_found", f"The URL is right and {tgt.model} got 404"
                                          + (", and the live list does not have it." if ids is not None
                                             and tgt.model not in ids else ".")))
    if code == 404 and any(f.code.startswith("url.") for f in url.findings):
        url.data["summary"] = "the server answered 404 at this URL"
    network = checks.get("network")
    if code is not None and network is not None:
        # The request itself got an HTTP answer, so DNS, TCP and TLS work for it: a failure of the
        # separate probe (another trust store, address family, or a budget spent elsewhere) is a note.
        for f in network.findings:
            if f.severity == "error":
                f.severity = "warning"
                f.message += " The request itself went through, so this did not stop it."
        network.refresh()
    for c in (auth, url, model):
        c.refresh()


def _has_v1(base_url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        path = urlsplit(base_url.strip()).path
    except ValueError:
        return False
    return any(seg.lower() == "v1" for seg in path.split("/"))


def _auth_reading(code: int, ping: CheckResult, auth: CheckResult) -> Finding:
    from urllib.parse import urlsplit

    if code == 403:
        return finding("auth.forbidden")
    redirects = ping.data.get("redirects") or []
    final_host = urlsplit(redirects[-1]).hostname if redirects else None
    if final_host and final_host not in ping.data.get("key_sent_to", []):
        return finding("auth.rejected", f"The API redirected to {final_host}, another host, so the key was not "
                       "sent there and it answered 401.", fix="If that host is The Grid's, your client must re-add "
                       "the Authorization header after the redirect, and only for thegrid.ai hosts over https.")
    if any(f.severity == "error" for f in auth.findings):
        return finding("auth.rejected", "HTTP 401, and the header has the problems listed above.")
    return finding("auth.rejected", "HTTP 401 with a well-formed header: the key is wrong, revoked, or a Trading "
                   "key (inference needs a Consumption key).")


def _skipped(step: str, plan: Plan) -> CheckResult:
    why = {"balance": "no 402", "stream": "use --stream", "body": "use --body FILE", "models": "not needed"}
    return CheckResult(step, TITLES[step], [], status=SKIP, data={"summary": why.get(step, "not run")})
