"""`gridctl trace` as a user runs it, against what issue 22 found: long bodies, keys sent by position, bad proxy
variables, and a stream cut read the way doctor reads it. Real subprocesses, loopback only."""

from __future__ import annotations

import re
import secrets
import string
import sys
from pathlib import Path

import pytest

from tests.support.cli import clean_env, gridctl
from tests.support.hostile import leaks

pytestmark = pytest.mark.e2e

CLIENTS = Path(__file__).parent / "trace_clients"


def _canary() -> str:
    return "gk-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def test_a_long_prompt_and_a_long_answer_are_ok(tmp_path: Path) -> None:
    har = tmp_path / "long.har"
    run = gridctl("trace", "--json", "--emulate", "healthy", "--har", str(har), "--exit-code", "diagnosis", "--",
                  sys.executable, str(CLIENTS / "long_client.py"), env=clean_env(CLIENT_KEY=_canary()), timeout=60)
    doc = run.json()
    (call,) = doc["calls"]
    assert run.code == 0 and doc["diagnosis"] is None, run
    assert call["status"] == 200 and call["request"]["bytes"] > 17_000 and call["response"]["bytes"] > 40_000
    assert not [f for f in call["findings"] if f["severity"] == "error"], call["findings"]
    # the program's stdout goes to stderr under --json, where a live line may land mid-line: take those out
    got = re.search(r"reply (\d+)", re.sub(r"trace #\d+ .*\n?", "", run.err))
    assert got is not None and int(got.group(1)) > 40_000, run  # it got its whole answer


def test_a_key_sent_by_position_is_in_no_byte_trace_writes(tmp_path: Path) -> None:
    keys = [_canary() for _ in range(3)]
    script = ('curl -sS -o /dev/null --max-time 5 "$THEGRID_BASE_URL/chat/completions?api-key=$K0" '
              '-d "api_key=$K1&model=text-prime"; '
              'curl -sS -o /dev/null --max-time 5 "$THEGRID_BASE_URL/chat/completions" -H "content-type: application/json" '
              '-d "{\\"model\\": \\"text-prime\\", \\"messages\\": [], \\"metadata\\": {\\"secret\\": \\"$K2\\"}}"')
    har = tmp_path / "keys.har"
    run = gridctl("trace", "--json", "--emulate", "healthy", "--har", str(har), "--", "sh", "-c", script,
                  env=clean_env(K0=keys[0], K1=keys[1], K2=keys[2]), timeout=60)
    assert len(run.json()["calls"]) == 2, run
    everything = run.out + run.err + har.read_text("utf-8")
    for key in keys:
        assert leaks(everything, key) == [], key


@pytest.mark.parametrize("value", ["http://pro\x01xy:8080", "socks9://proxy:1080", "http://", "http://proxy:99999",
                                   "http://pro xy:8080"])
def test_a_bad_proxy_variable_is_one_line_and_exit_9(value: str) -> None:
    run = gridctl("trace", "--", sys.executable, "-c", "print('never runs')", env=clean_env(HTTPS_PROXY=value),
                  timeout=30)
    assert run.code == 9, run
    assert len(run.err.strip().splitlines()) == 1 and "HTTPS_PROXY" in run.err and "Traceback" not in run.err
    assert "never runs" not in run.out + run.err


def test_trace_and_doctor_read_an_early_stream_cut_the_same() -> None:
    traced = gridctl("trace", "--json", "--emulate", "stream-cut", "--", sys.executable,
                     str(CLIENTS / "py_client.py"), "openai-stream",
                     env=clean_env(CLIENT_KEY=_canary(), CLIENT_RETRIES="0"), timeout=60)
    doctor = gridctl("doctor", "--emulate", "stream-cut", "--stream", "--json", "--timeout", "5", env=clean_env(),
                     timeout=60)
    cut = next(f for c in traced.json()["calls"] for f in c["findings"] if f["code"] == "stream.cut")
    doc_cut = next(f for c in doctor.json()["checks"] for f in c["findings"] if f["code"] == "stream.cut")
    for f in (cut, doc_cut):
        assert "closed actively" in f["fix"] and "30-60" not in f["fix"], f
    shape = re.compile(r"\d+(\.\d+)? (ms|s)")
    assert shape.sub("N", cut["fix"]) == shape.sub("N", doc_cut["fix"])
