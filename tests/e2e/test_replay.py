"""`gridctl replay` end to end: a real openai SDK program traced to a HAR, then replayed, minimized and
diffed against the emulator.

One HAR per kind, traced once at module set-up in parallel (`gridctl trace --emulate healthy --har F`).
The replays run in-process against one emulator of this module, whose request log counts what each
replay sent. A canary key goes through every run and is searched for in every byte written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from gridctl.emulator.server import Emulator, start
from tests.support.cli import Run, clean_env, gridctl, in_parallel, invoke
from tests.support.contract import ENVELOPE_KEYS

pytestmark = pytest.mark.e2e

CLIENT = [sys.executable, str(Path(__file__).parent / "trace_clients" / "replay_client.py")]
CANARY = "gk-canary-RpL4yQ8mZ2vX6nB0cT3wK7sD1fH5jA9eG2u"
# kind -> (the field --minimize must name, the finding code of the failure)
KINDS = {
    "range": ("presence_penalty", "body.out_of_range"),
    "unknown": ("safe_mode", "body.unknown_param"),
    "tool": ("the tool `lookup`", "body.tool_schema"),
    "format": ("response_format", "body.response_format"),
    "context": ("max_completion_tokens", "body.context_length"),
}
TRACED = (*KINDS, "doubled-v1", "wrong-header")
WRITTEN: list[str] = []  # every byte replay wrote, for the canary search


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Future[Any]]:
    """One program making every kind of call, traced once: call N of the HAR is TRACED[N - 1]."""
    har = tmp_path_factory.mktemp("replay-har") / "calls.har"

    def job() -> tuple[Run, Path]:
        return gridctl("trace", "--emulate", "healthy", "--har", str(har), "--", *CLIENT, *TRACED,
                       env=clean_env(CLIENT_KEY=CANARY), timeout=60), har

    future = in_parallel({"trace": job}, workers=1)["trace"]  # starts now, while the emulator starts
    yield future
    future.result()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with start("healthy") as server:
        yield server


def har_of(traced: Future[Any]) -> Path:
    run, path = traced.result(timeout=120)
    assert path.exists(), run
    return path


def call_of(kind: str) -> str:
    return str(TRACED.index(kind) + 1)


def replay(emu: Emulator, *args: str, **env: str) -> tuple[Run, int]:
    """`gridctl replay ARGS` in-process, with the canary key; (run, requests the emulator got meanwhile)."""
    before = len(emu.requests)
    run = invoke("replay", *args, env=clean_env(THEGRID_API_KEY=CANARY, **env))
    WRITTEN.extend([run.out, run.err])
    return run, len(emu.requests) - before


def test_the_traced_calls_failed_as_the_emulator_rejects(traced: Future[Any]) -> None:
    doc = json.loads(har_of(traced).read_text("utf-8"))
    assert len(doc["log"]["entries"]) == len(TRACED)
    for kind, (_, code) in KINDS.items():
        entry = doc["log"]["entries"][TRACED.index(kind)]
        sent = json.loads(entry["request"]["postData"]["text"])
        assert len(sent) == 14, (kind, sorted(sent))  # the program's 14 fields
        assert code in entry["comment"], (kind, entry["comment"])


@pytest.mark.parametrize("kind", list(KINDS))
def test_minimize_names_the_field_within_32_requests(traced: Future[Any], emu: Emulator,
                                                     kind: str) -> None:
    field, code = KINDS[kind]
    run, counted = replay(emu, str(har_of(traced)), "--call", call_of(kind), "--minimize", "--yes", "--json",
                          "--base-url", emu.base_url)
    doc = run.json()
    assert ENVELOPE_KEYS <= set(doc) and doc["schema"] == "gridctl/1" and doc["command"] == "replay"
    assert run.code == 10 and doc["diagnosis"]["code"] == code
    m = doc["minimize"]
    assert m["complete"] and m["failure"]["code"] == code
    assert m["requests"] == counted <= 32
    assert field in m["sentence"], m["sentence"]
    if kind != "tool":
        assert m["field"] == field
    # the smallest failing request holds the bad field and little else
    minimal = m["minimal"]["body"]
    assert set(minimal) <= {"model", "messages", "tools", field, "max_tokens"}, minimal
    assert CANARY not in json.dumps(m)
    # the printed curl, run as printed with the key in the environment, fails the same way
    answer = _curl(m["minimal_curl"], emu)
    assert answer["errors"]["code"] == {"body.out_of_range": "out_of_range", "body.unknown_param": "unknown_parameter",
                                        "body.tool_schema": "invalid_tool_schema",
                                        "body.response_format": "unsupported_response_format",
                                        "body.context_length": "context_length_exceeded"}[code]
    assert "choices" in _curl(m["passing_curl"], emu)  # and the one without the change passes


def _curl(command: str, emu: Emulator) -> Any:
    before = len(emu.requests)
    env = {**os.environ, "THEGRID_API_KEY": CANARY}
    proc = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=20)
    assert len(emu.requests) == before + 1, proc.stderr
    sent = emu.requests[-1]["headers"]
    assert sent["authorization"] != f"Bearer {CANARY}"  # the emulator's log holds a hash, never the key
    from gridctl.emulator.server import redact_credential

    assert sent["authorization"] == redact_credential(f"Bearer {CANARY}")  # the key came from the environment
    return json.loads(proc.stdout)


def test_minimize_human_output_says_the_change_and_prints_both_curls(traced: Future[Any],
                                                                     emu: Emulator) -> None:
    run, counted = replay(emu, str(har_of(traced)), "--call", call_of("range"), "--minimize", "--yes",
                          "--base-url", emu.base_url)
    assert run.code == 10, run
    assert "without `presence_penalty` the call succeeds" in run.out
    assert "presence_penalty = 3.5" in run.out
    printed = run.out.split("smallest failing request:\n", 1)[1].split("\n\n", 1)[0]
    assert printed.startswith("curl ") and "$THEGRID_API_KEY" in printed
    assert _curl(printed, emu)["errors"]["code"] == "out_of_range"
    assert f"{counted} sent (at most 32)" in run.out


def test_replay_resends_the_call_and_shows_both_answers(traced: Future[Any], emu: Emulator) -> None:
    run, counted = replay(emu, str(har_of(traced)), "--call", call_of("unknown"), "--json", "--base-url", emu.base_url)
    doc = run.json()
    assert counted == 1 and run.code == 10
    assert doc["recorded"]["status"] == 400 and doc["replayed"]["status"] == 400
    assert doc["replayed"]["request_id"] == emu.requests[-1]["request_id"] != doc["recorded"]["request_id"]
    assert doc["diagnosis"]["code"] == "body.unknown_param"
    sent = json.loads(emu.requests[-1]["body"])
    assert sent["safe_mode"] is True and sent["max_tokens"] == 64 and len(sent) == 14  # as the program sent it
    human, _ = replay(emu, str(har_of(traced)), "--call", call_of("unknown"), "--base-url", emu.base_url)
    assert re.search(r"recorded: HTTP 400 .*\nreplayed: HTTP 400 body.unknown_param req=req_", human.out), human


def test_diff_names_the_doubled_v1_path(traced: Future[Any], emu: Emulator) -> None:
    run, counted = replay(emu, "--diff", str(har_of(traced)), "--call", call_of("doubled-v1"), "--json",
                          "--base-url", emu.base_url)
    doc = run.json()
    assert ENVELOPE_KEYS <= set(doc)
    assert [row["part"] for row in doc["diff"]["url"]] == ["path"]
    assert doc["diff"]["url"][0]["recorded"] == "/v1/v1/chat/completions"
    assert doc["diagnosis"]["code"] == "url.doubled_v1" and run.code == 6
    assert counted == 1 and emu.requests[-1]["path"] == "/v1/chat/completions"  # gridctl's own ping, working
    assert doc["checks"][1]["status"] == "pass"


def test_diff_names_the_wrong_header(traced: Future[Any], emu: Emulator) -> None:
    run, _ = replay(emu, "--diff", str(har_of(traced)), "--call", call_of("wrong-header"), "--base-url",
                    emu.base_url)
    assert run.code == 4, run
    assert "auth.wrong_header" in run.out and "header x-api-key: recorded 'x-api-key', ping 'authorization'" in run.out
    doc, _ = replay(emu, "--diff", str(har_of(traced)), "--call", call_of("wrong-header"), "--json",
                    "--base-url", emu.base_url)
    assert doc.json()["diff"]["url"] == []


def test_a_lookalike_host_gets_nothing(traced: Future[Any], emu: Emulator, tmp_path: Path) -> None:
    doc = json.loads(har_of(traced).read_text("utf-8"))
    doc["log"]["entries"] = doc["log"]["entries"][TRACED.index("unknown"):][:1]
    for entry in doc["log"]["entries"]:
        entry["_gridctl"]["sdk_url"] = "https://api.thegrld.ai/v1/chat/completions"
    bent = tmp_path / "lookalike.har"
    bent.write_text(json.dumps(doc), "utf-8")
    # no --base-url: gridctl's own setting (THEGRID_BASE_URL, the emulator here) stands in for the recorded host
    run, counted = replay(emu, str(bent), "--json", THEGRID_BASE_URL=emu.base_url)
    out = run.json()
    codes = [f["code"] for f in out["checks"][0]["findings"]]
    assert codes[:2] == ["url.host_typo", "replay.rehosted"]
    assert counted == 1 and out["replayed"]["url"] == emu.base_url + "/chat/completions"
    assert out["checks"][0]["data"]["key_sent_to"] == ["127.0.0.1"]


def test_emulator_list_says_what_it_validates() -> None:
    doc = invoke("emulator", "list", "--json").json()
    for words in ("unknown parameters", "temperature", "JSON schema", "response_format", "context"):
        assert words in doc["validation"]


def test_emulate_needs_no_confirmation_and_no_key(traced: Future[Any]) -> None:
    run = invoke("replay", str(har_of(traced)), "--call", call_of("range"), "--minimize", "--emulate", "healthy",
                 "--json", env=clean_env())
    WRITTEN.extend([run.out, run.err])
    doc = run.json()
    assert run.code == 10 and doc["minimize"]["field"] == "presence_penalty" and doc["emulated"] == "healthy"


@pytest.mark.parametrize(("content", "args", "words"), [
    ("not json at all", (), "is not a HAR file"),
    ('{"log": {"entries": []}}', (), "holds no calls"),
    (None, ("--call", "99"), "has no call 99"),
    ("cut", (), "cut body"),
    ("streamed", (), "streamed body"),
    (None, ("--minimize",), "confirm with --yes"),
])
def test_bad_input_is_one_line_exit_2(traced: Future[Any], emu: Emulator, tmp_path: Path,
                                      content: str | None, args: tuple[str, ...], words: str) -> None:
    path = har_of(traced)
    if content in ("cut", "streamed"):
        doc = json.loads(path.read_text("utf-8"))
        req = doc["log"]["entries"][0]["request"]
        if content == "cut":
            req["bodySize"] = 70000
        else:
            del req["postData"]
        content = json.dumps(doc)
    if content is not None:
        path = tmp_path / "in.har"
        path.write_text(content, "utf-8")
    run, counted = replay(emu, str(path), *args, "--base-url", emu.base_url)
    assert run.code == 2 and counted == 0, run
    assert run.out == "" and len(run.err.strip().splitlines()) == 1 and words in run.err, run
    doc, _ = replay(emu, str(path), *args, "--json", "--base-url", emu.base_url)
    assert doc.code == 2 and doc.json()["exit_code"] == 2


def test_no_output_har_or_log_holds_the_key(traced: Future[Any], emu: Emulator) -> None:
    replay(emu, str(har_of(traced)), "--call", call_of("tool"), "--minimize", "--yes", "-v", "--base-url",
           emu.base_url)
    run, path = traced.result(timeout=120)
    assert CANARY not in path.read_text("utf-8") + run.out + run.err
    assert WRITTEN and not any(CANARY in text for text in WRITTEN)
    assert CANARY not in repr(emu.requests)
