"""gridctl doctor end to end: every emulator scenario, the classic misconfigurations, the reports.

The `--emulate` runs are real subprocesses started together at module set-up (they spend most of
their time waiting on sockets and time budgets); each test then reads its own run.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator, redact_credential, start
from tests.support.cli import Run, clean_env, emu_env, gridctl, in_parallel, invoke
from tests.support.contract import CHECK_KEYS, ENVELOPE_KEYS, FINDING_KEYS, FLOW

pytestmark = pytest.mark.e2e

COMMON = ("--json", "--timeout", "4", "--retries", "1")
# scenario -> (extra flags, diagnosis code or None for ok, exit code)
EXPECTED: dict[str, tuple[tuple[str, ...], str | None, int]] = {
    "healthy": ((), None, 0),
    "bad-key": ((), "auth.rejected", 4),
    "no-credits": ((), "balance.credits_empty", 5),
    "instrument-no-tokens": ((), None, 0),
    "rate-limited": ((), "http.rate_limited", 7),
    "server-error": ((), "http.server_error", 8),
    "replenishing": (("--retries", "2"), None, 0),  # two 503s, then the tokens are there
    "redirect": ((), None, 0),
    "redirect-cross-host": ((), None, 0),  # the signed token authorises the other host: no key needed
    "redirect-token-expired": ((), "http.redirect_rejected", 4),
    "redirect-loop": ((), "http.redirect_loop", 9),
    "hang": ((), "net.no_response", 9),
    "slow": ((), None, 0),
    "reset": ((), "net.reset", 9),
    "stream-cut": (("--stream",), "stream.cut", 9),
    "stream-idle": (("--stream", "--idle-warn", "1"), None, 0),
    "truncated-json": ((), "http.unexpected", 8),
    "cut-body": ((), "net.reset", 9),  # fewer bytes than Content-Length: the network, not The Grid
    "incident": ((), "status.incident", 8),
    "html-error": ((), "http.server_error", 8),
    "maintenance": ((), None, 0),
    "degraded": ((), None, 0),
    "models-unavailable": ((), None, 0),
    "slow-tokens": ((), None, 0),
    "usage-missing": ((), None, 0),
}
ALLOWED_EXTRAS = {"emulated"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Run]]]:
    reports = tmp_path_factory.mktemp("reports")
    env = clean_env()
    jobs: dict[str, Any] = {}
    # The long waits first, so they overlap everything else.
    for name in sorted(EXPECTED, key=lambda n: n not in ("hang", "slow", "rate-limited")):
        extra, _, _ = EXPECTED[name]
        jobs[name] = lambda n=name, x=extra: gridctl("doctor", "--emulate", n, *COMMON, *x, env=env)
    jobs["text-max"] = lambda: gridctl("doctor", "--emulate", "instrument-no-tokens", "--model", "text-max",
                                       *COMMON, env=env)
    jobs["report-md"] = lambda: gridctl("doctor", "--emulate", "bad-key", "--timeout", "4", "--report",
                                        str(reports / "r.md"), env=env)
    jobs["report-json"] = lambda: gridctl("doctor", "--emulate", "bad-key", *COMMON, "--report",
                                          str(reports / "r.json"), env=env)
    jobs["list"] = lambda: gridctl("emulator", "list", "--json", env=env)
    futures = in_parallel(jobs)
    futures_with_dir: dict[str, Any] = dict(futures)
    futures_with_dir["_reports"] = reports
    yield futures_with_dir
    for fut in futures.values():
        fut.result()


def result(runs: dict[str, Any], name: str) -> tuple[Run, dict[str, Any]]:
    run = runs[name].result()
    return run, run.json()


def checks_by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc["checks"]}


def codes(check: dict[str, Any], severity: str | None = None) -> list[str]:
    return [f["code"] for f in check["findings"] if severity is None or f["severity"] == severity]


def assert_envelope(doc: dict[str, Any], exit_code: int) -> None:
    """The contract's envelope, exactly: keys, types, flow order, statuses, severities."""
    assert ENVELOPE_KEYS <= set(doc) and set(doc) - ENVELOPE_KEYS <= ALLOWED_EXTRAS
    assert doc["schema"] == "gridctl/1" and doc["command"] == "doctor"
    assert doc["exit_code"] == exit_code and doc["ok"] is (exit_code == 0)
    assert [c["id"] for c in doc["checks"]] == list(FLOW)
    for check in doc["checks"]:
        assert set(check) == CHECK_KEYS
        assert check["status"] in ("pass", "warn", "fail", "skip")
        assert isinstance(check["duration_ms"], (int, float))
        for f in check["findings"]:
            assert FINDING_KEYS <= set(f) and f["severity"] in ("error", "warning", "info")
    if doc["diagnosis"] is not None:
        assert {"code", "title", "fix"} <= set(doc["diagnosis"])
    assert isinstance(doc["request_ids"], list) and all(isinstance(r, str) for r in doc["request_ids"])
    assert {"base_url", "api", "model", "key"} <= set(doc["target"])
    assert isinstance(doc["started_at"], str) and doc["started_at"].endswith("Z")
    assert isinstance(doc["duration_ms"], (int, float))


# ---------------------------------------------------------------- every scenario


def test_every_listed_scenario_has_an_expectation(runs: dict[str, Any]) -> None:
    run, doc = result(runs, "list")
    assert run.code == 0
    assert {s["name"] for s in doc["scenarios"]} == set(EXPECTED)


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_scenario_diagnosis_and_exit_code(runs: dict[str, Any], scenario: str) -> None:
    _, expected_code, expected_exit = EXPECTED[scenario]
    run, doc = result(runs, scenario)
    assert run.code == expected_exit, run
    assert (doc["diagnosis"] or {}).get("code") == expected_code, run
    assert_envelope(doc, expected_exit)
    assert doc["emulated"] == scenario
    assert doc["target"]["key"].startswith("…") and DEMO_KEY not in run.out + run.err
    assert doc["target"]["key"].endswith("(the emulator's demo key, --emulate)") and "flag" not in doc["target"]["key"]
    ping = checks_by_id(doc)["ping"]
    if ping["data"].get("status_code") is not None:
        assert ping["data"]["request_id"] in doc["request_ids"]
        assert doc["request_ids"] and all(r.startswith("req_") for r in doc["request_ids"])
    if expected_code is None:
        assert all(c["status"] != "fail" for c in doc["checks"]), run


def test_no_credits_sends_at_most_12_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's own request log: the 402 is retried on the first ping only, the sweep asks each once."""
    from gridctl.emulator import server

    started: list[Emulator] = []

    def spy(*args: Any, **kwargs: Any) -> Emulator:
        started.append(start(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(server, "start", spy)
    run = invoke("doctor", "--emulate", "no-credits", "--json", "--timeout", "6", env=clean_env())
    assert run.code == 5, run
    [emu] = started
    inference = [r for r in emu.requests if r["path"] == "/v1/chat/completions"]
    assert len(emu.requests) <= 12, [r["path"] for r in emu.requests]
    models = [json.loads(r["body"])["model"] for r in inference]
    assert models.count("text-prime") == 3 and all(models.count(m) == 1 for m in set(models) - {"text-prime"})
    balance = checks_by_id(run.json())["balance"]
    assert codes(balance) == ["balance.credits_empty"] and len(balance["data"]["instruments"]) == 9


@pytest.mark.parametrize(("scenario", "meaning"), [("degraded", "some requests may be slow"),
                                                   ("maintenance", "scheduled maintenance")])
def test_warnings_close_with_what_they_mean_not_no_problem(scenario: str, meaning: str) -> None:
    run = invoke("doctor", "--emulate", scenario, "--timeout", "4", env=clean_env())
    assert run.code == 0, run
    assert "No problem found" not in run.out and "The call works now, with 1 warning" in run.out, run.out
    assert meaning in run.out
    assert "Not checked: streaming (add --stream)" in run.out


def test_config_step_reads_grid_cli_config_and_sends_none_of_it(tmp_path: Path) -> None:
    cli_key = "gk-gridcli-AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH5678"
    (tmp_path / ".grid-cli").mkdir()
    (tmp_path / ".grid-cli" / "credentials.json").write_text(json.dumps({"default": {"api_key": cli_key}}))
    with start("healthy") as emu:
        run = invoke("doctor", "--json", "--timeout", "4", env=clean_env(
            HOME=str(tmp_path), THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=emu.base_url,
            THEGRID_STATUS_URL=emu.root_url))
        sent = json.dumps([r["headers"] for r in emu.requests]) + "".join(r["body"].decode() for r in emu.requests)
    assert run.code == 0, run
    config = checks_by_id(run.json())["config"]
    messages = " ".join(f["message"] for f in config["findings"] if f["code"] == "config.env_conflict")
    assert "…5678" in messages and "api.dev.thegrid.ai" in messages
    assert cli_key not in run.out and cli_key not in sent and "api.dev.thegrid.ai" not in sent


def test_doctor_folds_the_servers_own_diagnostics_once() -> None:
    with start("instrument-no-tokens") as emu:
        run = invoke("doctor", "--json", "--timeout", "4", env=clean_env(
            THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=emu.base_url, THEGRID_STATUS_URL=emu.root_url))
        asked = [r for r in emu.requests if r["path"] == "/v1/diagnostics"]
    assert run.code == 0, run
    assert len(asked) == 1 and asked[0]["method"] == "GET"
    assert asked[0]["headers"]["authorization"] == redact_credential(f"Bearer {DEMO_KEY}")
    ping = checks_by_id(run.json())["ping"]
    assert ping["data"]["server_diagnostics"]["status"] == "warn"
    [note] = [f for f in ping["findings"] if f["code"] == "status.diagnostics"]
    assert note["severity"] == "warning" and "text-max" in note["message"] and "Auto Top Up" in note["fix"]


def test_emulator_diagnostics_needs_the_key() -> None:
    import httpx

    with start("healthy") as emu:
        anon = httpx.get(emu.base_url + "/diagnostics", trust_env=False)
        keyed = httpx.get(emu.base_url + "/diagnostics", headers={"Authorization": f"Bearer {DEMO_KEY}"},
                          trust_env=False)
    assert anon.status_code == 401
    assert keyed.status_code == 200 and keyed.json()["data"]["status"] == "ok"
    assert {c["name"] for c in keyed.json()["data"]["checks"]} == {"api_key", "balance", "inference"}


def test_a_stream_cut_in_milliseconds_is_not_blamed_on_an_idle_timeout(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "stream-cut")
    cut = doc["diagnosis"]
    assert cut["code"] == "stream.cut" and "after the last event" in cut["message"]
    assert "30-60" not in cut["fix"] and "Too early" in cut["fix"]


def test_redirect_is_followed_and_noted(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "redirect")
    ping = checks_by_id(doc)["ping"]
    assert codes(ping, "info") == ["http.redirect"] and ping["data"]["status_code"] == 200


def test_cross_host_signed_redirect_works_without_sending_the_key(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "redirect-cross-host")
    ping = checks_by_id(doc)["ping"]
    assert ping["data"]["key_sent_to"] == ["127.0.0.1"] and ping["data"]["status_code"] == 200
    assert ping["data"]["redirects"][0].startswith("http://localhost:")


def test_expired_redirect_token_blames_the_token_not_the_key(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "redirect-token-expired")
    diagnosis = doc["diagnosis"]
    assert diagnosis["code"] == "http.redirect_rejected" and "expired" in diagnosis["message"]
    assert "Authorization" not in diagnosis["fix"] and "create" not in diagnosis["fix"].lower()
    assert "key is fine" in diagnosis["fix"].lower()
    steps = checks_by_id(doc)
    assert steps["auth"]["status"] != "fail" and codes(steps["auth"]) == []
    assert steps["ping"]["data"]["key_sent_to"] == ["127.0.0.1"]


def test_html_error_has_an_html_body_finding(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "html-error")
    assert "http.html_body" in codes(checks_by_id(doc)["ping"])


def test_replenishing_recovers_after_two_503s(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "replenishing")
    ping = checks_by_id(doc)["ping"]
    assert ping["data"]["statuses"] == [503, 503, 200]
    assert codes(ping) == ["http.replenishing"] and ping["findings"][0]["severity"] == "info"
    assert len(doc["request_ids"]) == 3


@pytest.mark.parametrize(("scenario", "code"), [("maintenance", "status.maintenance"),
                                                ("degraded", "status.degraded")])
def test_status_warnings_do_not_fail_the_run(runs: dict[str, Any], scenario: str, code: str) -> None:
    _, doc = result(runs, scenario)
    status = checks_by_id(doc)["status"]
    assert status["status"] == "warn" and codes(status) == [code]


def test_incident_blames_the_grid(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "incident")
    by_id = checks_by_id(doc)
    assert codes(by_id["status"]) == ["status.incident"] and "http.server_error" in codes(by_id["ping"])


def test_no_credits_probes_every_instrument(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "no-credits")
    balance = checks_by_id(doc)["balance"]
    assert codes(balance) == ["balance.credits_empty"]
    assert [r["status_code"] for r in balance["data"]["instruments"]] == [402] * 9


def test_instrument_without_tokens_for_the_asked_instrument(runs: dict[str, Any]) -> None:
    run, doc = result(runs, "text-max")
    assert run.code == 5, run
    assert doc["diagnosis"]["code"] == "balance.instrument_unavailable"
    assert doc["diagnosis"]["message"].startswith("text-max")
    balance = checks_by_id(doc)["balance"]
    assert sorted(f["data"]["model"] for f in balance["findings"]) == ["agent-max", "code-max", "text-max"]
    assert_envelope(doc, 5)


def test_instrument_without_tokens_default_model_skips_the_balance_probe(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "instrument-no-tokens")
    assert checks_by_id(doc)["balance"]["status"] == "skip"


def test_stream_checks(runs: dict[str, Any]) -> None:
    _, cut = result(runs, "stream-cut")
    assert checks_by_id(cut)["stream"]["status"] == "fail"
    assert checks_by_id(cut)["ping"]["status"] == "pass"  # plain requests work; only the stream is cut
    _, idle = result(runs, "stream-idle")
    stream = checks_by_id(idle)["stream"]
    assert codes(stream, "warning") == ["stream.idle_gap"] and "stream.ok" in codes(stream)


def test_hang_ends_within_the_budget(runs: dict[str, Any]) -> None:
    run, doc = result(runs, "hang")
    assert doc["diagnosis"]["code"] == "net.no_response" and run.code == doc["exit_code"] == 9
    # the program's own clock against its --timeout 4 (the wall clock would measure the machine's load)
    assert doc["duration_ms"] <= 4000 * 1.25, run


def test_truncated_json_names_the_body(runs: dict[str, Any]) -> None:
    _, doc = result(runs, "truncated-json")
    assert "truncated" in doc["diagnosis"]["message"]


# ---------------------------------------------------------------- reports


def test_markdown_report(runs: dict[str, Any]) -> None:
    run = runs["report-md"].result()
    assert run.code == 4, run
    assert "Diagnosis: The Grid rejected the key (401) (auth.rejected), exit 4" in run.out
    text = (runs["_reports"] / "r.md").read_text(encoding="utf-8")
    request_ids = [w for w in run.out.replace(",", " ").split() if w.startswith("req_")]
    assert request_ids and all(rid in text for rid in request_ids)
    assert "auth.rejected" in text and "exit code: 4" in text
    assert DEMO_KEY not in text


def test_json_report(runs: dict[str, Any]) -> None:
    run, doc = result(runs, "report-json")
    assert run.code == 4, run
    report = json.loads((runs["_reports"] / "r.json").read_text(encoding="utf-8"))
    assert ENVELOPE_KEYS <= set(report)
    assert report["diagnosis"]["code"] == "auth.rejected" and report["exit_code"] == 4
    assert report["request_ids"] == doc["request_ids"] and report["request_ids"]
    assert all(rid in report["support_message"] for rid in report["request_ids"])
    assert [c["id"] for c in report["checks"]] == list(FLOW)


# ---------------------------------------------------------------- the classic misconfigurations


@pytest.fixture(scope="module")
def healthy() -> Iterator[Emulator]:
    with start("healthy") as emu:
        yield emu


KEY = "gk-e2e-doc-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5A"


def doctor(emu: Emulator, *args: str, key: str | None = KEY, **env: str) -> tuple[Run, dict[str, Any]]:
    run = invoke("doctor", "--json", "--timeout", "4", "--retries", "0", *args, env=emu_env(emu, key, **env))
    return run, run.json()


@pytest.mark.parametrize(("args", "key", "code", "exit_code"), [
    (("--model", "gpt-5.2"), KEY, "model.foreign_name", 6),
    (("--model", "text-prme"), KEY, "model.unknown", 6),
    (("--api-key", "YOUR_GRID_API_KEY"), KEY, "auth.placeholder_key", 4),
    (("--api-key", "gk-e2e-doc-7Qm2Xv9LpR4tYc8 NwK3sZb6HfJ1dGe5A"), KEY, "auth.key_whitespace", 4),
    ((), None, "config.no_key", 3),
])
def test_misconfiguration(healthy: Emulator, args: tuple[str, ...], key: str | None, code: str,
                          exit_code: int) -> None:
    run, doc = doctor(healthy, *args, key=key)
    assert run.code == exit_code and doc["diagnosis"]["code"] == code, run
    assert_envelope(doc, exit_code)


def test_doubled_v1(healthy: Emulator) -> None:
    run, doc = doctor(healthy, "--base-url", healthy.root_url + "/v1/v1")
    assert run.code == 6 and doc["diagnosis"]["code"] == "url.doubled_v1", run
    assert checks_by_id(doc)["ping"]["data"]["status_code"] == 404  # confirmed by the server, not guessed


def test_missing_v1(healthy: Emulator) -> None:
    run, doc = doctor(healthy, "--base-url", healthy.root_url)
    assert run.code == 6 and doc["diagnosis"]["code"] == "url.missing_v1", run
    assert checks_by_id(doc)["ping"]["data"]["status_code"] == 404
    assert "model.not_found" not in codes(checks_by_id(doc)["model"])  # the instrument is fine


def test_no_key_sends_no_request(healthy: Emulator) -> None:
    before = len(healthy.requests)
    doctor(healthy, key=None)
    assert not any("/chat/completions" in r["path"] for r in healthy.requests[before:])


def test_sdk_env_conflict_with_a_working_ping(healthy: Emulator) -> None:
    run, doc = doctor(healthy, OPENAI_BASE_URL="https://api.openai.com/v1")
    assert run.code == 3 and doc["diagnosis"]["code"] == "config.env_conflict", run
    assert checks_by_id(doc)["ping"]["data"]["status_code"] == 200
    assert "OPENAI_BASE_URL" in doc["diagnosis"]["message"]


def test_invalid_body_file(healthy: Emulator, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"model": "text-prime", "messages": [{"role": "user", "content": "hi"},]}', encoding="utf-8")
    run, doc = doctor(healthy, "--body", str(body))
    assert doc["diagnosis"]["code"] == "body.invalid_json" and run.code == 10, run
    assert checks_by_id(doc)["body"]["status"] == "fail"


def test_host_typo_makes_no_connection_to_the_lookalike(healthy: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_getaddrinfo, real_create, real_connect = socket.getaddrinfo, socket.create_connection, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(address))
        return real_create(address, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        seen.append(str(address))
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket.socket, "connect", connect)
    run, doc = doctor(healthy, "--base-url", "https://api.thegird.ai/v1")
    assert run.code == 3 and doc["diagnosis"]["code"] == "url.host_typo", run
    by_id = checks_by_id(doc)
    assert by_id["network"]["status"] == "skip" and by_id["ping"]["data"]["sent"] is False
    assert by_id["status"]["status"] == "pass"  # the status page is still read
    assert seen and not any("thegird" in s for s in seen)
