"""Reading the evidence: the ping's answer folded into the steps that explain it. Was flow.interpret.

flow.py schedules the steps; this module and diagnose.py decide what their results mean.
"""

from __future__ import annotations

from dataclasses import replace

from gridctl import grid
from gridctl.findings import ERROR, WARNING, Finding, finding
from gridctl.lint.model import lint_model
from gridctl.result import SKIP, CheckResult
from gridctl.target import Target


def interpret(checks: dict[str, CheckResult], tgt: Target) -> None:
    """Read the ping's answer into the steps that explain it (auth for 401, url and model for 404)."""
    ping = checks["ping"]
    code = ping.evidence.status_code if ping.evidence is not None else None
    auth, url, model = checks["auth"], checks["url"], checks["model"]
    not_the_key = _not_the_key(ping) if code in (401, 403) else None
    if not_the_key and auth.status != SKIP:
        auth.data["summary"] = not_the_key
    elif code in (401, 403) and auth.status != SKIP:
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
        network.findings = [replace(f, severity=WARNING, message=f.message + " The request itself went through, "
                                    "so this did not stop it.") if f.severity == ERROR else f
                            for f in network.findings]
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
    redirects = ping.evidence.redirects if ping.evidence is not None else ()
    final_host = urlsplit(redirects[-1]).hostname if redirects else None
    if final_host and ping.evidence is not None and final_host not in ping.evidence.key_sent_to:
        return finding("auth.rejected", f"The API redirected to {final_host}, another host, with no signed `token` "
                       "in the URL, so the key was not sent there and it answered 401.",
                       fix="The Grid's own redirects carry a signed `token` query parameter as the credential: "
                       "a Location without one was rewritten (check proxies in between) or is not The Grid's. "
                       "Point the base URL at https://api.thegrid.ai/v1 directly.")
    if any(f.severity == "error" for f in auth.findings):
        return finding("auth.rejected", "HTTP 401, and the header has the problems listed above.")
    return finding("auth.rejected", "HTTP 401 with a well-formed header: the key is wrong, revoked, or a Trading "
                   "key (inference needs a Consumption key).")


def _not_the_key(ping: CheckResult) -> str | None:
    """Why a 401/403 says nothing against the key (the auth step's summary), or None when it may."""
    codes = {f.code for f in ping.findings}
    if "http.redirect_rejected" in codes:
        status = ping.evidence.status_code if ping.evidence is not None else None
        return f"accepted by the server (the {status} came from the signed redirect, see Ping)"
    if "http.blocked" in codes:
        return "not checked: a block page answered before The Grid's API (see Ping)"
    return None
