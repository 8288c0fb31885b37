"""trace's files, written whole or not at all: a temporary file beside the target, renamed over it.

The HAR is written a call at a time (one entry serialised and scrubbed at once, never the whole
document as one string), so a long `--listen` session's file costs time linear in its calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from gridctl.errors import UsageError
from gridctl.secrets import scrub
from gridctl.textsafe import json_safe
from gridctl.trace.record import Call


def check_writable(path: Path, flag: str = "--har") -> None:
    """Before anything runs: the file can be made there (one line, exit 2, when not)."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a directory; name a file")
    try:
        fd, tmp = tempfile.mkstemp(dir=_dir(path), prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there ({exc.strerror or exc.__class__.__name__})") from None
    os.close(fd)
    os.unlink(tmp)


def write_har(calls: Sequence[Call], path: Path) -> None:
    from gridctl.trace.har import entry, har

    # One entry at a time (a long --listen session stays whole), into a temporary file renamed into place. C0
    # controls leave json.dumps escaped; DEL, C1 and bidi overrides are escaped by json_safe: no raw control
    # character anywhere in the file, whatever a server or client put in a body or header.
    def text(doc: object) -> str:
        return json_safe(scrub(json.dumps(doc, ensure_ascii=False)))

    head, _, tail = json.dumps(har([]), indent=1, ensure_ascii=False).partition('"entries": []')
    with _atomic(path) as fh:
        fh.write(scrub(head) + '"entries": [')
        for i, call in enumerate(calls):
            fh.write(("," if i else "") + "\n  " + text(entry(call)))
        fh.write("\n ]" + scrub(tail) + "\n")


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    fd, tmp = tempfile.mkstemp(dir=_dir(path), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _dir(path: Path) -> str:
    return str(path.parent) if str(path.parent) else "."
