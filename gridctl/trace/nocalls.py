"""When no call reached trace: why, read first from what the program itself said.

Order: an import error in the program's stderr (it never ran its calls); then explain's reading of
that stderr (`gridctl.lint.errors.explain_text`: a key with a newline, no key, a DNS failure for the
host the program really called, ...); then a URL the source really passes to a client (an argument
of a client constructor or an HTTP call, `base_url=`, `baseURL:`), quoted; then the exit code.
A URL in a docstring or a comment is never "the hard-coded URL".
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from gridctl.findings import ERROR, INFO, Finding, finding
from gridctl.secrets import redact_url

MAX_SOURCE = 1_000_000
_IMPORT = re.compile(r"^(?:\w+\.)*(ModuleNotFoundError|ImportError): (.{1,200})$|"
                     r"^(?:Error: )?(Cannot find module '[^'\n]{1,200}'|Cannot find package '[^'\n]{1,200}')",
                     re.MULTILINE)
_URL = re.compile(r"""https?://[^\s'"`)<>\]]+""")
# the functions and classes that take a base URL or a request URL
CLIENT_CALLS = frozenset({
    "OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "Anthropic", "AsyncAnthropic", "Client",
    "AsyncClient", "ChatOpenAI", "ChatAnthropic", "OpenAIEmbeddings", "post", "get", "put", "patch", "delete",
    "request", "stream", "urlopen", "Request", "fetch", "ClientSession", "Session", "create_client",
})
URL_KEYWORDS = frozenset({"base_url", "api_base", "openai_api_base", "anthropic_api_url", "url", "endpoint",
                          "base", "baseURL", "baseUrl", "host"})
# other languages: `baseURL: "https://..."`, `base_url = "https://..."`, fetch("https://..."), curl https://...
_SOURCE_URL = re.compile(r"""(?:\b(?:baseURL|baseUrl|base_url|apiBase|api_base|basePath|endpoint)["']?\s*[:=]\s*"""
                         r"""|\b(?:fetch|axios(?:\.\w+)?|got|request|post|get|NewRequest|Post|Get)\(\s*(?:"[A-Z]+",\s*)?"""
                         r"""|\bcurl\b[^\n]{0,400}?\s)["'`]?(https?://[^\s'"`)<>\]]+)""")


NO_KEY = "The program has no API key: its SDK refused to start without one, before its first call."


def reading(argv: Sequence[str], child_code: int | None, program_err: str) -> list[Finding]:
    """The findings for a run with no call: the cause first (an error), trace.no_calls after it when
    the cause is another entry (info, the fact)."""
    told = _from_stderr(program_err)
    hit = hard_coded(argv)
    if told is not None and not (hit is not None and told.code.startswith("net.")):
        if told.code == "trace.no_calls":
            return [told]
        return [told, finding("trace.no_calls", "No request reached the proxy.", severity=INFO)]
    reason = ""
    if hit is not None:
        where, url, func = hit
        reason = (f" {where} has a hard-coded URL ({redact_url(url)[:80]}) passed to {func}, which bypasses "
                  "the environment.")
        if told is not None:  # the program's own network error was about that URL's host
            reason += f" The program's own error output says: {_quote(_said(told))}"
    elif child_code not in (None, 0):
        reason = f" The program exited with code {child_code} before making a call."
    return [finding("trace.no_calls", "No request reached the proxy." + (reason or " The program may build its own "
                    "base URL instead of reading the environment, or never reached its first call."))]


def _said(f: Finding) -> str:
    return str(f.data.get("said", ""))


def _from_stderr(text: str) -> Finding | None:
    if not text.strip():
        return None
    m = _IMPORT.search(text)
    if m is not None:
        said = m.group(0).strip()
        return finding("trace.no_calls", f"No request reached the proxy: the program stopped on an import error "
                       f"before its first call ({_quote(said)}).",
                       fix="Install the missing package in the environment that runs the program (the same "
                       "interpreter or node_modules), then run it under trace again.")
    from gridctl.lint.errors import explain_text

    rep = explain_text(text)
    cause = rep.diagnosis
    if cause is None or cause.severity != ERROR:
        return None
    matches = rep.extra.get("matches") or []
    quote = matches[0].get("quote", "") if matches and isinstance(matches[0], dict) else ""
    message = NO_KEY if cause.code == "config.no_key" else cause.message
    hosts = (rep.extra.get("facts") or {}).get("hosts") or []
    if cause.code == "net.dns" and hosts:
        message += (f" The program called {hosts[0]} itself, not trace's proxy: its base URL does not come from "
                    "OPENAI_BASE_URL, ANTHROPIC_BASE_URL or THEGRID_BASE_URL.")
    message += f" No call reached trace; the program's own error output says: {_quote(quote)}"
    return Finding(cause.code, cause.severity, message, cause.fix, {**cause.data, "said": quote})


def _quote(text: str) -> str:
    from gridctl.lint.errors import clean

    text = clean(text).strip()
    return f'"{text[:197] + "…" if len(text) > 200 else text}"'


def hard_coded(argv: Sequence[str]) -> tuple[str, str, str] | None:
    """(where, URL, the call it is passed to) for the first URL the program's source gives a client."""
    for where, text, python in _sources(argv):
        hit = _python_url(text) if python else None
        if hit is None and (not python or _unparsable(text)):
            hit = _text_url(text)
        if hit is not None:
            return where, hit[0], hit[1]
    return None


def _sources(argv: Sequence[str]) -> Iterator[tuple[str, str, bool]]:
    """(name, text, is Python) of each source the command names: files, and `-c` / `-e` code."""
    python_exe = bool(argv) and Path(argv[0]).name.startswith("python")
    for i, arg in enumerate(argv[1:], start=1):
        if argv[i - 1] in ("-c", "-e", "--eval", "-p"):
            yield "the program's code", arg, python_exe and argv[i - 1] == "-c"
            continue
        path = Path(arg)
        try:
            if not path.is_file() or path.stat().st_size >= MAX_SOURCE:
                continue
            text = path.read_text("utf-8", "replace")
        except OSError:
            continue
        yield arg, text, path.suffix == ".py" or (python_exe and path.suffix == "")


def _unparsable(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return True
    return False


def _python_url(text: str) -> tuple[str, str] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            url = _url_of(node.value, names)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and url:
                    names[target.id] = url
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = _func_name(node.func)
        for kw in node.keywords:
            url = _url_of(kw.value, names)
            if url and (kw.arg in URL_KEYWORDS or func in CLIENT_CALLS):
                return url, f"{func}({kw.arg}=...)" if func else f"{kw.arg}="
        if func in CLIENT_CALLS:
            for arg in node.args:
                url = _url_of(arg, names)
                if url:
                    return url, f"{func}()"
    return None


def _url_of(node: ast.expr, names: dict[str, str]) -> str | None:
    """The http(s) URL an expression starts with: a string, a name bound to one, `X + "/path"`, f"{X}/..."."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        m = _URL.match(node.value.strip())
        return m.group(0) if m else None
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _url_of(node.left, names)
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.FormattedValue):
            return _url_of(first.value, names)
        return _url_of(first, names) if isinstance(first, ast.Constant) else None
    return None


def _func_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


_COMMENT = re.compile(r"/\*.*?\*/|(?<![:\"'\w])//[^\n]*|^\s*#[^\n]*", re.DOTALL | re.MULTILINE)


def _text_url(text: str) -> tuple[str, str] | None:
    m = _SOURCE_URL.search(_COMMENT.sub("", text))
    if m is None:
        return None
    return m.group(1), "its client"
