"""Ctrl-C: the first one stops the run and lets it report what it learned; nothing runs long after it.

The first SIGINT raises KeyboardInterrupt in the main thread (which only ever waits with a timeout,
so it is always interruptible) and arms a watchdog: if the report is not out within GRACE_S, the
process exits 130 anyway. A second SIGINT exits 130 at once, without a traceback.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

GRACE_S = 1.0  # time to write the partial report after the first Ctrl-C
EXIT = 130
_state = {"count": 0}
# Run before a hard exit (which skips atexit and finally): e.g. trace's session CA directory must not outlive it.
_at_hard_exit: list[Callable[[], None]] = []


def install() -> None:
    """Take over SIGINT in the main thread of the real program (a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # someone (a test runner, an embedding program) owns Ctrl-C
        signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):
        return


def interrupted() -> bool:
    return _state["count"] > 0


def at_hard_exit(fn: Callable[[], None]) -> None:
    _at_hard_exit.append(fn)


def forget(fn: Callable[[], None]) -> None:
    if fn in _at_hard_exit:
        _at_hard_exit.remove(fn)


def _hard_exit() -> None:
    from gridctl.report import flush_all

    for fn in list(_at_hard_exit):
        try:
            fn()
        except Exception:  # noqa: BLE001 -- exiting anyway: one failing cleanup must not stop the others
            pass
    flush_all()
    os._exit(EXIT)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _state["count"] += 1
    if _state["count"] > 1:
        _hard_exit()
    watchdog = threading.Timer(GRACE_S, _hard_exit)
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt
