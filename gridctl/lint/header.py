"""Auth-header lint: what makes The Grid answer 401 before the key is even checked."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridctl import grid
from gridctl.findings import Add, Finding, finding
from gridctl.lint.text import non_ascii_names
from gridctl.secrets import fingerprint, register

QUOTES = "\"'`\u2018\u2019\u201c\u201d"
KNOWN_HEADERS = ("authorization", "x-api-key")
KNOWN_SCHEMES = ("bearer", "basic", "token", "digest", "key", "apikey", "api-key", "jwt", "oauth", "hmac",
                 "negotiate", "bearer:")


class HeaderSyntaxError(ValueError):
    """The text is not a header at all; the message is one line."""


@dataclass
class HeaderLint:
    name: str
    findings: list[Finding] = field(default_factory=list)
    key: str | None = None  # never printed: fingerprint() only

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def header_for(key: str, api: str = "chat") -> str:
    """The auth header gridctl itself sends with this key on this API, as one `Name: value` line."""
    return f"x-api-key: {key}" if api == "messages" else f"Authorization: Bearer {key}"


def split_header(raw: str) -> tuple[str, str]:
    """`Name: value` -> (name, value); a bare `Bearer ...` is taken as an Authorization value."""
    if not raw.strip():
        raise HeaderSyntaxError("empty header: expected 'Authorization: Bearer <key>'")
    # Trailing whitespace stays: a key read from a file or `echo` often ends in a newline, and the
    # client sends it (or refuses to), so the lint must see it.
    text = raw.lstrip("\r\n")
    if ":" not in text:
        if text.strip().lower().startswith("bearer"):
            return "Authorization", text.lstrip()
        raise HeaderSyntaxError("not a header (no colon): expected 'Name: value', e.g. 'Authorization: Bearer <key>'")
    name, value = text.split(":", 1)
    if not name.strip() or any(c.isspace() for c in name.strip()):
        raise HeaderSyntaxError("not a header: the part before the colon is not a header name")
    return name.strip(), value.removeprefix(" ")


def lint_header(raw: str, api: str = "chat") -> HeaderLint:
    name, value = split_header(raw)
    add_first: list[Finding] = []
    unquoted = name.strip(QUOTES).strip()
    if unquoted != name and unquoted.lower() in KNOWN_HEADERS:
        # the whole header pasted with its quotes: `"Authorization: Bearer <key>"`
        add_first.append(finding("auth.key_quoted", "The header is wrapped in quote characters.",
                                 fix="Remove the quote characters around the header."))
        names = non_ascii_names(name)
        if names:
            add_first.append(finding("auth.non_ascii", "The header has non-ASCII characters: "
                                     + ", ".join(names).lower() + "."))
        name = unquoted
    result = HeaderLint(name=name)
    add = result.findings.append
    result.findings.extend(add_first)
    lname = name.lower()
    if lname not in KNOWN_HEADERS:
        add(finding("auth.wrong_header", f"`{name}` is not an auth header The Grid reads.",
                    fix=_right_header(api)))
    elif lname == "x-api-key" and api == "chat":
        add(finding("auth.wrong_header", "x-api-key is the Messages beta's header; the Consumption API "
                    "reads `Authorization: Bearer <key>` and answers 401 without it.", fix=_right_header(api)))
    names = non_ascii_names(value)
    if names:
        add(finding("auth.non_ascii", "The header has non-ASCII characters: " + ", ".join(names).lower() + "."))
    if lname == "x-api-key" or (lname not in KNOWN_HEADERS):
        key = value
        if value.strip().lower().startswith("bearer "):
            add(finding("auth.wrong_header", f"{name} takes the bare key, without `Bearer`.",
                        fix="Send `x-api-key: $THEGRID_API_KEY`." if lname == "x-api-key" else _right_header(api)))
            key = value.lstrip()[7:]
        result.key = _lint_key_text(key, add)
        return result
    result.key = _lint_authorization(value, api, add)
    return result


def _right_header(api: str) -> str:
    if api == "messages":
        return "The Messages beta reads `x-api-key: <key>` (no Bearer)."
    return "Send `Authorization: Bearer $THEGRID_API_KEY`."


def _lint_authorization(value: str, api: str, emit: Add) -> str | None:
    tokens = value.split()
    if not tokens:
        emit(finding("auth.missing_key", "The Authorization header is empty."))
        return None
    scheme = tokens[0].strip(QUOTES)
    if scheme.lower() != "bearer":
        glued = scheme[:6]
        if glued.lower() == "bearer" and len(scheme) > 6 and scheme[6] not in ":=":
            emit(finding("auth.missing_bearer", "There is no space between `Bearer` and the key.",
                         fix="Write `Bearer`, one space, then the key."))
            if glued != "Bearer":
                emit(finding("auth.scheme_case", f"The scheme is written `{glued}`; it must be `Bearer`."))
            return _lint_key_text(value.lstrip()[len(glued):], emit)
        if len(tokens) == 1:
            emit(finding("auth.missing_bearer", "The header holds the bare key; the word `Bearer` and a "
                         "space must come first."))
            return _lint_key_text(value, emit)
        # Name the scheme only when it is one: the first word may as well be half of a split key.
        shown = f"The scheme is `{scheme}`" if scheme.rstrip(":").lower() in KNOWN_SCHEMES \
            else "The value does not start with `Bearer`"
        emit(finding("auth.missing_bearer", f"{shown}; The Grid wants `Bearer`."))
        return _lint_key_text(value.split(None, 1)[1], emit)
    if scheme != "Bearer":
        emit(finding("auth.scheme_case", f"The scheme is written `{scheme}`; it must be `Bearer`."))
    if api == "messages":
        emit(finding("auth.wrong_header", "The Messages beta documents `x-api-key: <key>` with no Bearer.",
                     severity="warning", fix=_right_header(api)))
    rest = value.lstrip()[len(tokens[0]):]
    if len(tokens) > 1 and tokens[1].strip(QUOTES).lower() == "bearer":
        emit(finding("auth.double_bearer", "The header reads `Bearer Bearer <key>`."))
        rest = rest.lstrip()[len(tokens[1]):]
    if not rest.strip():
        emit(finding("auth.missing_key", "`Bearer` is followed by no key (an unset variable?)."))
        return None
    if rest.startswith(("  ", "\t")):
        emit(finding("auth.key_whitespace", "More than one space between `Bearer` and the key."))
    return _lint_key_text(rest.lstrip(" \t"), emit)


def _lint_key_text(key: str, emit: Add) -> str | None:
    """Lints a key value as it would be sent; returns the key with its wrapping removed."""
    if key != key.strip() or any(c.isspace() for c in key.strip()):
        where = "inside" if any(c.isspace() for c in key.strip()) else "around"
        emit(finding("auth.key_whitespace", f"The key has whitespace {where} it."))
    bare = key.strip()
    if bare and (bare[0] in QUOTES or bare[-1] in QUOTES):
        emit(finding("auth.key_quoted", "The key is wrapped in quote characters."))
    bare = bare.strip(QUOTES).strip()
    if not is_variable_reference(bare):  # `$THEGRID_API_KEY` is a name, not a secret: show it as written
        register(bare)
    lint_key_shape(bare, emit)
    return bare or None


# Placeholder words as real .env files and READMEs spell them, compared with separators folded to `_`.
_PLACEHOLDER_WORDS = frozenset({
    "CHANGEME", "CHANGE_ME", "REPLACE_ME", "REPLACEME", "PLACEHOLDER", "TODO", "FIXME", "TBD", "EXAMPLE",
    "SECRET", "TOKEN", "KEY", "APIKEY", "API_KEY", "MY_KEY", "MY_API_KEY", "ENTER_KEY", "INSERT_KEY_HERE",
    "KEY_HERE", "API_KEY_HERE", "NONE", "NULL", "UNDEFINED", "DUMMY", "TEST", "XXX", "FOO", "BAR",
})


def is_variable_reference(text: str) -> bool:
    """`$NAME` or `${NAME}`: a shell variable reference, never a key."""
    import re

    return re.fullmatch(r"\$(\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)", text) is not None


def is_placeholder(key: str) -> bool:
    """Example text where a key belongs: YOUR_KEY, your-api-key-here, <your key>, xxx…, ..., changeme, sk-...."""
    import re

    folded = re.sub(r"[-\s.]+", "_", key.strip().upper()).strip("_")
    if key.upper() in (p.upper() for p in grid.PLACEHOLDER_KEYS) or folded in _PLACEHOLDER_WORDS:
        return True
    if "YOUR_" in folded or folded.startswith("YOUR") or (key.startswith("<") and key.endswith(">")):
        return True
    if re.fullmatch(r"(?:INSERT|ENTER|PUT|PASTE|ADD|SET)_\w{0,40}|\w{0,40}_HERE", folded):
        return True  # INSERT_API_KEY_HERE, PASTE_KEY_HERE, ENTER_YOUR_TOKEN
    # Masked or elided keys: `xxxx`, `sk-...`, `gk-xxxxxxxx`, `****`, `…`, `sk-xxxx...xxxx`.
    body = re.sub(r"^[a-z]{1,6}[-_]", "", key.strip(), flags=re.IGNORECASE)
    masked = "[xX*.\u2026\u2022_-]"
    if re.fullmatch(f"{masked}{{3,}}", body):
        return True
    return ("..." in body or "\u2026" in body) and len(re.sub(masked, "", body)) <= 8


def not_a_key(key: str) -> str | None:
    """What the value is when it certainly is not a key (a URL, an email, a file path, a sentence), else None."""
    import re

    low = key.strip().lower()
    if re.match(r"^[a-z][a-z0-9+.-]*://", low) or low.startswith("www."):
        return "a URL"
    if re.fullmatch(r"[^@\s/]+@[^@\s/]+\.[a-z]{2,}", low):
        return "an email address"
    if low.startswith(("/", "~/", "./", "../")) or re.search(r"\.(env|json|txt|pem|toml|ya?ml)$", low):
        return "a file path"
    if len(low.split()) >= 3:
        return "a sentence"
    return None


def lint_key_shape(key: str, emit: Add) -> None:
    """Shape checks that are certain: placeholders, unexpanded variables, other vendors' prefixes."""
    if not key:
        emit(finding("auth.missing_key", "The key is empty."))
        return
    if key.startswith("$") or is_placeholder(key):
        what = "an unexpanded shell variable" if key.startswith("$") else "example text"
        emit(finding("auth.placeholder_key", f"The key is {what}, not a real key."))
        return
    other = not_a_key(key)
    if other is not None:
        # The value is never echoed: it may still be a secret of some kind (a password in a URL).
        emit(finding("auth.not_a_key", f"The value where the key should be is {other}, not a key."))
        return
    if key.lower().startswith("bearer "):
        emit(finding("auth.double_bearer", "The key value itself starts with `Bearer `, so the header "
                     "becomes `Bearer Bearer <key>`."))
        return
    for prefix, vendor in grid.FOREIGN_KEY_PREFIXES.items():
        if key.startswith(prefix):
            certain = prefix != "sk-"
            emit(finding("auth.foreign_key", f"The key ({prefix}…{fingerprint(key)[1:]}) looks like "
                         f"an {vendor}, not a Grid consumption key.",
                         severity="error" if certain else "warning"))
            return
