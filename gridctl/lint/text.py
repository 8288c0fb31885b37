"""Small text helpers shared by the lints."""

from __future__ import annotations

import unicodedata

from gridctl.textsafe import edit_distance  # kept here for the lints that import it from lint.text

__all__ = ["edit_distance", "non_ascii_names"]


def non_ascii_names(text: str) -> list[str]:
    """Names of the non-ASCII characters in `text`, e.g. 'RIGHT DOUBLE QUOTATION MARK'."""
    seen: list[str] = []
    for ch in text:
        if ord(ch) > 127:
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            if name not in seen:
                seen.append(name)
    return seen
