"""gridctl trace's pieces: redaction, the per-call reading of traffic, and the proxy's bounds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from gridctl.emulator.server import Emulator, redact_credential, start
from gridctl.findings import CATALOGUE, finding
from gridctl.grid import is_loopback_host as is_loopback
from gridctl.secrets import redact_header, redact_url
from gridctl.trace import diagnose as diag
from gridctl.trace.main import parse_listen
from gridctl.trace.proxy import Proxy, Upstream
from gridctl.trace.record import Call, StreamStats, redact_body
from gridctl.trace.session import child_env, upstreams
from tests.support.cli import listen_exports

KEY = "gk-unit-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5Aa0o"


def test_redaction_of_headers_urls_and_bodies() -> None:
    assert KEY not in redact_header("Authorization", f"Bearer {KEY}")
    assert redact_header("Authorization", f"Bearer {KEY}").startswith("Bearer ")
    assert KEY not in redact_header("x-api-key", KEY)
    assert redact_header("Content-Type", "application/json") == "application/json"
    url = redact_url("https://gw.thegrid.ai/r/v1/chat/completions?token=s1gn3d-t0ken&x=1")
    assert "s1gn3d-t0ken" not in url and "token=REDACTED" in url and "x=1" in url
    body = redact_body(b'{"api_key": "sk-secret-123", "next": "/r/v1?token=abcdef"}')
    assert "sk-secret-123" not in body and "abcdef" not in body


def test_stream_stats_see_the_end_marker_across_chunks() -> None:
    stats = StreamStats()
    stats.feed(b'data: {"choices":[{"finish_re', 1.0, 0.0)
    stats.feed(b'ason":"stop"}]}\n\n', 1.5, 0.0)
    assert stats.done and stats.events == 1 and stats.first_event_ms == 1000 and stats.max_gap_ms == 500


@pytest.mark.parametrize(("url", "sdk", "base"), [
    ("https://api.thegrid.ai/v1/chat/completions", None, "https://api.thegrid.ai/v1"),
    ("https://api.thegrid.ai/v1/v1/chat/completions", None, "https://api.thegrid.ai/v1/v1"),
    ("https://api.thegrid.ai/v1/chat/completions/chat/completions", None, "https://api.thegrid.ai/v1/chat/completions"),
    ("https://messages-beta.api.thegrid.ai/v1/messages", "anthropic", "https://messages-beta.api.thegrid.ai"),
])
def test_base_of_removes_what_the_sdk_appended(url: str, sdk: str | None, base: str) -> None:
    assert diag.base_of(url, sdk) == base


def test_listen_parsing() -> None:
    assert parse_listen("8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("0.0.0.0:9") == ("0.0.0.0", 9)
    with pytest.raises(ValueError):
        parse_listen("host:http")
    assert is_loopback("127.0.0.2") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def _call(n: int, status: int | None, started: float, total_ms: float = 10.0, **kw: object) -> Call:
    call = Call(id=n, slot="g", method="POST", url="http://127.0.0.1:1/_g/g/v1/chat/completions",
                upstream_url="https://api.thegrid.ai/v1/chat/completions",
                sdk_url="https://api.thegrid.ai/v1/chat/completions", started=started, status=status,
                total_ms=total_ms, raw_auth=f"Authorization: Bearer {KEY}",
                raw_body=b'{"model":"text-prime","messages":[{"role":"user","content":"hi"}]}',
                content_type="application/json", raw_response=b'{"errors":{"detail":"x"}}', model="text-prime")
    for k, v in kw.items():
        setattr(call, k, v)
    return call


def codes(call: Call) -> list[str]:
    return [f.code for f in call.findings]


def test_retry_without_backoff_and_before_retry_after() -> None:
    calls = [_call(1, 429, 100.0), _call(2, 429, 100.02), _call(3, 429, 100.1, retry_after_s=None)]
    diag.diagnose(calls)
    assert "trace.retry_no_backoff" in codes(calls[1]) and calls[0].findings[0].severity == "warning"
    calls = [_call(1, 429, 100.0, retry_after_s=2.0), _call(2, 200, 100.5, raw_response=b"{}")]
    diag.diagnose(calls)
    assert "trace.retry_too_soon" in codes(calls[1])
    calls = [_call(1, 429, 100.0, retry_after_s=1.0), _call(2, 200, 101.2, raw_response=b"{}")]
    diag.diagnose(calls)
    assert codes(calls[1]) == [] and calls[1].notes == ["retry of #1 after 1190 ms (Retry-After 1 s)"]


def test_redirect_followed_as_get_and_not_followed() -> None:
    first = _call(1, 307, 100.0, location="https://gw.thegrid.ai/r?token=REDACTED", raw_response=b"")
    second = _call(2, 405, 100.1, method="GET", raw_body=b"", hop_of=1)
    diag.diagnose([first, second])
    assert "trace.redirect_as_get" in codes(second) and codes(first) == ["http.redirect"]
    alone = _call(1, 307, 100.0, location="https://gw.thegrid.ai/r?token=REDACTED", raw_response=b"")
    diag.diagnose([alone])
    assert codes(alone)[0] == "trace.redirect_not_followed"


def test_stream_cut_between_proxy_and_client() -> None:
    stats = StreamStats(events=3, done=True)
    call = _call(1, 200, 100.0, stream=stats, client_gone=True, content_type="text/event-stream")
    diag.diagnose([call])
    assert codes(call)[0] == "trace.stream_cut_downstream"
    assert all(code in CATALOGUE for code in ("trace.no_calls", "trace.stream_cut_downstream"))


def test_environment_keeps_the_users_path_and_upstream() -> None:
    env = {"OPENAI_BASE_URL": "https://api.thegrid.ai/v1/v1", "PATH": "/bin"}
    ups = upstreams(env, None)
    assert [(u.env, u.origin) for u in ups] == [("OPENAI_BASE_URL", "https://api.thegrid.ai")]
    with Proxy(ups) as proxy:
        new = child_env(env, proxy)
    assert new["OPENAI_BASE_URL"] == f"{proxy.root}/_g/o/v1/v1" and "THEGRID_BASE_URL" not in new
    assert "127.0.0.1" in new["NO_PROXY"]
    every = {u.env for u in upstreams({}, None)}
    assert every == {"OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_BASE_URL", "THEGRID_BASE_URL"}


def test_look_alike_host_gets_nothing() -> None:
    ups = upstreams({"OPENAI_BASE_URL": "https://api.thegird.ai/v1"}, None)
    assert ups[0].refused is not None and ups[0].refused.code == "url.host_typo"
    with Proxy(ups).start() as proxy:
        r = httpx.post(proxy.base_for("o") + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                       json={"model": "text-prime"}, timeout=5)
        assert r.status_code == 502
        for _ in range(50):
            if proxy.calls and proxy.calls[0].done.is_set():
                break
            time.sleep(0.01)
    diag.diagnose(proxy.calls)
    assert codes(proxy.calls[0])[0] == "url.host_typo"


@pytest.fixture(scope="module")
def cross_host() -> Iterator[Emulator]:
    emu = start("redirect-cross-host")
    yield emu
    emu.stop()


def test_key_stays_with_the_named_upstream_on_a_cross_host_hop(cross_host: Emulator) -> None:
    ups = [Upstream("g", "THEGRID_BASE_URL", "https://api.thegrid.ai/v1", cross_host.root_url, "https://api.thegrid.ai")]
    with Proxy(ups).start() as proxy:
        r = httpx.post(proxy.base_for("g") + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                       json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]},
                       follow_redirects=True, timeout=5)
    assert r.history and r.history[0].status_code == 307
    assert r.history[0].headers["location"].startswith(proxy.root + "/_g/r/")  # the second hop comes back to us
    first, second = cross_host.requests[-2:]
    assert first["headers"].get("authorization") == redact_credential(f"Bearer {KEY}")
    assert "authorization" not in second["headers"] and second["path"].startswith("/r/")


def test_connection_cap_refuses_instead_of_queueing() -> None:
    ups = [Upstream("g", "THEGRID_BASE_URL", "http://127.0.0.1:9/v1", "http://127.0.0.1:9", "http://127.0.0.1:9")]
    with Proxy(ups, max_connections=1).start() as proxy:
        held = socket.create_connection(("127.0.0.1", proxy.port))
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", proxy.port)) as extra:
            extra.settimeout(5)
            assert extra.recv(100).startswith(b"HTTP/1.1 503")
        held.close()


def _gridctl(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THEGRID", "OPENAI_", "ANTHROPIC_"))}
    return subprocess.Popen([sys.executable, "-m", "gridctl", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env | {"NO_COLOR": "1"})


def test_ctrl_c_stops_the_child_and_frees_the_port() -> None:
    script = "import os,sys,time; print(os.getpid(), os.environ['OPENAI_BASE_URL'], flush=True); time.sleep(60)"
    proc = _gridctl("trace", "--emulate", "healthy", "--", sys.executable, "-c", script)
    assert proc.stdout is not None
    pid, base = proc.stdout.readline().split()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
    port = int(base.split(":")[2].split("/")[0])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_listen_alone_prints_exports_and_serves_until_ctrl_c() -> None:
    proc = _gridctl("trace", "--listen", "127.0.0.1:0", "--emulate", "healthy")
    assert proc.stderr is not None
    exports = listen_exports(proc.stderr)
    r = httpx.post(exports["OPENAI_BASE_URL"] + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                   json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]}, timeout=5)
    assert r.status_code == 200 and set(exports) == {"OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_BASE_URL",
                                                     "THEGRID_BASE_URL"}
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert "trace #1 POST /v1/chat/completions 200" in err and "1 call, 0 failed" in err
    assert proc.returncode == 130 and KEY not in err  # Ctrl-C ends it: 130, as the README says, after the summary


def test_non_loopback_listen_needs_confirmation() -> None:
    from typer.testing import CliRunner

    from gridctl.cli import app

    run = CliRunner().invoke(app, ["trace", "--listen", "0.0.0.0:0"])
    assert run.exit_code == 2 and "--yes" in run.stderr
    assert CliRunner().invoke(app, ["trace"]).exit_code == 2


def test_retry_after_a_redirected_call_reads_where_its_chain_ended() -> None:
    first = _call(1, 307, 100.0, location="https://gw.thegrid.ai/r?token=REDACTED", raw_response=b"")
    hop = _call(2, 429, 100.01, hop_of=1, retry_after_s=1.0)
    again = _call(3, 307, 100.02, location="https://gw.thegrid.ai/r?token=REDACTED", raw_response=b"")
    diag.diagnose([first, hop, again])
    assert "trace.retry_too_soon" in codes(again) and again.notes[0].startswith("retry of #2")


def test_the_traced_command_is_shown_without_its_secrets() -> None:
    from gridctl.trace.record import redact_argv

    argv = ["curl", "-H", f"Authorization: Bearer {KEY}", "https://h/x?token=s3cr3t-tok", "--api-key", "k-123456",
            "-H", "Authorization: Bearer $THEGRID_API_KEY"]
    shown = " ".join(redact_argv(argv))
    assert KEY not in shown and "s3cr3t-tok" not in shown and "k-123456" not in shown
    assert "Bearer $THEGRID_API_KEY" in shown


EXPIRED = b'{"error":{"message":"Redirect token expired","type":"invalid_request_error"}}'


def test_signed_hop_rejected_is_the_token_not_the_key() -> None:
    first = _call(1, 307, 100.0, location="https://gw.thegrid.ai/r?token=REDACTED", raw_response=b"")
    hop = _call(2, 401, 100.01, hop_of=1, upstream_url="https://gw.thegrid.ai/r/v1/chat/completions?token=REDACTED",
                raw_response=EXPIRED)
    rep = diag.report([first, hop], {})
    assert codes(hop) == ["http.redirect_rejected"] and rep.diagnosis is not None
    assert rep.diagnosis.code == "http.redirect_rejected" and rep.exit_override is None
    assert "Redirect token expired" in rep.diagnosis.message and "token=" not in rep.diagnosis.message
    assert "call #1's 307" in rep.diagnosis.message
    # the same 401 on a hop without a signed token, and on a first hop, is about the key
    plain = _call(2, 401, 100.01, hop_of=1, upstream_url="https://api.thegrid.ai/r/v1/chat/completions",
                  raw_response=EXPIRED)
    diag.diagnose([first, plain])
    assert codes(plain)[0] == "auth.rejected"
    direct = _call(1, 401, 100.0, raw_response=EXPIRED)
    diag.diagnose([direct])
    assert codes(direct)[0] == "auth.rejected"


def test_retry_after_a_rejected_token_that_works_is_ok() -> None:
    signed = "https://gw.thegrid.ai/r/v1/chat/completions?token=REDACTED"
    calls = [_call(1, 307, 100.0, location=signed, raw_response=b""),
             _call(2, 401, 100.01, hop_of=1, upstream_url=signed, raw_response=EXPIRED),
             _call(3, 307, 100.05, location=signed, raw_response=b""),
             _call(4, 200, 100.06, hop_of=3, upstream_url=signed, raw_response=b"{}")]
    rep = diag.report(calls, {})
    assert rep.diagnosis is None and calls[1].findings[0].severity == "warning"
    assert calls[2].notes == ["retry of #2 after 30 ms"]  # #2 ended at 100.02


def test_body_cut_by_the_upstream_counts_the_bytes() -> None:
    cut = _call(1, 200, 100.0, upstream_cut=True, response_bytes=177, raw_response=b'{"id":"x","cho',
                response_headers=[("content-type", "application/json"), ("content-length", "354")])
    rep = diag.report([cut], {})
    assert rep.diagnosis is not None and rep.diagnosis.code == "net.reset"
    assert "after 177 of the 354 bytes its Content-Length announced" in rep.diagnosis.message
    assert rep.diagnosis.data == {"bytes_received": 177, "bytes_expected": 354}
    chunked = _call(1, 200, 100.0, upstream_cut=True, response_bytes=40,
                    response_headers=[("Transfer-Encoding", "chunked")])
    diag.diagnose([chunked])
    assert "after 40 bytes of a chunked body, before its last chunk" in chunked.findings[0].message
    stalled = _call(1, 200, 100.0, upstream_cut=True, response_bytes=10, response_headers=[("content-length", "99")],
                    cut_by=finding("net.no_response", "No more bytes came."))
    diag.diagnose([stalled])
    assert codes(stalled) == ["net.no_response"]
    assert stalled.findings[0].message.endswith("The body stopped after 10 of the 99 bytes its Content-Length announced.")
    # a client that retries a cut body and then gets its answer: the cut attempt is evidence
    calls = [_call(1, 200, 100.0, upstream_cut=True, response_bytes=177, response_headers=[("content-length", "354")]),
             _call(2, 200, 100.5, raw_response=b"{}")]
    assert diag.report(calls, {}).diagnosis is None and calls[0].findings[0].severity == "warning"


def test_proxy_names_a_body_that_stalled_upstream_as_a_timeout_not_a_reset() -> None:
    from tests.support.hostile import Hostile

    with Hostile("trickle", interval=0.6) as srv:  # headers at once, then one byte per 0.6 s
        ups = [Upstream("g", "THEGRID_BASE_URL", srv.base_url, srv.root_url, srv.root_url)]
        with Proxy(ups, timeout=0.2).start() as proxy:  # each upstream read may wait 0.2 s
            with pytest.raises(httpx.HTTPError):  # the client sees its connection dropped, as upstream's was
                httpx.post(proxy.base_for("g") + "/chat/completions", json={"model": "text-prime"}, timeout=5)
            assert proxy.calls[0].done.wait(5)
    call = proxy.calls[0]
    assert call.upstream_cut and call.cut_by is not None
    diag.diagnose([call])
    root = diag.root_cause(call)
    assert root is not None and root.code == "net.no_response" and codes(call)[0] == root.code
    assert root.message.endswith(f"The body stopped after {call.response_bytes} bytes of a chunked "
                                             "body, before its last chunk.")


def test_a_long_session_keeps_the_latest_calls_and_counts_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_KEPT, the oldest finished calls are counted, not kept; every call still gets its live line,
    diagnosed from the calls just before it (LIVE_WINDOW), not from the whole session."""
    import json

    from gridctl.trace import main as trace_main
    from gridctl.trace import proxy as trace_proxy
    from tests.support.cli import clean_env, invoke

    monkeypatch.setattr(trace_proxy, "MAX_KEPT", 5)
    monkeypatch.setattr(trace_main, "LIVE_WINDOW", 3)
    seen: list[int] = []
    real = diag.diagnose

    def diagnose(calls: list[Call], final: bool = True, idle_warn_ms: float = diag.IDLE_WARN_MS) -> None:
        seen.append(len(calls))
        real(calls, final, idle_warn_ms)

    monkeypatch.setattr(diag, "diagnose", diagnose)
    program = ("import os, httpx\n"
               "for _ in range(12):\n"
               "    httpx.post(os.environ['OPENAI_BASE_URL'] + '/chat/completions', timeout=5,\n"
               "               headers={'Authorization': 'Bearer ' + os.environ['OPENAI_API_KEY']},\n"
               "               json={'model': 'text-prime', 'messages': [{'role': 'user', 'content': 'hi'}]})\n")
    run = invoke("trace", "--json", "--emulate", "healthy", "--", sys.executable, "-c", program, env=clean_env())
    doc = json.loads(run.out)
    assert run.code == 0, run
    assert [c["id"] for c in doc["calls"]] == list(range(8, 13)) and doc["calls_not_kept"] == 7
    assert len(re.findall(r"trace #\d+ POST ", run.err)) == 12  # every call's live line
    assert seen[:-1] and max(seen[:-1]) <= 4 and seen[-1] == 5  # live: window + the call; final: the kept calls


def test_the_summary_says_how_many_calls_were_not_kept() -> None:
    from gridctl.render.trace import summary_lines
    from gridctl.result import Report

    report = Report("trace", [], extra={"calls_not_kept": 7})
    assert summary_lines(report, [], 0)[0] == "trace: 0 calls, 0 failed; the program exited 0; " \
        "7 earlier call(s) counted, not kept"
    assert "not kept" not in summary_lines(Report("trace", []), [], 0)[0]


def test_redirect_hops_are_remembered_within_the_same_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Grid's 307 is on every call's path: the proxy remembers each hop until its second leg comes, and
    no more than MAX_KEPT of them, so a long session does not grow with its redirects either."""
    from gridctl.trace import proxy as trace_proxy

    monkeypatch.setattr(trace_proxy, "MAX_KEPT", 5)
    with start("redirect") as emu:
        ups = [Upstream("g", "THEGRID_BASE_URL", "https://api.thegrid.ai/v1", emu.root_url, "https://api.thegrid.ai")]
        with Proxy(ups).start() as proxy, httpx.Client(timeout=5, follow_redirects=True) as client:
            statuses = [client.post(proxy.base_for("g") + "/chat/completions",
                                    headers={"Authorization": f"Bearer {KEY}"},
                                    json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]}
                                    ).status_code for _ in range(12)]
            for _ in range(100):  # the last call's record is finished just after its answer went out
                if all(c.done.is_set() for c in proxy.calls):
                    break
                time.sleep(0.01)
            assert statuses == [200] * 12  # every second leg found its hop
            assert len(proxy._hops) == 5 and len(proxy.calls) == 5 and proxy.forgotten == 24 - 5
