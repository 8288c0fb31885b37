"""`gridctl explain`: find catalogue entries by code, HTTP status, or a phrase from an error."""

from __future__ import annotations

import re

from gridctl.findings import CATALOGUE, Entry


def lookup(query: str) -> list[Entry]:
    """Entries for `query`, most relevant first; empty when nothing matches."""
    q = query.strip().lower()
    if not q:
        return []
    if q in CATALOGUE:
        return [CATALOGUE[q]]
    status = re.fullmatch(r"(?:http\s*)?([1-5]\d\d)(?:\s+.*)?", q)
    if status:
        code = int(status.group(1))
        hits = [e for e in CATALOGUE.values() if code in e.statuses]
        if hits:
            return hits
    prefix = [e for e in CATALOGUE.values() if e.code.startswith(q.rstrip(".") + ".")]
    if prefix:
        return prefix
    phrase = [e for e in CATALOGUE.values() if any(p in q or q in p for p in e.phrases)]
    if phrase:
        # the longest matching phrase is the most specific answer
        return sorted(phrase, key=lambda e: -max(len(p) for p in e.phrases if p in q or q in p))
    words = [w for w in re.findall(r"[a-z0-9/]+", q) if len(w) > 3]
    return [e for e in CATALOGUE.values()
            if words and all(w in (e.title + " " + e.cause).lower() for w in words)]
