"""gridctl watch against the emulator's injected latency and its failure scenarios."""

from __future__ import annotations

import json
import statistics
import threading
from typing import Any

import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator
from gridctl.target import Target
from gridctl.watch.run import WatchPlan, run_watch
from gridctl.watch.stats import PERCENTILES, Sample, Series
from tests.support.cli import emu_env, invoke
from tests.support.latency import FIRST_BYTE, FIRST_TOKEN, TOKENS, implausible

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="module")
def jsonl_run(shaped: Emulator) -> list[dict[str, Any]]:
    run = invoke("watch", "--stream", "--count", "20", "--every", "0", "--jsonl", env=emu_env(shaped, DEMO_KEY))
    assert run.code == 0, run
    return [json.loads(line) for line in run.out.splitlines()]


def reference(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def test_reported_figures_are_ordered_and_no_less_than_the_injected_delays(shaped: Emulator, floor: Emulator) -> None:
    """Each probe's TTFB, TTFT and total against the emulator's injected delays: never less, in order,
    and the floor emulator's (1 ms shapes) below the shaped one's injected delays, so the delays are
    what the figures measure. How close they come is bench/p7_latency.py's question, not a test's."""
    plan = WatchPlan([Target(shaped.base_url, DEMO_KEY, "text-prime"),
                      Target(floor.base_url, DEMO_KEY, "code-prime")], every_s=0, count=5, stream=True, timeout_s=5)
    samples: dict[str, list[Sample]] = {"text-prime": [], "code-prime": []}
    run_watch(plan, lambda sample, _series, into=samples: into[sample.instrument].append(sample))
    assert all(s.ok and s.tokens == TOKENS for group in samples.values() for s in group)
    assert len(samples["text-prime"]) == 5
    for s in samples["text-prime"]:
        assert not implausible(s.figures), (implausible(s.figures), s.figures)
    # The floor answers without the injected delays: at least one of its probes shows it (a measure that
    # reported a constant, or the wrong request's time, would not).
    assert min(float(s.figures["ttfb_ms"] or 0) for s in samples["code-prime"]) < FIRST_BYTE * 1000


def test_watch_records_follow_the_definitions(jsonl_run: list[dict[str, Any]]) -> None:
    probes = [r for r in jsonl_run if r["type"] == "probe"]
    assert len(probes) == 20 and all(p["ok"] and p["tokens"] == TOKENS for p in probes)
    for p in probes:
        assert p["ttfb_ms"] >= FIRST_BYTE * 1000 - 0.5 and p["ttft_ms"] >= (FIRST_BYTE + FIRST_TOKEN) * 1000 - 0.5
        assert p["itl_ms"] == pytest.approx((p["total_ms"] - p["ttft_ms"]) / (p["tokens"] - 1), abs=0.01)
        # itl_ms is rounded to 0.001 ms: on a sub-millisecond gap that alone moves 1000/itl by up to 0.0005/itl.
        assert p["tokens_per_s"] == pytest.approx(1000 / p["itl_ms"], rel=1e-3 + 0.0006 / p["itl_ms"])


def test_summary_percentiles_equal_a_reference_on_the_same_samples(jsonl_run: list[dict[str, Any]]) -> None:
    probes = [r for r in jsonl_run if r["type"] == "probe"]
    summary = jsonl_run[-1]
    assert summary["type"] == "summary" and summary["command"] == "watch" and summary["exit_code"] == 0
    stats = summary["checks"][0]["data"]
    assert stats["calls"] == 20 and stats["failures"] == {}
    for metric in ("ttfb_ms", "ttft_ms", "total_ms", "itl_ms", "tokens_per_s"):
        values = [p[metric] for p in probes]
        for q in PERCENTILES:
            assert stats[metric][f"p{q}"] == pytest.approx(reference(values, q), abs=0.001), (metric, q)
    assert set(summary["request_ids"]) <= {p["request_id"] for p in probes}


def test_plain_lines_off_a_terminal_then_the_summary(shaped: Emulator) -> None:
    run = invoke("watch", "--count", "2", "--every", "10ms", env=emu_env(shaped, DEMO_KEY))
    assert run.code == 0, run
    lines = run.out.splitlines()
    assert [" text-prime ok 200 ttfb=" in line for line in lines[:2]] == [True, True]
    assert "gridctl watch: 2 rounds" in run.out and "TTFB" in run.out
    assert DEMO_KEY not in run.out + run.err


def test_json_envelope_holds_the_statistics(shaped: Emulator) -> None:
    run = invoke("watch", "--count", "3", "--every", "0", "--all", "--json", env=emu_env(shaped, DEMO_KEY))
    doc = run.json()
    assert run.code == 0 and doc["command"] == "watch" and doc["ok"] is True
    assert len(doc["checks"]) == 9 and doc["watch"]["rounds"] == 3
    for check in doc["checks"]:
        assert check["data"]["calls"] == 3 and check["data"]["ttfb_ms"]["n"] == 3
        assert check["data"]["ttft_ms"]["n"] == 0  # no --stream: no time to first token


@pytest.mark.parametrize("args, message", [
    (("--every", "soon"), "--every takes a duration"),
    (("--count", "0"), "--count must be at least 1"),
    (("--json", "--jsonl"), "exclude each other"),
])
def test_bad_flags_are_usage_errors(shaped: Emulator, args: tuple[str, ...], message: str) -> None:
    run = invoke("watch", *args, env=emu_env(shaped, DEMO_KEY))
    assert run.code == 2 and message in run.err


def test_ctrl_c_ends_with_the_summary(shaped: Emulator) -> None:
    seen: list[Sample] = []

    def on_sample(sample: Sample, _series: dict[str, Series]) -> None:
        seen.append(sample)
        if len(seen) == 2:
            raise KeyboardInterrupt

    plan = WatchPlan([Target(shaped.base_url, DEMO_KEY, "text-prime")], every_s=0.0, count=None, timeout_s=5)
    report = run_watch(plan, on_sample)
    assert report.extra["watch"]["interrupted"] is True and report.extra["watch"]["rounds"] == 1
    assert report.checks[0].data["calls"] == 2 and report.ok


def test_stop_event_ends_an_endless_watch(shaped: Emulator) -> None:
    plan = WatchPlan([Target(shaped.base_url, DEMO_KEY, "text-prime")], every_s=30.0, count=None, timeout_s=5)
    threading.Timer(0.3, plan.stop.set).start()
    report = run_watch(plan)
    assert report.extra["watch"]["rounds"] == 1 and report.checks[0].data["calls"] == 1


def test_failures_set_the_exit_code_and_are_explained_once(emulator: Any) -> None:
    emu = emulator("rate-limited")
    run = invoke("watch", "--count", "3", "--every", "0", env=emu_env(emu, DEMO_KEY))
    assert run.code == 7, run
    assert run.out.count(" fail http.rate_limited 429 ") == 3
    assert "http.rate_limited×3" in run.out and run.out.count("(http.rate_limited)") == 1


def test_a_terminal_gets_the_live_table(shaped: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from gridctl.render.watch import Live
    from gridctl.report import Output

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = Output(stdout=Terminal(), stderr=Terminal())
    plan = WatchPlan([Target(shaped.base_url, DEMO_KEY, "text-prime")], every_s=0, count=2, timeout_s=5)
    with Live(out) as live:
        assert live.live is not None
        report = run_watch(plan, live.update)
    text = out.stdout.getvalue()
    assert report.checks[0].data["calls"] == 2
    assert "TTFB" in text and "text-prime" in text and " ok 200 ttfb=" not in text  # a table, not lines
