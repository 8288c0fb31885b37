"""ping, status, balance and models: the real CLI against the emulator over real sockets.

The contract's headline behaviours run `python -m gridctl` as a subprocess; the rest use typer's
CliRunner in this process (same program, same sockets, a tenth of the start-up time).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gridctl import grid
from gridctl.emulator.scenarios import INSTRUMENTS
from gridctl.emulator.server import Emulator, redact_credential
from tests.support.cli import Run, clean_env, emu_env, gridctl, invoke
from tests.support.contract import ENVELOPE_KEYS
from tests.support.tls import tls_server

pytestmark = pytest.mark.e2e

KEY = "gk-e2e-net-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5A"
EmulatorFactory = Callable[..., Emulator]
OK_LINE = re.compile(r"^ok (?P<model>[a-z-]+) 200 \d+ms req=(?P<rid>req_[0-9a-f]{16}) \((?P<served>[^)]+)\)$")
MAX = sorted(n for n in INSTRUMENTS if n.endswith("-max"))


def on(emu: Emulator, *args: str, key: str | None = KEY, **env: str) -> Run:
    """In process."""
    return invoke(*args, env=emu_env(emu, key, **env))


def sub(emu: Emulator, *args: str, key: str | None = KEY, **env: str) -> Run:
    """As a subprocess: the real stdout, stderr and exit status."""
    return gridctl(*args, env=emu_env(emu, key, **env))


def inference(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.requests if "/chat/completions" in r["path"]]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- ping


def test_ping_healthy_is_one_line(healthy_emulator: Emulator) -> None:
    run = sub(healthy_emulator, "ping")
    assert run.code == 0, run
    m = OK_LINE.match(run.out.rstrip("\n"))
    assert m and run.out.count("\n") == 1, run
    assert m["model"] == "text-prime" and m["served"] == INSTRUMENTS["text-prime"]
    [sent] = inference(healthy_emulator)
    assert m["rid"] == sent["request_id"]
    assert sent["method"] == "POST" and sent["headers"]["authorization"] == redact_credential(f"Bearer {KEY}")
    assert json.loads(sent["body"]) == {"model": "text-prime", "messages": [{"role": "user", "content": "ping"}]}
    assert run.err == ""


def test_ping_json_has_the_contract_data(healthy_emulator: Emulator) -> None:
    run = sub(healthy_emulator, "ping", "--json")
    assert run.code == 0, run
    doc = run.json()
    assert set(doc) == ENVELOPE_KEYS
    assert doc["schema"] == "gridctl/1" and doc["command"] == "ping" and doc["ok"] is True
    assert doc["exit_code"] == 0 and doc["diagnosis"] is None
    [check] = doc["checks"]
    data = check["data"]
    [sent] = inference(healthy_emulator)
    assert data["status_code"] == 200 and data["attempts"] == 1
    assert data["request_id"] == sent["request_id"] and doc["request_ids"] == [sent["request_id"]]
    assert data["served_model"] == INSTRUMENTS["text-prime"]
    timings = data["timings_ms"]
    assert set(timings) == {"dns", "connect", "tls", "ttfb", "total"}
    assert all(isinstance(timings[k], (int, float)) and timings[k] >= 0 for k in ("dns", "connect", "ttfb", "total"))
    assert timings["tls"] is None  # the emulator speaks plain http
    assert timings["ttfb"] <= timings["total"]
    assert doc["target"]["key"].startswith("…") and KEY not in run.out


def test_ping_dns_is_timed_for_a_host_name(healthy_emulator: Emulator) -> None:
    base = healthy_emulator.base_url.replace("127.0.0.1", "localhost")
    run = invoke("ping", "--json", env=clean_env(THEGRID_API_KEY=KEY, THEGRID_BASE_URL=base))
    assert run.code == 0, run
    dns = run.json()["checks"][0]["data"]["timings_ms"]["dns"]
    assert isinstance(dns, float) and dns >= 0


def test_ping_quiet_prints_nothing(emulator: EmulatorFactory) -> None:
    ok = sub(emulator("healthy"), "ping", "-q")
    assert (ok.code, ok.out, ok.err) == (0, "", "")
    bad = sub(emulator("bad-key"), "ping", "--quiet")
    assert (bad.code, bad.out, bad.err) == (4, "", "")


def test_ping_all_pings_nine_instruments(healthy_emulator: Emulator) -> None:
    run = on(healthy_emulator, "ping", "--all")
    assert run.code == 0, run
    lines = run.out.splitlines()
    assert [OK_LINE.match(ln)["model"] for ln in lines] == list(grid.INSTRUMENTS)  # type: ignore[index]
    assert sorted(json.loads(r["body"])["model"] for r in inference(healthy_emulator)) == sorted(grid.INSTRUMENTS)


def test_ping_all_shows_the_instruments_without_tokens(emulator: EmulatorFactory) -> None:
    run = on(emulator("instrument-no-tokens"), "ping", "--all", "--retries", "0", "--json")
    assert run.code == 5, run
    checks = run.json()["checks"]
    failing = sorted(c["data"]["model"] for c in checks if c["status"] == "fail")
    assert failing == MAX
    assert {f["code"] for c in checks for f in c["findings"]} == {"balance.instrument_unavailable"}


def test_ping_stream(emulator: EmulatorFactory) -> None:
    ok = on(emulator("healthy"), "ping", "--stream")
    assert ok.code == 0 and re.match(r"^ok stream\.ok \d+ events \d+ms req=req_[0-9a-f]{16}$", ok.out.strip()), ok
    cut = on(emulator("stream-cut"), "ping", "--stream", "--retries", "0")
    assert cut.code == 9 and cut.out.startswith("fail stream.cut 2 events"), cut


@pytest.mark.parametrize(("scenario", "args", "line", "code"), [
    ("bad-key", [], r"^fail auth\.rejected 401 \d+ms req=req_\w+$", 4),
    ("server-error", ["--retries", "0"], r"^fail http\.server_error 500 \d+ms req=req_\w+$", 8),
    ("no-credits", ["--retries", "0"], r"^fail balance\.credits_empty 402 ", 5),
    ("reset", ["--retries", "0"], r"^fail net\.reset \d+ms$", 9),
    ("truncated-json", [], r"^fail http\.unexpected 200 ", 8),
    ("cut-body", ["--retries", "0"], r"^fail net\.reset 200 ", 9),
    ("redirect-loop", [], r"^fail http\.redirect_loop 307 ", 9),
    ("html-error", ["--retries", "0"], r"^fail http\.server_error 502 ", 8),
])
def test_ping_failures(emulator: EmulatorFactory, scenario: str, args: list[str], line: str, code: int) -> None:
    run = on(emulator(scenario), "ping", "--timeout", "5", *args)
    assert run.code == code and re.match(line, run.out.strip()), run


def test_cut_body_names_the_byte_counts(emulator: EmulatorFactory) -> None:
    run = on(emulator("cut-body"), "ping", "--json", "--retries", "0")
    assert run.code == 9, run
    [cut] = run.json()["checks"][0]["findings"]
    assert cut["code"] == "net.reset" and re.search(r"after \d+ of the \d+ bytes", cut["message"])
    assert 0 < cut["data"]["bytes_received"] < cut["data"]["bytes_expected"]


def test_ping_rate_limited_honours_retry_after(emulator: EmulatorFactory) -> None:
    emu = emulator("rate-limited")
    run = on(emu, "ping", "--retries", "1", "--timeout", "5")
    assert run.code == 7, run
    assert re.match(r"^fail http\.rate_limited 429 after 2 attempts \d+ms req=req_\w+$", run.out.strip()), run
    assert len(inference(emu)) == 2  # the wait itself is pinned in tests/unit/test_client.py, with a fake sleep


def test_ping_hang_returns_within_the_budget(emulator: EmulatorFactory) -> None:
    run = sub(emulator("hang"), "ping", "--timeout", "3")
    assert run.code == 9 and run.out.startswith("fail net.no_response"), run
    took = re.search(r" (\d+)ms", run.out)  # the program's own clock against its --timeout, not the wall clock
    assert took and int(took.group(1)) <= 3000 * 1.25, run


def test_ping_replenishing_recovers(emulator: EmulatorFactory) -> None:
    run = on(emulator("replenishing"), "ping", "--json", "--retries", "2")
    assert run.code == 0, run
    [check] = run.json()["checks"]
    assert check["data"]["statuses"] == [503, 503, 200]
    assert [(f["code"], f["severity"]) for f in check["findings"]] == [("http.replenishing", "info")]


def assert_no_key(request: dict[str, Any]) -> None:
    assert "authorization" not in request["headers"] and "x-api-key" not in request["headers"]
    assert not any(KEY in value for value in request["headers"].values())


def test_same_host_signed_redirect_is_followed_without_the_key(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect")
    run = on(emu, "ping", "--json")
    assert run.code == 0, run
    first, second = inference(emu)
    assert first["headers"]["authorization"] == redact_credential(f"Bearer {KEY}")
    assert second["path"].startswith("/r/v1/chat/completions?token=")
    assert second["method"] == "POST" and json.loads(second["body"])["model"] == "text-prime"
    assert_no_key(second)  # the emulator's log: the signed token was the only credential on the second hop
    assert [f["code"] for f in run.json()["checks"][0]["findings"]] == ["http.redirect"]
    assert run.json()["checks"][0]["data"]["key_sent_to"] == ["127.0.0.1"]


def test_expired_redirect_token_is_not_a_key_problem(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-token-expired")
    run = on(emu, "ping", "--json")
    assert run.code == 4, run
    first, second = inference(emu)
    assert first["headers"]["authorization"] == redact_credential(f"Bearer {KEY}")
    assert_no_key(second)
    [check] = run.json()["checks"]
    assert [f["code"] for f in check["findings"] if f["severity"] == "error"] == ["http.redirect_rejected"]
    assert "expired" in check["findings"][-1]["message"] and check["data"]["status_code"] == 401
    assert check["data"]["answered_by_hop"] == 1 and check["data"]["signed_hop"] is True
    assert "create a consumption key" not in run.out.lower()
    assert re.match(r"^fail http\.redirect_rejected 401 ", on(emu, "ping").out), run


def test_cross_host_redirect_never_sends_the_key_to_the_other_host(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-cross-host")
    run = sub(emu, "ping", "--json")
    assert run.code == 0, run
    first, second = inference(emu)
    assert first["host"].startswith("127.0.0.1:") and first["headers"]["authorization"] == redact_credential(f"Bearer {KEY}")
    assert second["host"].startswith("localhost:")
    assert "authorization" not in second["headers"] and "x-api-key" not in second["headers"]
    assert not any(KEY in value for value in second["headers"].values())
    data = run.json()["checks"][0]["data"]
    assert data["key_sent_to"] == ["127.0.0.1"] and data["redirects"][0].startswith("http://localhost:")
    notes = [f["message"] for f in run.json()["checks"][0]["findings"] if f["code"] == "http.redirect"]
    assert notes and "did not send your key" in notes[0] and "signed token" in notes[0]


def test_ping_curl_runs_under_sh(emulator: EmulatorFactory) -> None:
    for scenario in ("healthy", "redirect"):
        emu = emulator(scenario)
        printed = sub(emu, "ping", "--curl")
        assert printed.code == 0 and printed.out.startswith("curl "), printed
        assert KEY not in printed.out and "$THEGRID_API_KEY" in printed.out
        assert not inference(emu)  # --curl prints, it does not send
        proc = subprocess.run(["sh", "-c", printed.out], capture_output=True, text=True, timeout=10,
                              env={"PATH": "/usr/bin:/bin", "THEGRID_API_KEY": KEY})
        assert proc.returncode == 0, proc.stderr
        answer = json.loads(proc.stdout)
        assert answer["object"] == "chat.completion" and answer["model"] == INSTRUMENTS["text-prime"]
        assert inference(emu)[-1]["headers"]["authorization"] == redact_credential(f"Bearer {KEY}")


def test_ping_curl_stream_runs_under_sh(healthy_emulator: Emulator) -> None:
    printed = on(healthy_emulator, "ping", "--curl", "--stream")
    assert " -N " in printed.out
    proc = subprocess.run(["sh", "-c", printed.out], capture_output=True, text=True, timeout=10,
                          env={"PATH": "/usr/bin:/bin", "THEGRID_API_KEY": KEY})
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("data: [DONE]"), proc.stdout


def test_ping_refused_tls_and_dns(healthy_emulator: Emulator) -> None:
    refused = invoke("ping", "--retries", "0", "--timeout", "3",
                     env=clean_env(THEGRID_API_KEY=KEY, THEGRID_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1"))
    assert refused.code == 9 and refused.out.startswith("fail net.refused"), refused
    tls = invoke("ping", "--timeout", "3", env=clean_env(
        THEGRID_API_KEY=KEY, THEGRID_BASE_URL=healthy_emulator.base_url.replace("http://", "https://")))
    assert tls.code == 9 and tls.out.startswith("fail net.tls"), tls
    dns = invoke("ping", "--timeout", "3", "--base-url", "https://api.gridctl-test.invalid/v1",
                 env=clean_env(THEGRID_API_KEY=KEY))
    assert dns.code == 9 and dns.out.startswith("fail net.dns"), dns


def test_tls_probe_and_request_trust_the_same_certificates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real handshake against a self-signed certificate: untrusted, then trusted the way httpx trusts."""
    import certifi

    from gridctl.probe.client import Deadline, Net
    from gridctl.probe.net import check_network

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with tls_server(tmp_path) as (port, cert):
        base = f"https://127.0.0.1:{port}/v1"
        probe = check_network(base, Deadline(3))
        assert [f.code for f in probe.findings] == ["net.tls"] and "certificate" in probe.findings[0].message
        with Net(Deadline(3), retries=0) as net:
            out = net.send("GET", base + "/models")
        assert [f.code for f in out.findings] == ["net.tls"] and "certificate" in out.findings[0].message

        monkeypatch.setattr(certifi, "where", lambda: str(cert))  # what httpx trusts by default
        probe = check_network(base, Deadline(3))
        assert probe.findings == [] and probe.data["tls_version"].startswith("TLS")
        assert {"dns", "connect", "tls"} <= set(probe.data["timings_ms"])
        with Net(Deadline(3), retries=0) as net:
            out = net.send("GET", base + "/models")
        assert "net.tls" not in [f.code for f in out.findings]  # past the handshake (the server then hangs up)


def test_ping_without_a_key_sends_nothing(healthy_emulator: Emulator) -> None:
    run = on(healthy_emulator, "ping", "--json", key=None)
    assert run.code == 3 and run.json()["diagnosis"]["code"] == "config.no_key", run
    assert healthy_emulator.requests == []


def test_host_typo_makes_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, with every way out of the machine booby-trapped."""


    calls: list[Any] = []

    def trap(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise OSError("network use in a test that must make no connection")

    monkeypatch.setattr(socket, "getaddrinfo", trap)
    monkeypatch.setattr(socket, "create_connection", trap)
    monkeypatch.setattr(socket.socket, "connect", trap)
    env = clean_env(THEGRID_API_KEY=KEY, GRIDCTL_CONFIG_DIR="/nonexistent/gridctl-test")
    for args in (["ping"], ["ping", "--json"], ["ping", "--stream"], ["ping", "--all"], ["balance"], ["models"]):
        result = invoke(*args, "--base-url", "https://api.thegird.ai/v1", "--timeout", "3", env=env)
        assert result.exit_code == 3, (args, result.output)
        assert "url.host_typo" in result.output, (args, result.output)
    ping_json = invoke("ping", "--json", "--base-url", "https://api.thegird.ai/v1", env=env)
    assert json.loads(ping_json.stdout)["diagnosis"]["code"] == "url.host_typo"
    # without a key there is nothing to steal, but a look-alike host still gets no request
    keyless = invoke("models", "--json", "--base-url", "https://api.thegird.ai/v1",
                     env=clean_env(GRIDCTL_CONFIG_DIR="/nonexistent/gridctl-test"))
    assert keyless.exit_code == 3 and json.loads(keyless.stdout)["diagnosis"]["code"] == "url.host_typo"
    assert calls == []


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(("scenario", "code", "severity", "exit_code"), [
    ("healthy", "status.operational", "info", 0),
    ("incident", "status.incident", "error", 8),
    ("maintenance", "status.maintenance", "warning", 0),
    ("degraded", "status.degraded", "warning", 0),
])
def test_status(emulator: EmulatorFactory, scenario: str, code: str, severity: str, exit_code: int) -> None:
    emu = emulator(scenario)
    run = on(emu, "status", "--json")
    assert run.code == exit_code, run
    doc = run.json()
    assert set(doc) == ENVELOPE_KEYS and doc["command"] == "status"
    [check] = doc["checks"]
    assert [(f["code"], f["severity"]) for f in check["findings"]] == [(code, severity)]
    assert emu.requests and all(r["path"].startswith("/api/v2/") for r in emu.requests)
    assert not any("authorization" in r["headers"] or "x-api-key" in r["headers"] for r in emu.requests)
    human = on(emu, "status")
    assert human.code == exit_code, human
    if severity == "info":  # the summary line says it; the same words are not repeated as an info line
        assert human.out.count("All Systems Operational") == 1, human.out
    else:
        assert f"({code})" in human.out, human


def test_status_alone_unreachable_exits_9() -> None:
    # `gridctl status && deploy` must not pass when the page could not be read at all.
    env = clean_env(THEGRID_STATUS_URL=f"http://127.0.0.1:{closed_port()}")
    run = invoke("status", "--json", "--timeout", "3", env=env)
    assert run.code == 9, run
    doc = run.json()
    [check] = doc["checks"]
    assert check["status"] == "fail" and doc["exit_code"] == 9 and doc["diagnosis"]["code"] == "status.unreachable"
    assert [(f["code"], f["severity"]) for f in check["findings"]] == [("status.unreachable", "error")]
    assert invoke("status", "--timeout", "3", env=env).code == 9


def test_status_unreachable_inside_doctor_stays_a_warning(healthy_emulator: Emulator) -> None:
    run = invoke("doctor", "--json", "--timeout", "4", env=clean_env(
        THEGRID_API_KEY=KEY, THEGRID_BASE_URL=healthy_emulator.base_url,
        THEGRID_STATUS_URL=f"http://127.0.0.1:{closed_port()}"))
    assert run.code == 0, run
    status = next(c for c in run.json()["checks"] if c["id"] == "status")
    assert [(f["code"], f["severity"]) for f in status["findings"]] == [("status.unreachable", "warning")]


# ---------------------------------------------------------------- balance


def test_balance_no_credits(emulator: EmulatorFactory) -> None:
    run = on(emulator("no-credits"), "balance", "--json", "--retries", "0")
    assert run.code == 5, run
    doc = run.json()
    assert doc["diagnosis"]["code"] == "balance.credits_empty"
    [check] = doc["checks"]
    assert [f["code"] for f in check["findings"]] == ["balance.credits_empty"]
    assert [row["status_code"] for row in check["data"]["instruments"]] == [402] * 9
    assert len(doc["request_ids"]) == 9


def test_balance_instrument_without_tokens(emulator: EmulatorFactory) -> None:
    emu = emulator("instrument-no-tokens")
    run = on(emu, "balance", "--json", "--retries", "0")
    assert run.code == 5, run
    [check] = run.json()["checks"]
    assert {f["code"] for f in check["findings"]} == {"balance.instrument_unavailable"}
    assert sorted(f["data"]["model"] for f in check["findings"]) == MAX
    assert sorted(check["data"]["unpaid"]) == MAX and len(check["data"]["paid"]) == 6
    human = on(emu, "balance", "--retries", "0")
    assert human.code == 5 and "text-max" in human.out and "app.thegrid.ai" in human.out


@pytest.mark.parametrize(("scenario", "model", "code", "exit_code"), [
    ("instrument-no-tokens", "text-max", "balance.instrument_unavailable", 5),
    ("instrument-no-tokens", "text-prime", None, 0),
    ("no-credits", "text-prime", "balance.credits_empty", 5),
])
def test_balance_of_one_instrument(emulator: EmulatorFactory, scenario: str, model: str, code: str | None,
                                   exit_code: int) -> None:
    run = on(emulator(scenario), "balance", "--model", model, "--json", "--retries", "0")
    assert run.code == exit_code, run
    doc = run.json()
    assert (doc["diagnosis"] or {}).get("code") == code
    assert [r["model"] for r in doc["checks"][0]["data"]["instruments"]] == [model]


def test_balance_healthy(healthy_emulator: Emulator) -> None:
    run = on(healthy_emulator, "balance", "--json")
    assert run.code == 0 and run.json()["checks"][0]["findings"] == [], run


# ---------------------------------------------------------------- models


def test_models_live_list(healthy_emulator: Emulator) -> None:
    run = on(healthy_emulator, "models", "--json")
    assert run.code == 0, run
    live, listing = run.json()["checks"]
    assert live["status"] == "pass" and live["data"]["live"] == list(INSTRUMENTS)
    assert listing["data"]["source"] == "live list" and listing["data"]["instruments"] == list(INSTRUMENTS)
    [sent] = healthy_emulator.requests
    assert sent["method"] == "GET" and sent["path"] == "/v1/models"


def test_models_falls_back_with_a_warning(emulator: EmulatorFactory) -> None:
    run = on(emulator("models-unavailable"), "models", "--json")
    assert run.code == 0, run
    live, listing = run.json()["checks"]
    assert live["status"] == "warn"
    assert [(f["code"], f["severity"]) for f in live["findings"]] == [("model.not_listed", "warning")]
    assert "HTTP 500" in live["findings"][0]["message"]
    assert listing["data"]["source"] == "built-in list"
    assert listing["data"]["instruments"][:9] == list(grid.INSTRUMENTS)


def test_models_validates_a_name(healthy_emulator: Emulator) -> None:
    typo = on(healthy_emulator, "models", "text-prme", "--json")
    assert typo.code == 3 and typo.json()["checks"][-1]["data"]["suggestion"] == "text-prime", typo
    good = on(healthy_emulator, "models", "code-max")
    assert good.code == 0, good


def test_models_offline_sends_nothing(healthy_emulator: Emulator) -> None:
    run = on(healthy_emulator, "models", "--offline", "--json")
    assert run.code == 0 and run.json()["checks"][-1]["data"]["source"] == "built-in list", run
    assert healthy_emulator.requests == []
