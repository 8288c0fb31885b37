"""What kind of line each line of a pasted text is, so facts come only from lines that carry them.

A Python traceback echoes source lines (`create(model=args.model, ...)`), a Node stack has `at ...`
frames and, for an uncaught throw, the source line and a caret; those are code, not evidence: the
model a line of code names is an expression, the URL an f-string, the exception class in an
`except` clause a branch that may never have run. gridctl/lint/errors.py skips SOURCE and FRAME
lines when it reads facts, and reads the frames for what they do show: the client library's paths
and the program that ran (for `gridctl trace -- <command>`).

Pure and linear: one small state machine, bounded regexes.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

SOURCE, FRAME, EXCEPTION, CURL, BODY, TEXT = "source", "frame", "exception", "curl", "body", "text"

_PY_FRAME = re.compile(r'^\s{0,8}File "([^"]{1,400})", line \d{1,7}(?:, in (\S{1,200}))?')
_NODE_FRAME = re.compile(r"^\s{1,12}at (?:async )?(?:\S{1,200} \()?(?:file://)?([^\s()]{1,400}?):\d{1,7}:\d{1,7}\)?\s*$")
_NODE_FRAME_ANY = re.compile(r"^\s{1,12}at \S")
_NODE_HEAD = re.compile(r"^(?:file://)?(\S{1,400}\.(?:[cm]?js|tsx?)):\d{1,7}$")
_CARET = re.compile(r"^\s*[\^~]+[\s\^~]*$")
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]{0,200})?(?:Error|Exception|Exit|Warning|Failure)\b[^\n]{0,4000}$")
_CURL = re.compile(r"^[<>*] ")
# `$ python app.py`, `user@host:~/x$ node index.js`, `> uv run app.py` (a prompt, then a program)
_PROMPT = re.compile(r"^\s{0,4}(?:\S{0,80}[$%#❯]|>)\s{1,4}((?:python3?(?:\.\d{1,2})?|node|npx|tsx|ts-node|deno|bun|uv|"
                     r"poetry|pipenv|pnpm|npm|yarn|\./)\S{0,200}(?: [^\n]{0,400})?)$")
_LIB = re.compile(r"site-packages|dist-packages|node_modules|^node:|^internal/|<frozen |/lib/python3")


@dataclass
class Lines:
    """The reader's state across lines, and what the frames showed."""

    in_py_frame: bool = False
    node_source: int = 0  # lines of source still to come after a Node `file.js:12` head
    script: str | None = None    # python: the `<module>` frame's file
    node_script: str | None = None  # node: the last user frame's file (the entry point)
    prompt: str | None = None    # a command line shown after a shell prompt

    def kind(self, raw: str) -> str:
        """SOURCE, FRAME, EXCEPTION, CURL, BODY or TEXT, given the lines before it."""
        m = _PY_FRAME.match(raw)
        if m:
            self.in_py_frame, self.node_source = True, 0
            if m.group(2) == "<module>" and not _LIB.search(m.group(1)) and self.script is None:
                self.script = m.group(1)
            return FRAME
        if self.in_py_frame and (raw[:1] in (" ", "\t") or _CARET.match(raw)):
            return SOURCE  # the echoed line of code under a frame (Python 3.11+: several, and carets)
        self.in_py_frame = False
        if _NODE_FRAME_ANY.match(raw):
            m = _NODE_FRAME.match(raw)
            if m and not _LIB.search(m.group(1)):
                self.node_script = m.group(1)
            return FRAME
        m = _NODE_HEAD.match(raw.strip())
        if m:
            self.node_source = 2  # the line of code, then the caret under it
            if not _LIB.search(m.group(1)):
                self.node_script = self.node_script or m.group(1)
            return FRAME
        if self.node_source:
            self.node_source -= 1
            if self.node_source == 1 or _CARET.match(raw):
                return SOURCE
        m = _PROMPT.match(raw)
        if m and self.prompt is None:
            self.prompt = m.group(1).strip()
            return TEXT
        if _CURL.match(raw):
            return CURL
        stripped = raw.lstrip()
        if stripped[:1] in ("{", "<", "["):
            return BODY
        if _EXCEPTION.match(stripped):
            return EXCEPTION
        return TEXT

    def command(self) -> str | None:
        """The program's command line, as the text shows it (a prompt line, else the script of the frames)."""
        if self.prompt:
            return self.prompt
        if self.script:
            return shlex.join(["python", self.script])
        if self.node_script:
            return shlex.join(["node", self.node_script])
        return None


# An expression in code, not a value: `args.model`, `settings.LLM_MODEL`, `os.environ.get(`, `MODEL_NAME`,
# `f"{x}"`. A name with a hyphen, a digit after a letter run or a colon is a value (`gpt-4o`, `text-prime`).
_IDENT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,60}(?:\.[A-Za-z_][A-Za-z0-9_]{0,60}){1,8}")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]{0,30}_[A-Z0-9_]{1,60}")


def is_expression(line: str, start: int, end: int) -> bool:
    """True when line[start:end], the value after `model=` or `model:`, is code rather than a value."""
    value = line[start:end]
    before = line[start - 1] if start > 0 else ""
    after = line[end] if end < len(line) else ""
    quoted = before in ("'", '"', "`")
    if quoted:
        return start >= 2 and line[start - 2] in "fF"  # f"...": an f-string
    if after in ("(", "[", "{") or (after == "." and line[end + 1:end + 2].isalpha()):
        return True
    if value in ("f", "F", "r", "rb", "b") and after in ("'", '"'):
        return True
    if "_" in value and "-" not in value and "/" not in value and re.fullmatch(r"[A-Za-z_]\w{0,80}", value):
        return True  # model_name, LLM_MODEL: a variable (instruments and lab names use hyphens)
    return bool(_IDENT_PATH.fullmatch(value) and not re.search(r"\d", value)) or bool(_CONSTANT.fullmatch(value))
