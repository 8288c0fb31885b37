"""What The Grid is, as data: hosts, instruments, headers, SDK conventions.

Every fact here comes from ../shared/grid-docs (The Grid's own pages and CLI); nothing in this
module does I/O, so offline lints can import it for free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

DEFAULT_BASE_URL = "https://api.thegrid.ai/v1"
DEFAULT_MODEL = "text-prime"
DEFAULT_STATUS_URL = "https://status.thegrid.ai"
DEFAULT_TIMEOUT = 10.0

API_HOST = "api.thegrid.ai"
MESSAGES_HOST = "messages-beta.api.thegrid.ai"
TRADING_HOST = "trading.api.thegrid.ai"
PLATFORM_HOST = "platform.api.thegrid.ai"
DASHBOARD_HOST = "app.thegrid.ai"
STATUS_HOST = "status.thegrid.ai"
DOCS_HOST = "thegrid.ai"
GRID_DOMAIN = "thegrid.ai"
NON_PROD_HOSTS = ("api.dev.thegrid.ai", "api.staging.thegrid.ai", "messages-beta.api.dev.thegrid.ai")
MESSAGES_ROOT = f"https://{MESSAGES_HOST}"

DASHBOARD_URL = f"https://{DASHBOARD_HOST}"
API_KEYS_URL = f"{DASHBOARD_URL}/profile/api-keys"
SUPPORT_EMAIL = "support@thegrid.ai"
DOCS = "https://thegrid.ai/docs"

# Environment variable names, shown in help so users can find them.
ENV_API_KEY = "THEGRID_API_KEY"
ENV_BASE_URL = "THEGRID_BASE_URL"
ENV_MODEL = "THEGRID_MODEL"
ENV_STATUS_URL = "THEGRID_STATUS_URL"
ENV_PROFILE = "THEGRID_PROFILE"
ENV_LEGACY_KEY = "THEGRIDAI_API_KEY"
SDK_ENV_VARS = (
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "OPENAI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
)
# Every variable that can hold a key the user has: registered for scrubbing before anything is printed.
KEY_ENV_VARS = (ENV_API_KEY, ENV_LEGACY_KEY, "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                "AZURE_OPENAI_API_KEY")

TIERS = ("standard", "prime", "max")
FAMILIES = ("text", "code", "agent")
INSTRUMENTS: tuple[str, ...] = tuple(f"{f}-{t}" for f in FAMILIES for t in TIERS)
# Seen in third-party catalogues built from GET /v1/models; the live list is the authority.
LAB_MARKET: tuple[str, ...] = (
    "claude-opus-latest",
    "gpt-sol-latest",
    "gemini-pro-latest",
    "deepseek-pro-latest",
    "kimi-latest",
    "glm-latest",
    "minimax-latest",
    "bytedance-pro-latest",
)

TIER_ADVICE = {
    "max": "planning, deep reasoning, large context",
    "prime": "general execution; most agent loops belong here",
    "standard": "tool calls, classification, routing, batch edits",
}

# Lab model names people paste into `model`, and the tier instrument that fits their intent.
# Matched by prefix after lower-casing; first match wins, so more specific prefixes come first.
FOREIGN_MODEL_HINTS: tuple[tuple[str, str], ...] = (
    ("claude-opus", "agent-max"),
    ("claude-sonnet", "agent-prime"),
    ("claude-haiku", "agent-standard"),
    ("claude", "agent-prime"),
    ("gpt-4o-mini", "text-standard"),
    ("gpt-5-mini", "text-standard"),
    ("gpt-5-nano", "text-standard"),
    ("gpt-3.5", "text-standard"),
    ("gpt-4.1-mini", "text-standard"),
    ("gpt-5-codex", "code-prime"),
    ("codex", "code-prime"),
    ("gpt", "text-prime"),
    ("chatgpt", "text-prime"),
    ("o1", "text-max"),
    ("o3", "text-max"),
    ("o4-mini", "text-prime"),
    ("gemini-2.5-pro", "text-max"),
    ("gemini", "text-prime"),
    ("deepseek-coder", "code-prime"),
    ("deepseek-r1", "text-max"),
    ("deepseek", "text-prime"),
    ("qwen2.5-coder", "code-prime"),
    ("qwen3-coder", "code-prime"),
    ("qwen", "text-prime"),
    ("llama", "text-prime"),
    ("mistral", "text-prime"),
    ("mixtral", "text-prime"),
    ("codestral", "code-prime"),
    ("kimi", "agent-prime"),
    ("glm", "text-prime"),
    ("grok", "text-prime"),
    ("openai/", "text-prime"),
    ("anthropic/", "agent-prime"),
)


@dataclass(frozen=True)
class Sdk:
    """How one client library builds its request URL from a base URL."""

    name: str
    api: str  # "chat" or "messages"
    wants_v1: bool  # does the base URL end in /v1?
    appends: str  # what the client adds to the base
    base_env: tuple[str, ...]
    key_env: tuple[str, ...]


SDKS: dict[str, Sdk] = {
    "openai": Sdk("openai", "chat", True, "/chat/completions", ("OPENAI_BASE_URL",), ("OPENAI_API_KEY",)),
    "litellm": Sdk(
        "litellm", "chat", True, "/chat/completions", ("OPENAI_API_BASE", "OPENAI_BASE_URL"), ("OPENAI_API_KEY",)
    ),
    "langchain": Sdk(
        "langchain", "chat", True, "/chat/completions", ("OPENAI_API_BASE", "OPENAI_BASE_URL"), ("OPENAI_API_KEY",)
    ),
    "curl": Sdk("curl", "chat", True, "/chat/completions", (), ()),
    "anthropic": Sdk(
        "anthropic", "messages", False, "/v1/messages", ("ANTHROPIC_BASE_URL",),
        ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
    ),
}
SDK_NAMES = tuple(SDKS)
# The same names as types: typer turns a Literal into a choice (checked, listed in --help, completed).
SdkName = Literal["openai", "litellm", "langchain", "curl", "anthropic"]
ApiName = Literal["chat", "messages"]
assert get_args(SdkName) == SDK_NAMES, "SdkName must list grid.SDKS in order"

CHAT_PATH = "/chat/completions"
MESSAGES_PATH = "/messages"
MODELS_PATH = "/models"
ENDPOINT_SUFFIXES = (
    "/chat/completions",
    "/completions",
    "/messages",
    "/models",
    "/embeddings",
    "/responses",
)

# Request-id headers, most specific first: The Grid's CLI reads x-grid-request-id.
REQUEST_ID_HEADERS = ("x-grid-request-id", "x-request-id", "request-id")

# Other vendors' key prefixes: a key with one of these is certainly not a Grid key.
FOREIGN_KEY_PREFIXES = {
    "sk-proj-": "OpenAI project key",
    "sk-ant-": "Anthropic key",
    "sk-or-": "OpenRouter key",
    "gsk_": "Groq key",
    "xai-": "xAI key",
    "hf_": "Hugging Face token",
    "AIza": "Google API key",
    "sk-svcacct-": "OpenAI service-account key",
    "sk-": "OpenAI-style key",
}
PLACEHOLDER_KEYS = (
    "YOUR_GRID_API_KEY",
    "YOUR_KEY",
    "YOUR_API_KEY",
    "YOUR_CONSUMPTION_KEY",
    "<YOUR_CONSUMPTION_KEY>",
    "$THEGRID_API_KEY",
    "${THEGRID_API_KEY}",
    "THEGRID_API_KEY",
    "API_KEY",
    "xxx",
    "changeme",
    "...",
)


def is_grid_host(host: str) -> bool:
    """True for thegrid.ai and its subdomains (the only hosts a key may go to by default)."""
    host = host.lower().rstrip(".")
    return host == GRID_DOMAIN or host.endswith("." + GRID_DOMAIN)


def looks_alike(host: str) -> bool:
    """A host dressed up as The Grid's that is not: thegridai.com, api-thegrid.com, thegrid.ai.evil.com,
    api.grid.ai, or a punycode/Unicode spelling. Never trusted with the key, even when named."""
    host = host.lower().rstrip(".")
    if not host or is_grid_host(host) or is_loopback_host(host):
        return False
    folded = host
    if any(label.startswith("xn--") for label in host.split(".")) or not host.isascii():
        try:
            decoded = ".".join(label.encode("ascii").decode("idna") if label.startswith("xn--") else label
                               for label in host.split("."))
        except (UnicodeError, ValueError):
            return True  # an undecodable punycode label: nothing to trust
        import unicodedata

        # Unicode look-alikes (Cyrillic а, accented letters, full-width forms) fold to ASCII letters
        folded = unicodedata.normalize("NFKD", decoded).encode("ascii", "ignore").decode("ascii")
        if not folded.isascii() or folded != decoded:
            return "grid" in folded.replace("-", "") or _near_domain(folded) or not decoded.isascii()
    compact = "".join(c for c in folded if c.isalnum())
    return "thegrid" in compact or _grid_ai(folded) or _near_domain(folded)


def _grid_ai(host: str) -> bool:
    """`grid-ai.com`, `gridai.net`, `api.grid.ai.example`: "grid" then "ai" as words of the name."""
    words = [w for w in re.split(r"[.\-_]+", host) if w]
    return any(w in ("gridai", "thegridai") for w in words) or any(
        a == "grid" and b == "ai" for a, b in zip(words, words[1:], strict=False))


def _near_domain(host: str) -> bool:
    """The registrable part within 3 edits of thegrid.ai (grid.ai, thegrid.co, the-grid.ai)."""
    labels = host.split(".")
    tail = ".".join(labels[-2:])
    if tail == GRID_DOMAIN or abs(len(tail) - len(GRID_DOMAIN)) > 3:
        return False
    from gridctl.textsafe import edit_distance

    return edit_distance(tail, GRID_DOMAIN) <= 3


def is_loopback_host(host: str) -> bool:
    """This machine: an address in 127.0.0.0/8, ::1 (or ::ffff:127.x), or the name `localhost`.

    Decided after parsing, never by prefix: `127.0.0.1.thegrid-ai.com` is a name anyone can register
    (and point anywhere), not loopback. The one test of "local" in gridctl (URL lints, the key's
    plain-http rule, trace's and the exporter's listen addresses)."""
    import ipaddress

    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    name = name.rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def sdk_base(sdk: str, base_url: str) -> str:
    """The base URL to give `sdk`, from a canonical (`.../v1`) base URL."""
    conv = SDKS[sdk]
    if conv.wants_v1:
        return base_url
    return base_url.removesuffix("/v1")
