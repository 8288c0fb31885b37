"""replay --diff: the recorded call beside gridctl's own working ping for the same instrument.

Which URL parts, headers and body fields differ, each difference that explains a failure named by the
catalogue's code (a doubled /v1 is url.doubled_v1, the key in the wrong header auth.wrong_header), and
gridctl's ping sent (to the same host as a replay would be) to show the request that works.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from gridctl import context, grid
from gridctl.findings import Finding, confirmed_exit, finding
from gridctl.lint.url import lint_url
from gridctl.replay.har import RecordedCall
from gridctl.replay.main import Plan, _report
from gridctl.replay.request import AUTH, TRANSPORT
from gridctl.result import CheckResult, Report, Timer
from gridctl.settings import Settings
from gridctl.target import Target

# URL lints that name a path or host a ping would not use (not the informational ones).
_URL_CODES = ("url.doubled_v1", "url.endpoint_appended", "url.missing_v1", "url.extra_path", "url.trailing_slash",
              "url.unsupported_endpoint", "url.wrong_api_host", "url.docs_url", "url.host_typo", "url.whitespace")


def canonical(call: RecordedCall, model: str) -> Target:
    """gridctl's own ping for the call's API and instrument, at The Grid's canonical URL."""
    base = f"{grid.MESSAGES_ROOT}/v1" if call.api == "messages" else grid.DEFAULT_BASE_URL
    return Target(base_url=base, key=None, model=model, api=call.api)


def url_parts(url: str) -> dict[str, str]:
    try:
        p = urlsplit(url)
        port = str(p.port or (443 if p.scheme == "https" else 80))
    except ValueError:
        return {"scheme": "", "host": "", "port": "", "path": url, "query": ""}
    return {"scheme": p.scheme, "host": p.hostname or "", "port": port, "path": p.path or "/", "query": p.query}


def compare(call: RecordedCall, ping: Target) -> CheckResult:
    """The differences, as data and findings; offline."""
    findings: list[Finding] = []
    mine, theirs = url_parts(call.url), url_parts(ping.endpoint)
    url_diff = [{"part": k, "recorded": mine[k], "ping": theirs[k]} for k in mine if mine[k] != theirs[k]]
    if url_diff:
        findings += _url_findings(call, [d["part"] for d in url_diff])
    header_diff, found = _headers(call, ping)
    findings += found
    body_diff, found = _body(call, ping)
    findings += found
    parts = [name for name, diff in (("URL", url_diff), ("headers", header_diff), ("body", body_diff)) if diff]
    summary = ("differs in " + ", ".join(parts)) if parts else "the same URL, headers and body fields as ping"
    return CheckResult("diff", "Recorded call vs gridctl's ping", findings,
                       data={"url": url_diff, "headers": header_diff, "body": body_diff, "summary": summary,
                             "recorded_url": call.url, "ping_url": ping.endpoint})


def _url_findings(call: RecordedCall, parts: list[str]) -> list[Finding]:
    suffix = "/messages" if call.api == "messages" else grid.CHAT_PATH
    base = call.url.split("?", 1)[0]
    base = base[: -len(suffix)] if base.endswith(suffix) else base
    lint = lint_url(base, api=call.api)
    failing = call.failing
    out = []
    for f in lint.findings:
        if f.code in _URL_CODES:
            out.append(finding(f.code, f.message, fix=f.fix, severity="error" if failing else f.severity))
    if not out and "path" in parts:
        out.append(finding("http.not_found_path", f"The recorded path {url_parts(call.url)['path']} is not "
                           f"the one gridctl's ping uses ({url_parts(canonical(call, '').endpoint)['path']}).",
                           severity="error" if call.status == 404 else "warning"))
    return out


def _auth_of(call: RecordedCall) -> tuple[str, str] | None:
    return next(((k, v) for k, v in call.headers if k.lower() in AUTH), None)


def _headers(call: RecordedCall, ping: Target) -> tuple[list[dict[str, Any]], list[Finding]]:
    right = "x-api-key" if ping.api == "messages" else "authorization"
    diff: list[dict[str, Any]] = []
    found: list[Finding] = []
    auth = _auth_of(call)
    sev = "error" if call.failing else "warning"
    if auth is None:
        diff.append({"header": right, "recorded": None, "ping": "(your key)"})
        found.append(finding("auth.missing_key", "The call sent no key header at all; gridctl's ping sends "
                             f"`{_shown(right, ping.api)}`.", severity=sev))
    elif auth is not None and auth[0].lower() != right and not (ping.api == "messages" and
                                                                 auth[0].lower() == "authorization"):
        diff.append({"header": auth[0], "recorded": auth[0], "ping": right})
        found.append(finding("auth.wrong_header", f"The call sent its key in `{auth[0]}`; gridctl's ping sends "
                             f"`{_shown(right, ping.api)}`.", severity=sev))
    elif auth is not None and right == "authorization" and not auth[1].lower().startswith("bearer "):
        diff.append({"header": auth[0], "recorded": "(no Bearer)", "ping": "Bearer <key>"})
        found.append(finding("auth.missing_bearer", "The call's Authorization header has no `Bearer ` before the "
                             "key; gridctl's ping sends `Authorization: Bearer <key>`.", severity=sev))
    ctype = call.header("content-type")
    if call.body_text is not None and (ctype is None or "json" not in ctype.lower()):
        diff.append({"header": "content-type", "recorded": ctype, "ping": "application/json"})
        found.append(finding("body.content_type", f"The call sent its body as {ctype or 'no Content-Type'}.",
                             severity=sev))
    wanted = {k.lower() for k in ping.headers()} | {right}
    extra = sorted({k.lower() for k, _ in call.headers} - wanted - TRANSPORT - set(AUTH) - {"user-agent", "accept"})
    if extra:
        diff.append({"header": "(only in the recorded call)", "recorded": extra, "ping": None})
    return diff, found


def _body(call: RecordedCall, ping: Target) -> tuple[list[dict[str, Any]], list[Finding]]:
    mine = call.json_body()
    theirs = ping.body()
    if call.body_text is None:
        return [{"field": "(body)", "recorded": None, "ping": "JSON object"}], []
    if not isinstance(mine, dict):
        return ([{"field": "(body)", "recorded": "not a JSON object", "ping": "JSON object"}],
                [finding("body.invalid_json", "The recorded body does not parse as a JSON object.")])
    diff: list[dict[str, Any]] = [{"field": k, "recorded": None, "ping": "(set)"} for k in theirs if k not in mine]
    extra = sorted(k for k in mine if k not in theirs)
    if extra:
        diff.append({"field": "(only in the recorded call)", "recorded": extra, "ping": None})
    found = [finding("body.missing_field", f"The recorded body has no `{d['field']}`.") for d in diff
             if d["recorded"] is None and d["field"] in ("model", "messages")]
    if call.failing and extra:
        from gridctl.lint.body import lint_body

        found += [f for f in lint_body(json.dumps(mine), check_model=False) if f.code.startswith("body.")]
    return diff, found


def _shown(header: str, api: str) -> str:
    return "x-api-key: <key>" if header == "x-api-key" else "Authorization: Bearer <key>"


def diff_report(settings: Settings, p: Plan, base: str | None) -> Report:
    """The recorded call beside gridctl's ping; the ping is sent where a replay would go."""
    from gridctl.probe.ping import ping

    timer = Timer()
    model = p.call.model or settings.model.value or grid.DEFAULT_MODEL
    offline = canonical(p.call, model)
    result = compare(p.call, offline)
    host_base = p.dest.url
    suffix = "/messages" if p.call.api == "messages" else grid.CHAT_PATH
    live_base = (host_base.split("?", 1)[0].rsplit(suffix, 1)[0] if base is None else None)
    target = Target(base_url=base.rstrip("/") if base else _working_base(live_base, p.call.api),
                    key=p.key, model=model, api=p.call.api)
    with context.net(settings, retries=0) as net:
        sent = ping(net, target, retry=False)
    sent.title = "gridctl's ping, same instrument"
    result.data["ping_sent_to"] = target.endpoint
    report = _report("replay", settings, p, [result, sent], timer)
    cause = report.root_cause()
    if cause is not None and cause in result.findings:
        # a lint the recorded answer confirms exits as doctor's does: a doubled /v1 behind a 404 is 6, not 3
        report.exit_override = confirmed_exit(cause.code, p.call.status)
    report.extra["diff"] = {k: result.data[k] for k in ("url", "headers", "body", "summary")}
    return report


def _working_base(recorded_base: str | None, api: str) -> str:
    """Where the working ping goes without --base-url: The Grid's canonical base on the recorded origin."""
    if recorded_base is None:
        return grid.DEFAULT_BASE_URL
    parts = urlsplit(recorded_base)
    return f"{parts.scheme}://{parts.netloc}/v1"
