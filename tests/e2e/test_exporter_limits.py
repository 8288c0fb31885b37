"""The exporter under load and beyond loopback (issue 22): probes bounded, the rest a prompt 503,
idle connections closed, and an address beyond loopback only with --yes (trace --listen's rule)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from gridctl.errors import UsageError
from gridctl.target import Target
from gridctl.watch import exporter as module
from gridctl.watch.exporter import MAX_PROBES, ExporterServer, ExporterState, make_server
from tests.support.cli import clean_env, invoke
from tests.support.hostile import Hostile

pytestmark = pytest.mark.e2e

KEY = "gk-exporter-Qx7vM2pL9sR4tY8wB1cD6fH0jK5nZ3aE"
SCRAPES = 24


@pytest.fixture(scope="module")
def trickle() -> Iterator[Hostile]:
    with Hostile("header-trickle", interval=0.05) as srv:
        yield srv


@pytest.fixture
def exporter(trickle: Hostile) -> Iterator[ExporterServer]:
    def target(instrument: str, api: str) -> Target:
        return Target(trickle.base_url, KEY, instrument, api)

    server = make_server("127.0.0.1:0", ExporterState(target, timeout_s=30))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.disconnect_all()
    server.server_close()
    thread.join(2)


def most_at_once(spans: list[list[float | None]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans if s is not None] + [(e, -1) for _, e in spans if e is not None],
                   key=lambda edge: (edge[0], edge[1]))
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def test_concurrent_scrapes_past_the_cap_get_a_prompt_503(exporter: ExporterServer, trickle: Hostile) -> None:
    url = f"http://127.0.0.1:{exporter.server_port}/probe?instrument=text-prime&api=chat"
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": "2.5"}  # each probe: 2 s of the trickle
    start = threading.Barrier(SCRAPES)

    def scrape(_: int) -> tuple[int, float, str]:
        start.wait(10)
        with httpx.Client(timeout=20) as client:  # its own connection; 20 s: nothing may hang
            r = client.get(url, headers=headers)
        return r.status_code, time.monotonic(), r.text

    with ThreadPoolExecutor(SCRAPES) as pool:
        results = list(pool.map(scrape, range(SCRAPES)))
    statuses = [code for code, _, _ in results]
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 1, statuses
    assert statuses.count(503) >= SCRAPES - 2 * MAX_PROBES, statuses  # a few may land after a slot frees
    assert most_at_once(trickle.spans) <= MAX_PROBES  # never more probes at once than the cap
    busy = [(t, text) for code, t, text in results if code == 503]
    probed = [t for code, t, _ in results if code == 200]
    # prompt: the refusals came while the first probes were still running, not after waiting for them
    assert sum(t < min(probed) for t, _ in busy) >= SCRAPES - 2 * MAX_PROBES
    assert all("busy" in text for _, text in busy)
    metrics = httpx.get(f"http://127.0.0.1:{exporter.server_port}/metrics", timeout=10).text
    assert 'gridctl_exporter_scrapes_total{outcome="busy"}' in metrics


def test_an_idle_connection_is_closed(exporter: ExporterServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module._Handler, "timeout", 0.3)
    with socket.create_connection(("127.0.0.1", exporter.server_port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the blank line that ends it
        t0 = time.monotonic()
        assert sock.recv(100) == b""  # the server hung up (a 10 s recv timeout fails the test instead)
        assert time.monotonic() - t0 < 8


def test_a_trickled_request_head_is_cut(exporter: ExporterServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A byte every 0.1 s keeps a per-read timeout happy for ever; the head as a whole has a deadline."""
    monkeypatch.setattr(module, "HEAD_S", 0.5)
    with socket.create_connection(("127.0.0.1", exporter.server_port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        sock.settimeout(0.1)
        closed = False
        for _ in range(100):  # a byte every 0.1 s for 10 s, far past the head's 0.5 s
            try:
                sock.sendall(b"x")
                closed = sock.recv(1) == b""  # b"": the server hung up
            except TimeoutError:  # nothing came back within 0.1 s: still open
                continue
            except OSError:  # reset, broken pipe: the server cut it
                closed = True
            break
        assert closed


def test_beyond_loopback_needs_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    from gridctl.settings import Flags, from_env

    monkeypatch.setenv("THEGRID_API_KEY", KEY)
    with pytest.raises(UsageError, match="not a loopback address; add --yes"):
        module.open_exporter(from_env(Flags()), "0.0.0.0:0")  # refused before any bind
    run = invoke("exporter", "--listen", "0.0.0.0:0", env=clean_env(THEGRID_API_KEY=KEY))
    assert run.code == 2 and "--yes" in run.err and "Traceback" not in run.err, run


def test_the_listen_rule_is_one_for_trace_and_the_exporter() -> None:
    from gridctl.prompts import allow_listen

    for host in ("127.0.0.1", "127.3.2.1", "::1", "localhost"):
        allow_listen(host, False, "?")  # loopback: no question
    allow_listen("10.0.0.1", True, "?")  # --yes
    for host in ("0.0.0.0", "10.0.0.1", "127.0.0.1.nip.io", "::"):
        with pytest.raises(UsageError, match=host.replace(".", r"\.")):
            allow_listen(host, False, "?")  # no terminal to ask on (pytest's stdin): refused
