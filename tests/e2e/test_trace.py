"""`gridctl trace` with real clients (openai and anthropic SDKs, curl, Node fetch) under the emulator.

Every run starts at module set-up, in parallel, as real subprocesses (the proxy, the child and its
environment are the point). Each fault scenario's trace diagnosis is compared with
`gridctl doctor --emulate S` for the same scenario; a canary key goes through every run and is
searched for in every byte gridctl wrote (stdout, stderr, HAR).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import string
import sys
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Run, clean_env, gridctl, in_parallel
from tests.support.contract import ENVELOPE_KEYS

pytestmark = pytest.mark.e2e

CLIENTS = Path(__file__).parent / "trace_clients"
PY = [sys.executable, str(CLIENTS / "py_client.py")]
CANARY = "gk-canary-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(33))
CURL = ('curl -sS -o /dev/null -w "%{http_code}\\n" --max-time 2 -X POST "$THEGRID_BASE_URL/chat/completions" '
        '-H "Authorization: Bearer $CLIENT_KEY" -H "Content-Type: application/json" '
        '-d \'{"model":"text-prime","messages":[{"role":"user","content":"ping"}]}\'')
NODE = shutil.which("node")

# name -> (scenario, command, client env). Retries are few and timeouts short: the behaviour is the point.
CASES: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "openai-healthy": ("healthy", PY + ["openai-all"], {}),
    "openai-bad-key": ("bad-key", PY + ["openai-sync"], {}),
    "openai-no-credits": ("no-credits", PY + ["openai-sync"], {}),
    "openai-rate-limited": ("rate-limited", PY + ["openai-sync"], {"CLIENT_RETRIES": "1"}),
    "openai-server-error": ("server-error", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-replenishing": ("replenishing", PY + ["openai-sync"], {}),
    "openai-redirect": ("redirect", PY + ["openai-sync"], {}),
    "openai-redirect-cross-host": ("redirect-cross-host", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-redirect-loop": ("redirect-loop", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-hang": ("hang", PY + ["openai-sync"], {"CLIENT_RETRIES": "0", "CLIENT_TIMEOUT": "0.7"}),
    "openai-reset": ("reset", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-truncated-json": ("truncated-json", PY + ["openai-sync"], {}),
    "openai-incident": ("incident", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-html-error": ("html-error", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-stream-cut": ("stream-cut", PY + ["openai-stream"], {"CLIENT_RETRIES": "0"}),
    "openai-redirect-token-expired": ("redirect-token-expired", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-cut-body": ("cut-body", PY + ["openai-sync"], {"CLIENT_RETRIES": "0"}),
    "openai-slow-tokens": ("slow-tokens", PY + ["openai-stream"], {"CLIENT_TIMEOUT": "10"}),
    "openai-degraded": ("degraded", PY + ["openai-sync"], {}),
    "openai-instrument-no-tokens": ("instrument-no-tokens", PY + ["openai-sync"], {}),
    "openai-instrument-no-tokens-max": ("instrument-no-tokens", PY + ["openai-sync"], {"CLIENT_MODEL": "text-max"}),
    "anthropic-healthy": ("healthy", PY + ["anthropic-all"], {}),
    "anthropic-async-no-credits": ("no-credits", PY + ["anthropic-async"], {}),
    "anthropic-stream-cut": ("stream-cut", PY + ["anthropic-stream"], {"CLIENT_RETRIES": "0"}),
    "curl-redirect-no-L": ("redirect", ["sh", "-c", CURL], {}),
    "curl-redirect-L": ("redirect", ["sh", "-c", CURL.replace("curl -sS", "curl -sSL")], {}),
    "curl-bad-key": ("bad-key", ["sh", "-c", CURL], {}),
    "mistakes": ("healthy", PY + ["mistakes"], {"CLIENT_RETRIES": "0"}),
    "retry-now": ("rate-limited", [sys.executable, str(CLIENTS / "impatient.py"), "retry-now"], {}),
    "abandon-stream": ("stream-idle", [sys.executable, str(CLIENTS / "impatient.py"), "abandon-stream"], {}),
    "never-calls": ("healthy", [sys.executable, "-c", "print('no calls here')"], {}),
    "hard-coded": ("healthy", [sys.executable, str(CLIENTS / "hardcoded.py")], {}),
}
if NODE:
    CASES["node-redirect"] = ("redirect", [NODE, str(CLIENTS / "fetch_client.mjs")], {})
    CASES["node-server-error"] = ("server-error", [NODE, str(CLIENTS / "fetch_client.mjs")], {})
# Scenarios whose per-call diagnosis must equal doctor's.
DOCTOR_MATCH = {name: case[0] for name, case in CASES.items()
                if case[0] not in ("healthy", "stream-idle") and name not in ("curl-redirect-no-L", "retry-now")}
DOCTOR_MATCH.update({"openai-healthy": "healthy", "anthropic-healthy": "healthy", "curl-redirect-L": "redirect",
                     "openai-instrument-no-tokens-max": "instrument-no-tokens:text-max"})
# Scenarios added to the emulator after trace was written: trace's exit code must be doctor's too.
NEWER = ("openai-redirect-token-expired", "openai-cut-body", "openai-slow-tokens", "openai-degraded",
         "openai-instrument-no-tokens", "openai-instrument-no-tokens-max")
# Scenarios where the API works (whatever the status page or the usage endpoint says): an ok call is ok.
# a status-page warning (degraded; maintenance reads the same way) and a scenario failing other instruments
WORKS = ("openai-slow-tokens", "openai-degraded", "openai-instrument-no-tokens")


def _trace(name: str, har_dir: Path) -> tuple[Run, str]:
    scenario, argv, extra = CASES[name]
    har = har_dir / f"{name}.har"
    env = clean_env(CLIENT_KEY=CANARY, **{"CLIENT_TIMEOUT": "2", **extra})
    run = gridctl("trace", "--json", "--emulate", scenario, "--har", str(har), "--exit-code", "diagnosis",
                  "--", *argv, env=env, timeout=60)
    return run, har.read_text("utf-8") if har.exists() else ""


def _doctor(key: str) -> Run:
    scenario, _, model = key.partition(":")  # "scenario[:instrument]"
    extra = ["--stream"] if "stream" in scenario or scenario == "slow-tokens" else []
    extra += ["--model", model] if model else []
    return gridctl("doctor", "--emulate", scenario, "--json", "--timeout", "3", *extra, env=clean_env(), timeout=60)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Any]]]:
    har_dir = tmp_path_factory.mktemp("har")  # made here, not at import: every xdist worker imports this file
    jobs: dict[str, Any] = {f"trace:{n}": (lambda n=n: _trace(n, har_dir)) for n in CASES}
    jobs.update({f"doctor:{s}": (lambda s=s: _doctor(s)) for s in sorted(set(DOCTOR_MATCH.values()))})
    futures = in_parallel(jobs, workers=4)
    yield futures
    for fut in futures.values():
        fut.result()  # every run ended before its HAR directory goes


def traced(runs: dict[str, Future[Any]], name: str) -> tuple[Run, dict[str, Any], str]:
    run, har = runs[f"trace:{name}"].result(timeout=600)
    return run, run.json(), har


def live_lines(run: Run) -> list[str]:
    # The program's own unbuffered output shares stderr and may land mid-line: find the lines, not line starts.
    return re.findall(r"trace #\d+ .*", run.err)


def program_err(run: Run) -> str:
    """stderr with gridctl's live lines taken out: the program's own words, even where one landed mid-line."""
    return re.sub(r"trace #\d+ .*\n?", "", run.err)


def code_of(doc: dict[str, Any]) -> str | None:
    return (doc.get("diagnosis") or {}).get("code")


@pytest.mark.parametrize("name", sorted(DOCTOR_MATCH))
def test_trace_diagnosis_matches_doctor(runs: dict[str, Future[Any]], name: str) -> None:
    run, doc, _ = traced(runs, name)
    doctor = runs[f"doctor:{DOCTOR_MATCH[name]}"].result(timeout=600)
    assert set(ENVELOPE_KEYS) <= set(doc) and doc["command"] == "trace", run
    assert doc["calls"], run
    assert code_of(doc) == code_of(doctor.json()), f"{run}\n--- doctor ---\n{doctor}"
    assert run.code == doc["exit_code"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_canary_and_token_never_written(runs: dict[str, Future[Any]], name: str) -> None:
    run, doc, har = traced(runs, name)
    for text in (run.out, run.err, har):
        assert CANARY not in text
        assert CANARY[-20:] not in text
        assert not re.search(r"token=(?!REDACTED)[A-Za-z0-9_-]", text), name
    if har:
        log = json.loads(har)["log"]
        assert log["version"] == "1.2" and len(log["entries"]) == len(doc["calls"])


def test_live_lines_one_per_call_and_summary(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "openai-rate-limited")
    lines = live_lines(run)
    assert len(lines) == len(doc["calls"]) == 2, run
    assert all(" 429 text-prime " in line and "http.rate_limited" in line for line in lines), run


def test_sdk_retry_honours_retry_after(runs: dict[str, Future[Any]]) -> None:
    _, doc, _ = traced(runs, "openai-rate-limited")
    first, second = doc["calls"]
    assert any(n.startswith("retry of #1 after") and "Retry-After 1 s" in n for n in second["notes"])
    codes = {f["code"] for c in doc["calls"] for f in c["findings"]}
    assert not codes & {"trace.retry_too_soon", "trace.retry_no_backoff"}
    assert first["findings"][0]["severity"] == "warning"  # retried: the last attempt decides
    assert doc["exit_code"] == 7


def test_replenishing_recovers_after_sdk_retries(runs: dict[str, Future[Any]]) -> None:
    _, doc, _ = traced(runs, "openai-replenishing")
    assert [c["status"] for c in doc["calls"]] == [503, 503, 200]
    assert doc["ok"] and doc["exit_code"] == 0


@pytest.mark.parametrize("name", ["openai-redirect", "curl-redirect-L"] + (["node-redirect"] if NODE else []))
def test_redirect_second_hop_is_seen(runs: dict[str, Future[Any]], name: str) -> None:
    _, doc, har = traced(runs, name)
    first, second = doc["calls"]
    assert first["status"] == 307 and "token=REDACTED" in first["redirect_to"]
    assert second["hop_of"] == first["id"] and second["method"] == "POST" and second["status"] == 200
    assert second["request"]["bytes"] == first["request"]["bytes"]  # same body re-sent
    assert "/_g/r/" in second["url"]


def test_curl_without_L_does_not_follow(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "curl-redirect-no-L")
    assert code_of(doc) == "trace.redirect_not_followed" and len(doc["calls"]) == 1
    assert run.code == 9


def test_stream_cut_is_reported_for_sdk_streams(runs: dict[str, Future[Any]]) -> None:
    for name in ("openai-stream-cut", "anthropic-stream-cut"):
        _, doc, _ = traced(runs, name)
        call = doc["calls"][0]
        assert call["stream"]["complete"] is False and call["findings"][0]["code"] == "stream.cut"
    for name in ("openai-healthy", "anthropic-healthy"):  # sync, async, then streaming
        run, doc, _ = traced(runs, name)
        assert [c["stream"] is not None for c in doc["calls"]] == [False, False, True], run
        stream = doc["calls"][2]["stream"]
        assert stream["complete"] is True and stream["events"] >= 2, name
        assert doc["calls"][2]["timings_ms"]["ttft"] is not None and doc["ok"]
        assert "reply pong pong pong" in program_err(run)  # the program's own output, untouched (on stderr under --json)


def test_mistakes_in_the_program_are_named_from_the_real_call(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "mistakes")
    expected = [("url.doubled_v1", "/v1/v1/chat/completions", 404),
                ("url.endpoint_appended", "/v1/chat/completions/chat/completions", 404),
                ("model.foreign_name", "/v1/chat/completions", 404),
                ("auth.double_bearer", "/v1/chat/completions", 401)]
    got = [(c["findings"][0]["code"], c["sdk_url"].removeprefix("https://api.thegrid.ai"), c["status"])
           for c in doc["calls"]]
    assert got == expected, run
    assert code_of(doc) == "url.doubled_v1" and doc["exit_code"] == 6  # the first failure is the root cause
    lines = live_lines(run)
    assert [line.split()[-1] for line in lines] != [] and all(code in line for (code, _, _), line
                                                               in zip(expected, lines, strict=True))


def test_program_that_never_calls(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "never-calls")
    assert code_of(doc) == "trace.no_calls" and doc["calls"] == [] and doc["exit_code"] == 3
    assert "no calls here" in run.err  # under --json the program's stdout goes to stderr
    _, doc, _ = traced(runs, "hard-coded")
    assert code_of(doc) == "trace.no_calls"
    assert "hard-coded URL (http://127.0.0.1:9/v1)" in doc["diagnosis"]["message"]


def test_child_exit_code_by_default() -> None:
    env = clean_env()
    run = gridctl("trace", "--", sys.executable, "-c", "import sys; print('out'); sys.exit(7)", env=env)
    assert run.code == 7 and run.out == "out\n"
    assert "trace.no_calls" in run.err and "the program exited 7" in run.err


def test_client_retrying_at_once_is_named(runs: dict[str, Future[Any]]) -> None:
    _, doc, _ = traced(runs, "retry-now")
    assert [c["status"] for c in doc["calls"]] == [429, 429, 429]
    assert [[f["code"] for f in c["findings"]] for c in doc["calls"][1:]] == \
        [["http.rate_limited", "trace.retry_too_soon"]] * 2
    assert code_of(doc) == "http.rate_limited"


def test_client_hanging_up_mid_stream_is_a_downstream_cut(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "abandon-stream")
    call = doc["calls"][0]
    assert call["client_gone"] and call["stream"]["events"] >= 1, run
    assert code_of(doc) == "trace.stream_cut_downstream"


def test_emulated_program_without_a_key_gets_the_demo_key() -> None:
    """Under --emulate, a program whose SDK refuses to start without OPENAI_API_KEY still makes its call."""
    script = ("import openai; c = openai.OpenAI(max_retries=0, timeout=5); "
              "print(c.chat.completions.create(model='text-prime', messages=[{'role': 'user', 'content': 'hi'}])"
              ".choices[0].message.content)")
    run = gridctl("trace", "--json", "--emulate", "healthy", "--", sys.executable, "-c", script, env=clean_env())
    doc = run.json()
    assert run.code == 0 and len(doc["calls"]) == 1 and doc["calls"][0]["status"] == 200, run
    assert "pong" in run.err  # the program's own stdout, on stderr under --json
@pytest.mark.parametrize("name", NEWER)
def test_newer_scenarios_exit_as_doctor_does(runs: dict[str, Future[Any]], name: str) -> None:
    run, doc, _ = traced(runs, name)
    doctor = runs[f"doctor:{DOCTOR_MATCH[name]}"].result(timeout=600).json()
    assert (code_of(doc), doc["exit_code"]) == (code_of(doctor), doctor["exit_code"]), run


def test_rejected_signed_redirect_never_blames_the_key(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "openai-redirect-token-expired")
    first, hop = doc["calls"]
    assert (first["status"], hop["status"], hop["hop_of"]) == (307, 401, first["id"]), run
    assert code_of(doc) == "http.redirect_rejected" and doc["exit_code"] == 4
    assert "token expired" in doc["diagnosis"]["message"] and "Your key is fine" in doc["diagnosis"]["fix"]
    assert not [f["code"] for c in doc["calls"] for f in c["findings"] if f["code"].startswith("auth.")]
    assert "http.redirect_rejected" in live_lines(run)[-1] and "error AuthenticationError" in program_err(run)


def test_body_cut_upstream_is_a_reset_with_byte_counts(runs: dict[str, Future[Any]]) -> None:
    run, doc, _ = traced(runs, "openai-cut-body")
    (call,) = doc["calls"]
    assert code_of(doc) == "net.reset" and doc["exit_code"] == 9, run
    counts = re.search(r"after (\d+) of the (\d+) bytes", doc["diagnosis"]["message"])
    assert counts, doc["diagnosis"]
    got, said = counts.groups()
    headers = {k.lower(): v for k, v in call["response"]["headers"].items()}
    assert int(got) == call["response"]["bytes"] < int(said) == int(headers["content-length"])
    assert call["findings"][0]["data"] == {"bytes_received": int(got), "bytes_expected": int(said)}
    assert "error APIConnectionError" in program_err(run)  # the client saw the cut too


@pytest.mark.parametrize("name", WORKS)
def test_calls_that_work_are_ok_whatever_else_the_scenario_says(runs: dict[str, Future[Any]], name: str) -> None:
    run, doc, _ = traced(runs, name)
    assert doc["ok"] and doc["exit_code"] == 0 and code_of(doc) is None, run
    assert [c["status"] for c in doc["calls"]] == [200] and "reply " in program_err(run)
    assert not [f for c in doc["calls"] for f in c["findings"] if f["severity"] in ("error", "warning")], run


def test_slow_tokens_stream_is_timed_not_faulted(runs: dict[str, Future[Any]]) -> None:
    _, doc, _ = traced(runs, "openai-slow-tokens")
    (call,) = doc["calls"]
    assert call["stream"]["complete"] and call["stream"]["events"] >= 20
    # The emulator's schedule starts when the request reaches it, after the proxy's clock starts: the first
    # byte at 0.3 s, the first token 0.5 s later, then 19 more 50 ms apart. trace's own timings are lower-bounded.
    timings = call["timings_ms"]
    assert timings["ttfb"] >= 299.9 and timings["total"] >= 300 + 500 + 19 * 50 - 0.1, call


def test_an_instrument_without_tokens_is_named(runs: dict[str, Future[Any]]) -> None:
    _, doc, _ = traced(runs, "openai-instrument-no-tokens-max")
    assert [(c["status"], c["model"]) for c in doc["calls"]] == [(402, "text-max")]
    assert code_of(doc) == "balance.instrument_unavailable" and doc["exit_code"] == 5
