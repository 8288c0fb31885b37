"""probe/budget.py: the deadline holds every socket of a Net, whatever the server trickles (issue 22)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpcore
import pytest

from gridctl.probe.budget import Budget, _Backend, _within
from gridctl.probe.client import Deadline, Net
from tests.support.hostile import Hostile


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never sends a byte."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    srv.close()


def test_every_transport_of_the_client_is_held_proxies_included(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with Net(Deadline(5)) as net:
        transports = [net.client._transport, *net.client._mounts.values()]
        pools = [getattr(t, "_pool", None) for t in transports]
        assert len([p for p in pools if p is not None]) >= 3  # direct, http:// and https:// proxies
        assert all(isinstance(p._network_backend, _Backend) for p in pools if p is not None)
        assert net.budget.install(net.client) == 0  # never wrapped twice


def test_a_header_trickle_ends_at_the_deadline_in_process() -> None:
    with Hostile("header-trickle", interval=0.02) as srv, Net(Deadline(0.6), retries=0) as net:
        out = net.send("GET", f"{srv.base_url}/models")
    assert out.status_code is None
    assert [f.code for f in out.findings] == ["net.no_response"]
    assert srv.hits == 1 and srv.spans[0][1] is not None  # the server saw the client leave


def test_nothing_starts_once_the_budget_is_spent(silent_port: int) -> None:
    budget = Budget(Deadline(0))
    with pytest.raises(httpcore.ConnectTimeout):
        budget.backend(httpcore.SyncBackend()).connect_tcp("127.0.0.1", silent_port, timeout=5)


def test_the_watchdog_cuts_what_a_per_read_timeout_cannot(silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """An operation the per-call cut does not bound (TLS-in-TLS reads loop inside one call; here the cut
    is switched off, so the read waits its whole 30 s) ends when the watchdog shuts the socket down,
    as a timeout, not as the server closing."""
    import gridctl.probe.budget as module

    monkeypatch.setattr(module, "_cut", lambda timeout, left: timeout)
    budget = Budget(Deadline(0.3))
    stream = budget.backend(httpcore.SyncBackend()).connect_tcp("127.0.0.1", silent_port, timeout=5)
    t0 = time.monotonic()
    with pytest.raises(httpcore.ReadTimeout):
        stream.read(10, timeout=30.0)
    assert time.monotonic() - t0 < 10  # generous: without the watchdog this read waits 30 s
    assert budget.fired
    stream.close()
    budget.close()


def test_a_read_is_cut_to_what_is_left(silent_port: int) -> None:
    budget = Budget(Deadline(0.3))
    stream = budget.backend(httpcore.SyncBackend()).connect_tcp("127.0.0.1", silent_port, timeout=5)
    t0 = time.monotonic()
    with pytest.raises(httpcore.ReadTimeout):
        stream.read(10, timeout=30.0)
    assert time.monotonic() - t0 < 10  # generous: uncut, this read waits 30 s
    stream.close()
    budget.close()


class _Closing:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_a_connect_past_the_deadline_is_abandoned_and_its_socket_closed() -> None:
    """getaddrinfo cannot be cancelled: the connect is left behind, and what it opens later is closed."""
    release = threading.Event()
    late = _Closing()

    def slow_connect() -> httpcore.NetworkStream:
        release.wait(10)
        return late  # type: ignore[return-value]

    with pytest.raises(httpcore.ConnectTimeout):
        _within(slow_connect, 0.1)
    release.set()
    for _ in range(100):
        if late.closed:
            break
        time.sleep(0.02)
    assert late.closed


def test_a_connect_error_in_the_helper_thread_reaches_the_caller() -> None:
    def refused() -> httpcore.NetworkStream:
        raise httpcore.ConnectError("refused")

    with pytest.raises(httpcore.ConnectError, match="refused"):
        _within(refused, 5)
