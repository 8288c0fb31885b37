"""Small text helpers shared by the lints."""

from __future__ import annotations

import unicodedata


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: a swap of two neighbours counts as one edit (thegird)."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > 8:
        # The distance is at least the difference in length, and callers only act on distances of 1-3:
        # the lower bound answers them in O(1) instead of O(len(a) * len(b)) (a 1 MB host took 110 s).
        return abs(len(a) - len(b))
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def non_ascii_names(text: str) -> list[str]:
    """Names of the non-ASCII characters in `text`, e.g. 'RIGHT DOUBLE QUOTATION MARK'."""
    seen: list[str] = []
    for ch in text:
        if ord(ch) > 127:
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            if name not in seen:
                seen.append(name)
    return seen
