"""The network commands as one call each: settings in, Report out. Was the body of cli/ping.py,
cli/balance.py, cli/status.py, cli/models.py and cli/usage.py; the adapters now only parse options."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridctl import grid
from gridctl.errors import UsageError
from gridctl.findings import ExitCode, finding
from gridctl.lint.model import lint_model
from gridctl.result import CheckResult, Interrupted, Report, Timer
from gridctl.settings import Settings
from gridctl.target import curl_command, target_for

if TYPE_CHECKING:
    from gridctl.probe.client import Net


def ping_report(settings: Settings, *, all_: bool = False, stream: bool = False, retries: int = 2,
                receipt: bool = False) -> Report:
    """One chat completion (or all nine instruments, or one stream); a 404 names the closest instrument.

    `receipt`: also fetch the call's usage receipt and compare the client's TTFT with the server's."""
    from gridctl.probe.ping import ping, with_model_hint

    timer = Timer()
    tgt = target_for(settings)
    stop = None
    with _net(settings, retries=retries) as net:
        if all_:
            from gridctl.probe.balance import probe_instruments

            try:
                checks = probe_instruments(net, tgt, grid.INSTRUMENTS)
            except Interrupted as exc:  # Ctrl-C: the instruments that answered, then the ones still waiting
                checks, stop = list(exc.checks.values()), finding("run.interrupted")
        elif stream:
            from gridctl.probe.stream import check_stream

            checks = [check_stream(net, tgt)]
            checks[0].data.setdefault("model", tgt.model)
        else:
            checks = [ping(net, tgt)]
        if receipt and not all_ and checks[0].data.get("request_id"):
            from gridctl.probe.usage import fetch_receipt, join

            checks.append(join(checks[0], fetch_receipt(net, tgt, str(checks[0].data["request_id"]))))
    checks = [with_model_hint(c) for c in checks]
    return Report("ping", checks, target=settings.target(), duration_ms=timer.ms(), diagnosis=stop)


def curl_report(settings: Settings, *, stream: bool = False) -> Report:
    """ping --curl: the equivalent curl command, offline (no key lookup, no httpx)."""
    report = Report("ping", [], target=settings.target(with_key=False))
    report.extra["curl"] = curl_command(target_for(settings, with_key=False), stream=stream)
    return report


def balance_report(settings: Settings, *, model_only: bool, retries: int) -> Report:
    """Which instruments answer 402: the one asked for (--model), else all nine."""
    from gridctl.probe.balance import check_balance
    from gridctl.probe.ping import refuse

    timer = Timer()
    models = [settings.model.value or grid.DEFAULT_MODEL] if model_only else list(grid.INSTRUMENTS)
    tgt = target_for(settings)
    refused = refuse(tgt, "balance", "Balance")
    if refused is not None:
        return Report("balance", [refused], target=settings.target())
    stop = None
    with _net(settings, retries=retries) as net:
        try:
            check = check_balance(net, tgt, models)
        except Interrupted as exc:  # Ctrl-C: what answered so far, no verdict
            from gridctl.probe.balance import interrupted_sweep

            check, stop = interrupted_sweep(models, exc.checks), finding("run.interrupted")
    return Report("balance", [check], target=settings.target(), duration_ms=timer.ms(), diagnosis=stop)


def status_report(settings: Settings) -> Report:
    """The status page, whatever provider serves it; never sends credentials."""
    from gridctl.probe.status import check_status

    timer = Timer()
    url = settings.status_url
    with _net(settings, retries=0) as net:
        check = check_status(net, url.value or "")
    check.data["source"] = url.source
    # Alone, reading the page is the command's one job: failing at it is an error (exit 9, the network
    # layer that failed), not the warning it is inside doctor, where the API answers for itself.
    unread = any(f.code == "status.unreachable" for f in check.findings)
    if unread:
        check = CheckResult(check.id, check.title, [
            finding(f.code, f.message, severity="error") if f.code == "status.unreachable" else f
            for f in check.findings], data=check.data, duration_ms=check.duration_ms)
    return Report("status", [check], target={"status_url": url.value}, duration_ms=timer.ms(),
                  exit_override=ExitCode.NETWORK if unread else None)


def models_report(settings: Settings, name: str | None, *, offline: bool) -> Report:
    """The instruments (live list when it can be read, else built in), or NAME validated against them."""
    timer = Timer()
    checks: list[CheckResult] = []
    live: list[str] | None = None
    if not offline:
        checks.append(_live_list(settings))
        live = checks[-1].data.get("live")
    if name is not None:
        from gridctl.lint.redact import redact
        from gridctl.secrets import register

        if redact(name) != name:
            register(name)  # a key pasted where the model goes: every line written scrubs it
        lint = lint_model(name, live)
        checks.append(CheckResult("model", "Instrument", lint.findings, duration_ms=timer.ms(),
                                  data={"name": name, "suggestion": lint.suggestion, "known": lint.known}))
    else:
        listed = live if live is not None else list(grid.INSTRUMENTS) + list(grid.LAB_MARKET)
        source = "live list" if live is not None else "built-in list"
        checks.append(CheckResult("model", "Instruments", [], duration_ms=timer.ms(),
                                  data={"instruments": listed, "source": source,
                                        "summary": f"{len(listed)} from the {source}"}))
    return Report("models", checks, target=settings.target(with_key=False), duration_ms=timer.ms())


def usage_report(settings: Settings, request_id: str) -> Report:
    """The usage receipt of one earlier request; no receipt is a warning (exit 0), not a failure."""
    from gridctl.probe.usage import fetch_receipt

    rid = request_id.strip()
    if not rid or len(rid) > 200 or not rid.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in rid):
        # isascii(): undecodable argument bytes arrive as surrogates, and no request ID has them
        raise UsageError("REQUEST_ID must be one request ID (ASCII, no spaces), as printed by `gridctl ping`")
    timer = Timer()
    with _net(settings, retries=0) as net:
        check = fetch_receipt(net, target_for(settings), rid)
    report = Report("usage", [check], target=settings.target(), duration_ms=timer.ms())
    report.add_request_id(rid)
    if "receipt" in check.data:
        report.extra["receipt"] = check.data["receipt"]
    return report


def _live_list(settings: Settings) -> CheckResult:
    from gridctl.probe.models import fetch_models
    from gridctl.probe.policy import no_contact

    tgt = target_for(settings)
    # Only a look-alike host stops the live list (no key is needed to list): nothing, not even an
    # unauthenticated GET, goes to a host that is probably someone else's.
    bad = no_contact(tgt.base_url, tgt.api)
    if bad is not None and bad.code == "url.host_typo":
        return CheckResult("models", "Live instrument list", [bad], data={"sent": False})
    with _net(settings, retries=0) as net:
        return fetch_models(net, tgt)


def _net(settings: Settings, retries: int) -> Net:
    from gridctl.probe.client import net_for  # httpx: only the commands that send load it

    return net_for(settings, retries)
