"""trace's proxy against hostile clients and servers (issue 22, issue 23 section 4): all on loopback, in-process.

Verdicts on whole bodies, request targets that must not move the upstream, terminal controls and keys that must not
reach a line or the record, an abandoned stream that must stop the upstream, limits that hold in total.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import string
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gridctl.emulator.server import Emulator, start
from gridctl.errors import NetworkProblem
from gridctl.probe.stream import StreamStats as ProbeStats
from gridctl.probe.stream import cut_reading
from gridctl.render.trace import call_line, summary_lines
from gridctl.trace import diagnose as diag
from gridctl.trace.files import write_har
from gridctl.trace.proxy import Proxy, Refusal, Upstream, reverse_target
from gridctl.trace.record import Call, StreamStats
from tests.support.hostile import Hostile, controls_in, leaks


def _key() -> str:
    """A fresh canary per test: never registered before the request that carries it."""
    return "gk-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)) + "Q7z"


def _up(origin: str) -> list[Upstream]:
    return [Upstream("g", "THEGRID_BASE_URL", origin + "/v1", origin, origin)]


def _settled(proxy: Proxy, n: int = 1) -> list[Call]:
    for _ in range(300):
        if len(proxy.calls) >= n and all(c.done.is_set() for c in proxy.calls):
            break
        time.sleep(0.01)
    diag.diagnose(proxy.calls)
    return list(proxy.calls)


def _codes(call: Call) -> list[str]:
    return [f.code for f in call.findings]


def _errors(call: Call) -> list[str]:
    return [f.code for f in call.findings if f.severity == "error"]


def _raw(port: int, data: bytes, timeout: float = 3.0, half_close: bool = True) -> bytes:
    """Send `data` on a fresh connection, half-close, read all the proxy answers. A request forwarded to an
    upstream keeps its side open (`half_close=False`, and the proxy closes the connection): a client's EOF while
    trace waits on the upstream is a client that has gone, as in nginx."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return out


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    e = start("healthy")
    yield e
    e.stop()


# --- 1. a verdict on the whole body, never on the capture ---------------------------------------------------


def test_a_long_model_name_reaches_the_lints_as_sent() -> None:
    with Hostile("empty") as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        httpx.post(proxy.base_for("g") + "/chat/completions", json={"model": "meta-llama/Llama-3.3-70B-Instruct-Turbo"},
                   timeout=5)
        call = _settled(proxy)[0]
    assert call.model == "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def test_a_long_prompt_and_a_long_answer_are_ok(emu: Emulator) -> None:
    schema = {"type": "object", "properties": {"text": {"type": "string", "minLength": 40_000}}}
    body = {"model": "text-prime", "messages": [{"role": "user", "content": "x" * 17_000}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}
    with Proxy(_up(emu.root_url), trust_env=False).start() as proxy:
        r = httpx.post(proxy.base_for("g") + "/chat/completions", headers={"Authorization": f"Bearer {_key()}"},
                       json=body, timeout=10)
        assert r.status_code == 200 and len(r.content) > 40_000
        call = _settled(proxy)[0]
    assert call.request_bytes > 17_000 and call.response_bytes > 40_000
    assert _errors(call) == [] and call.body_lint == []  # judged whole: valid JSON both ways
    assert len(call.request_body) <= 16 * 1024 + 100  # the record keeps its capture only


def test_a_cut_copy_is_never_judged() -> None:
    whole = json.dumps({"id": "x", "choices": [{"message": {"content": "y" * 30_000}}]}).encode()
    call = Call(1, "g", "GET", "u", "u", "https://api.thegrid.ai/v1/models", 100.0, status=200,
                content_type="application/json", raw_response=whole[:16384], response_bytes=len(whole))
    diag.diagnose([call])
    assert _errors(call) == [] and _codes(call) == ["trace.body_not_checked"]
    call.body_verdict = diag.body_reading(call, whole)
    diag.diagnose([call])
    assert _codes(call) == []
    call.body_verdict = diag.body_reading(call, whole[:-3])  # a really broken whole body is still named
    diag.diagnose([call])
    assert _errors(call) == ["http.unexpected"]


# --- 2. the request target is a path, and never moves the upstream host -------------------------------------


@pytest.mark.parametrize("target", [".evil.example/v1", "@{canary}/", "http://{canary}/v1",
                                    "{canary}", "/v1\\..\\x", "*"])
def test_a_target_that_is_not_a_path_is_refused_and_reaches_no_other_host(target: str) -> None:
    with Hostile("empty") as canary, Hostile("empty") as upstream, \
            Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        t = target.format(canary=f"127.0.0.1:{canary.port}")
        answer = _raw(proxy.port, f"POST {t} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {_key()}\r\n"
                      f"Content-Length: 2\r\n\r\n{{}}".encode())
        calls = _settled(proxy)
    assert answer.startswith(b"HTTP/1.1 400") and b"X-Gridctl-Trace: proxy" in answer
    assert canary.hits == 0 and upstream.hits == 0
    assert calls[0].answered_by_trace and _codes(calls[0])[0] == "trace.proxy_answered"
    assert "answered 400 itself" in calls[0].findings[0].message


def test_connect_is_refused_by_the_reverse_path() -> None:
    with Hostile("empty") as canary, Proxy(_up("http://127.0.0.1:9"), trust_env=False).start() as proxy:
        answer = _raw(proxy.port, f"CONNECT 127.0.0.1:{canary.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400") and canary.hits == 0


@pytest.mark.parametrize("target", ["/@{canary}/", "//{canary}/v1", "/_g/g/@{canary}/", "/_g/g//{canary}/"])
def test_a_path_that_looks_like_a_host_stays_on_the_upstream(target: str) -> None:
    with Hostile("empty") as canary, Hostile("empty") as upstream, \
            Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        t = target.format(canary=f"127.0.0.1:{canary.port}")
        answer = _raw(proxy.port, f"GET {t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), half_close=False)
    # http.server itself folds a leading `//` into one `/`; either way it is a path on the upstream
    assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 400")) and canary.hits == 0
    assert upstream.hits == (1 if answer.startswith(b"HTTP/1.1 200") else 0)


def test_reverse_target_is_the_one_gate() -> None:
    assert reverse_target("GET", "/v1/models?x=1") == "/v1/models?x=1"
    for method, target in (("GET", "http://a/"), ("CONNECT", "a:443"), ("GET", "//a/"), ("GET", "a/b"),
                           ("GET", "/a\x1bb")):
        with pytest.raises(Refusal):
            reverse_target(method, target)


def test_a_redirect_to_a_look_alike_host_gets_nothing() -> None:
    with Hostile("redirect", location="https://api.thegird.ai/gw/v1/chat/completions?token=t") as upstream, \
            Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        r = httpx.post(proxy.base_for("g") + "/chat/completions", headers={"Authorization": f"Bearer {_key()}"},
                       json={"model": "text-prime", "messages": []}, follow_redirects=True, timeout=5)
        calls = _settled(proxy, 2)
    assert r.status_code == 502 and r.headers.get("x-gridctl-trace") == "proxy"
    hop = calls[1]
    assert hop.hop_of == calls[0].id and hop.refused is not None and hop.refused.code == "url.host_typo"
    assert hop.answered_by_trace and "answered 502 itself" in call_line(hop)


# --- 3. no terminal control reaches a line or the HAR --------------------------------------------------------


@pytest.mark.parametrize("status", [200, 429])
def test_hostile_text_never_reaches_a_line_or_the_har(status: int, tmp_path: Path) -> None:
    nasty_model = "text-prime\x1b]52;c;cHduZWQ=\x07\x9b2J"
    with Hostile("escapes", status=status) as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        with httpx.Client(timeout=5) as client:
            client.post(proxy.base_for("g") + "/chat/completions", headers={"Authorization": f"Bearer {_key()}"},
                        json={"model": nasty_model, "messages": [{"role": "user", "content": "hi\x1b[2J"}]})
            client.get(proxy.base_for("g") + "/models%1b%5d0;x%07")
        _raw(proxy.port, b"GET /v1/\x1b]0;pwned\x07 HTTP/1.1\r\nHost: x\r\n\r\n")
        calls = _settled(proxy, 3)
    rep = diag.report(calls, {})
    lines = [call_line(c) for c in calls] + summary_lines(rep, calls, 0)
    for line in lines:
        assert controls_in(line) == [], line
    for call in calls:
        text = json.dumps(call.as_json(), ensure_ascii=False)
        assert controls_in(json.loads(text)["model"] or "") == []
        assert all(controls_in(v) == [] for _, v in call.response_headers + call.request_headers)
    har = tmp_path / "t.har"
    write_har(calls, har)
    raw = har.read_text("utf-8")
    assert not any(ch in raw for ch in "\x1b\x07\x9b\x9d\x9c\x90\u202e")  # only as JSON escapes
    json.loads(raw)


# --- 4. redaction by position and shape, not only by value ---------------------------------------------------


def test_a_key_sent_only_by_position_never_reaches_the_record(tmp_path: Path) -> None:
    keys = [_key() for _ in range(6)]
    shape = "".join(secrets.choice(string.ascii_letters) for _ in range(30)) + "9Zq4"  # no prefix, key-shaped
    with Hostile("empty") as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        with httpx.Client(timeout=5) as c:
            base = proxy.base_for("g")
            c.post(f"{base}/chat/completions?api-key={keys[0]}", json={"model": "text-prime"})
            c.post(f"{base}/chat/completions", content=f"api_key={keys[1]}&model=text-prime",
                   headers={"content-type": "application/x-www-form-urlencoded"})
            c.post(f"{base}/chat/completions", json={"model": "m", "auth": {"password": keys[2]},
                                                     "client_secret": keys[3], "note": shape})
            c.get(f"{base}/models", headers={"x-goog-api-key": keys[4]})
            c.get(f"{base}/models?access_token={keys[5]}")
        calls = _settled(proxy, 5)
    rep = diag.report(calls, {})
    har = tmp_path / "t.har"
    write_har(calls, har)
    everything = har.read_text("utf-8") + json.dumps(rep.extra, ensure_ascii=False) + "\n".join(
        call_line(c) for c in calls)
    for key in [*keys, shape]:
        assert leaks(everything, key) == [], key
    assert upstream.hits == 5  # all of them were forwarded, unchanged


# --- 5. a client that goes stops the upstream ----------------------------------------------------------------


def test_an_abandoned_stream_closes_the_upstream() -> None:
    with Hostile("endless-line") as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}')
            got = 0
            while got < 200_000:
                got += len(sock.recv(65536))
        calls = _settled(proxy)
        first = upstream.sent
        time.sleep(0.5)
        later = upstream.sent
    assert calls[0].client_gone and "trace.stream_cut_downstream" in _codes(calls[0])
    assert later - first < 4 * 1024 * 1024 and later < 64 * 1024 * 1024  # it stopped: no GBs for nobody


def _gone_while_silent(mode: str, expect: bytes) -> tuple[Call, Hostile, list[Call]]:
    """A raw client sends a call to a silent upstream, reads until `expect`, then closes: the call, the upstream
    and what on_call saw."""
    reported: list[Call] = []
    with Hostile(mode) as upstream, Proxy(_up(upstream.root_url), trust_env=False, on_call=reported.append).start() \
            as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n{"stream": true}')
            got = b""
            while expect not in got:
                chunk = sock.recv(65536)
                assert chunk, got
                got += chunk
            for _ in range(100):  # the call reached the upstream, which is now silent
                if upstream.hits:
                    break
                time.sleep(0.01)
            time.sleep(0.1)
        # generous: the upstream never answers and the proxy's own upstream timeout is 300 s, so the call ending
        # at all is the client's leaving (a wall-clock bound would go red on a busy machine)
        assert proxy.calls[0].done.wait(20.0), "the call did not end when its client went"
        for _ in range(300):  # the upstream sees its connection closed
            if upstream.closed:
                break
            time.sleep(0.01)
        call = proxy.calls[0]
    return call, upstream, reported


def test_a_client_that_goes_before_the_first_byte_closes_the_upstream() -> None:
    call, upstream, reported = _gone_while_silent("silent", b"")
    assert upstream.closed == 1 and reported == [call]
    assert call.status is None and call.client_gone and call.handled
    assert any(n.startswith("unfinished: the client closed the connection after ") and "before the first byte" in n
               and n.endswith("gridctl trace closed the upstream") for n in call.notes), call.notes
    diag.diagnose([call])
    assert _codes(call)[0] == "net.no_response"


def test_a_client_that_goes_during_a_pause_in_a_stream_closes_the_upstream() -> None:
    call, upstream, reported = _gone_while_silent("gap", b'"Hel"')
    assert upstream.closed == 1 and reported == [call]
    assert call.status == 200 and call.client_gone and call.response_bytes > 0 and not call.upstream_cut
    assert any("during a pause in the answer" in n and n.endswith("gridctl trace closed the upstream")
               for n in call.notes), call.notes
    diag.diagnose([call])
    assert "trace.stream_cut_downstream" in _codes(call)


@pytest.mark.parametrize("goodbye", [False, True])
def test_a_client_that_goes_from_a_terminated_tls_connection_closes_the_upstream(goodbye: bool) -> None:
    """The forward proxy's decrypted connections are watched too (the raw socket's peek, never the TLS layer's),
    whether the client just closes (Python's clients) or sends a close_notify first (curl, OpenSSL)."""
    import ssl

    from gridctl.emulator.server import start as start_emulator
    from gridctl.trace.intercept import forward_proxy

    hung = start_emulator("hang")
    try:
        with Proxy(_up(hung.root_url), trust_env=False).start() as proxy, \
                forward_proxy(proxy, {}, hung.root_url, True) as env:
            ctx = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as raw:
                raw.sendall(b"CONNECT api.thegrid.ai:443 HTTP/1.1\r\nHost: api.thegrid.ai:443\r\n\r\n")
                assert raw.recv(4096).startswith(b"HTTP/1.1 200")
                tls = ctx.wrap_socket(raw, server_hostname="api.thegrid.ai")
                tls.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.thegrid.ai\r\n"
                            b"Authorization: Bearer k\r\nContent-Length: 2\r\n\r\n{}")
                for _ in range(200):
                    if proxy.calls:
                        break
                    time.sleep(0.01)
                time.sleep(0.2)
                if goodbye:  # the alert goes out at once; the wait for the proxy's own goes nowhere
                    tls.settimeout(0.2)
                    with contextlib.suppress(OSError, ValueError):
                        tls.unwrap()
                tls.close()
            assert proxy.calls[0].done.wait(20.0), "the call did not end when its client went"  # generous, as above
            call = proxy.calls[0]
    finally:
        hung.stop()
    assert call.status is None and call.client_gone and call.url.startswith("https://api.thegrid.ai/")
    assert any("before the first byte" in n for n in call.notes), call.notes


def test_trace_stopping_is_not_a_client_that_went() -> None:
    with Hostile("silent") as upstream:
        proxy = Proxy(_up(upstream.root_url), trust_env=False).start()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            for _ in range(200):
                if upstream.hits:
                    break
                time.sleep(0.01)
            proxy.stop()  # disconnects the client itself: the call is trace's unfinished one, not a departure
            call = proxy.calls[0]
    assert call.notes == ["unfinished: no answer before the client gave up or the trace ended"], call.notes


def test_a_client_that_stays_through_pauses_keeps_getting_the_answer() -> None:
    with Hostile("trickle", interval=0.15) as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n{"stream": true}')
            got = b""
            while got.count(b"\r\n1\r\n") < 4:  # four one-byte chunks, each after a pause
                chunk = sock.recv(65536)
                assert chunk, got
                got += chunk
            assert not proxy.calls[0].done.is_set() and not proxy.calls[0].client_gone
        calls = _settled(proxy)
    assert got.startswith(b"HTTP/1.1 200") and calls[0].client_gone  # it went, when it closed: after the pauses


def test_a_client_that_stays_or_sends_ahead_gets_its_answer(emu: Emulator) -> None:
    """Bytes the client sends while it waits (a pipelined request) are not a departure, and are not lost."""
    with Proxy(_up(emu.root_url), trust_env=False).start() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            one = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n"
            sock.sendall(one + one[:20])
            time.sleep(0.05)
            sock.sendall(one[20:].replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            got = b""
            while chunk := sock.recv(65536):
                got += chunk
        calls = _settled(proxy, 2)
    assert got.count(b"HTTP/1.1 ") == 2 and [c.status for c in calls] == [c.status for c in calls[:1]] * 2
    assert not any(c.client_gone or c.notes for c in calls), [c.notes for c in calls]
    direct = httpx.get(emu.root_url + "/v1/models", headers={"Authorization": "Bearer k"}, timeout=5)
    assert calls[0].status == direct.status_code


# --- 6. limits in total -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lengths", [["-1"], ["abc"], ["5", "6"], ["1e3"], ["99999999999999999999"]])
def test_an_invalid_content_length_is_400_and_not_forwarded(lengths: list[str]) -> None:
    with Hostile("empty") as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        head = "".join(f"Content-Length: {v}\r\n" for v in lengths)
        answer = _raw(proxy.port, f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{head}\r\n{{}}".encode())
    assert answer.split(b" ", 2)[1] in (b"400", b"413") and upstream.hits == 0


def test_a_half_received_request_is_never_forwarded() -> None:
    with Hostile("empty") as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        answer = _raw(proxy.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"m")
        chunked = _raw(proxy.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       b"\r\n10\r\n{\"model\": 1")
        headers_cut = _raw(proxy.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAccept: appl")
        no_blank_line = _raw(proxy.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.1)
    assert answer == chunked == headers_cut == no_blank_line == b"" and upstream.hits == 0


def test_a_slow_client_is_cut_at_its_deadline_not_per_read() -> None:
    with Hostile("empty") as upstream, \
            Proxy(_up(upstream.root_url), trust_env=False, request_deadline=0.5).start() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < 4:  # a byte every 0.1 s: each read is quick, the request never ends
                try:
                    sock.sendall(b"{")
                    if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
    assert closed and upstream.hits == 0


def test_request_bodies_share_one_memory_budget() -> None:
    with Hostile("empty") as upstream, \
            Proxy(_up(upstream.root_url), trust_env=False, body_budget=1 << 20).start() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as held:
            held.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\n\r\n{")
            time.sleep(0.2)
            answer = _raw(proxy.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\n\r\n")
        calls = _settled(proxy)
        for _ in range(200):  # given back when the held request ended (its handler sees the close)
            if proxy.budget.used == 0:
                break
            time.sleep(0.01)
        assert proxy.budget.used == 0
    assert answer.startswith(b"HTTP/1.1 503") and b"X-Gridctl-Trace: proxy" in answer and upstream.hits == 0
    assert calls[0].answered_by_trace and "memory" in calls[0].findings[0].message


def test_the_connection_cap_answer_says_trace_answered() -> None:
    with Proxy(_up("http://127.0.0.1:9"), max_connections=1, trust_env=False).start() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port)):
            time.sleep(0.1)
            answer = _raw(proxy.port, b"")
        calls = _settled(proxy)
    assert answer.startswith(b"HTTP/1.1 503") and b"X-Gridctl-Trace: proxy" in answer
    assert calls[0].answered_by_trace and "trace.proxy_answered" in call_line(calls[0])


# --- 7. proxy variables that cannot work ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["http://pro\x01xy:8080", "socks9://proxy:1080", "http://", "http://proxy:99999",
                                   "http://pro xy:8080"])
def test_a_bad_proxy_variable_is_a_network_problem(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(NetworkProblem, match="net.proxy"):
        Proxy(_up("https://api.thegrid.ai"))


# --- 8. what the program sees is what it would see without trace ------------------------------------------------


def test_an_upstream_reset_reaches_the_client_as_a_reset() -> None:
    with Hostile("reset") as upstream, Proxy(_up(upstream.root_url), trust_env=False).start() as proxy:
        answer = _raw(proxy.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
                      half_close=False)
        calls = _settled(proxy)
    assert answer == b"" and not calls[0].answered_by_trace and calls[0].status is None
    assert not calls[0].client_gone  # the upstream's reset, not a client that went


def test_a_refused_connection_reaches_the_client_as_no_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with Proxy(_up(f"http://127.0.0.1:{closed_port}"), trust_env=False).start() as proxy:
        answer = _raw(proxy.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        calls = _settled(proxy)
    assert answer == b"" and _errors(calls[0])[0] == "net.refused" and not calls[0].answered_by_trace


def test_a_retry_after_trace_answered_says_so() -> None:
    url = "https://api.thegrid.ai/v1/chat/completions"
    first = Call(1, "g", "POST", "u", url, url, 100.0, status=504, answered_by_trace=True, total_ms=1.0)
    again = Call(2, "g", "POST", "u", url, url, 100.5, status=200, raw_response=b"{}", content_type="application/json")
    diag.diagnose([first, again])
    assert any("gridctl trace answered 504 itself" in n for n in again.notes)
    assert not any("gave up" in n for n in again.notes)


# --- 9. one reading of a cut stream ------------------------------------------------------------------------------


def test_trace_and_doctor_read_an_early_cut_the_same() -> None:
    stats = StreamStats(events=2, last_event_ms=9.0)
    call = Call(1, "g", "GET", "u", "u", "https://api.thegrid.ai/v1/chat/completions", 100.0, status=200, ttfb_ms=5.0,
                total_ms=12.0, content_type="text/event-stream", stream=stats)
    diag.diagnose([call])
    traced = call.findings[0]
    doctored = cut_reading(ProbeStats(events=2, elapsed_s=0.007, quiet_s=0.003))
    assert traced.code == doctored.code == "stream.cut"
    assert traced.fix == doctored.fix and "closed actively" in traced.fix and "30-60" not in traced.fix
