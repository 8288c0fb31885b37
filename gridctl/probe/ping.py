"""The `ping` step: the troubleshooting page's curl request, made carefully."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gridctl.findings import finding
from gridctl.probe.client import Net, Outcome
from gridctl.probe.policy import no_contact
from gridctl.result import CheckResult, PingEvidence, Timer
from gridctl.target import Target


def refuse(target: Target, check_id: str = "ping", title: str = "Ping") -> CheckResult | None:
    """Stop before any connection when the key would go to a look-alike host, or there is no key.

    The refusal is reported as the step that asked (`check_id`, `title`).
    """
    bad = no_contact(target.base_url, target.api)
    if bad is not None:
        return CheckResult(check_id, title, [bad], data={"sent": False})
    if not target.key:
        return CheckResult(check_id, title, [finding("config.no_key")], data={"sent": False})
    return None


def ping(net: Net, target: Target, retry: bool = True) -> CheckResult:
    timer = Timer()
    refused = refuse(target)
    if refused is not None:
        return refused
    dns_ms, dns_error = lookup(net, target.endpoint)
    if dns_error is not None:
        # The name does not resolve: no request could be sent, and a second lookup would only wait again.
        out = Outcome(url=target.endpoint, findings=[finding("net.dns", dns_error)],
                      timings_ms={"dns": dns_ms} if dns_ms is not None else {})
        return result_of(out, target, timer)
    out = net.send("POST", target.endpoint, headers=target.headers(), json=target.body(), auth=target.auth(),
                   retry=retry)
    if out.ok and not _answered(out.json(), target.api):
        out.findings.append(finding("http.empty_answer", f"HTTP {out.status_code}, but the body has no "
                                    f"{'content' if target.api == 'messages' else 'choices'}: nothing came back."))
    if dns_ms is not None:
        out.timings_ms.setdefault("dns", dns_ms)
    return result_of(out, target, timer)


def lookup(net: Net, url: str) -> tuple[float | None, str | None]:
    """(DNS time in ms, error) for the URL's host; (None, None) when a proxy resolves it for us.

    httpcore has no DNS trace event (its connect phase includes the lookup), so the contract's
    `dns` timing is measured here, with the same bounded lookup as the network step.
    """
    from urllib.parse import urlsplit

    from gridctl.probe.net import resolve
    from gridctl.probe.proxyenv import proxy_for

    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, None
    if not host or proxy_for(url):
        return None, None
    ms, _addrs, error = resolve(host, port, net.deadline)
    if error is None:
        return round(ms, 1), None
    why = "did not resolve within the time budget" if error == "timed out" else f"did not resolve: {error}"
    return round(ms, 1), f"The host name {host} {why} (DNS)."


def result_of(out: Outcome, target: Target, timer: Timer) -> CheckResult:
    total = timer.ms()
    timings = {k: out.timings_ms.get(k) for k in ("dns", "connect", "tls", "ttfb")}
    timings["total"] = round(total, 1)
    data: dict[str, Any] = {
        "url": out.url, "model": target.model, "status_code": out.status_code, "request_id": out.request_id,
        "request_ids": out.request_ids, "attempts": out.attempts, "statuses": out.statuses,
        "served_model": _served_model(out), "timings_ms": timings, "redirects": out.redirects,
        "key_sent_to": out.key_sent_to,
        "answered_by_hop": out.hop, "signed_hop": out.signed_hop,  # 0: the URL asked; 1+: a redirect target
    }
    summary = f"HTTP {out.status_code}" if out.status_code else "no answer"
    if out.attempts > 1:
        summary += f" after {out.attempts} attempts"
    if data["served_model"]:
        summary += f", served by {data['served_model']}"
    data["summary"] = summary
    evidence = PingEvidence(status_code=out.status_code, model=target.model, served_model=data["served_model"],
                            request_ids=tuple(out.request_ids), attempts=out.attempts,
                            statuses=tuple(out.statuses), redirects=tuple(out.redirects),
                            key_sent_to=tuple(out.key_sent_to), timings_ms=dict(timings))
    return CheckResult("ping", "Ping", out.findings, data=data, duration_ms=total, evidence=evidence)


def _answered(doc: Any, api: str) -> bool:
    """Does a 2xx body hold an answer? `{}` or `{"choices": []}` is a 200 that said nothing."""
    if not isinstance(doc, dict):
        return False
    field = doc.get("content") if api == "messages" else doc.get("choices")
    return isinstance(field, list) and len(field) > 0


def _served_model(out: Outcome) -> str | None:
    doc = out.json() if out.ok else None
    if isinstance(doc, dict) and isinstance(doc.get("model"), str):
        return str(doc["model"])
    return None


def with_model_hint(check: CheckResult) -> CheckResult:
    """A 404 for an unknown instrument names the closest real one in its fix (was in cli/ping.py)."""
    if not any(f.code == "model.not_found" for f in check.findings):
        return check
    from gridctl.lint.model import lint_model  # only a 404 needs the suggestion

    model = check.evidence.model if check.evidence is not None else check.data.get("model")
    hint = lint_model(str(model))
    if not hint.suggestion:
        return check
    check.findings = [replace(f, fix=f"Use {hint.suggestion}. " + f.fix) if f.code == "model.not_found" else f
                      for f in check.findings]
    return check
