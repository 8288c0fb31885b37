"""`gridctl explain`: find catalogue entries by code, HTTP status, or a phrase from an error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

from gridctl.errors import UsageError
from gridctl.findings import CATALOGUE, Entry, ExitCode
from gridctl.result import Report

# "404", "HTTP 404", "404 Not Found"
_STATUS = re.compile(r"(?:http\s*)?([1-5]\d\d)(?:\s+.*)?")
# A status inside a pasted error: "Error code: 404 - {...}" (OpenAI SDK), "HTTP/1.1 404", "status 404"
_STATUS_IN = re.compile(r"(?:error code|status(?: code)?|http(?:/\d(?:\.\d)?)?)\s*[:=]?\s*([1-5]\d\d)\b")
_CLASS = re.compile(r"([1-5])xx")
_STOPWORDS = frozenset({"the", "and", "for", "not", "but", "you", "your", "with", "was", "are", "has", "had",
                        "its", "from", "this", "that", "what", "why", "when", "how", "does", "did", "got"})


def _by_status(code: int) -> list[Entry]:
    hits = [e for e in CATALOGUE.values() if code in e.statuses]
    if not hits and code // 100 in (3, 5):
        # an uncatalogued redirect (301, 302) or server error (501, 520): the class's entries
        hits = [e for e in CATALOGUE.values() if any(s // 100 == code // 100 for s in e.statuses)]
    # What the server's answer means first, then the offline causes behind it (the 401 and 404 rows).
    return sorted(hits, key=lambda e: e.exit_code == ExitCode.CONFIG)


def _phrase_hit(phrase: str, q: str) -> bool:
    """`phrase` occurs in the query as whole words, or the query is a word-aligned piece of it."""
    bounded = r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])"
    if re.search(bounded, q):
        return True
    return len(q) >= 4 and re.search(r"(?<![a-z0-9])" + re.escape(q) + r"(?![a-z0-9])", phrase) is not None


def lookup(query: str) -> list[Entry]:
    """Entries for `query`, most relevant first; empty when nothing matches."""
    q = " ".join(query[:4096].strip().lower().split())  # bounded: a pasted log is matched on its start
    if not q:
        return []
    if q in CATALOGUE:
        return [CATALOGUE[q]]
    status = _STATUS.fullmatch(q) or _STATUS_IN.search(q)
    if status:
        hits = _by_status(int(status.group(1)))
        if hits:
            return hits
    klass = _CLASS.fullmatch(q)
    if klass:
        return [e for e in CATALOGUE.values() if any(s // 100 == int(klass.group(1)) for s in e.statuses)]
    prefix = [e for e in CATALOGUE.values() if e.code.startswith(q.rstrip(".") + ".")]
    if prefix:
        return prefix
    phrase = [e for e in CATALOGUE.values() if any(_phrase_hit(p, q) for p in e.phrases)]
    if phrase:
        # the longest matching phrase is the most specific answer
        return sorted(phrase, key=lambda e: -max(len(p) for p in e.phrases if _phrase_hit(p, q)))
    words = [w for w in re.findall(r"[a-z0-9/]+", q) if len(w) >= 3 and w not in _STOPWORDS]
    return [e for e in CATALOGUE.values()
            if words and all(re.search(r"(?<![a-z0-9])" + re.escape(w), (e.title + " " + e.cause).lower())
                             for w in words)]


def entry_doc(e: Entry) -> dict[str, object]:
    """One entry as the JSON `explain` prints."""
    return {"code": e.code, "severity": e.severity, "title": e.title, "cause": e.cause, "fix": e.fix,
            "exit_code": int(e.exit_code), "doc": e.doc, "http_statuses": list(e.statuses)}


def table_report(query: str | None, list_all: bool = False) -> Report:
    """The table: every entry (--list), or what QUERY matches as a code, status or phrase (none: usage error)."""
    from gridctl.lint.errors import clean

    entries = list(CATALOGUE.values()) if list_all else lookup(query or "")
    if not entries:
        raise UsageError(f"nothing known about {clean(query or '').strip()[:60]!r}; `gridctl explain --list` "
                         "shows every code")
    report = Report("explain", extra={"query": None if query is None else clean(query),
                                      "entries": [entry_doc(e) for e in entries]})
    report.human.update(table=entries, list_all=list_all)
    return report


def explain(query: str | None, *, file: Path | None = None, stdin: IO[bytes] | None = None,
            piped: bool = False, list_all: bool = False) -> Report:
    """`gridctl explain`: the table for a code or status, else the diagnosis of a pasted text, stdin
    (`-`, or a pipe with no argument) or a log file. Exit code: the diagnosis's; 2 only when nothing
    at all was recognised."""
    from gridctl.lint.errors import explain_lines, explain_text, read_stream

    if list_all:
        return table_report(None, list_all=True)
    if file is not None and query is not None:
        raise UsageError("give the text either as an argument or with --file, not both")
    if file is not None:
        try:
            with file.open("rb") as fh:
                return _diagnosis(explain_lines(read_stream(fh)), None)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc.__class__.__name__}") from None
    if query is None and piped:
        query = "-"  # `app 2>&1 | gridctl explain`: the pipe is the text
    if query is None or not query.strip():
        raise UsageError("explain needs a code, an HTTP status, an error text, `-` (stdin) or --file LOG "
                         "(or --list)")
    if query.strip() == "-":
        if stdin is None:
            raise UsageError("explain -: standard input is closed; pipe the text in")
        return _diagnosis(explain_lines(read_stream(stdin)), None)
    if is_lookup(query):
        return table_report(query)
    return _diagnosis(explain_text(query), query)


def _diagnosis(report: Report, query: str | None) -> Report:
    from gridctl.lint.errors import clean

    if report.root_cause() is None and query is not None and lookup(query):
        return table_report(query)  # a phrase from the table ("hangs", "streaming cuts off")
    report.extra["query"] = clean(query)[:200] if query is not None else None
    report.extra["entries"] = [entry_doc(CATALOGUE[f.code]) for c in report.checks for f in c.findings]
    if report.root_cause() is None and not report.extra.get("recognised"):
        # exit 2, one line: nothing at all (no status, URL, host, model, known message) was recognised
        raise UsageError("nothing recognised in the text (no status, URL, host, model or known error message); "
                         "`gridctl explain --list` shows every code, `gridctl doctor` tests the whole path")
    return report


_LOOKUP_STATUS = re.compile(r"(?:http\s*)?[1-5]\d\d(?: [a-z][a-z ]{0,40})?")


def is_lookup(query: str) -> bool:
    """A code, a status (`404`, `HTTP 429`, `404 Not Found`), a class (`5xx`) or a code family: the
    table. Anything else is a pasted text for gridctl/lint/errors.py."""
    q = " ".join(query.strip().lower().split())
    if not q or "\n" in query.strip():
        return False
    if q in CATALOGUE or _LOOKUP_STATUS.fullmatch(q) or _CLASS.fullmatch(q):
        return True
    family = q.rstrip(".") + "."
    return any(code.startswith(family) for code in CATALOGUE)
