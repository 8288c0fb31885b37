"""What `gridctl.cli.main()` does before and after a command: the process-level plumbing, not parsing.

Before anything can be printed, every key the process knows is registered for scrubbing, the
output streams are made to survive any encoding, and Ctrl-C is owned; at the end, the process
exits even when worker threads are still blocked in a socket read. `owner` is False when gridctl
runs inside someone else's process (a test, a wrapper): then the caller keeps its own Ctrl-C
handler and gets SystemExit, never a hard exit.
"""

from __future__ import annotations

import os
import sys


def harden(args: list[str], owner: bool) -> None:
    """Before anything can be printed: know every secret, survive any output encoding, own Ctrl-C."""
    from gridctl import grid
    from gridctl.secrets import register, register_argv

    # A usage error echoes the argument it rejects (`--timeout $THEGRID_API_KEY`): every key from the
    # environment, and anything key-shaped on the command line, is known to scrub() before click speaks.
    for name in grid.KEY_ENV_VARS:
        register(os.environ.get(name))
    register_argv(args)
    from gridctl.report import harden_streams

    harden_streams()
    if owner:
        from gridctl import interrupt

        interrupt.install()


def hard_exit(code: int, owner: bool) -> None:
    """Exit now, even when worker threads are still blocked in a socket read after Ctrl-C or a
    deadline: interpreter shutdown would join them and run past the budget."""
    import threading

    if any(t is not threading.current_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()) \
            and threading.current_thread() is threading.main_thread() and owner:
        from gridctl.report import flush_all

        flush_all()
        os._exit(code)
    sys.exit(code)


def internal_error(exc: BaseException, verbose: bool) -> None:
    """A bug outside any command's guard: one line, exit 1; the traceback only with -v."""
    import traceback

    from gridctl.render.errors import internal_error as one_line
    from gridctl.report import Output, error_line
    from gridctl.secrets import scrub
    from gridctl.textsafe import clean

    if verbose:
        sys.stderr.write(clean(scrub(traceback.format_exc())))
    error_line(one_line(exc), Output())
    sys.exit(1)
