"""Every failure scenario is counted by watch and by the exporter under doctor's own finding code."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import start
from gridctl.target import Target
from gridctl.watch.exporter import ExporterState, make_server
from gridctl.watch.run import WatchPlan, run_watch
from tests.support.cli import Run, clean_env, gridctl, in_parallel

pytestmark = pytest.mark.e2e

# scenario -> (streamed?, time budget); every scenario where doctor finds a failure
FAILING = {
    "bad-key": (False, 4.0), "no-credits": (False, 4.0), "rate-limited": (False, 4.0),
    "server-error": (False, 4.0), "redirect-token-expired": (False, 4.0), "redirect-loop": (False, 4.0),
    "cut-body": (False, 4.0),
    "hang": (False, 1.5), "reset": (False, 4.0), "truncated-json": (False, 4.0), "incident": (False, 4.0),
    "html-error": (False, 4.0), "stream-cut": (True, 4.0),
}


@pytest.fixture(scope="module")
def doctor_runs() -> Iterator[dict[str, Future[Run]]]:
    env = clean_env()
    jobs = {name: (lambda n=name, s=stream, t=budget: gridctl(  # type: ignore[misc]
        "doctor", "--emulate", n, "--json", "--timeout", str(t), "--retries", "1", *(["--stream"] if s else []),
        env=env)) for name, (stream, budget) in FAILING.items()}
    futures = in_parallel(jobs)
    yield futures
    for fut in futures.values():
        fut.result()


def doctor_code(run: Run, stream: bool) -> str:
    """doctor's diagnosis, or, where the status page explains it first (incident), its probe's code."""
    doc = run.json()
    assert doc["diagnosis"] is not None, run
    step = next(c for c in doc["checks"] if c["id"] == ("stream" if stream else "ping"))
    step_errors = [f["code"] for f in step["findings"] if f["severity"] == "error"]
    if doc["diagnosis"]["code"].startswith("status."):
        return step_errors[0]
    assert step_errors[0] == doc["diagnosis"]["code"], run
    return str(doc["diagnosis"]["code"])


def exporter_failures(base_url: str, stream: bool, budget: float) -> dict[str, Any]:
    def target(instrument: str, api: str) -> Target:
        return Target(base_url, DEMO_KEY, instrument, api)

    server = make_server("127.0.0.1:0", ExporterState(target, timeout_s=budget))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        resp = httpx.get(f"http://127.0.0.1:{server.server_port}/probe",
                         params={"instrument": "text-prime", "api": "chat", "stream": str(stream).lower()},
                         timeout=budget + 5)
    finally:
        server.shutdown()
        server.server_close()
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, Any] = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            if sample.name == "gridctl_probe_failures_total":
                out[sample.labels["code"]] = sample.value
            elif sample.name == "probe_success":
                out["_success"] = sample.value
    return out


@pytest.mark.parametrize("scenario", list(FAILING))
def test_watch_and_exporter_count_the_code_doctor_gives(doctor_runs: dict[str, Future[Run]], scenario: str) -> None:
    stream, budget = FAILING[scenario]
    with start(scenario) as emu:
        plan = WatchPlan([Target(emu.base_url, DEMO_KEY, "text-prime")], every_s=0, count=1, stream=stream,
                         timeout_s=budget - 0.5 if scenario == "hang" else budget)
        report = run_watch(plan)
        exported = exporter_failures(emu.base_url, stream, budget - 0.5 if scenario == "hang" else budget)
    expected = doctor_code(doctor_runs[scenario].result(), stream)
    assert report.checks[0].data["failures"] == {expected: 1}
    assert [f.code for f in report.checks[0].findings] == [expected]
    assert exported == {"_success": 0.0, expected: 1.0}
