"""Server text is data, not terminal control: one sanitiser for every string shown to a user.

Anything that came from a server (status text, headers, request IDs, `model`, error details,
HTML titles, status-page text) or from the user's files can carry escape sequences that clear
the screen, retitle the window or write the clipboard (OSC 52). `clean()` removes them; the
renderers in gridctl/report.py call it on every piece of text, so no caller can forget.
No imports beyond `re`: the offline commands import this for free.
"""

from __future__ import annotations

import re

# ESC-introduced sequences, 7-bit and 8-bit (C1) forms:
#   CSI  ESC [ ... final      | 0x9b ... final
#   OSC/DCS/SOS/PM/APC  ESC ] P X ^ _ ... (BEL | ST), or 0x9d/0x90/0x98/0x9e/0x9f ...; unterminated ones run
#   to the end of the text (bounded: the regex is linear, no nested quantifiers)
#   two-character escapes  ESC <any>
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x7e]?"
)
# What remains of C0 (but tab and newline), DEL, C1, and the bidi overrides that reorder a line
# (U+202A-202E, U+2066-2069) so that what is shown is not what was sent.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ONE_LINE = re.compile(r"[\t\n]")


def clean(text: str, *, newlines: bool = True) -> str:
    """`text` without terminal escape sequences or control characters; tabs and newlines become spaces
    unless `newlines` (multi-line output such as a printed curl command keeps its line breaks)."""
    if not text:
        return text
    text = _SEQUENCES.sub("", text)
    text = _CONTROLS.sub("", text)
    return text if newlines else _ONE_LINE.sub(" ", text)


def has_controls(text: str) -> bool:
    """Would clean() change anything? (tests and the JSON writer's last check)."""
    return clean(text) != text


def json_safe(serialised: str) -> str:
    """json.dumps(ensure_ascii=False) escapes C0 but leaves DEL, C1 (0x9b is CSI on many terminals) and
    bidi overrides raw. Outside strings a JSON text is ASCII, so escaping these characters anywhere
    keeps the document valid and equal."""
    return re.sub(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", serialised)


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
