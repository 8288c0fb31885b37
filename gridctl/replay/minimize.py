"""Delta debugging (Zeller and Hildebrandt's ddmin), pure: no requests, no I/O.

`ddmin(n, fails)` looks for a 1-minimal subset of the items 0..n-1 that still fails: removing any one
item of it makes the test pass. `fails(kept)` answers for one subset (True: the failure is kept); it may
raise Exhausted when the budget for tests is gone, and the search returns what it has, marked incomplete.
Every subset is tested at most once (a cache), so a budget of tests is a budget of requests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class Exhausted(Exception):
    """No more tests may run (request or time budget)."""


@dataclass
class Search:
    kept: tuple[int, ...]                       # the smallest failing subset found
    complete: bool                              # True: 1-minimal (every single removal was tested and passes)
    results: dict[frozenset[int], bool] = field(default_factory=dict)  # every subset tested, in order

    @property
    def tests(self) -> int:
        return len(self.results)

    def passes_without(self, item: int) -> bool | None:
        """Does the failure go when `item` is taken from the result? None: never tested."""
        outcome = self.results.get(frozenset(self.kept) - {item})
        return None if outcome is None else not outcome


def split(items: Sequence[int], n: int) -> list[tuple[int, ...]]:
    """`items` in `n` contiguous parts whose sizes differ by at most one."""
    n = max(1, min(n, len(items)))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(tuple(items[start:end]))
        start = end
    return out


def ddmin(n_items: int, fails: Callable[[tuple[int, ...]], bool]) -> Search:
    """1-minimal failing subset of range(n_items); all items together are known to fail (not re-tested)."""
    current = tuple(range(n_items))
    search = Search(kept=current, complete=False, results={frozenset(current): True})

    def test(subset: tuple[int, ...]) -> bool:
        key = frozenset(subset)
        if key not in search.results:
            search.results[key] = fails(tuple(sorted(subset)))
        return search.results[key]

    try:
        if current and test(()):  # nothing of it is needed: the failure is in what cannot be removed
            search.kept, search.complete = (), True
            return search
        granularity = 2
        while len(current) >= 2:
            parts = split(current, granularity)
            reduced = _reduce(current, parts, granularity, test)
            if reduced is not None:
                current, granularity = reduced
                search.kept = current
                continue
            if granularity >= len(current):
                break
            granularity = min(granularity * 2, len(current))
        search.kept, search.complete = current, True
    except Exhausted:
        pass
    return search


def _reduce(current: tuple[int, ...], parts: list[tuple[int, ...]], granularity: int,
            test: Callable[[tuple[int, ...]], bool]) -> tuple[tuple[int, ...], int] | None:
    """One ddmin step: a part that fails alone, else a complement that fails; (new set, granularity)."""
    for part in parts:
        if test(part):
            return part, 2
    if granularity == 2:  # with two parts the complements are the parts themselves
        return None
    for part in parts:
        rest = tuple(i for i in current if i not in part)
        if test(rest):
            return rest, max(granularity - 1, 2)
    return None
