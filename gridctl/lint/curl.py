"""lint-curl: take a pasted curl command apart and run every offline lint on it."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from gridctl.findings import Finding, finding
from gridctl.lint.body import lint_body
from gridctl.lint.header import HeaderSyntaxError, lint_header
from gridctl.lint.url import lint_url

# Options that take a value (short letters and long names); everything else is a switch.
SHORT_WITH_VALUE = set("HdXuoAebcFTxEKrzmwDYy")
LONG_WITH_VALUE = {
    "--header", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode", "--json",
    "--request", "--user", "--output", "--user-agent", "--referer", "--cookie", "--cookie-jar", "--form",
    "--upload-file", "--proxy", "--cert", "--config", "--range", "--max-time", "--write-out",
    "--connect-timeout", "--retry", "--url", "--oauth2-bearer", "--max-redirs", "--cacert", "--resolve",
    "--dump-header", "--retry-delay", "--retry-max-time", "--speed-limit", "--speed-time",
}
DATA_OPTS = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json"}
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


class CurlSyntaxError(ValueError):
    """Not a curl command gridctl can read; one-line message."""


@dataclass
class CurlCommand:
    url: str | None = None
    method: str | None = None
    headers: list[str] = field(default_factory=list)
    body: str | None = None
    follow: bool = False
    json_flag: bool = False


def parse_curl(text: str) -> CurlCommand:
    joined = re.sub(r"\\\r?\n", " ", text).replace("\r", " ")
    try:
        words = shlex.split(joined, comments=False, posix=True)
    except ValueError as exc:
        raise CurlSyntaxError(f"cannot split the command: {exc}") from None
    if not words or os.path.basename(words[0]) not in ("curl", "curl.exe"):
        raise CurlSyntaxError("expected a command starting with `curl`")
    cmd = CurlCommand()
    i = 1
    while i < len(words):
        options, i = _next_options(words, i)
        for opt, value in options:
            _apply(cmd, opt, value)
    if cmd.url is None:
        raise CurlSyntaxError("the curl command has no URL")
    return cmd


def _apply(cmd: CurlCommand, opt: str, value: str | None) -> None:
    if opt == "":
        cmd.url = cmd.url or value
    elif opt in ("-L", "--location", "--location-trusted"):
        cmd.follow = True
    elif value is None:
        return
    elif opt in ("-H", "--header"):
        cmd.headers.append(value)
    elif opt in DATA_OPTS:
        cmd.body = value if cmd.body is None else cmd.body + "&" + value
        cmd.json_flag = cmd.json_flag or opt == "--json"
    elif opt in ("-X", "--request"):
        cmd.method = value.upper()
    elif opt == "--url":
        cmd.url = value
    elif opt == "--oauth2-bearer":
        cmd.headers.append(f"Authorization: Bearer {value}")


def _next_options(words: list[str], i: int) -> tuple[list[tuple[str, str | None]], int]:
    """The options at words[i] (several for a bundle such as -sSL) and the next index.

    A positional word comes back as option "" with the word as its value.
    """
    word = words[i]
    following = words[i + 1] if i + 1 < len(words) else None
    if word.startswith("--") and len(word) > 2:
        name, eq, inline = word.partition("=")
        if name not in LONG_WITH_VALUE:
            return [(name, None)], i + 1
        return ([(name, inline)], i + 1) if eq else ([(name, following)], i + 2)
    if not word.startswith("-") or len(word) == 1:
        return [("", word)], i + 1
    options: list[tuple[str, str | None]] = []
    for j, letter in enumerate(word[1:], 1):
        if letter in SHORT_WITH_VALUE:
            rest = word[j + 1:]
            options.append(("-" + letter, rest if rest else following))
            return options, i + 1 if rest else i + 2
        options.append(("-" + letter, None))
    return options, i + 1


def lint_curl(text: str, env: Mapping[str, str] | None = None) -> tuple[CurlCommand, list[Finding]]:
    """Parse and lint; shell variables such as $THEGRID_API_KEY are read from `env` when set there."""
    environ = os.environ if env is None else env
    cmd = parse_curl(text)
    out: list[Finding] = []
    url = _expand(cmd.url or "", environ)
    api = "messages" if url.rstrip("/").endswith("/messages") else "chat"
    out.extend(lint_url(url, api=api, sdk="curl" if api == "chat" else None, endpoint=True).findings)
    auth = [h for h in cmd.headers if h.split(":", 1)[0].strip().lower() in ("authorization", "x-api-key")]
    if not auth:
        out.append(finding("auth.missing_key", "The command sends no Authorization header.",
                           fix="Add -H \"Authorization: Bearer $THEGRID_API_KEY\"."))
    for header in auth:
        try:
            out.extend(lint_header(_expand(header, environ), api=api).findings)
        except HeaderSyntaxError as exc:
            out.append(finding("auth.wrong_header", str(exc)))
    if cmd.body is not None:
        has_ct = any(h.lower().replace(" ", "").startswith("content-type:application/json") for h in cmd.headers)
        if not has_ct and not cmd.json_flag:
            out.append(finding("body.content_type"))
        if api == "chat":
            out.extend(lint_body(cmd.body))
    if not cmd.follow:
        out.append(finding("http.redirect", "The command has no -L: if The Grid answers 307, curl stops there "
                           "and prints the redirect instead of the completion.", fix="Add -L."))
    return cmd, out


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Expand $VAR / ${VAR} that are set; leave the others for the lints to flag."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)) or m.group(0), text)
