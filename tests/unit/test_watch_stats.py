"""watch statistics: percentiles by linear interpolation, failures kept out of the latency figures."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridctl.watch.stats import Sample, Series, percentile, summary


def reference(values: list[float], q: int) -> float:
    """The standard library's inclusive method is the same linear interpolation, computed independently."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=60),
       st.sampled_from([1, 25, 50, 90, 95, 99]))
def test_percentile_matches_the_reference(values: list[float], q: int) -> None:
    assert percentile(values, q) == pytest.approx(reference(values, q), rel=1e-9, abs=1e-9)


def test_known_values() -> None:
    data = [10.0, 20.0, 30.0, 40.0]
    assert percentile(data, 50) == 25.0
    assert percentile(data, 95) == pytest.approx(38.5)
    assert percentile(data, 0) == 10.0 and percentile(data, 100) == 40.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(data, 101)
    assert summary([]) == {"n": 0, "p50": None, "p95": None, "p99": None, "min": None, "mean": None, "max": None}


def _ok(ms: float) -> Sample:
    return Sample("text-prime", True, figures={"ttfb_ms": ms, "ttft_ms": ms * 2, "total_ms": ms * 3})


def test_failures_are_counted_by_code_and_kept_out_of_latency() -> None:
    series = Series("text-prime")
    for ms in (50.0, 60.0, 70.0):
        series.add(_ok(ms))
    series.add(Sample("text-prime", False, code="http.rate_limited", figures={"ttfb_ms": 1.0, "total_ms": 2.0}))
    series.add(Sample("text-prime", False, code="http.rate_limited", figures={"ttfb_ms": 1.0}))
    series.add(Sample("text-prime", False, code="net.reset"))
    stats = series.stats()
    assert stats["calls"] == 6 and stats["ok"] == 3
    assert stats["failures"] == {"http.rate_limited": 2, "net.reset": 1}
    assert stats["ttfb_ms"]["n"] == 3 and stats["ttfb_ms"]["min"] == 50.0
    assert stats["ttfb_ms"]["p50"] == 60.0 and stats["total_ms"]["p99"] == pytest.approx(reference([150, 180, 210], 99))
    assert stats["tokens_per_s"]["n"] == 0 and stats["tokens_per_s"]["p50"] is None


def test_the_exporter_counts_a_bounded_number_of_instruments() -> None:
    """Instruments come from the scrape URL: past MAX_COUNTED pairs a new one is not counted, while the
    ones already counted go on counting (probes and failures alike)."""
    from gridctl.watch.exporter import MAX_COUNTED, ExporterState
    from gridctl.watch.stats import Sample

    state = ExporterState(make_target=lambda instrument, api: None)  # type: ignore[arg-type,return-value]
    for i in range(MAX_COUNTED + 50):
        state.count(Sample(f"made-up-{i}", ok=False, code="model.not_found"), "chat")
    state.count(Sample("made-up-0", ok=True), "chat")
    assert len(state.probes) == MAX_COUNTED and len(state.failures) == MAX_COUNTED
    assert state.probes[("made-up-0", "chat")][0] == 2 and ("made-up-120", "chat") not in state.probes
