"""Combine the evidence of every step into one root cause and its exit code.

A raw status says what happened; the lints say why. A 404 with a doubled /v1 is
`url.doubled_v1`, not "not found"; a 5xx during an incident is `status.incident`.
"""

from __future__ import annotations

from gridctl.findings import CATALOGUE, ERROR, URL_404_CAUSES, ExitCode, Finding, confirmed_exit
from gridctl.result import CheckResult

NET_URL_CAUSES = ("url.nonstandard_port", "url.wrong_api_host", "url.insecure_scheme", "url.docs_url",
                  "url.extra_path", "url.invalid")


def _errors(check: CheckResult | None, codes: tuple[str, ...] | None = None) -> list[Finding]:
    if check is None:
        return []
    return [f for f in check.findings if (f.severity == ERROR or codes is not None) and
            (codes is None or f.code in codes)]


Cause = tuple[Finding | None, ExitCode | None]


def diagnose(checks: dict[str, CheckResult]) -> Cause:
    """(root cause, exit code override or None for the catalogue's own)."""
    ping = checks.get("ping")
    evidence = ping.evidence if ping is not None else None
    status_code = evidence.status_code if evidence is not None else None
    ping_err = _errors(ping)
    first = ping_err[0] if ping_err else None
    no_key = [f for f in _errors(checks.get("config")) if f.code == "config.no_key"]
    if first is not None and first.code in ("url.host_typo", "url.invalid"):
        return first, None
    if no_key:
        return no_key[0], None
    if first is None and status_code is not None:
        return _request_worked(checks)
    if first is None:
        return _first_error(checks)
    return _request_failed(checks, first, status_code, evidence.model if evidence is not None else None)


def _request_worked(checks: dict[str, CheckResult]) -> Cause:
    """The request works; what is left is the user's own setup (an SDK env, a lint) or the stream."""
    for cid in ("config", "auth", "url", "model", "stream", "body"):
        errs = _errors(checks.get(cid))
        if errs:
            return errs[0], None
    # Anything else still failing, e.g. an incident on the status page while this request
    # works: the contract makes an active incident exit 8 even so.
    return _first_error(checks)


def _request_failed(checks: dict[str, CheckResult], first: Finding, status_code: int | None,
                    model_asked: str | None) -> Cause:
    """The request failed: the lints and the other steps say why, by the status it got."""
    url, model, auth = checks.get("url"), checks.get("model"), checks.get("auth")
    if status_code in (401, 403) and first.code not in ("http.redirect_rejected", "http.blocked"):
        lint = _errors(auth)
        return (lint[0], confirmed_exit(lint[0].code, status_code)) if lint else (first, None)
    if status_code == 404:
        cause = _errors(url, URL_404_CAUSES) or _errors(model)
        return (cause[0], confirmed_exit(cause[0].code, status_code)) if cause else (first, None)
    if status_code == 402:
        bal = _errors(checks.get("balance"))
        # The instrument the user asked for, not the first of the nine that happens to answer 402.
        mine = [f for f in bal if f.data.get("model") == model_asked] if model_asked is not None else []
        return ((mine or bal)[0], None) if bal else (first, None)
    if status_code in (400, 422):
        body = _errors(checks.get("body"))
        return (body[0], confirmed_exit(body[0].code, status_code)) if body else (first, None)
    incident = _errors(checks.get("status"), ("status.incident",))
    if incident and (status_code is None or status_code >= 500 or first.code.startswith("net.")):
        return incident[0], ExitCode.GRID_FAILING
    if first.code in ("net.refused", "net.dns", "net.connect_timeout"):
        url_causes = _errors(url, NET_URL_CAUSES) + [f for f in (url.findings if url else [])
                                                     if f.code == "url.nonstandard_port"]
        if url_causes:
            return url_causes[0], ExitCode.NETWORK
    return first, None


def _first_error(checks: dict[str, CheckResult]) -> Cause:
    for check in checks.values():
        for f in check.findings:
            if f.severity == ERROR and f.code in CATALOGUE:
                return f, None
    return None, None
