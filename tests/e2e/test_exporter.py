"""gridctl exporter: its figures against the emulator's injected latency, its exposition, a real Prometheus."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator
from gridctl.target import Target
from gridctl.watch.exporter import ExporterServer, ExporterState, make_server
from tests.support.cli import emu_env
from tests.support.latency import FIRST_BYTE, FIRST_TOKEN, implausible

pytestmark = pytest.mark.e2e

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
ROOT_DIR = Path(__file__).resolve().parents[2]
RULES = ROOT_DIR / "docs" / "prometheus" / "gridctl-alerts.yml"


@pytest.fixture(scope="module")
def exporter(shaped: Emulator, floor: Emulator) -> Iterator[ExporterServer]:
    def target(instrument: str, api: str) -> Target:
        # code-prime goes to the unshaped emulator, everything else to the shaped one
        return Target(floor.base_url if instrument == "code-prime" else shaped.base_url, DEMO_KEY, instrument, api)

    server = make_server("127.0.0.1:0", ExporterState(target, timeout_s=5))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(2)


def url(server: ExporterServer, path: str = "/probe?instrument=text-prime&api=chat") -> str:
    return f"http://127.0.0.1:{server.server_port}{path}"


def values(text: str) -> dict[str, float]:
    """name{labels} -> value, from either exposition format."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text.replace("# EOF\n", "")):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def scrape_batch(exporter: ExporterServer) -> dict[str, list[str]]:
    """20 scrapes of the shaped target, each beside a scrape of the floor one at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    out: dict[str, list[str]] = {"text-prime": [], "code-prime": []}
    headers = {"Accept": OPENMETRICS, "X-Prometheus-Scrape-Timeout-Seconds": "5"}
    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(2) as pool:
        for _ in range(20):
            pair = {name: pool.submit(client.get, url(exporter, f"/probe?instrument={name}&api=chat"), headers=headers)
                    for name in out}
            for name, fut in pair.items():
                out[name].append(fut.result().text)
    return out


@pytest.fixture(scope="module")
def scrapes(exporter: ExporterServer) -> dict[str, list[str]]:
    return scrape_batch(exporter)


METRICS = {"ttfb_ms": "gridctl_probe_time_to_first_byte_seconds",
           "ttft_ms": "gen_ai_client_operation_time_to_first_chunk_seconds",
           "itl_ms": "gen_ai_client_operation_time_per_output_chunk_seconds"}


def test_reported_figures_are_ordered_and_no_less_than_the_injected_delays(scrapes: dict[str, list[str]]) -> None:
    """Each scrape's TTFB, TTFT and inter-token figures against the shaped emulator's injected delays: never
    less, in order, consistent; the floor emulator's (1 ms shapes) below them. Accuracy: bench/p7_latency.py."""
    got = {name: [values(text) for text in texts] for name, texts in scrapes.items()}
    assert all(v["probe_success"] == 1.0 and v["probe_http_status_code"] == 200.0
               for vs in got.values() for v in vs)
    for v in got["text-prime"]:
        ms = {m: v[metric] * 1000 for m, metric in METRICS.items()}
        ms["total_ms"] = v["gen_ai_client_operation_duration_seconds"] * 1000
        assert not implausible(ms), (implausible(ms), ms)
        phase_ttfb = v['gridctl_probe_phase_seconds{phase=ttfb}']
        assert phase_ttfb == v["gridctl_probe_time_to_first_byte_seconds"]  # one figure, two names
    assert min(v["gridctl_probe_time_to_first_byte_seconds"] for v in got["code-prime"]) < FIRST_BYTE
    assert got["text-prime"][-1]["gridctl_probes_total{api=chat,instrument=text-prime}"] >= 20


def test_request_ids_are_exemplars_never_labels(scrapes: dict[str, list[str]], shaped: Emulator) -> None:
    import re

    last = scrapes["text-prime"][-1]
    probes = next(line for line in last.splitlines() if line.startswith("gridctl_probes_total"))
    exemplar = re.fullmatch(r'gridctl_probes_total\{[^}]*\} [0-9.]+ # \{request_id="(req_[0-9a-f]+)"\} 1\.0', probes)
    assert exemplar is not None, probes
    assert exemplar[1] in {r["request_id"] for r in shaped.requests}  # a request the exporter really made
    body = [line.split(" # ")[0] for line in last.splitlines() if not line.startswith("#")]
    assert not any("req_" in line for line in body)
    everything = "".join(scrapes["text-prime"] + scrapes["code-prime"])
    assert DEMO_KEY not in everything and "gk-demo" not in everything


def test_plain_text_exposition_passes_promtool(exporter: ExporterServer, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run .ci/install-prometheus"
    for path in ("/probe?instrument=text-prime&api=chat", "/probe?instrument=gpt-5.2&api=chat&stream=false",
                 "/metrics"):
        text = httpx.get(url(exporter, path), timeout=10).text
        proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, (path, proc.stdout, proc.stderr, text)
    own = values(httpx.get(url(exporter, "/metrics"), timeout=10).text)
    assert own["gridctl_exporter_scrapes_total{outcome=success}"] >= 1
    assert own["gridctl_exporter_scrapes_total{outcome=failure}"] >= 1


def test_shipped_alert_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run .ci/install-prometheus"
    proc = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "2 rules found" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("path, code", [("/probe", 400), ("/probe?instrument=text-prime&api=soap", 400),
                                        ("/probe?instrument=a%20b", 400), ("/nope", 404), ("/", 200)])
def test_bad_requests(exporter: ExporterServer, path: str, code: int) -> None:
    assert httpx.get(url(exporter, path), timeout=10).status_code == code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    doc = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])


def test_a_real_prometheus_scrapes_the_exporter(exporter: ExporterServer, tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    assert prometheus, "the prometheus binary is missing: run .ci/install-prometheus"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{
            "job_name": "gridctl", "metrics_path": "/probe", "params": {"api": ["chat"]},
            # 2 s each: a probe of 0.1 s fits with room on a loaded machine (the exporter honours the timeout)
            "scrape_interval": "2s", "scrape_timeout": "2s",
            "static_configs": [{"targets": ["text-prime", "gpt-5.2"]}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_instrument"},
                {"source_labels": ["__param_instrument"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"127.0.0.1:{exporter.server_port}"},
            ],
        }],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        expected = {"text-prime": 1.0, "gpt-5.2": 0.0}
        deadline = time.monotonic() + 40
        by_instance: dict[str, float] = {}
        while time.monotonic() < deadline and by_instance != expected:  # until both targets were scraped
            time.sleep(0.5)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                success = _query(base, 'probe_success{job="gridctl"}')
            except httpx.HTTPError:
                continue
            by_instance = {r["metric"]["instance"]: float(r["value"][1]) for r in success}
        assert by_instance == expected
        ttft = _query(base, 'gen_ai_client_operation_time_to_first_chunk_seconds{job="gridctl"}')
        assert [r["metric"]["instance"] for r in ttft] == ["text-prime"]  # failures carry no latency
        # the series carries the exporter's TTFT through Prometheus: no less than the injected delays, under the
        # scrape's budget (how close it comes is bench/p7_latency.py's question)
        assert (FIRST_BYTE + FIRST_TOKEN) <= float(ttft[0]["value"][1]) < 5
        failures = _query(base, 'gridctl_probe_failures_total{job="gridctl",instrument="gpt-5.2"}')
        assert [r["metric"]["code"] for r in failures] == ["model.not_found"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_command_serves_and_stops_cleanly_on_sigterm(shaped: Emulator) -> None:
    env = emu_env(shaped, DEMO_KEY)
    proc = subprocess.Popen([sys.executable, "-m", "gridctl", "exporter", "--listen", "127.0.0.1:0", "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1] != "}\n":
            lines.append(proc.stdout.readline())
            assert lines[-1], proc.stderr.read() if proc.stderr else ""
        doc = json.loads("".join(lines))
        assert doc["command"] == "exporter" and doc["listen"].startswith("http://127.0.0.1:")
        text = httpx.get(doc["probe_url"], timeout=10).text
        assert "probe_success 1.0" in text and DEMO_KEY not in text
    finally:
        proc.terminate()
        code = proc.wait(10)
    assert code == 0 and DEMO_KEY not in (proc.stderr.read() if proc.stderr else "")


def test_the_base_install_does_not_pull_prometheus_client() -> None:
    project = tomllib.loads((ROOT_DIR / "pyproject.toml").read_text())["project"]
    assert not any("prometheus" in dep for dep in project["dependencies"])
    assert any(dep.startswith("prometheus_client") for dep in project["optional-dependencies"]["exporter"])
    code = ("import sys; from gridctl.cli import app, load; load(); "
            "print('prometheus_client' in sys.modules or 'gridctl.watch.exporter' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_a_probe_fits_in_the_scrape_timeout(emulator: Any) -> None:
    hang = emulator("hang")

    def target(instrument: str, api: str) -> Target:
        return Target(hang.base_url, DEMO_KEY, instrument, api)

    server = make_server("127.0.0.1:0", ExporterState(target, timeout_s=30))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        text = httpx.get(url(server), headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}, timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
    got = values(text)
    assert got["probe_success"] == 0.0
    assert got["gridctl_probe_failures_total{api=chat,code=net.no_response,instrument=text-prime}"] == 1.0
    assert got["probe_duration_seconds"] <= 1.0 + 0.3  # the header's 1.5 s less the 0.5 s margin


def test_without_the_extra_the_command_says_how_to_install_it(shaped: Emulator,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import gridctl.watch.exporter as module
    from tests.support.cli import invoke

    monkeypatch.setattr(module, "available", lambda: False)
    run = invoke("exporter", env=emu_env(shaped, DEMO_KEY))
    assert run.code == 2 and "pip install 'gridctl[exporter]'" in run.err
