"""Every network command ends by its --timeout, whatever the server trickles (issue 22).

The hostile server sends its status line and then its headers one byte every 50 ms, for
ever: every read gets a byte in time, so only a real deadline ends the request. Each command runs
as a real process (the process ending is the point; before the fix they ran until killed) and must
report the network's finding and exit code. The bounds are generous (--timeout + 5 s) and measured
where start-up on a busy machine does not count: by the server, from each request to the client
leaving it, and by gridctl itself (duration_ms).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Run, clean_env, gridctl, in_parallel
from tests.support.hostile import Hostile, leaks

pytestmark = pytest.mark.e2e

CANARY = "gk-hostile-Qx7vM2pL9sR4tY8wB1cD6fH0jK5nZ3aE"
TIMEOUT = 2.0
BOUND = TIMEOUT + 5.0  # a generous bound on each request and on each command's own duration
ENDS_WITHIN = 60.0  # the process, start-up on a loaded machine included (it is killed, and the test fails, if not)
# command -> (arguments, the finding code it must report, its exit code)
COMMANDS: dict[str, tuple[tuple[str, ...], str, int]] = {
    "ping": (("ping",), "net.no_response", 9),
    "ping --stream": (("ping", "--stream"), "net.no_response", 9),
    "ping --all": (("ping", "--all"), "net.no_response", 9),
    "balance": (("balance",), "net.no_response", 9),
    "models": (("models",), "model.not_listed", 0),  # the live list unread: the built-in list, a warning
    "usage": (("usage", "req_abc123"), "net.no_response", 9),
    "status": (("status",), "status.unreachable", 9),
    "watch": (("watch", "--count", "1"), "net.no_response", 9),
    "onboard": (("onboard", "--no-input", "--sdk", "openai"), "net.no_response", 9),
    "auth status": (("auth", "status"), "net.no_response", 9),
    "auth login": (("auth", "login", "--api-key-stdin", "--insecure-storage", "--no-input"), "net.no_response", 9),
    "doctor": (("doctor",), "net.no_response", 9),
    "replay": (("replay", "{har}", "--yes"), "net.no_response", 9),  # a recorded call, re-sent to the trickle
}


def run_one(args: tuple[str, ...], env: dict[str, str], stdin: str | None) -> Run:
    return gridctl(*args, "--json", "--timeout", str(TIMEOUT), env=env, stdin=stdin, timeout=ENDS_WITHIN)


@pytest.fixture(scope="module")
def trickle() -> Iterator[Hostile]:
    with Hostile("header-trickle", interval=0.05) as srv:
        yield srv


def har_for(base_url: str, path: Path) -> str:
    """A one-call HAR (as a browser or `gridctl trace --har` writes it) of a chat completion to `base_url`."""
    body = json.dumps({"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]})
    entry = {"request": {"method": "POST", "url": f"{base_url}/chat/completions", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "content-type", "value": "application/json"}],
                         "postData": {"mimeType": "application/json", "text": body}},
             "response": {"status": 500, "headers": [], "content": {"text": "{}", "mimeType": "application/json"}}}
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                                        "entries": [entry]}}), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def runs(trickle: Hostile, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Run]]]:
    env = clean_env(THEGRID_API_KEY=CANARY, THEGRID_BASE_URL=trickle.base_url, THEGRID_STATUS_URL=trickle.root_url)
    har = har_for(trickle.base_url, tmp_path_factory.mktemp("deadline") / "call.har")
    argv = {name: tuple(a.format(har=har) for a in args) for name, (args, _code, _exit) in COMMANDS.items()}
    jobs = {name: (lambda args=args, name=name: run_one(args, env, CANARY if name == "auth login" else None))
            for name, args in argv.items()}
    futures = in_parallel(jobs)
    yield futures
    for fut in futures.values():
        fut.exception()


def codes(doc: dict[str, Any]) -> list[str]:
    return [f["code"] for c in doc["checks"] for f in c["findings"]]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_header_trickle_ends_at_the_budget(runs: dict[str, Future[Run]], name: str) -> None:
    _args, code, exit_code = COMMANDS[name]
    run = runs[name].result()  # a process still running past ENDS_WITHIN raised TimeoutExpired here
    assert "Traceback" not in run.err and not leaks(run.out + run.err, CANARY), run
    doc = json.loads(run.out)
    assert run.code == exit_code == doc["exit_code"], run
    assert code in codes(doc), run
    assert doc["duration_ms"] < BOUND * 1000, run


def test_every_request_was_left_within_the_budget(runs: dict[str, Future[Run]], trickle: Hostile) -> None:
    for fut in runs.values():
        fut.result()
    # The server notices a client has gone at its next byte or two (50 ms each): give it a generous while.
    for _ in range(200):
        with trickle.lock:
            spans = [list(span) for span in trickle.spans]
        if all(end is not None for _start, end in spans):
            break
        time.sleep(0.05)
    assert len(spans) >= len(COMMANDS)  # every command reached the server (ping --all and balance: nine each)
    held = [end - start for start, end in spans if start is not None and end is not None]
    assert len(held) == len(spans), "a request was still held open after its process ended"
    assert max(held) < BOUND, sorted(held)[-5:]


def test_the_exporter_answers_a_probe_of_a_header_trickle_in_time(trickle: Hostile) -> None:
    import httpx

    env = clean_env(THEGRID_API_KEY=CANARY, THEGRID_BASE_URL=trickle.base_url)
    proc = subprocess.Popen([sys.executable, "-m", "gridctl", "exporter", "--listen", "127.0.0.1:0", "--json",
                             "--timeout", str(TIMEOUT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            lines.append(proc.stdout.readline())
            assert lines[-1], proc.stderr.read() if proc.stderr else ""
        probe_url = json.loads("".join(lines))["probe_url"]
        text = httpx.get(probe_url, timeout=BOUND).text  # past BOUND: ReadTimeout, and the test fails
    finally:
        proc.terminate()
        proc.wait(10)
    assert "probe_success 0.0" in text, text
    assert 'code="net.no_response"' in text, text
    assert CANARY not in text
