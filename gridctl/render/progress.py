"""The progress display on stderr: a spinner naming the steps still running, only on a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from gridctl.report import Output, console


@contextlib.contextmanager
def progress(out: Output, command: str, steps: Sequence[str]) -> Iterator[Callable[[str], None] | None]:
    """Yield the callback the flow calls as each of `steps` finishes (None off a terminal)."""
    if not out.interactive_stderr:
        yield None
        return
    pending = set(steps)
    con = console(out, stderr=True)
    with con.status(f"{command}: {', '.join(steps).replace('status', 'status page')}…") as spinner:
        def done(step: str) -> None:
            pending.discard(step)
            spinner.update(f"{command}: {', '.join(sorted(pending)) or 'finishing'}…")

        yield done
