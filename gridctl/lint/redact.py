"""Redaction of pasted text: every key-shaped token goes before anything is shown.

Pure and linear: one pass of a few regexes without nested quantifiers over each line. Keys gridctl
knows (gridctl.secrets) go first; then vendor-prefixed keys, the values of auth headers, `api_key=`
and signed-URL `token=` parameters, and any long token that mixes upper case, lower case and digits
(The Grid's keys have no documented prefix: 43 characters of base64 is the one example).
"""

from __future__ import annotations

import re

from gridctl.secrets import scrub

# Vendor prefixes: a match anywhere after a non-alphanumeric character. `*` is kept for the masked
# forms vendors print themselves ("Incorrect API key provided: sk-proj-****abcd").
FOREIGN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("sk-proj-", "OpenAI project key"), ("sk-svcacct-", "OpenAI service-account key"),
    ("sk-ant-", "Anthropic key"), ("sk-or-", "OpenRouter key"), ("gsk_", "Groq key"), ("xai-", "xAI key"),
    ("AIza", "Google API key"), ("hf_", "Hugging Face token"), ("sk-", "OpenAI-style key"),
)
_PREFIXED = re.compile(r"(?<![A-Za-z0-9])(sk-proj-|sk-svcacct-|sk-ant-|sk-or-|sk-|gk-|gsk_|xai-|AIza|hf_)"
                       r"([A-Za-z0-9_\-*]{4,400})")
# the value after a credential's name: `Bearer X`, `x-api-key: X`, `api_key='X'`, `?token=X`
_VALUE = re.compile(r"(?i)(\bbearer\s{1,5}|\bx-api-key[\"']?\s{0,3}[:=]\s{0,3}[\"']?|"
                    r"\b(?:api[_-]?key|auth[_-]?token|access[_-]?token|secret)[\"']?\s{0,3}[:=]\s{0,3}[\"'`]?|"
                    r"[?&]token=)([^\s\"'`,;&<>)\]}]{6,400})")
_RUN = re.compile(r"[A-Za-z0-9_\-+/=]{20,}")
_ID_PREFIXES = ("req_", "req-", "request-", "chatcmpl-", "msg_", "msg-", "resp_", "run_", "call_", "toolu_")
# a variable reference or placeholder is shown as written: it is not a key, and hiding it hides the bug
_NOT_A_KEY = re.compile(r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]{0,40}>|your[_-]?\w{0,30}|\*+|x{3,}|\.{3,}|"
                        r"\[?redacted\]?|\*{2,}\w{0,6})$", re.IGNORECASE)
MASK = "…"


def _tail(token: str) -> str:
    return token[-4:] if len(token) >= 16 else ""


def _mask(token: str) -> str:
    return f"{MASK}{_tail(token)}" if _tail(token) else f"{MASK}({len(token)} chars)"


def _key_like(token: str) -> bool:
    if len(token) < 20 or token.startswith("/"):
        return False
    if token.lower().startswith(_ID_PREFIXES) and not _PREFIXED.search(token):
        return False  # request and object IDs are shown: support asks for them
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


def _generic(match: re.Match[str]) -> str:
    run = match.group(0)
    if run.count("/") <= 2 and _key_like(run):
        return _mask(run)
    # a path (`/Users/Name/...`): judge each segment on its own, so a key inside one still goes
    return "/".join(_mask(part) if _key_like(part) else part for part in run.split("/"))


def _value(match: re.Match[str]) -> str:
    value = match.group(2)
    if _NOT_A_KEY.match(value) or MASK in value:
        return match.group(0)
    return match.group(1) + _mask(value)


def _prefixed(match: re.Match[str]) -> str:
    body = match.group(2)
    if set(body) <= {"*"} or len(body.replace("*", "")) <= 4 and "*" in body:
        return match.group(0)  # already masked by whoever printed it
    return match.group(1) + _mask(body)


def redact(text: str) -> str:
    """`text` with every key-shaped token replaced by `…` and its last 4 characters at most."""
    return redact_shapes(scrub(text))


def redact_shapes(text: str) -> str:
    """redact() without the registered keys (for a caller that scrubs once itself): the key shapes only."""
    text = _PREFIXED.sub(_prefixed, text)
    text = _VALUE.sub(_value, text)
    return _RUN.sub(_generic, text)


def key_kinds(text: str) -> list[tuple[str, str]]:
    """(kind, masked form) of the foreign vendor keys in `text`: facts that survive redaction."""
    found: list[tuple[str, str]] = []
    for m in _PREFIXED.finditer(text):
        prefix = m.group(1)
        kind = next((k for p, k in FOREIGN_PREFIXES if p == prefix), None)
        if kind is None or (prefix == "sk-" and len(m.group(2)) < 16):
            continue
        entry = (kind, prefix + _mask(m.group(2)))
        if entry not in found:
            found.append(entry)
        if len(found) >= 10:
            break
    return found
