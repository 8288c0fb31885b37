"""lint-curl: take a pasted curl command apart and run every offline lint on it."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from gridctl.errors import UsageError
from gridctl.findings import Finding, finding
from gridctl.lint.body import lint_body
from gridctl.lint.header import HeaderSyntaxError, lint_header
from gridctl.lint.url import lint_url
from gridctl.result import CheckResult, Report, Timer

# Options that take a value (short letters and long names); everything else is a switch.
SHORT_WITH_VALUE = set("HdXuoAebcFTxEKrzmwDYyCUQPt")
LONG_WITH_VALUE = {
    "--header", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode", "--json",
    "--request", "--user", "--output", "--user-agent", "--referer", "--cookie", "--cookie-jar", "--form",
    "--upload-file", "--proxy", "--cert", "--config", "--range", "--max-time", "--write-out",
    "--connect-timeout", "--retry", "--url", "--oauth2-bearer", "--max-redirs", "--cacert", "--resolve",
    "--dump-header", "--retry-delay", "--retry-max-time", "--speed-limit", "--speed-time",
    "--limit-rate", "--max-filesize", "--interface", "--noproxy", "--proxy-user", "--capath", "--key",
    "--pass", "--connect-to", "--unix-socket", "--trace", "--trace-ascii", "--stderr", "--netrc-file",
    "--output-dir", "--variable", "--aws-sigv4", "--keepalive-time", "--expect100-timeout", "--proxy-header",
    "--continue-at", "--form-string", "--cert-type", "--key-type", "--ciphers", "--dns-servers", "--preproxy",
}
MAX_COMMAND = 64 * 1024  # bounds the lint's time: see lint_curl
DATA_OPTS = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json"}
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
# A `$` inside single quotes: the shell sends it as is, so it must not be expanded. Marked with a
# private-use character while the command is split, and turned back into `$` afterwards.
_LITERAL_DOLLAR = "\ue000"
# Line continuations: `\` (sh, also with spaces after it or flattened onto one line by a web page),
# `^` (cmd.exe) and a backtick (PowerShell) at the end of a line.
_CONTINUATION = re.compile(r"[ \t]*(?:\\|\^|`)[ \t]*\r?\n")
_LONE_BACKSLASH = re.compile(r"(?<=\s)\\(?=\s)")
PROMPTS = ("$", "%", ">", "PS>")


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
    basic_auth: bool = False  # -u user:password
    # The same, with single-quoted `$` still marked (not to be expanded): what the lints read.
    raw_url: str | None = field(default=None, repr=False)
    raw_headers: list[str] = field(default_factory=list, repr=False)
    # Shell variables the auth headers reference (as written, e.g. `$THEGRID_API_KEY`) -> set in the
    # environment lint_curl() read. Single-quoted ones are not here: the shell never expands them.
    variables: dict[str, bool] = field(default_factory=dict)


def _mark_single_quoted(text: str) -> str:
    """Mark each `$` that the shell would leave alone because it sits inside single quotes."""
    out: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif quote == "'":
            if ch == "'":
                quote = None
            elif ch == "$":
                ch = _LITERAL_DOLLAR
        elif ch == "\\":
            escaped = True
        elif quote == '"':
            if ch == '"':
                quote = None
        elif ch in "'\"":
            quote = ch
        out.append(ch)
    return "".join(out)


def _literal(text: str) -> str:
    return text.replace(_LITERAL_DOLLAR, "$")


def parse_curl(text: str) -> CurlCommand:
    joined = _CONTINUATION.sub(" ", text.replace(_LITERAL_DOLLAR, ""))
    joined = _LONE_BACKSLASH.sub(" ", joined).replace("\r", " ")
    try:
        words = shlex.split(_mark_single_quoted(joined), comments=False, posix=True)
    except ValueError as exc:
        raise CurlSyntaxError(f"cannot split the command: {exc}") from None
    while words and words[0] in PROMPTS:  # a shell prompt copied with the command
        words = words[1:]
    if not words or os.path.basename(words[0].replace("\\", "/")).lower() not in ("curl", "curl.exe"):
        raise CurlSyntaxError("expected a command starting with `curl`")
    cmd = CurlCommand()
    positional: list[str] = []
    i = 1
    while i < len(words):
        options, i = _next_options(words, i)
        for opt, value in options:
            if opt == "" and value is not None:
                positional.append(value)
            else:
                _apply(cmd, opt, value)
    if cmd.raw_url is None and positional:
        # the URL is the positional word that looks like one (an unknown option's value may come first)
        cmd.raw_url = next((w for w in positional if "://" in w), positional[0])
    if cmd.raw_url is None:
        raise CurlSyntaxError("the curl command has no URL")
    cmd.url = _literal(cmd.raw_url)
    cmd.headers = [_literal(h) for h in cmd.raw_headers]
    cmd.body = None if cmd.body is None else _literal(cmd.body)
    return cmd


def _apply(cmd: CurlCommand, opt: str, value: str | None) -> None:
    if opt == "--":
        return
    elif opt in ("-L", "--location", "--location-trusted"):
        cmd.follow = True
    elif value is None:
        return
    elif opt in ("-H", "--header"):
        cmd.raw_headers.append(value)
    elif opt in ("-u", "--user"):
        cmd.basic_auth = True
    elif opt in DATA_OPTS:
        cmd.body = value if cmd.body is None else cmd.body + "&" + value
        cmd.json_flag = cmd.json_flag or opt == "--json"
    elif opt in ("-X", "--request"):
        cmd.method = value.upper()
    elif opt == "--url":
        cmd.raw_url = value
    elif opt == "--oauth2-bearer":
        cmd.raw_headers.append(f"Authorization: Bearer {value}")


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
            options.append(("-" + letter, rest or following))
            return options, i + 1 if rest else i + 2
        options.append(("-" + letter, None))
    return options, i + 1


def lint_curl(text: str, env: Mapping[str, str] | None = None) -> tuple[CurlCommand, list[Finding]]:
    """Parse and lint; shell variables such as $THEGRID_API_KEY are read from `env` when set there."""
    environ = os.environ if env is None else env
    if len(text) > MAX_COMMAND:
        # shlex builds each word a character at a time: quadratic in a word's length. No real curl
        # command is this long (a large body goes in a file: -d @body.json).
        raise CurlSyntaxError(f"the command is {len(text) // 1024} KiB long; gridctl lints commands up to "
                              f"{MAX_COMMAND // 1024} KiB (put a large body in a file and use -d @FILE)")
    cmd = parse_curl(text)
    out: list[Finding] = []
    url = _literal(_expand(cmd.raw_url or "", environ))
    api = "messages" if url.rstrip("/").endswith("/messages") else "chat"
    out.extend(lint_url(url, api=api, sdk="curl" if api == "chat" else None, endpoint=True).findings)
    auth = [h for h in cmd.raw_headers if h.split(":", 1)[0].strip().lower() in ("authorization", "x-api-key")]
    if cmd.basic_auth:
        out.append(finding("auth.missing_bearer", "curl -u sends HTTP Basic auth; The Grid reads only "
                           "`Authorization: Bearer <key>`.", fix="Drop -u and add "
                           "-H \"Authorization: Bearer $THEGRID_API_KEY\"."))
    elif not auth:
        out.append(finding("auth.missing_key", "The command sends no Authorization header.",
                           fix="Add -H \"Authorization: Bearer $THEGRID_API_KEY\"."))
    for header in auth:
        unexpanded = _VAR.search(_literal(header)) if _LITERAL_DOLLAR in header else None
        if unexpanded:
            name = header.split(":", 1)[0].strip()
            out.append(finding("auth.placeholder_key", "The header is in single quotes, so the shell sends "
                               f"{unexpanded.group(0)} literally instead of the key.",
                               fix=f"Use double quotes: -H \"{name}: {_literal(header).split(':', 1)[1].strip()}\"."))
        unset = _unset_variables(header, environ, cmd)
        try:
            found = lint_header(_literal(_expand(header, environ)), api=api).findings
        except HeaderSyntaxError as exc:
            found = [finding("auth.wrong_header", str(exc))]
        if unset:
            found = [f for f in found if f.code not in ("auth.placeholder_key", "auth.missing_key")]
            sent = _literal(_VAR.sub("", header))
            out.append(finding("auth.missing_key", f"{' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} "
                               f"not set in this environment, so the shell sends `{sent}` with nothing after it.",
                               fix=f"export {unset[0].strip('${}')}=<your consumption key> in the shell that runs "
                               "curl, then run it again (gridctl read this shell's environment)."))
        out.extend(f for f in found if not (unexpanded and f.code == "auth.placeholder_key"))
    if cmd.body is not None:
        has_ct = any(h.lower().replace(" ", "").startswith("content-type:application/json") for h in cmd.headers)
        if not has_ct and not cmd.json_flag:
            out.append(finding("body.content_type"))
        if api == "chat" and not cmd.body.startswith("@"):  # @file: the body is in a file we do not read
            out.extend(lint_body(cmd.body))
    if not cmd.follow:
        out.append(finding("http.redirect", "The command has no -L: if The Grid answers 307, curl stops there "
                           "and prints the redirect instead of the completion.", fix="Add -L."))
    return cmd, out


def _unset_variables(header: str, env: Mapping[str, str], cmd: CurlCommand) -> list[str]:
    """The variables (as written) the shell would expand in `header` that are unset or empty; records all in cmd."""
    unset: list[str] = []
    for m in _VAR.finditer(header):  # single-quoted `$` is marked, so only expandable ones match
        is_set = bool(env.get(m.group(1)))
        cmd.variables[m.group(0)] = is_set
        if not is_set and m.group(0) not in unset:
            unset.append(m.group(0))
    return unset


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Expand $VAR / ${VAR} that are set; leave the others for the lints to flag."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)) or m.group(0), text)


# Which findings each check of `gridctl lint-curl` shows: (check id, title, code prefix).
CURL_CHECKS = (("url", "Base URL", "url."), ("auth", "Auth header", "auth."), ("model", "Instrument", "model."),
               ("body", "Request body", "body."), ("redirect", "Redirects", "http."))


def curl_report(text: str) -> Report:
    """`gridctl lint-curl`: every lint of a pasted curl command, grouped as checks. Was cli/lint_curl.py."""
    timer = Timer()
    try:
        cmd, findings = lint_curl(text)
    except CurlSyntaxError as exc:
        raise UsageError(str(exc)) from None
    checks = [CheckResult(cid, title, [f for f in findings if f.code.startswith(prefix)])
              for cid, title, prefix in CURL_CHECKS]
    checks[0].duration_ms = timer.ms()
    checks[0].data = {"url": cmd.url, "method": cmd.method or ("POST" if cmd.body else "GET"),
                      "follows_redirects": cmd.follow}
    if cmd.variables:  # say whether each variable the auth header uses is set here (never its value)
        checks[1].data["summary"] = ", ".join(f"{name} {'set' if is_set else 'NOT set'} in this environment"
                                              for name, is_set in cmd.variables.items())
    return Report("lint-curl", checks, target={"base_url": cmd.url})
