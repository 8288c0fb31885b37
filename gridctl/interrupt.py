"""Ctrl-C: the first one stops the run and lets it report what it learned; nothing runs long after it.

The first SIGINT raises KeyboardInterrupt in the main thread (which only ever waits with a timeout,
so it is always interruptible) and arms a watchdog: if the report is not out within GRACE_S, the
process exits 130 anyway. A second SIGINT exits 130 at once, without a traceback.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

GRACE_S = 1.0  # time to write the partial report after the first Ctrl-C
EXIT = 130
_state = {"count": 0}
_grace = {"s": GRACE_S, "since": 0.0}  # a command with more to do after Ctrl-C (trace: stop its child, write
# its files) asks for more; `since` is when the first Ctrl-C came (0: not yet)


def set_grace(seconds: float) -> None:
    """The watchdog's grace for this run, counted from the first Ctrl-C (it may be raised after it: the
    command bounds its own clean-up and asks for what that needs)."""
    _grace["s"] = seconds


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


def _hard_exit() -> None:
    from gridctl.report import flush_all

    flush_all()
    os._exit(EXIT)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _state["count"] += 1
    if _state["count"] > 1:
        _hard_exit()
    _grace["since"] = time.monotonic()
    watchdog = threading.Thread(target=_watch, name="gridctl-interrupt-watchdog", daemon=True)
    watchdog.start()
    raise KeyboardInterrupt


def _watch() -> None:
    while (left := _grace["since"] + _grace["s"] - time.monotonic()) > 0:
        time.sleep(min(left, 0.05))
    _hard_exit()
