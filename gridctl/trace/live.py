"""The live lines, in the order the calls started: a call's line waits for the calls before it, and a
call still open after WAIT_S gets a "waiting" line then (and its final line when it ends), so no line
is ever held longer than that."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from gridctl.render.trace import LOOP, call_line, fold_line, waiting_line
from gridctl.trace.record import Call

WAIT_S = 1.0
TICK_S = 0.1
FOLD_AFTER = 5  # hops of one redirect chain after this many fold into one line (a loop is shown once)
MAX_HOPS = 4096  # the hop numbers and loop chains remembered (redirect chains are short and followed at once)


class Fold:
    """Hops FOLD_AFTER+1 ... of one chain: one line for all of them."""

    def __init__(self, root: int, first: int, method: str, path: str, status: int) -> None:
        self.root, self.first, self.last, self.method, self.path, self.status = root, first, first, method, path, status
        self.count, self.first_hop, self.last_hop = 0, 0, 0

    def add(self, call_id: int, hop: int) -> None:
        self.last, self.count, self.last_hop = call_id, self.count + 1, hop
        self.first_hop = self.first_hop or hop

    def line(self) -> str:
        return fold_line(self.first, self.last, self.count, self.root, self.method, self.path, self.status,
                         (self.first_hop, self.last_hop))


class Live:
    def __init__(self, say: Callable[[str], None], calls: Callable[[], Sequence[Call]], wait_s: float = WAIT_S) -> None:
        self.say = say
        self.calls = calls          # a snapshot of the calls the proxy keeps
        self.wait_s = wait_s
        self._lock = threading.RLock()
        self._next = 1              # the first call whose first line is not out yet
        self._ready: dict[int, list[str]] = {}  # finished calls' lines, waiting for an earlier call's first line
        self._hop: dict[int, int] = {}           # call id -> its hop number in its redirect chain (1: not a hop)
        self._root: dict[int, int] = {}          # call id -> the first call of its chain
        self._loop_shown: set[int] = set()       # chains whose loop has been named
        self._folds: dict[int, Fold] = {}        # chain root -> the hops folded so far
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def line(self, call: Call, before: Sequence[str] = ()) -> list[str]:
        """The call's final lines (`before`: the -v exchange), with its hop number and the loop named once."""
        with self._lock:
            hop = self._hop.get(call.hop_of, 1) + 1 if call.hop_of is not None else 1
            root = self._root.get(call.hop_of, call.hop_of) if call.hop_of is not None else call.id
            self._hop[call.id], self._root[call.id] = hop, root
            if len(self._hop) > MAX_HOPS:
                for old in list(self._hop)[:len(self._hop) - MAX_HOPS]:
                    self._hop.pop(old, None)
                    self._root.pop(old, None)
            if hop > FOLD_AFTER and call.status is not None and 300 <= call.status < 400:
                fold = self._folds.setdefault(root, Fold(root, call.id, call.method, call.path, call.status))
                fold.add(call.id, hop)
                return []
            folded = self.folds()
            loop_shown = root in self._loop_shown
            if any(f.code == LOOP for f in call.findings):
                self._loop_shown.add(root)
            return [*folded, *before, call_line(call, hop=max(hop, 2), loop_shown=loop_shown)]

    def folds(self) -> list[str]:
        """The folded hops' lines, once each (before the next line, or at the end)."""
        with self._lock:
            out = [f.line() for f in self._folds.values()]
            self._folds.clear()
            return out

    def ended(self, call_id: int, lines: list[str]) -> None:
        with self._lock:
            if self._stop.is_set():
                return  # after the last line (Ctrl-C's in-flight calls ending as the upstream closes)
            if call_id < self._next:  # its first line (waiting) is out: the final one follows at once
                self._say(lines)
                return
            self._ready[call_id] = lines
            self._advance(None, time.time())

    def start(self) -> Live:
        self._thread = threading.Thread(target=self._run, name="gridctl-trace-live", daemon=True)
        self._thread.start()
        return self

    def stop(self, unfinished: Sequence[Call] = ()) -> None:
        """Write every line still held, in call order, and the final line of each call still open as its record
        stands (the client gave up, or the run ended, before its answer); the summary comes after them."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        with self._lock:
            for call in sorted(unfinished, key=lambda c: c.id):
                self._ready[call.id] = self.line(call)
            for call_id in sorted(self._ready):
                self._say(self._ready.pop(call_id))
            self._say(self.folds())

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            with self._lock:
                self._advance({c.id: c for c in self.calls() if c.id >= self._next}, time.time())

    def _advance(self, open_calls: dict[int, Call] | None, now: float) -> None:
        """Write first lines in call order while the next call has one to give (under the lock)."""
        while True:
            lines = self._ready.pop(self._next, None)
            if lines is not None:
                self._say(lines)
            elif open_calls is None:
                return
            else:
                call = open_calls.get(self._next)
                if call is None:
                    if not any(i > self._next for i in open_calls) and not any(i > self._next for i in self._ready):
                        return  # no such call yet
                    # gone without a line (its record was dropped, or its line failed): do not hold the rest
                elif call.done.is_set() and self._next not in self._ready:
                    pass  # finished without reporting a line: skip it
                elif now - call.started >= self.wait_s:
                    self._say([waiting_line(call, now - call.started)])
                else:
                    return
            self._next += 1

    def _say(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.say(line)
