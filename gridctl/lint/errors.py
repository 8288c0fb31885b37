"""Pasted error text -> diagnosis: offline and pure (no I/O, no network).

`explain_lines()` reads any amount of text line by line in bounded time per line: each line is
redacted first (gridctl/lint/redact.py), then matched against the catalogue of real error texts
(gridctl/lint/error_texts.py), and the facts it holds (URLs, statuses, model names, hosts, request
IDs, auth headers, vendor key shapes) go through the same offline lints the other commands use.
Candidates are ranked; the best is the Report's diagnosis, the rest stay listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from gridctl.findings import (
    CATALOGUE,
    ERROR,
    INFO,
    NEXT_BALANCE,
    NEXT_DOCTOR,
    NEXT_MODELS,
    NEXT_TRACE,
    STATUS_CANDIDATES,
    STATUS_EXIT,
    UNSURE_FIX,
    UNSURE_MESSAGE,
    UNSURE_OPTION,
    ExitCode,
    Finding,
    confirmed_exit,
    finding,
)
from gridctl.lint.error_facts import AUTH_FAILURES, LINT, Match, Scan, correct_endpoint, scan_facts
from gridctl.lint.error_lines import EXCEPTION, FRAME, SOURCE, TEXT, Lines
from gridctl.lint.error_texts import (
    ANY_STATUS,
    CAUSE,
    EXCEPTION_CLASSES,
    EXCEPTION_STATUS,
    HINT,
    PATTERNS,
    STATUS,
    STATUS_ANY,
    STATUS_CODES,
    could_match,
)
from gridctl.lint.redact import redact
from gridctl.result import CheckResult, Report

MAX_LINE = 4096  # longer lines are scanned in pieces of this size
MAX_QUOTE = 240
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,20}[ -/]{0,3}[@-~]|\x1b\][^\x07\x1b]{0,400}(?:\x07|\x1b\\)?")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(line: str) -> str:
    """A line as it may be shown: no terminal escapes, no control characters, keys redacted."""
    return redact(_CTRL.sub("", _ANSI.sub("", line)))


def _quote(line: str) -> str:
    line = line.strip()
    return line if len(line) <= MAX_QUOTE else line[: MAX_QUOTE - 1] + "…"


def split_lines(text: str) -> Iterator[str]:
    """Lines of `text`; a line longer than MAX_LINE is redacted whole first, then cut in pieces."""
    for raw in text.splitlines():
        yield from _pieces(raw)


def _pieces(raw: str) -> Iterator[str]:
    if len(raw) <= MAX_LINE:
        yield raw
        return
    for start in range(0, len(raw), MAX_LINE - 200):  # overlap: a phrase cut at a boundary still matches
        yield raw[start:start + MAX_LINE]


def read_stream(stream: Any, chunk: int = 1 << 20) -> Iterator[str]:
    """Lines from a binary or text stream, decoded leniently (invalid UTF-8, binary junk)."""
    while True:
        piece = stream.readline(chunk)
        if not piece:
            return
        text = piece.decode("utf-8", errors="replace") if isinstance(piece, bytes) else piece
        yield from _pieces(text.rstrip("\r\n"))


def _scan_line(scan: Scan, n: int, raw: str, kind: str = TEXT) -> None:
    line = clean(raw)
    quote = _quote(line)
    low = line.lower()
    if could_match(low):
        for p in PATTERNS:
            if p.regex.search(low):
                scan.hit(Match(p.code, p.weight, n, quote, f"text ({p.source})", severity=p.severity))
    numbered = False
    if ANY_STATUS.search(low):
        for m in STATUS_ANY.finditer(low):
            status = int(next(g for g in m.groups() if g))
            numbered = True
            scan.facts.add("statuses", status)
            _status(scan, n, status, quote)
    if not numbered and kind in (EXCEPTION, TEXT):
        # `openai.NotFoundError`, `anthropic.AuthenticationError`: the class says the status the text leaves out
        cls = EXCEPTION_STATUS.search(low)
        if cls:
            status = EXCEPTION_CLASSES[cls.group(1)]
            scan.facts.add("statuses", status)
            _status(scan, n, status, quote, f"status {status} (the exception class)")
    if "404" in low and ("model" in low or "instrument" in low):
        scan.signal_404 = True
    scan_facts(scan, n, raw, line, quote)  # after the statuses: a signed URL with a 401 is its own finding


def _status(scan: Scan, n: int, status: int, quote: str, via: str | None = None) -> None:
    code = STATUS_CODES.get(status)
    if code is None:
        if 500 <= status <= 599:
            code = "http.server_error"
        elif 400 <= status <= 499:
            code = "http.unexpected"
        elif 300 <= status <= 399:
            code = "http.redirect"
        else:
            return
    scan.hit(Match(code, 60, n, quote, via or f"status {status}"))


def scan_lines(lines: Iterable[str]) -> Scan:
    from gridctl.lint.client import from_lines

    scan = Scan()
    reader = Lines()
    shown: list[str] = []  # lines that may name the client (bounded: the first ones of each kind say it)
    for n, raw in enumerate(lines, 1):
        scan.facts.lines = n
        if not raw.strip():
            continue
        kind = reader.kind(raw[:MAX_LINE])
        if len(shown) < 400:
            shown.append(raw[:400])
        if kind in (SOURCE, FRAME):
            continue  # code and stack frames: what a program says, not what happened
        _scan_line(scan, n, raw, kind)
    command = reader.command()
    scan.command = clean(command) if command else None
    client = from_lines(shown)
    scan.client = client.name if client else None
    _adjust(scan)
    return scan


def _adjust(scan: Scan) -> None:
    """What one match says about another: the evidence read together, not line by line."""
    m = scan.matches
    if 404 in scan.facts.statuses and "http.not_found_path" in m and correct_endpoint(scan.facts.urls):
        # "A 404 with the URL correct usually means the model parameter is wrong" (troubleshooting)
        scan.hit(Match("model.not_found", STATUS + 4, m["http.not_found_path"].line, m["http.not_found_path"].quote,
                       "status 404 on the right URL"))
    if "http.not_found_path" in m and (scan.signal_404 or "model.not_found" in m):
        m["http.not_found_path"].weight -= 5  # a 404 that talks about a model is the model's
    rejected = m.get("http.redirect_rejected")
    if rejected is not None and 307 not in scan.facts.statuses and not any("token=" in u for u in scan.facts.urls) \
            and "redirect" not in rejected.quote.lower() and "/r/v1/" not in rejected.quote:
        # "invalid token" without a signed redirect in sight is how many APIs word a bad key
        del m["http.redirect_rejected"]
        scan.hit(Match("auth.rejected", rejected.weight, rejected.line, rejected.quote, rejected.via))
    html = m.get("http.html_body")
    if html is not None and "http.not_json" in m:
        html.weight = max(html.weight, m["http.not_json"].weight + 1)  # not JSON because it is a page: the page
    if html is not None and 403 in scan.facts.statuses and "http.blocked" not in m:
        # The Grid answers 403 in JSON: an HTML 403, wrapped by whatever tool printed it, is a block page
        scan.hit(Match("http.blocked", CAUSE, html.line, html.quote, "an HTML page with a 403"))
    if html is not None and "http.unexpected" in m:
        html.weight = max(html.weight, m["http.unexpected"].weight + 1)  # the JSON parse failed on the page
    if html is not None and any(s in (400, 401, 403, 404, 405) for s in scan.facts.statuses) and not any(
            500 <= s for s in scan.facts.statuses):
        html.weight = 62  # an HTML page with a 4xx did not come from the API: the page is the finding
    if scan.facts.keys and any(c in m for c in AUTH_FAILURES | {"http.redirect_rejected"}):
        first = scan.facts.keys[0]
        scan.hit(Match("auth.foreign_key", LINT + 4, 0, first["key"], "key shape",
                       finding("auth.foreign_key", f"The text shows an {first['kind']} ({first['key']}); "
                               "The Grid rejects other vendors' keys.")))
    if "net.connection_error" in m and any(c.startswith("net.") and c != "net.connection_error" for c in m):
        del m["net.connection_error"]  # the wrapper's cause is in the text


def ranked(scan: Scan) -> list[Match]:
    matches = sorted(scan.matches.values(), key=lambda x: (-x.score, x.line))
    errors = [x for x in matches if _severity(x) == ERROR]
    return errors or matches


def _severity(m: Match) -> str:
    if m.finding is not None:
        return m.finding.severity
    return m.severity or CATALOGUE[m.code].severity


def _finding(m: Match) -> Finding:
    if m.finding is not None:
        return m.finding
    return finding(m.code, severity=m.severity)


def _as_info(f: Finding) -> Finding:
    return Finding(f.code, INFO, f.message, f.fix, dict(f.data))


def explain_lines(lines: Iterable[str]) -> Report:
    """The diagnosis of a pasted text, log or traceback, as a Report (see module docstring)."""
    from gridctl.lint.client import CLIENTS, in_client_terms

    scan = scan_lines(lines)
    best = ranked(scan)
    client = CLIENTS.get(scan.client or "")
    facts = scan.facts
    unsure = _unsure(scan, best)
    if unsure is not None:
        status, codes = unsure
        titles = "; ".join(f"{_bare(c)} ({c})" for c in codes)
        candidates = [finding(c) for c in codes]
        options = " ".join(UNSURE_OPTION.format(title=_lower(_bare(c)), fix=_lower(in_client_terms(f, client).fix))
                           for c, f in zip(codes, candidates, strict=True))
        top = finding(codes[0], UNSURE_MESSAGE.format(status=status, candidates=titles),
                      fix=UNSURE_FIX.format(next=_next(scan, status), options=options))
        rest = [_as_info(_finding(m)) for m in best if m.code not in codes][:5]
        findings = [top] + rest
        override: ExitCode | None = STATUS_EXIT.get(status, ExitCode.GRID_FAILING if status >= 500 else None)
    else:
        # the runners-up are listed as alternatives (info): only the diagnosis decides the exit code
        findings = [in_client_terms(_finding(m), client) for m in best[:1]] + [_as_info(_finding(m)) for m in best[1:6]]
        candidates = []
        override = _confirmed(best[0].code, facts.statuses) if best else None
    check = CheckResult("text", "Pasted text", findings)
    report = Report("explain", checks=[check], diagnosis=findings[0] if findings else None, exit_override=override)
    if findings:
        report.certain = unsure is None
        report.candidates = candidates
        report.next_step = _next(scan, unsure[0]) if unsure is not None else None
    for rid in facts.request_ids:
        report.add_request_id(rid)
    report.extra = {
        "matches": [{"code": m.code, "score": m.score, "line": m.line, "quote": m.quote, "via": m.via,
                     "exit_code": int(_confirmed(m.code, facts.statuses) or CATALOGUE[m.code].exit_code)
                     if _severity(m) == ERROR else 0}
                    for m in best[:6]],
        "facts": facts.as_json(),
        "recognised": bool(best) or bool(facts.recognised()),
        "client": client.name if client else None,
        "program": scan.command,
    }
    if unsure is not None:
        report.human["unsure_status"] = unsure[0]
    return report


def _bare(code: str) -> str:
    """A catalogue title without its trailing status: `Path not found (404)` -> `Path not found`."""
    return re.sub(r" [(][0-9]{3}[)]$", "", CATALOGUE[code].title)


def _lower(text: str) -> str:
    """A sentence continued after a colon: `Set X` -> `set X`; a name in capitals (`OPENAI_API_KEY`) stays."""
    return text[0].lower() + text[1:] if text[:2].istitle() else text


# a status-only match: the status itself, an exception class, a reason phrase or a body that only says "Not Found"
_STATUS_ONLY = STATUS + 5


def _unsure(scan: Scan, best: list[Match]) -> tuple[int, list[str]] | None:
    """(status, candidates most likely first) when the text shows a status and nothing that says which
    of its meanings at The Grid it is; None when the evidence names one cause."""
    if not best or best[0].weight > _STATUS_ONLY or best[0].via == "status 404 on the right URL":
        return None
    top = best[0]
    status = next((s for s in scan.facts.statuses if s in STATUS_CANDIDATES and top.code in STATUS_CANDIDATES[s]),
                  None)
    if status is None:
        return None
    codes = list(STATUS_CANDIDATES[status])
    if status == 404 and (scan.signal_404 or scan.right_path):
        # the 404's line talks about the model, or the path was the right one: the instrument first
        codes = ["model.not_found", "http.not_found_path"]
    if status == 402 and any(m.lower().endswith("-max") for m in scan.facts.models):
        codes.reverse()  # the *-max instruments are the ones that run out of tokens
    if status in (401, 403) and (307 in scan.facts.statuses or any("token=" in u for u in scan.facts.urls)):
        codes.remove("http.redirect_rejected")
        codes.insert(0, "http.redirect_rejected")
    if scan.client == "anthropic" and "auth.missing_bearer" in codes:
        codes[codes.index("auth.missing_bearer")] = "auth.wrong_header"
    elif scan.client in ("openai", "litellm") and "auth.missing_bearer" in codes:
        codes.remove("auth.missing_bearer")  # the SDK writes `Bearer` itself: the header is not the suspect
    return status, codes


def _next(scan: Scan, status: int) -> str:
    """The one command that tells the candidates apart."""
    import shlex

    if scan.command:
        return NEXT_TRACE.format(command=scan.command)
    models = [m for m in scan.facts.models if m.lower() not in ("gpt", "claude")]
    if status == 404 and models:
        return NEXT_MODELS.format(model=shlex.quote(models[0]))
    if status == 402:
        return NEXT_BALANCE
    return NEXT_DOCTOR


def _confirmed(code: str, statuses: list[int]) -> ExitCode | None:
    """As doctor: a lint behind the status the text shows exits as that status (a doubled /v1 with a 404: 6)."""
    return next((x for x in (confirmed_exit(code, s) for s in statuses) if x is not None), None)


def explain_text(text: str | bytes) -> Report:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return explain_lines(split_lines(text))


__all__ = ["HINT", "Match", "Scan", "clean", "explain_lines", "explain_text", "read_stream", "scan_lines"]
