"""Latency statistics over repeated probes. Pure: no I/O, no clock.

Percentiles by linear interpolation between closest ranks (numpy's default "linear" method,
`statistics.quantiles(method="inclusive")`), as the LLM benchmarking tools report them.
Failed probes never enter the latency figures: they are counted by finding code beside them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PERCENTILES = (50, 95, 99)
# The per-probe figures summarised, each in its own unit (ms, or tokens per second).
METRICS = ("ttfb_ms", "ttft_ms", "total_ms", "itl_ms", "tokens_per_s")


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    data = sorted(values)
    rank = (len(data) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, Any]:
    """n, min, mean, max and p50/p95/p99 of one metric (None when there are no values)."""
    out: dict[str, Any] = {"n": len(values)}
    for q in PERCENTILES:
        p = percentile(values, q)
        out[f"p{q}"] = None if p is None else round(p, 3)
    out["min"] = round(min(values), 3) if values else None
    out["mean"] = round(sum(values) / len(values), 3) if values else None
    out["max"] = round(max(values), 3) if values else None
    return out


@dataclass
class Sample:
    """One probe: the figures of a success, or the finding code of a failure."""

    instrument: str
    ok: bool
    code: str | None = None  # the first error finding's code, for a failure
    message: str = ""
    status_code: int | None = None
    request_id: str | None = None
    at: str = ""  # ISO time the probe started
    figures: dict[str, float | None] = field(default_factory=dict)  # METRICS, plus phases
    tokens: int | None = None

    def record(self) -> dict[str, Any]:
        """The --jsonl line of this probe."""
        return {"type": "probe", "at": self.at, "instrument": self.instrument, "ok": self.ok,
                "code": self.code, "status_code": self.status_code, "request_id": self.request_id,
                "tokens": self.tokens, **self.figures}


@dataclass
class Series:
    """Every probe of one instrument so far."""

    instrument: str
    calls: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    first_failure: dict[str, Sample] = field(default_factory=dict)  # code -> its first sample
    values: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    last: Sample | None = None

    def add(self, sample: Sample) -> None:
        self.calls += 1
        self.last = sample
        if not sample.ok:
            code = sample.code or "http.unexpected"
            self.failures[code] += 1
            self.first_failure.setdefault(code, sample)
            return
        for metric in METRICS:
            value = sample.figures.get(metric)
            if value is not None:
                self.values[metric].append(float(value))

    @property
    def ok_calls(self) -> int:
        return self.calls - sum(self.failures.values())

    def stats(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "calls": self.calls, "ok": self.ok_calls,
                "failures": dict(self.failures.most_common()),
                **{metric: summary(self.values[metric]) for metric in METRICS}}
