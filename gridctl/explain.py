"""`gridctl explain`: find catalogue entries by code, HTTP status, or a phrase from an error."""

from __future__ import annotations

import re

from gridctl.findings import CATALOGUE, Entry, ExitCode

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
    q = " ".join(query.strip().lower().split())
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
