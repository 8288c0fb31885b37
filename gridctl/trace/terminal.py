"""trace's stderr: the program's own stderr relayed as it was written, and trace's lines between its lines.

The child's stderr is a pipe trace reads (a pseudo-terminal when gridctl's own stderr is a terminal,
so colours, progress bars and `isatty()` behave as they would without trace). Every byte is passed
on unchanged except a key gridctl knows (`secrets.scrub`), which is redacted.

The rule for trace's own lines (the live call lines, `-v`, waiting lines):
- the program's bytes are relayed a line at a time: a line (or a `\\r`-ended progress update) goes out
  as soon as it is complete; a partial line is held for `HOLD_S` (so a key split across two writes is
  still seen whole) and then relayed as it is;
- a trace line is written at once when the last byte relayed to stderr ended a line (or nothing was
  relayed yet); while a partial line the program wrote is held back, the trace line goes first and the
  program's line follows whole after it;
- when the program's partial line has already been relayed (it stayed silent `HOLD_S`), the trace line
  waits until the program ends that line, or at most `HOLD_S` more of silence; then trace writes a
  newline (the cursor is mid-line) and its line. The program's next bytes start on a fresh line.
So a trace line always starts at the beginning of a line and never has program bytes inside it.

What gridctl's stdout is, the program's stdout is too (inherited, untouched): only stderr is relayed.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from gridctl.secrets import scrub

HOLD_S = 0.15        # how long a partial line (program's) or a waiting trace line is held
MAX_HELD = 64 * 1024  # a partial line longer than this is relayed at once
KEEP = 64 * 1024      # the last bytes of the program's stderr kept (redacted) for the no-calls reading
_ENDS = (b"\n", b"\r")


class Terminal:
    """One writer for gridctl's stderr while a program runs under trace (thread-safe)."""

    def __init__(self, out: IO[str] | None = None, hold_s: float = HOLD_S) -> None:
        self.out = out if out is not None else sys.stderr
        self.hold_s = hold_s
        self._lock = threading.RLock()
        self._at_line_start = True  # the last byte written to stderr ended a line
        self._held = b""            # the program's partial line, not yet relayed
        self._held_since = 0.0
        self._last_program = 0.0    # when the program last wrote
        self._queue: list[str] = []  # trace lines waiting for the program's line to end
        self._queued_since = 0.0
        self._fd: int | None = None  # our end of the child's stderr
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False
        self.tail = bytearray()      # the program's last KEEP bytes of stderr, redacted

    # -- trace's own lines ------------------------------------------------------------------------
    def say(self, line: str) -> None:
        """One of trace's own lines: no terminal controls from what a server or client sent, no key."""
        from gridctl.textsafe import clean

        line = scrub(clean(line, newlines=False))
        with self._lock:
            if self._closed:
                return
            if self._queue or not self._at_line_start:
                if not self._queue:
                    self._queued_since = time.monotonic()
                self._queue.append(line)
                return
            self._write_text(line + "\n")

    def close(self) -> None:
        """No more trace lines after this (a call that ends after the summary is not shown)."""
        with self._lock:
            self._flush_queue(force=True)
            self._closed = True

    # -- the program's stderr -----------------------------------------------------------------------
    def child_stderr(self, tty: bool) -> int:
        """A file descriptor for the child's stderr (the caller closes it once the child has it)."""
        if tty:
            try:
                master, slave = _pty_pair()
            except OSError:
                tty = False
        if not tty:
            master, slave = os.pipe()
        self._fd = master
        self._thread = threading.Thread(target=self._pump, name="gridctl-trace-stderr", daemon=True)
        self._thread.start()
        return slave

    def finish(self, timeout: float) -> None:
        """Relay what the program wrote up to its end (at most `timeout` more for a straggler that holds
        the stream open), then everything held; trace's queued lines come after it."""
        if self._thread is not None:
            self._thread.join(timeout)
            self._stop.set()
            self._thread.join(1.0)
        with self._lock:
            self._relay_held()
            self._flush_queue(force=True)

    def program_text(self) -> str:
        with self._lock:
            return bytes(self.tail).decode("utf-8", "replace")

    def _pump(self) -> None:
        fd = self._fd
        assert fd is not None
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:  # EIO: the pseudo-terminal's last writer has gone
                        data = b""
                    if not data:
                        break
                    self._feed(data)
                self._tick()
        finally:
            with self._lock:
                self._relay_held()
                self._flush_queue(force=True)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _feed(self, data: bytes) -> None:
        with self._lock:
            self._last_program = time.monotonic()
            if not self._held:
                self._held_since = self._last_program
            self._held += data
            cut = max(self._held.rfind(b"\n"), self._held.rfind(b"\r"))
            if cut >= 0:
                whole, self._held = self._held[:cut + 1], self._held[cut + 1:]
                self._held_since = self._last_program
                self._relay(whole)
            if len(self._held) > MAX_HELD:
                self._relay_held()

    def _tick(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._held and now - self._held_since >= self.hold_s:
                self._relay_held()
            self._flush_queue(force=False, now=now)

    def _relay_held(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            self._relay(held)

    def _relay(self, raw: bytes) -> None:
        """Write the program's bytes (under the lock): keys redacted, every other byte as it came.
        A trace line that waited for a whole line goes out right after the line ends."""
        text = raw.decode("utf-8", "surrogateescape")
        clean = scrub(text)
        data = clean.encode("utf-8", "surrogateescape") if clean != text else raw
        self.tail += data
        if len(self.tail) > KEEP:
            del self.tail[:len(self.tail) - KEEP]
        self._write_bytes(data)
        self._at_line_start = data.endswith(_ENDS[0])
        self._flush_queue(force=False)

    def _flush_queue(self, force: bool, now: float | None = None) -> None:
        if not self._queue or self._closed:
            return
        if not self._at_line_start:
            quiet = (now or time.monotonic()) - max(self._last_program, self._queued_since)
            if not force and quiet < self.hold_s:
                return
            self._write_text("\n")  # the cursor is mid-line: trace's line starts on a fresh one
        lines, self._queue = self._queue, []
        self._write_text("".join(line + "\n" for line in lines))

    def _write_text(self, text: str) -> None:
        self._write_bytes(text.encode("utf-8", "replace"), text)
        self._at_line_start = text.endswith("\n")

    def _write_bytes(self, data: bytes, text: str | None = None) -> None:
        with contextlib.suppress(OSError, ValueError):
            buffer = getattr(self.out, "buffer", None)
            if buffer is not None:
                self.out.flush()
                buffer.write(data)
                buffer.flush()
            else:
                self.out.write(text if text is not None else data.decode("utf-8", "replace"))
                self.out.flush()


def _pty_pair() -> tuple[int, int]:
    """A pseudo-terminal for the child's stderr: our terminal's size, and no newline translation (the
    bytes the program writes are the bytes relayed)."""
    import termios

    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        _copy_size(slave)
    except (OSError, termios.error):
        pass
    return master, slave


def _copy_size(fd: int) -> None:
    import fcntl

    with contextlib.suppress(OSError, ValueError, AttributeError):
        size = fcntl.ioctl(sys.stderr.fileno(), termios_winsz(), b"\0" * 8)
        fcntl.ioctl(fd, termios_winsz(set_=True), size)


def termios_winsz(set_: bool = False) -> int:
    import termios

    return termios.TIOCSWINSZ if set_ else termios.TIOCGWINSZ


def is_terminal(stream: IO[str]) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


Say = Callable[[str], None]
