"""The evidence in a pasted text: matches, facts, and the offline lints run on those facts.

gridctl/lint/errors.py reads lines and ranks; this module says what one line holds. A lint that fires
on a fact (a doubled /v1 in a URL, a typo host, a lab model name, a bad auth header) names the cause
behind a symptom (a 404, a DNS failure, a 401), so its weight is above a status code's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gridctl import grid, secrets
from gridctl.findings import ERROR, Finding, finding
from gridctl.lint.error_lines import is_expression
from gridctl.lint.redact import key_kinds, redact

MAX_FACTS = 12
LINT = 88  # a lint that fired on a fact names the cause behind the symptom (404, 401, DNS)
# the URL is wrong before the model is: a doubled /v1 answers 404 whatever the model (doctor's order)
URL_LINT = LINT + 5

_URL = re.compile(r"\bhttps?://[^\s'\"<>`)\]}|\\]{1,500}", re.IGNORECASE)
_REQ_LINE = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE) (/[^\s'\"?]{1,300})")
# a bare API path quoted by an error ("Not found: /v1/v1/chat/completions"), not part of a URL
_API_PATH = re.compile(r"(?<![\w.:/-])(/v1/[^\s'\"?<>`)\]}]{1,300})")
_HOST = re.compile(r"(?:host='|could not resolve host:? |unknownhostexception: |enotfound |failed to resolve '|hostname: '|"
                   r"failed to connect to |getaddrinfo \w{3,12} )([a-z0-9][a-z0-9.-]{1,200}[a-z0-9])", re.IGNORECASE)
_MODEL = re.compile(r"(?:\bmodel[\"']?\s{0,3}[:=]\s{0,3}[\"'`]?|the model [`'\"]|you passed model=\s{0,3}|"
                    r"\bmodel [`'\"]|selected model \()([A-Za-z0-9][A-Za-z0-9._:/-]{0,79})", re.IGNORECASE)
# the name as the server saw it: a provider prefix here was sent on the wire
_SENT_MODEL = re.compile(r"unknown instrument [`'\"]([A-Za-z0-9][A-Za-z0-9._:/-]{0,79})", re.IGNORECASE)
_REQUEST_ID = re.compile(r"(?:x-(?:grid-)?request-id|request[_ -]?id)[\"']?\s{0,3}[:=]\s{0,3}[\"']?"
                         r"([A-Za-z0-9][A-Za-z0-9_-]{5,79})|\b(req_[A-Za-z0-9]{8,60})\b", re.IGNORECASE)
_HEADER = re.compile(r"\b(authorization|x-api-key)[\"']?\s{0,3}:\s{0,3}([^\r\n]{0,400})", re.IGNORECASE)
# a key variable in an environment dump, a .env file or a log: `OPENAI_API_KEY=your_api_key_here`
_KEY_VAR = re.compile(r"\b((?:openai|anthropic|thegrid|thegridai)_api_key|anthropic_auth_token|api_key)[\"']?"
                      r"\s{0,3}[=:]\s{0,3}[\"']?([^\s\"',;)}]{1,80})", re.IGNORECASE)
_ENDPOINT_TWICE = re.compile(r"/chat/completions/.{0,40}(?:chat/)?completions|/messages/.{0,20}messages",
                             re.IGNORECASE)
_UNSUPPORTED = re.compile(r"/v1/(completions|responses|embeddings|images|audio|assistants|threads|files|"
                          r"moderations|batches|fine_tuning)\b", re.IGNORECASE)
_HEADER_CODES = frozenset({"auth.missing_bearer", "auth.scheme_case", "auth.double_bearer", "auth.key_whitespace",
                           "auth.key_quoted", "auth.non_ascii", "auth.placeholder_key", "auth.foreign_key",
                           "auth.missing_key", "auth.wrong_header"})
_ADVICE = re.compile(r"\b(?:missing|send|expected|e\.g\.|should be|must be|example)\b", re.IGNORECASE)
_URL_CODES = frozenset({"url.host_typo", "url.wrong_api_host", "url.doubled_v1", "url.missing_v1",
                        "url.extra_path", "url.insecure_scheme", "url.docs_url"})
_MODEL_CODES = frozenset({"model.foreign_name", "model.unknown", "model.case"})
AUTH_FAILURES = frozenset({"auth.rejected", "auth.forbidden", "auth.missing_key"})


@dataclass
class Match:
    code: str
    weight: int
    line: int
    quote: str
    via: str  # "text: <source>", "status 401", "lint url", ...
    finding: Finding | None = None  # a lint's own words, more specific than the catalogue's
    severity: str | None = None
    count: int = 1

    @property
    def score(self) -> int:
        return self.weight + min(self.count - 1, 3)


@dataclass
class Facts:
    statuses: list[int] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    keys: list[dict[str, str]] = field(default_factory=list)
    lines: int = 0

    def add(self, name: str, value: Any) -> bool:
        bucket: list[Any] = getattr(self, name)
        if value in bucket or len(bucket) >= MAX_FACTS:
            return False
        bucket.append(value)
        return True

    def as_json(self) -> dict[str, Any]:
        return {"statuses": self.statuses, "urls": self.urls, "hosts": self.hosts, "models": self.models,
                "request_ids": self.request_ids, "headers": self.headers, "keys": self.keys, "lines": self.lines}

    def recognised(self) -> list[str]:
        """What was recognised, in words, for the answer when no diagnosis fits."""
        parts = [f"{name} {', '.join(str(v) for v in values[:3])}" for name, values in (
            ("status", self.statuses), ("URL", self.urls), ("host", self.hosts), ("model", self.models),
            ("request ID", self.request_ids)) if values]
        return parts


@dataclass
class Scan:
    matches: dict[str, Match] = field(default_factory=dict)
    facts: Facts = field(default_factory=Facts)
    signal_404: bool = False
    command: str | None = None  # the program's command line, as the text shows it
    client: str | None = None   # the client that printed the text (gridctl/lint/client.py)
    right_path: bool = False    # the text shows the request went to /v1/chat/completions or /v1/messages

    def hit(self, m: Match) -> None:
        old = self.matches.get(m.code)
        if old is None:
            self.matches[m.code] = m
            return
        if m.weight > old.weight:
            m.count = old.count + 1
            self.matches[m.code] = m
        else:
            old.count += 1


def scan_facts(scan: Scan, n: int, raw: str, line: str, quote: str) -> None:
    """Extract what `raw` (the line as pasted) and `line` (cleaned, redacted) hold, and lint it."""
    facts = scan.facts
    for kind, masked in key_kinds(raw):
        facts.add("keys", {"kind": kind, "key": masked})
    for h in list(_HEADER.finditer(raw))[:2]:
        _lint_header(scan, n, h.group(1), h.group(2), quote)
    for v in list(_KEY_VAR.finditer(raw))[:2]:
        _lint_key_var(scan, n, v, raw, quote)
    for m in _URL.finditer(line):
        url = m.group(0).rstrip(".,;:!'\"")
        if facts.add("urls", url):
            _lint_url(scan, n, url, quote)
    for m in _REQ_LINE.finditer(line):
        _lint_path(scan, n, m.group(1), quote)
    for m in _API_PATH.finditer(line):
        _lint_path(scan, n, m.group(1).rstrip(".,;:!"), quote)
    for m in _HOST.finditer(line):
        host = m.group(1).lower().rstrip(".")
        if facts.add("hosts", host):
            _lint_host(scan, n, host, quote)
    _models_and_ids(scan, n, raw, line, quote)


def _models_and_ids(scan: Scan, n: int, raw: str, line: str, quote: str) -> None:
    for m in _MODEL.finditer(line):
        name = m.group(1).rstrip(".,:;/")
        if is_expression(line, m.start(1), m.start(1) + len(name)):
            continue  # `model=args.model`, `model: process.env.MODEL`: code, not the name that was sent
        if scan.facts.add("models", name):
            _lint_model(scan, n, name, quote)
    for m in _SENT_MODEL.finditer(line):
        name = m.group(1).rstrip(".,:;/")
        scan.facts.add("models", name)
        _lint_model(scan, n, name, quote, sent=True)
    for m in _REQUEST_ID.finditer(raw):
        rid = m.group(1) or m.group(2)
        if rid and redact(rid) == rid:  # never show a key-shaped "ID"
            scan.facts.add("request_ids", rid)


def _lint_header(scan: Scan, n: int, name: str, value: str, quote: str) -> None:
    from gridctl.lint.header import HeaderSyntaxError, lint_header

    value = value.strip().strip("'\",}")
    if _ADVICE.search(quote):
        return  # an error message telling what to send, not the header that was sent
    if value.lower() in ("bearer", "bearer:") or (not value and quote.startswith(">")):
        # `> Authorization: Bearer ` in a curl -v transcript: the variable behind the key was empty
        scan.hit(Match("auth.missing_key", LINT, n, quote, "lint auth header",
                       finding("auth.missing_key", "The request's auth header carried no key after the scheme "
                               "(an empty variable: `Bearer $THEGRID_API_KEY` with the variable unset).")))
        return
    if not value or "…" in value or "***" in value or value.lower() in ("bearer", "[redacted]"):
        return
    # lint_header registers the key it reads for scrubbing; pasted text is already redacted here, and a
    # pasted `$THEGRID_API_KEY` or a stranger's key must not change what this process scrubs later
    saved = set(secrets._SECRETS)  # noqa: SLF001
    try:
        result = lint_header(f"{name}: {value}")
    except HeaderSyntaxError:
        return
    finally:
        secrets._SECRETS.clear()  # noqa: SLF001
        secrets._SECRETS.update(saved)  # noqa: SLF001
    scan.facts.add("headers", redact(f"{name}: {value}")[:120])
    for f in result.findings:
        if f.severity == ERROR and f.code in _HEADER_CODES:
            # what the key is (example text, another vendor's) before how it was sent
            weight = LINT + 1 if f.code in ("auth.placeholder_key", "auth.foreign_key", "auth.missing_key") else LINT
            scan.hit(Match(f.code, weight, n, quote, "lint auth header", _redacted(f)))


def _lint_key_var(scan: Scan, n: int, m: re.Match[str], raw: str, quote: str) -> None:
    from gridctl.lint.header import is_placeholder

    value = m.group(2)
    after = raw[m.end(2):m.end(2) + 1]
    if re.fullmatch(r"[A-Za-z_]\w{0,60}(?:\.[A-Za-z_]\w{0,60}){1,6}", value) or after in ("(", "[", ".") \
            or _ADVICE.search(quote):
        return  # `api_key=os.environ[...]`, `api_key=settings.KEY`: code, not a value
    if not value.startswith("$") and is_placeholder(value):
        scan.hit(Match("auth.placeholder_key", LINT, n, quote, "lint key variable",
                       finding("auth.placeholder_key", f"{m.group(1)} holds example text, not a key.")))


def _lint_path(scan: Scan, n: int, path: str, quote: str) -> None:
    if path.rstrip("/") in ("/v1/chat/completions", "/v1/messages"):
        scan.right_path = True  # a 404 on the right path is about the instrument
    if "/v1/v1/" in path or path.endswith("/v1/v1"):
        scan.hit(Match("url.doubled_v1", URL_LINT + 2, n, quote, "lint url path"))
    if _ENDPOINT_TWICE.search(path):
        scan.hit(Match("url.endpoint_appended", URL_LINT + 2, n, quote, "lint url path"))
    m = _UNSUPPORTED.search(path)
    if m:
        scan.hit(Match("url.unsupported_endpoint", URL_LINT, n, quote, "lint url path",
                       finding("url.unsupported_endpoint", f"/v1/{m.group(1)} is not an endpoint The Grid serves; "
                               "it answers 404.")))


def _lint_url(scan: Scan, n: int, url: str, quote: str) -> None:
    from urllib.parse import urlsplit

    from gridctl.lint.url import KNOWN_HOSTS, _typo_target, lint_url

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return
    _lint_path(scan, n, parts.path, quote)
    if "token=" in parts.query and 401 in scan.facts.statuses:
        scan.hit(Match("http.redirect_rejected", LINT - 3, n, quote, "signed redirect URL with 401"))
    if not (grid.is_grid_host(host) or _typo_target(host)):
        return  # another vendor's or a local URL: the texts and statuses speak for it
    if host.endswith("." + grid.GRID_DOMAIN) and host not in KNOWN_HOSTS and host not in grid.NON_PROD_HOSTS:
        return  # a subdomain of The Grid's own domain (the gateway a signed 307 points at): not a typo
    api_path = any(s in parts.path for s in ("/v1", "/chat", "/messages", "/models", "/completions"))
    api = "messages" if "/messages" in parts.path else "chat"
    for f in lint_url(url, api=api, endpoint=True).findings:
        if f.severity != ERROR or f.code not in _URL_CODES:
            continue
        if f.code in ("url.docs_url", "url.insecure_scheme", "url.extra_path") and not api_path:
            continue  # a docs link in an error body is not the base URL
        scan.hit(Match(f.code, URL_LINT + 2 if f.code == "url.host_typo" else URL_LINT, n, quote, "lint url",
                       _redacted(f)))


def _lint_host(scan: Scan, n: int, host: str, quote: str) -> None:
    from gridctl.lint.url import lint_url

    for f in lint_url(f"https://{host}").findings:
        if f.code == "url.host_typo":
            scan.hit(Match(f.code, URL_LINT + 2, n, quote, "lint host", _redacted(f)))


def _lint_model(scan: Scan, n: int, name: str, quote: str, sent: bool = False) -> None:
    from gridctl.lint.model import lint_model

    # `openai/text-prime` is LiteLLM's correct spelling, `openai/gpt-oss-120b` the model that served a
    # request: a provider prefix in a log says nothing certain about the `model` that was sent, unless
    # The Grid itself echoes it back (`Unknown instrument 'openai/text-prime'`)
    if ("/" in name and not sent) or name.lower() in ("name", "names", "not", "string", "none", "null", "model", "id"):
        return
    for f in lint_model(name).findings:
        if f.severity == ERROR and f.code in _MODEL_CODES:
            scan.hit(Match(f.code, LINT + 4, n, quote, "lint model", _redacted(f)))


def _redacted(f: Finding) -> Finding:
    return Finding(f.code, f.severity, redact(f.message), redact(f.fix), dict(f.data))


def correct_endpoint(urls: list[str]) -> bool:
    from urllib.parse import urlsplit

    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        where = ((parts.hostname or "").lower(), parts.path.rstrip("/"))
        if where in ((grid.API_HOST, "/v1/chat/completions"), (grid.MESSAGES_HOST, "/v1/messages")):
            return True
    return False
