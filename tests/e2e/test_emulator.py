"""The emulator over real sockets: httpx, curl and raw bytes against each scenario."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from gridctl.emulator import server
from gridctl.emulator.scenarios import DEMO_KEY, INSTRUMENTS, SCENARIOS
from gridctl.emulator.server import Emulator, LoopbackOnlyError, UnknownScenarioError, redact_credential, start

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
PING: dict[str, Any] = {"model": "text-prime", "messages": [{"role": "user", "content": "ping"}]}
REQ_ID = re.compile(r"^req_[0-9a-f]{16}$")
EmulatorFactory = Callable[..., Emulator]  # the `emulator` fixture


def chat(emu: Emulator, body: Any = None, headers: dict[str, str] | None = None,
         path: str = "/v1/chat/completions", **kwargs: Any) -> httpx.Response:
    payload = PING if body is None else body
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return httpx.post(emu.root_url + path, content=content, trust_env=False,
                      headers=AUTH if headers is None else headers, **kwargs)


def detail(response: httpx.Response) -> str:
    return str(response.json()["errors"]["detail"])


def test_healthy_completion_names_the_serving_model(healthy_emulator: Emulator) -> None:
    r = chat(healthy_emulator)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == INSTRUMENTS["text-prime"] != "text-prime"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "pong"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] > 0


def test_request_ids_on_success_error_and_status_page(healthy_emulator: Emulator) -> None:
    responses = [chat(healthy_emulator), chat(healthy_emulator, headers={}),
                 httpx.get(healthy_emulator.root_url + "/api/v2/status.json")]
    ids = [r.headers["x-grid-request-id"] for r in responses]
    assert [r.status_code for r in responses] == [200, 401, 200]
    assert all(REQ_ID.match(i) for i in ids) and len(set(ids)) == 3
    assert all(r.headers["x-request-id"] == r.headers["x-grid-request-id"] for r in responses)


@pytest.mark.parametrize(("headers", "needle"), [
    ({}, "Missing Authorization"),
    ({"Authorization": f"bearer {DEMO_KEY}"}, "capital B"),
    ({"Authorization": DEMO_KEY}, "Bearer"),
    ({"x-api-key": DEMO_KEY}, "x-api-key is only for the Messages API"),
    ({"Authorization": "Bearer YOUR_GRID_API_KEY"}, "Invalid API key"),
    ({"Authorization": "Bearer YOUR_KEY"}, "Invalid API key"),
    ({"Authorization": f"Bearer Bearer {DEMO_KEY}"}, "Invalid API key"),
    ({"Authorization": "Bearer \"abc123\""}, "Invalid API key"),
])
def test_auth_failures_are_401_with_a_helpful_detail(
    healthy_emulator: Emulator, headers: dict[str, str], needle: str
) -> None:
    r = chat(healthy_emulator, headers=headers)
    assert r.status_code == 401
    assert needle in detail(r)


def test_any_other_nonempty_key_is_accepted(healthy_emulator: Emulator) -> None:
    assert chat(healthy_emulator, headers={"Authorization": "Bearer abc123"}).status_code == 200


@pytest.mark.parametrize(("body", "code", "needle"), [
    (b"{not json", 400, "not valid JSON"),
    ([1, 2], 400, "JSON object"),
    ({"messages": []}, 400, "'model' is missing"),
    ({"model": "text-prime"}, 400, "'messages' is missing"),
    ({**PING, "temperature": 2.5}, 422, "temperature"),
    ({**PING, "top_p": 1.5}, 422, "top_p"),
    ({**PING, "max_tokens": 0}, 422, "max_tokens"),
    ({**PING, "n": 0}, 422, "'n'"),
    ({**PING, "model": "gpt-5.2"}, 404, "Unknown instrument 'gpt-5.2'"),
    ({**PING, "model": "claude-sonnet-4-6"}, 404, "text-prime"),
])
def test_bad_bodies(healthy_emulator: Emulator, body: Any, code: int, needle: str) -> None:
    r = chat(healthy_emulator, body=body)
    assert r.status_code == code
    assert needle in detail(r)


@pytest.mark.parametrize(("path", "needle"), [
    ("/v1/v1/chat/completions", "doubled /v1"),
    ("/chat/completions", "lacks /v1"),
    ("/v1/completions", "only /v1/chat/completions"),
    ("/v1/embeddings", "only /v1/chat/completions"),
    ("/v1/chat/completions/", "nothing appended"),
])
def test_wrong_paths_are_404(healthy_emulator: Emulator, path: str, needle: str) -> None:
    r = chat(healthy_emulator, path=path)
    assert r.status_code == 404
    assert needle in detail(r)


def test_every_instrument_answers_and_lab_market_is_accepted(healthy_emulator: Emulator) -> None:
    for name in ("text-standard", "agent-max", "claude-opus-latest", "glm-latest"):
        assert chat(healthy_emulator, body={**PING, "model": name}).status_code == 200


def test_models_list_needs_no_key(emulator: EmulatorFactory) -> None:
    r = httpx.get(emulator().base_url + "/models")
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "list"
    assert [m["id"] for m in data["data"]] == list(INSTRUMENTS)
    assert {m["owned_by"] for m in data["data"]} == {"thegrid"}
    bad = emulator("bad-key")
    assert httpx.get(bad.base_url + "/models").status_code == 200
    assert httpx.get(bad.base_url + "/models", headers=AUTH).status_code == 401
    assert httpx.get(emulator("models-unavailable").base_url + "/models").status_code == 500


@pytest.mark.parametrize(("scenario", "model", "code", "needle"), [
    ("bad-key", "text-prime", 401, "Invalid API key"),
    ("no-credits", "text-prime", 402, "Insufficient credits"),
    ("no-credits", "code-max", 402, "Insufficient credits"),
    ("instrument-no-tokens", "text-max", 402,
     "No available consumption tokens for instrument text-max"),
    ("server-error", "text-prime", 500, "not billed"),
    ("incident", "text-prime", 500, "not billed"),
])
def test_failure_scenarios(
    emulator: EmulatorFactory, scenario: str, model: str, code: int, needle: str
) -> None:
    r = chat(emulator(scenario), body={**PING, "model": model})
    assert r.status_code == code
    assert needle in detail(r)


def test_instrument_no_tokens_spares_the_other_tiers(emulator: EmulatorFactory) -> None:
    emu = emulator("instrument-no-tokens")
    codes = {m: chat(emu, body={**PING, "model": m}).status_code for m in list(INSTRUMENTS)[:9]}
    assert {m for m, c in codes.items() if c == 402} == {"text-max", "code-max", "agent-max"}
    assert {c for m, c in codes.items() if not m.endswith("-max")} == {200}


def test_rate_limited_sends_retry_after(emulator: EmulatorFactory) -> None:
    r = chat(emulator("rate-limited"))
    assert r.status_code == 429
    assert r.headers["retry-after"] == r.headers["x-ratelimit-retry-after"] == "1"


def test_replenishing_clears_after_two_requests(emulator: EmulatorFactory) -> None:
    emu = emulator("replenishing")
    codes = [chat(emu).status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]


def test_html_error_is_a_proxy_page(emulator: EmulatorFactory) -> None:
    r = chat(emulator("html-error"))
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in r.text
    assert r.headers["x-request-id"]


def test_redirect_same_host_is_a_signed_url(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect")
    first = chat(emu)
    assert first.status_code == 307
    assert re.match(r"^/r/v1/chat/completions\?token=\d+\.[0-9a-f]{32}$", first.headers["location"])
    assert "You are being" in first.text
    followed = chat(emu, follow_redirects=True)  # httpx keeps Authorization on the same host: also fine
    assert followed.status_code == 200 and followed.json()["choices"]
    assert emu.requests[-1]["path"].startswith("/r/")
    assert emu.requests[-1]["headers"]["authorization"] == redact_credential(AUTH["Authorization"])


@pytest.mark.parametrize("scenario", ["redirect", "redirect-cross-host"])
def test_signed_second_hop_needs_the_token_not_the_key(emulator: EmulatorFactory, scenario: str) -> None:
    emu = emulator(scenario)
    location = chat(emu).headers["location"]
    url = location if location.startswith("http") else emu.root_url + location
    no_key = httpx.post(url, content=json.dumps(PING).encode(), trust_env=False)
    assert no_key.status_code == 200 and no_key.json()["choices"]  # as The Grid's own CLI sends it
    assert httpx.post(url, content=json.dumps(PING).encode(), headers=AUTH, trust_env=False).status_code == 200
    altered = url[:-1] + ("0" if url[-1] != "0" else "1")
    other_path = url.replace("/chat/completions", "/messages")
    for bad, needle in ((altered, "altered"), (url.split("?")[0], "Missing redirect token"),
                        (other_path, "altered"), (url.replace("token=", "token=9"), "altered")):
        r = httpx.post(bad, content=json.dumps(PING).encode(), headers=AUTH, trust_env=False)
        assert r.status_code == 401 and needle in detail(r), bad


def test_redirect_to_another_host_works_without_the_key_in_httpx(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-cross-host")
    assert chat(emu).headers["location"].startswith(f"http://localhost:{emu.port}/r/v1/")
    r = chat(emu, follow_redirects=True)
    assert r.status_code == 200  # httpx drops Authorization across hosts; the signed token authorises the hop
    last = emu.requests[-1]
    assert last["host"] == f"localhost:{emu.port}"
    assert "authorization" not in last["headers"]


def test_a_client_that_follows_the_307_as_a_get_gets_405(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect")
    location = chat(emu).headers["location"]
    r = httpx.get(emu.root_url + location, headers=AUTH, trust_env=False)
    assert r.status_code == 405 and "Use POST" in detail(r)


def test_expired_redirect_token_is_401_on_the_second_hop(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-token-expired")
    first = chat(emu)
    assert first.status_code == 307 and "token=" in first.headers["location"]
    r = chat(emu, follow_redirects=True)
    assert r.status_code == 401 and "expired" in detail(r)
    assert emu.requests[-1]["path"].startswith("/r/v1/chat/completions?token=")


def test_redirect_loop_never_ends(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-loop")
    with pytest.raises(httpx.TooManyRedirects):
        chat(emu, follow_redirects=True, timeout=5)
    tokens = [r["path"].split("token=")[-1] for r in emu.requests[1:]]
    assert tokens[:3] == ["1", "2", "3"]


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/curl", "-sS", "--noproxy", "*", "--max-time", "10", *args],
        capture_output=True, text=True, timeout=20, check=False,
    )


def test_curl_sees_the_307_without_dash_l(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect")
    base = [f"{emu.base_url}/chat/completions", "-H", f"Authorization: Bearer {DEMO_KEY}",
            "-H", "Content-Type: application/json", "-d", json.dumps(PING)]
    plain = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", *base)
    assert plain.stdout.startswith(f"307 http://127.0.0.1:{emu.port}/r/v1/chat/completions")
    followed = curl("-L", *base)
    assert json.loads(followed.stdout)["choices"][0]["message"]["content"] == "pong"


def test_curl_follows_the_signed_cross_host_redirect(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-cross-host")
    followed = curl("-L", f"{emu.base_url}/chat/completions", "-H", f"Authorization: Bearer {DEMO_KEY}",
                    "-H", "Content-Type: application/json", "-d", json.dumps(PING))
    assert json.loads(followed.stdout)["choices"][0]["message"]["content"] == "pong"
    assert "authorization" not in emu.requests[-1]["headers"]  # curl drops it across hosts, as The Grid's CLI


def iter_sse(response: httpx.Response) -> Iterator[str]:
    """`data:` payloads as they arrive (a list would hide timing and cut-offs)."""
    return (line[6:] for line in response.iter_lines() if line.startswith("data: "))


def sse_events(response: httpx.Response) -> list[str]:
    return list(iter_sse(response))


def test_stream_ends_with_stop_and_done(healthy_emulator: Emulator) -> None:
    body = json.dumps({**PING, "stream": True}).encode()
    with httpx.stream("POST", healthy_emulator.base_url + "/chat/completions",
                      content=body, headers=AUTH) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["transfer-encoding"] == "chunked"
        events = sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "pong"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_cut_stops_dead(emulator: EmulatorFactory) -> None:
    emu = emulator("stream-cut")
    events: list[str] = []
    body = json.dumps({**PING, "stream": True}).encode()
    url = emu.base_url + "/chat/completions"
    with (pytest.raises(httpx.RemoteProtocolError),
          httpx.stream("POST", url, content=body, headers=AUTH) as r):
        events.extend(iter_sse(r))
    assert len(events) == 2 and "[DONE]" not in events
    assert all(json.loads(e)["choices"][0]["finish_reason"] is None for e in events)
    assert chat(emu).status_code == 200  # non-streaming still works


def test_stream_idle_pauses_then_finishes(emulator: EmulatorFactory) -> None:
    emu = emulator("stream-idle")
    body = json.dumps({**PING, "stream": True}).encode()
    # No clock in the test: a read timeout shorter than the pause must fire between two events
    # (a busy machine only makes the pause longer), and with a patient reader the stream ends.
    seen: list[str] = []
    with (pytest.raises(httpx.ReadTimeout),
          httpx.stream("POST", emu.base_url + "/chat/completions", content=body, headers=AUTH,
                       timeout=httpx.Timeout(5, read=0.6)) as r):
        seen.extend(iter_sse(r))
    assert seen and "[DONE]" not in seen  # it paused after the first events, not before the answer
    with httpx.stream("POST", emu.base_url + "/chat/completions", content=body, headers=AUTH) as r:
        events = list(iter_sse(r))
    assert events[-1] == "[DONE]" and len(events) > len(seen)


def test_slow_answers_late_but_right(emulator: EmulatorFactory) -> None:
    emu = emulator("slow")
    # late: a reader that waits half the scenario's delay gives up; right: a patient one gets the answer
    with pytest.raises(httpx.ReadTimeout):
        chat(emu, timeout=httpx.Timeout(10, read=SCENARIOS["slow"].delay / 2))
    assert chat(emu, timeout=10).status_code == 200


def test_latency_is_added_to_every_answer(emulator: EmulatorFactory) -> None:
    emu = emulator(latency=0.3)
    with pytest.raises(httpx.ReadTimeout):  # not within half the latency
        httpx.get(emu.root_url + "/api/v2/status.json", timeout=httpx.Timeout(5, read=0.15))
    assert httpx.get(emu.root_url + "/api/v2/status.json").status_code == 200


def test_hang_times_out_and_stop_is_prompt() -> None:
    emu = start("hang")
    try:
        with pytest.raises(httpx.ReadTimeout):
            chat(emu, timeout=httpx.Timeout(5, read=0.5))
        assert len(emu.requests) == 1  # the request was read, just never answered
    finally:
        # the handler never answers on its own: stop() returning at all (well inside a generous
        # bound) shows it does not wait for hung handlers
        stopper = threading.Thread(target=emu.stop, daemon=True)
        stopper.start()
        stopper.join(30)
        assert not stopper.is_alive()


def test_reset_resets_the_connection(emulator: EmulatorFactory) -> None:
    emu = emulator("reset")
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            while sock.recv(4096):
                pass


def test_truncated_json_is_cut_but_framed(emulator: EmulatorFactory) -> None:
    r = chat(emulator("truncated-json"))
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content) > 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def status(emu: Emulator, page: str = "summary") -> dict[str, Any]:
    r = httpx.get(f"{emu.root_url}/api/v2/{page}.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    return dict(r.json())


def test_status_page_healthy(healthy_emulator: Emulator) -> None:
    short = status(healthy_emulator, "status")
    assert short["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert short["page"]["url"] == "https://status.thegrid.ai"
    full = status(healthy_emulator)
    assert full["incidents"] == [] and full["scheduled_maintenances"] == []
    assert {c["status"] for c in full["components"]} == {"operational"}


def test_status_page_incident(emulator: EmulatorFactory) -> None:
    full = status(emulator("incident"))
    assert full["status"]["indicator"] == "major"
    [incident] = full["incidents"]
    assert incident["name"] == "Elevated error rates on text instruments"
    assert incident["status"] == "investigating" and incident["impact"] == "major"
    api = next(c for c in full["components"] if c["name"] == "Consumption API")
    assert api["status"] == "major_outage" and api in incident["components"]


@pytest.mark.parametrize(("scenario", "indicator"), [("maintenance", "maintenance"),
                                                     ("degraded", "minor")])
def test_status_only_scenarios_keep_the_api_working(
    emulator: EmulatorFactory, scenario: str, indicator: str
) -> None:
    emu = emulator(scenario)
    assert status(emu)["status"]["indicator"] == indicator
    assert chat(emu).status_code == 200


def test_garbage_bytes_get_a_4xx_and_the_server_lives_on(healthy_emulator: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", healthy_emulator.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        reply = sock.recv(4096)
    assert re.match(rb"HTTP/1\.[01] 400 ", reply)
    assert b"x-grid-request-id: req_" in reply
    assert chat(healthy_emulator).status_code == 200


@pytest.mark.parametrize("expect", [b"", b"Expect: 100-continue\r\n"])
def test_huge_declared_body_gets_413_at_once(healthy_emulator: Emulator, expect: bytes) -> None:
    # the 50 MB body is never sent: any reply at all means the server answered without waiting for it
    with socket.create_connection(("127.0.0.1", healthy_emulator.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 52428800\r\n" + expect + b"\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_chunked_request_body_is_read(healthy_emulator: Emulator) -> None:
    def parts() -> Any:
        yield json.dumps(PING).encode()

    r = httpx.post(healthy_emulator.base_url + "/chat/completions", content=parts(), headers=AUTH)
    assert r.status_code == 200


def test_thirty_concurrent_requests(healthy_emulator: Emulator) -> None:
    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(lambda _: chat(healthy_emulator, timeout=10).status_code, range(30)))
    assert codes == [200] * 30


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "", "::", "192.168.1.1"])
def test_non_loopback_hosts_are_refused_before_binding(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    def no_bind(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("bound a socket")

    monkeypatch.setattr(server, "_Server", no_bind)
    with pytest.raises(LoopbackOnlyError) as info:
        start(host=host)
    assert "\n" not in str(info.value)


def test_localhost_is_accepted_and_cross_redirects_to_the_ip(fresh_emulator: EmulatorFactory) -> None:
    emu = fresh_emulator("redirect-cross-host", host="localhost")
    assert emu.root_url == f"http://localhost:{emu.port}"
    assert chat(emu).headers["location"].startswith(f"http://127.0.0.1:{emu.port}/r/")


def test_unknown_scenario_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError) as info:
        start("nope")
    assert isinstance(info.value, UnknownScenarioError)
    assert "healthy" in str(info.value) and "hang" in str(info.value)


def test_stop_closes_the_port_and_is_idempotent() -> None:
    with start() as emu:
        port = emu.port
    emu.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_scenarios_are_one_line_data() -> None:
    required = {"healthy", "bad-key", "no-credits", "instrument-no-tokens", "rate-limited",
                "server-error", "replenishing", "redirect", "redirect-cross-host", "hang",
                "slow", "stream-cut", "incident", "html-error"}
    assert required <= set(SCENARIOS)
    assert all(s.description and "\n" not in s.description for s in SCENARIOS.values())
    assert all(name == s.name for name, s in SCENARIOS.items())
    assert len(DEMO_KEY) == 43


def test_nothing_is_logged_by_default(
    healthy_emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    chat(healthy_emulator)
    chat(healthy_emulator, headers={"Authorization": "bearer x"})
    with socket.create_connection(("127.0.0.1", healthy_emulator.port), timeout=5) as sock:
        sock.sendall(b"\x00\xff junk\r\n\r\n")
        sock.recv(100)
    assert capfd.readouterr() == ("", "")


def test_verbose_serve_forever_logs_requests_but_never_the_key(
    capfd: pytest.CaptureFixture[str]
) -> None:
    import _thread
    import signal
    import threading

    # A shell that starts the suite in the background ignores SIGINT, and then interrupt_main() does
    # nothing: put Python's own handler back for this test so that the Ctrl-C arrives.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def ready(emu: Emulator) -> None:
        def poke() -> None:
            try:
                chat(emu, timeout=5)
            finally:
                _thread.interrupt_main()  # the Ctrl-C that ends `gridctl emulator serve`

        threading.Thread(target=poke, daemon=True).start()

    try:
        server.serve_forever("healthy", "127.0.0.1", 0, 0.0, ready=ready, verbose=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    out, err = capfd.readouterr()
    assert out == ""
    assert "POST /v1/chat/completions" in err and " 200 " in err
    assert DEMO_KEY not in err
