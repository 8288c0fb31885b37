"""Base-URL lint and normalisation: pure, offline, total (never raises on any string)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gridctl import grid
from gridctl.findings import Add, Finding, finding
from gridctl.lint.text import edit_distance
from gridctl.result import CheckResult, Report, Timer

QUOTES = "\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb"
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_WS = re.compile(r"\s")
# `https:/host`, `https:host`, `https:///host`: the right scheme with the wrong number of slashes
_BAD_SEPARATOR = re.compile(r"^(https?):(?!//(?:[^/]|$))/*", re.IGNORECASE)
MAX_URL = 8192
# Hosts a user may have meant; a near miss of one of these is a typo, not a custom host.
KNOWN_HOSTS = (grid.API_HOST, grid.MESSAGES_HOST, grid.TRADING_HOST, grid.PLATFORM_HOST, grid.DASHBOARD_HOST,
               grid.STATUS_HOST, grid.GRID_DOMAIN, "www.thegrid.ai", "docs.thegrid.ai")
WEBSITE_HOSTS = (grid.GRID_DOMAIN, "www.thegrid.ai", "docs.thegrid.ai", grid.DASHBOARD_HOST, grid.STATUS_HOST)
OTHER_VENDORS = {"api.openai.com": "OpenAI's API", "api.anthropic.com": "Anthropic's API",
                 "openrouter.ai": "OpenRouter", "api.groq.com": "Groq's API",
                 "generativelanguage.googleapis.com": "Google's Gemini API"}


# Endpoints other APIs have and The Grid does not serve (it answers 404): what each is, what to use instead.
_CHAT_URL = f"POST {grid.DEFAULT_BASE_URL}/chat/completions"
_TEXT_ONLY = f"The Grid serves text instruments only, through {_CHAT_URL}; use another provider for this."
UNSUPPORTED_ENDPOINTS = {
    "/responses": ("OpenAI's Responses API", f"Switch the client to Chat Completions, {_CHAT_URL} (OpenAI SDK: "
                   "client.chat.completions.create; Codex-style tools: wire_api = \"chat\")."),
    "/embeddings": ("the embeddings endpoint", "The Grid serves no embeddings: use another provider for them; "
                    f"chat goes to {_CHAT_URL}."),
    "/completions": ("the legacy Completions endpoint", f"Use {_CHAT_URL}, sending `messages` instead of `prompt`."),
    "/images/generations": ("the image generation endpoint", _TEXT_ONLY),
    "/audio/speech": ("the text-to-speech endpoint", _TEXT_ONLY),
    "/audio/transcriptions": ("the transcription endpoint", _TEXT_ONLY),
    "/moderations": ("the moderation endpoint", _TEXT_ONLY),
}

PRIORITY = {"url.host_typo": 0, "url.wrong_api_host": 1, "url.docs_url": 1, "url.doubled_v1": 2,
            "url.unsupported_endpoint": 3, "url.endpoint_appended": 3, "url.missing_v1": 4, "url.extra_path": 5, "url.insecure_scheme": 6}


@dataclass
class UrlLint:
    raw: str
    findings: list[Finding] = field(default_factory=list)
    canonical: str | None = None  # the base URL to give the chosen SDK, None when there is no host
    host: str | None = None
    grid_host: bool = False
    refuse_key: bool = False  # a look-alike host: the key must not be sent there

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def _split(text: str) -> tuple[str, str, str, str] | None:
    """scheme, host, port, path of `text`, or None when it has no usable host."""
    candidate = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(candidate)
        port = parts.port
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if not host or any(c in host for c in " <>{}|\\^" + QUOTES):
        return None
    return parts.scheme.lower(), host, "" if port is None else str(port), parts.path


_GRID_NAME = re.compile(r"(?<![a-z0-9-])(?:[a-z0-9-]+\.)*thegrid\.ai(?![a-z0-9-])", re.IGNORECASE)


def _disguise(text: str, host: str) -> Finding | None:
    """A URL dressed up to read as The Grid's while it goes elsewhere: user information before the host
    (`https://api.thegrid.ai@evil.com`: the host is evil.com), a #fragment (clients drop it, and the path
    joined after it), or a Grid host named only in the path or query of another host."""
    candidate = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if "@" in parts.netloc:
        shown = parts.netloc.rpartition("@")[0]
        named = _GRID_NAME.search(shown)
        said = f" ({named.group(0)} there is a user name, not the host)" if named else ""
        return finding("url.invalid", f"The URL has user information before @{said}: requests go to {host}, and "
                       "a base URL carries no credentials; gridctl will not send your key there.",
                       fix="Remove everything between :// and @; the key goes in the Authorization header.")
    if "#" in candidate:
        return finding("url.invalid", f"The URL has a #fragment ({candidate.partition('#')[2][:60]}): clients drop "
                       f"it with every path joined after it, so requests would go to {host} and miss the API path; "
                       "gridctl sends nothing to it.", fix="Remove the # and what follows it.")
    if grid.is_grid_host(host) or grid.is_loopback_host(host):
        return None
    # Where a reader expects the host to go on (`evil.com/api.thegrid.ai/v1`, `evil.com?api.thegrid.ai/v1`);
    # a gateway that names the upstream deeper in its path (`/providers/api.thegrid.ai/v1`) is not dressed up.
    first = parts.path.lstrip("/").split("/", 1)[0]
    named = _GRID_NAME.fullmatch(first) or _GRID_NAME.match(parts.query)
    if named:
        return finding("url.host_typo", f"The URL puts {named.group(0)} right after its real host, {host}, where "
                       "requests (and your key) would go; gridctl will not send your key there.",
                       fix=f"Use https://{grid.API_HOST}/v1.", expected=grid.API_HOST)
    return None


def _is_a_key(text: str) -> bool:
    """A key (its halves joined) where a URL should be: no scheme, dot or slash, and a key's shape."""
    if any(c in text for c in "./:@"):
        return False
    from gridctl.secrets import looks_like_key

    return text.lower().startswith(("gk-", "sk-")) and len(text) >= 12 or looks_like_key(text)


def _typo_target(host: str) -> str | None:
    """The Grid host `host` is a near miss of, if any."""
    if host in KNOWN_HOSTS or host in grid.NON_PROD_HOSTS:
        return None
    best = min(KNOWN_HOSTS, key=lambda known: edit_distance(host, known))
    if edit_distance(host, best) <= 2:
        return best
    if grid.is_grid_host(host):
        return None
    labels = host.split(".")
    # thegrid.io, api.thegrid.com, api.the-grid.ai: the right name on the wrong domain
    for i, label in enumerate(labels[:-1]):
        if edit_distance(label, "thegrid") <= 1 and ".".join(labels[i:]) != grid.GRID_DOMAIN:
            prefix = ".".join(labels[:i])
            guess = f"{prefix}.{grid.GRID_DOMAIN}" if prefix else grid.API_HOST
            return guess if guess in KNOWN_HOSTS else grid.API_HOST
    return None


def lint_url(raw: str, api: str = "chat", sdk: str | None = None, endpoint: bool = False) -> UrlLint:
    """Lint a base URL (or, with endpoint=True, a full request URL as curl sends it)."""
    if len(raw) > MAX_URL:
        # Browsers and servers stop at 8 KiB; past that the lints would only spend time (linear, but a
        # 1 MB "host" is no base URL anyone means).
        return UrlLint(raw=raw[:200], findings=[finding("url.invalid", f"The URL is {len(raw)} characters long; "
                                                        "a base URL is a few dozen.")])
    result = _lint_url(raw, api, sdk, endpoint)
    # The most telling problem first: it becomes the diagnosis. One finding per code.
    result.findings.sort(key=lambda f: PRIORITY.get(f.code, 9))
    unique: dict[str, Finding] = {}
    for f in result.findings:
        unique.setdefault(f.code, f)
    result.findings = list(unique.values())
    return result


def _lint_url(raw: str, api: str, sdk: str | None, endpoint: bool) -> UrlLint:  # noqa: C901 - next to split (by URL part); issues 11/16 edit it today, split after they land
    conv = grid.SDKS.get(sdk or "")
    if conv is not None:
        api = conv.api
    wants_v1 = conv.wants_v1 if conv is not None else True
    # Messages without a named SDK: a raw client (curl, gridctl's own ping) joins base + /messages, so
    # the base needs /v1; only the Anthropic SDK (--sdk anthropic) wants the host root.
    raw_messages = conv is None and api == "messages"
    result = UrlLint(raw=raw)
    add = result.findings.append
    text = raw
    if _CTRL.search(text.strip()) or _WS.search(text.strip()):
        add(finding("url.whitespace", "The URL has whitespace or control characters inside it."))
    stripped = text.strip().strip(QUOTES).strip()
    if stripped != text:
        add(finding("url.whitespace", "The URL has whitespace or quote characters around it."))
    text = stripped
    while True:  # quotes and whitespace can nest ("' url '"): strip to a fixed point
        cleaned = _CTRL.sub("", _WS.sub("", text)).strip(QUOTES)
        if cleaned == text:
            break
        text = cleaned
    if not text:
        add(finding("url.invalid", "The base URL is empty."))
        return result
    if _is_a_key(text):
        # A key where the URL goes: no host, no canonical URL built from it (that would print it back)
        from gridctl.secrets import register

        register(text)
        add(finding("url.invalid", "This is an API key, not a URL: the base URL goes here (the key goes in "
                    "--api-key or THEGRID_API_KEY).", fix=f"Use {grid.DEFAULT_BASE_URL}."))
        return result
    bad_sep = _BAD_SEPARATOR.match(text)
    if bad_sep:
        add(finding("url.invalid", f"The scheme separator is malformed ({text[:bad_sep.end()]}); it must be "
                    f"{bad_sep.group(1).lower()}://.", fix=f"Write {bad_sep.group(1).lower()}:// before the host."))
        text = f"{bad_sep.group(1)}://" + text[bad_sep.end():]
    parts = _split(text)
    if parts is None:
        add(finding("url.invalid", "The base URL cannot be parsed as a URL with a host."))
        return result
    scheme, host, port, path = parts
    result.host = host
    loopback = grid.is_loopback_host(host)
    disguise = _disguise(text, host)
    if disguise is not None:
        result.refuse_key = True
        add(disguise)
    if "://" not in text:
        add(finding("url.invalid", "The URL has no scheme (https://).", fix="Write it with https:// in front."))
    elif scheme == "http" and not loopback:
        add(finding("url.insecure_scheme"))
    elif scheme not in ("http", "https"):
        add(finding("url.invalid", f"The scheme {scheme}:// is not http(s)."))
        scheme = "https"

    target = _typo_target(host)
    if target is None and grid.looks_alike(host):
        target = right_api = grid.MESSAGES_HOST if api == "messages" else grid.API_HOST
        result.refuse_key = True
        add(finding("url.host_typo", f"The host {host} looks like The Grid's but is not one of its hosts "
                    f"(thegrid.ai and its subdomains); gridctl will not send your key there.",
                    fix=f"Use https://{right_api}.", expected=right_api))
        host = right_api
    elif target is not None:
        result.refuse_key = True
        add(finding("url.host_typo", f"The host {host} looks like a typo of {target}; gridctl will not send "
                    "your key there.", fix=f"Use https://{target}.", expected=target))
        host = target
    right_host = grid.MESSAGES_HOST if api == "messages" else grid.API_HOST
    custom = website = False
    if host in WEBSITE_HOSTS:
        website = True
        add(finding("url.docs_url", f"{host} is The Grid's website, docs or dashboard, not the API."))
        host = right_host
    elif host in (grid.TRADING_HOST, grid.PLATFORM_HOST):
        kind = "Trading" if host == grid.TRADING_HOST else "Platform"
        add(finding("url.wrong_api_host", f"{host} is The Grid's {kind} API; inference goes to {right_host}."))
        host = right_host
    elif host in (grid.API_HOST, grid.MESSAGES_HOST) and host != right_host:
        which = "Anthropic Messages beta" if api == "messages" else "Chat Completions API"
        add(finding("url.wrong_api_host", f"The {which} is served by {right_host}, not {host}."))
        host = right_host
    elif host in grid.NON_PROD_HOSTS:
        add(finding("url.custom_host", f"{host} is a non-production Grid host.", severity="warning"))
    elif not grid.is_grid_host(host):
        custom = True
        vendor = OTHER_VENDORS.get(host)
        if vendor:
            add(finding("url.custom_host", f"{host} is {vendor}, not The Grid.", severity="warning"))
        elif loopback:
            add(finding("url.custom_host", f"{host} is this machine: a local gateway or emulator."))
        elif target is None:
            add(finding("url.custom_host", f"{host} is not one of The Grid's hosts."))
    result.grid_host = grid.is_grid_host(host) and not custom

    if port and not custom and port != "443":
        add(finding("url.nonstandard_port", f"Port {port} on {host}; The Grid serves HTTPS on 443 only."))
        port = ""
    elif port == "443" and not custom:
        port = ""  # the default port: the canonical URL leaves it out
    # A website URL's path says nothing about the API path: lint it as the bare host.
    drop_v1 = not wants_v1 and not result.grid_host
    segments, path_notes = _path("" if website else path, endpoint and not website, add, drop_v1, sdk)
    if website:
        segments = ["v1"] if wants_v1 else []  # lint it as the right base, whatever the SDK's convention
    path_segments = _expected_path(segments, result.grid_host, wants_v1, sdk, add, path_notes, raw_messages)
    if result.grid_host or scheme == "https" or not loopback:
        scheme = "https" if not loopback else scheme
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    result.canonical = f"{scheme}://{netloc}" + "".join("/" + s for s in path_segments)
    return result


def _trailing_slash(sdk: str | None) -> Finding:
    """What a trailing slash really does depends on who joins the path (checked against openai 3.x, anthropic 2.x)."""
    if sdk == "litellm":
        # litellm 1.60.6 requested `.../v1//chat/completions` for OpenRouter (issue 20): not always normalised
        return finding("url.trailing_slash", "The URL ends in a slash. LiteLLM does not always normalise it (litellm "
                       "1.60.6 requested `/v1//chat/completions`), which can answer 404.",
                       severity="warning", fix="Remove the trailing slash: api_base=https://api.thegrid.ai/v1.")
    if sdk in ("openai", "langchain", "anthropic"):
        who = "The Anthropic SDK" if sdk == "anthropic" else f"The OpenAI SDK{' (under ' + sdk + ')' if sdk != 'openai' else ''}"
        return finding("url.trailing_slash", f"The URL ends in a slash. {who} normalises it, so this SDK is fine; "
                       "curl and hand-built clients that read the same variable request `//chat/completions`.",
                       severity="info", fix="Remove the trailing slash so every client reading the setting works.")
    return finding("url.trailing_slash", "The URL ends in a slash: curl and hand-built clients that join strings "
                   "request `/v1//chat/completions`, which can 404 (the OpenAI and Anthropic SDKs normalise it).")


def _path(path: str, endpoint: bool, emit: Add, drop_v1: bool = False,
          sdk: str | None = None) -> tuple[list[str], list[str]]:
    """Path segments with the endpoint and doubled /v1 taken out; findings for each.

    drop_v1: the client appends /v1 itself (the Anthropic SDK on a non-Grid host), so a trailing
    /v1 is doubled too. Everything is stripped to a fixed point, so the result lints clean again.
    """
    notes: list[str] = []
    if len(path) > 1 and path.endswith("/"):
        emit(_trailing_slash(sdk))
    if "//" in path.rstrip("/"):
        notes.append("empty path segment (//)")
    segments = [s for s in path.split("/") if s]
    doubled = sum(1 for s in segments if s.lower() == "v1") >= 2
    collapsed: list[str] = []
    for s in segments:
        if s.lower() == "v1":
            if "v1" in collapsed:
                continue
            s = "v1"
        collapsed.append(s)
    segments = collapsed
    stripped: str | None = None
    dropped_v1 = False
    while True:
        lowered = "/" + "/".join(s.lower() for s in segments)
        suffix = next((x for x in (*grid.ENDPOINT_SUFFIXES, *UNSUPPORTED_ENDPOINTS) if lowered.endswith(x)), None)
        if suffix is not None:
            stripped = stripped or suffix
            segments = segments[: len(segments) - suffix.count("/")]
        elif drop_v1 and segments and segments[-1] == "v1":
            dropped_v1 = True
            segments = segments[:-1]
        else:
            break
    if stripped in UNSUPPORTED_ENDPOINTS:  # /chat/completions matched first, so this is the bare one
        what, instead = UNSUPPORTED_ENDPOINTS[stripped]
        emit(finding("url.unsupported_endpoint", f"The URL targets {stripped}, {what}; The Grid does not serve "
                     "it (404).", fix=instead, endpoint=stripped))
    elif stripped is not None:
        if not endpoint:
            emit(finding("url.endpoint_appended", f"The base URL ends in {stripped}; the SDK appends it again."))
    elif endpoint:
        notes.append("no endpoint such as /chat/completions at the end")
    if doubled:
        emit(finding("url.doubled_v1", "The path has /v1 more than once (" + "/" +
                     "/".join(s for s in path.split("/") if s) + ")."))
    elif dropped_v1:
        emit(finding("url.doubled_v1", "The Anthropic SDK appends /v1/messages itself, so a base "
                     "ending in /v1 requests /v1/v1/messages.", fix="Drop /v1 from the base URL."))
    return segments, notes


def _expected_path(segments: list[str], grid_host: bool, wants_v1: bool, sdk: str | None, emit: Add,
                   notes: list[str], raw_messages: bool = False) -> list[str]:
    if not grid_host:
        # A gateway's own prefix is its business; only the /v1 convention of the SDK is ours
        # (and _path has already taken a doubled one out).
        return segments
    extra = [s for s in segments if s != "v1"]
    if extra or notes and "empty path segment (//)" in notes:
        shown = "/" + "/".join(extra) if extra else "//"
        emit(finding("url.extra_path", f"The path has segments The Grid does not serve: {shown}."))
    has_v1 = "v1" in segments
    if wants_v1:
        if not has_v1 and raw_messages:
            emit(finding("url.missing_v1", "The Messages API is served under /v1: a client that appends only "
                         "/messages needs a base ending in /v1. (The Anthropic SDK and Claude Code append "
                         "/v1/messages themselves and want the host root.)",
                         fix=f"Raw HTTP: {grid.MESSAGES_ROOT}/v1. Anthropic SDK: {grid.MESSAGES_ROOT} "
                         "(check it with `gridctl url --sdk anthropic`)."))
        elif not has_v1:
            label = f"The {sdk} SDK" if sdk else "An OpenAI-style client"
            emit(finding("url.missing_v1", f"{label} appends only /chat/completions; without /v1 "
                         "the request hits a path that does not exist."))
        return ["v1"]
    if has_v1:
        emit(finding("url.doubled_v1", "The Anthropic SDK appends /v1/messages itself, so a base "
                     "ending in /v1 requests /v1/v1/messages.",
                     fix=f"Set the base URL to {grid.MESSAGES_ROOT} (no /v1)."))
    return []


def url_report(url: str, source: str, api: str = "chat", sdk: str | None = None) -> Report:
    """`gridctl url`: the lint of one base URL and its canonical form for the SDK. Was cli/url.py."""
    timer = Timer()
    result = lint_url(url, api=api, sdk=sdk)
    check = CheckResult("url", "Base URL", result.findings, duration_ms=timer.ms(),
                        data={"input": url, "source": source, "canonical": result.canonical, "sdk": sdk,
                              "api": api, "grid_host": result.grid_host})
    report = Report("url", [check], target={"base_url": url, "api": api, "model": None})
    report.extra["canonical"] = result.canonical
    return report
