"""Which client printed a text or sent a request, and which variables that client reads.

Pure and offline: the fix for a missing key or a doubled /v1 names what the user's own client reads
(`OPENAI_API_KEY` for an OpenAI SDK program, `ANTHROPIC_BASE_URL` and the Messages host for an
Anthropic one, `THEGRID_*` for gridctl and curl). explain detects the client from the text
(exception module, stack frames, user agent); trace from the recorded User-Agent and the variable
it rewrote. The variable names and base URLs come from gridctl/grid.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gridctl import grid
from gridctl.findings import CLIENT_FIXES, SOURCE_FIX, VARIABLE_FIX, Finding


@dataclass(frozen=True)
class Client:
    name: str       # openai, anthropic, litellm, curl, gridctl
    label: str      # how the fix names it
    key_env: str
    base_env: str
    base_url: str   # the base URL this client wants (the Anthropic SDK: the host root)
    appends: str    # what the client adds to the base URL itself


def _sdk(name: str, label: str) -> Client:
    sdk = grid.SDKS[name]
    return Client(name, label, sdk.key_env[0], sdk.base_env[0], grid.sdk_base(name, grid.DEFAULT_BASE_URL) if name != "anthropic" else grid.MESSAGES_ROOT,
                  sdk.appends)


CLIENTS: dict[str, Client] = {
    "openai": _sdk("openai", "the OpenAI SDK"),
    "anthropic": _sdk("anthropic", "the Anthropic SDK"),
    "litellm": _sdk("litellm", "LiteLLM"),
    "curl": Client("curl", "curl", grid.ENV_API_KEY, grid.ENV_BASE_URL, grid.DEFAULT_BASE_URL, grid.CHAT_PATH),
    "gridctl": Client("gridctl", "gridctl", grid.ENV_API_KEY, grid.ENV_BASE_URL, grid.DEFAULT_BASE_URL,
                      grid.CHAT_PATH),
}

# What a text shows of its client, strongest first: a wrapper (LiteLLM) before the SDK it wraps.
_TEXT_SIGNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("litellm", re.compile(r"\blitellm[./]|site-packages/litellm\b|litellm/\d")),
    ("anthropic", re.compile(r"(?<![\w.])anthropic\.(?:[a-z_]+\.)*[a-z]+error\b|site-packages[/\\]anthropic[/\\]|"
                             r"node_modules[/\\]@anthropic-ai[/\\]|anthropic/(?:python|js)\b|"
                             r"\(path: /(?:v1/)+messages\)|\banthropic_api_key\b|could not resolve authentication method")),
    ("openai", re.compile(r"(?<![\w.])openai\.(?:[a-z_]+\.)*[a-z]+error\b|site-packages[/\\]openai[/\\]|"
                          r"node_modules[/\\]openai[/\\]|openai/(?:python|js)\b|\bopenaierror\b|"
                          r"\bopenai_api_key\b|\b[a-z]+error: \d{3} status code \(no body\)$")),
    ("curl", re.compile(r"^\s*(?:\$ )?curl |\bcurl: \(\d{1,2}\)|^\* (?:connected to|trying )|\bcurl/\d")),
    ("gridctl", re.compile(r"^gridctl[: ]|\bgridctl/\d")),
)
_UA: tuple[tuple[str, str], ...] = (
    ("litellm", "litellm"), ("anthropic/", "anthropic"), ("openai/", "openai"), ("curl/", "curl"),
    ("gridctl/", "gridctl"),
)
_VAR_CLIENT = {"OPENAI_BASE_URL": "openai", "OPENAI_API_BASE": "litellm", "ANTHROPIC_BASE_URL": "anthropic",
               grid.ENV_BASE_URL: "gridctl"}


def from_user_agent(user_agent: str | None) -> Client | None:
    """The client a User-Agent names (`OpenAI/Python 3.63.0`, `Anthropic/JS 1.17.0`, `curl/8.5.0`), else None."""
    ua = (user_agent or "").lower()
    return next((CLIENTS[name] for sign, name in _UA if sign in ua), None)


def from_lines(lines: Iterable[str]) -> Client | None:
    """The client a pasted text shows (exception module, stack frame paths, user agent), else None."""
    found: set[str] = set()
    for line in lines:
        low = line.lower()
        for name, sign in _TEXT_SIGNS:
            if name not in found and sign.search(low):
                found.add(name)
    return next((CLIENTS[name] for name, _ in _TEXT_SIGNS if name in found), None)


def from_variable(variable: str | None) -> Client | None:
    """The client that reads `variable` (the base-URL variable trace rewrote)."""
    name = _VAR_CLIENT.get(variable or "")
    return CLIENTS[name] if name else None


def in_client_terms(f: Finding, client: Client | None) -> Finding:
    """`f` with its fix in the words of `client` (its variables, its base URL), when the catalogue has them."""
    template = CLIENT_FIXES.get(f.code)
    if client is None or template is None:
        return f
    fix = template.format(label=client.label, key_env=client.key_env, base_env=client.base_env,
                          base_url=client.base_url, appends=client.appends)
    fix = fix[:1].upper() + fix[1:]
    return Finding(f.code, f.severity, f.message, fix, dict(f.data))


def variable_fix(f: Finding, variable: str, value: str, canonical: str | None) -> Finding:
    """trace: `OPENAI_BASE_URL is https://api.thegrid.ai/v1/v1: set it to https://api.thegrid.ai/v1`."""
    client = from_variable(variable)
    if not f.code.startswith("url.") or f.code not in CLIENT_FIXES or client is None:
        return f
    want = canonical or client.base_url
    if want.rstrip("/") == value.rstrip("/"):
        return f
    return Finding(f.code, f.severity, f.message, VARIABLE_FIX.format(variable=variable, value=value, base_url=want),
                   dict(f.data))


def source_fix(f: Finding, client: Client, value: str) -> Finding:
    """trace, a call to a URL the program set itself: the fix points at its code or config, not a variable."""
    if not f.code.startswith("url.") or f.code not in CLIENT_FIXES or client.base_url.rstrip("/") == value.rstrip("/"):
        return f
    fix = SOURCE_FIX.format(value=value, base_url=client.base_url, label=client.label, appends=client.appends)
    return Finding(f.code, f.severity, f.message, fix, dict(f.data))


def user_agent_of(headers: Iterable[tuple[str, str]]) -> str:
    return next((v for k, v in headers if k.lower() == "user-agent"), "")


def for_call(variable: str | None, user_agent: str | None) -> Client | None:
    """trace: the client of one call, from the variable it came through, else its User-Agent."""
    return from_variable(variable) or from_user_agent(user_agent)
