"""gridctl against a hostile server: bounded in time and memory, no escape codes out, no key out.

Each test points the real CLI at tests/support/hostile.py and asserts on what gridctl itself
reports (exit code, findings, its own duration_ms), never on the wall clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Run, clean_env, invoke
from tests.support.hostile import QUOTES, Hostile, controls_in, leaks

pytestmark = pytest.mark.e2e

CANARY = "gk-hostile-Qx7vM2pL9sR4tY8wB1cD6fH0jK5nZ3aE"
REPO = Path(__file__).resolve().parents[2]


def env_for(srv: Hostile, **extra: str) -> dict[str, str]:
    return clean_env(THEGRID_API_KEY=CANARY, THEGRID_BASE_URL=srv.base_url, THEGRID_STATUS_URL=srv.root_url,
                     **extra)


def doc_of(run: Run) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(run.out)
    return doc


def codes(doc: dict[str, Any]) -> list[str]:
    return [f["code"] for c in doc["checks"] for f in c["findings"]]


def clean_run(run: Run) -> None:
    """What every run against a hostile server must satisfy."""
    text = run.out + run.err
    assert "Traceback" not in text and "internal error" not in text, run
    assert run.code != 1, run
    assert not leaks(text, CANARY), (leaks(text, CANARY), run)
    assert not controls_in(text), (controls_in(text), run)


@pytest.fixture(scope="module")
def trickle() -> Iterator[Hostile]:
    with Hostile("trickle", interval=0.1) as srv:
        yield srv


# ---------------------------------------------------------------- time


@pytest.mark.parametrize("args", [("ping",), ("ping", "--stream")])
def test_a_trickle_ends_at_the_budget(trickle: Hostile, args: tuple[str, ...]) -> None:
    run = invoke(*args, "--json", "--timeout", "1", "--retries", "0", env=env_for(trickle))
    clean_run(run)
    doc = doc_of(run)
    assert run.code == 9, run
    assert doc["duration_ms"] <= 2000
    assert set(codes(doc)) & {"net.no_response", "stream.cut"}


def test_an_endless_sse_line_is_cut_at_its_cap() -> None:
    with Hostile("endless-line") as srv:
        run = invoke("ping", "--stream", "--json", "--timeout", "5", "--retries", "0", env=env_for(srv))
    clean_run(run)
    doc = doc_of(run)
    assert "http.oversized" in codes(doc), run
    assert doc["duration_ms"] <= 6000


@pytest.mark.parametrize(("mode", "stream"), [("huge-body", False), ("gzip-bomb", False), ("gzip-bomb", True)])
def test_floods_are_a_finding(mode: str, stream: bool) -> None:
    with Hostile(mode) as srv:
        run = invoke("ping", *(["--stream"] if stream else []), "--json", "--timeout", "5", "--retries", "0",
                     env=env_for(srv))
    clean_run(run)
    assert "http.oversized" in codes(doc_of(run)), run
    assert run.code == 8


def _peak_rss_kib(args: list[str], env: dict[str, str]) -> tuple[int, int, str]:
    """(exit code, peak resident memory in KiB, stdout) of a real gridctl process.

    The peak is the process's own high-water mark (VmHWM in /proc/PID/status), read while it runs:
    wait4's ru_maxrss would also count the memory of the (large, xdist) process that forked it.
    """
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "gridctl", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    peak = [0]

    def sample() -> None:
        status = f"/proc/{proc.pid}/status"
        while proc.poll() is None:
            try:
                with open(status, encoding="ascii") as fh:
                    hwm = next((line for line in fh if line.startswith("VmHWM:")), "")
            except OSError:  # gone between poll() and open()
                break
            if hwm:
                peak[0] = max(peak[0], int(hwm.split()[1]))
            threading.Event().wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read().decode("utf-8", "replace")
    proc.wait()
    sampler.join(5)
    assert peak[0] > 0, "no memory sample was taken"
    return proc.returncode, peak[0], out


def test_peak_memory_stays_bounded_under_every_flood() -> None:
    """The figure for the issue: gridctl's peak RSS reading a 10 MB body, a 2 MB gzip bomb (~2 GB inflated)
    and an endless SSE line. Before the caps the endless line alone took a run from 157 MB to 2.2 GB."""
    peaks = {}
    for mode, extra in (("huge-body", []), ("gzip-bomb", []), ("endless-line", ["--stream"])):
        with Hostile(mode) as srv:
            code, peak, out = _peak_rss_kib(["ping", *extra, "--json", "--timeout", "5", "--retries", "0"],
                                            env_for(srv))
        assert code == 8, (mode, out)
        assert "http.oversized" in out
        peaks[mode] = peak
    print("peak RSS KiB:", peaks)
    assert max(peaks.values()) < 150 * 1024, peaks


# ---------------------------------------------------------------- terminal escapes


@pytest.fixture(scope="module")
def escapes() -> Iterator[Hostile]:
    with Hostile("escapes") as srv:
        yield srv


@pytest.mark.parametrize("args", [("ping",), ("ping", "--json"), ("ping", "--stream"), ("status",),
                                  ("status", "--json"), ("models",), ("doctor", "--stream"), ("doctor", "--json")])
def test_server_escape_codes_never_reach_the_terminal(escapes: Hostile, args: tuple[str, ...]) -> None:
    run = invoke(*args, "--timeout", "3", "--retries", "0", env=env_for(escapes))
    clean_run(run)
    if args == ("ping",):
        assert run.out.startswith("ok ") and "req=req-" in run.out  # the text survives, the controls do not


@pytest.mark.parametrize(("status", "html"), [(401, False), (502, True), (500, False)])
def test_escape_codes_in_errors_and_html_titles(status: int, html: bool) -> None:
    with Hostile("escapes", status=status, html=html) as srv:
        for args in (("ping",), ("doctor",), ("ping", "--json")):
            run = invoke(*args, "--timeout", "3", "--retries", "0", env=env_for(srv))
            clean_run(run)
            assert run.code not in (0, 1)


# ---------------------------------------------------------------- the key quoted back


@pytest.mark.parametrize("quote", QUOTES)
def test_a_server_quoting_the_key_never_gets_it_printed(quote: str) -> None:
    with Hostile("quote-key", quote=quote) as srv:
        for args in (("ping",), ("doctor", "--json")):
            run = invoke(*args, "--timeout", "3", "--retries", "0", env=env_for(srv))
            clean_run(run)
            assert run.code == 4, run
            if "--json" in args:
                doc_of(run)  # still one valid document
        assert srv.keys and srv.keys[0] == CANARY  # the canary really was sent, and quoted back


@pytest.mark.parametrize("cut", [8, 12, 20, 30, 42])
def test_a_key_quoted_at_every_length_is_scrubbed(cut: int) -> None:
    """A server error quoting any prefix of the key of 8+ characters (the issue: 280 characters in, the first 20)."""
    from gridctl.secrets import register, scrub

    register(CANARY)
    for text in (f"key {CANARY[:cut]}…", f"{'x' * 290}{CANARY[:cut]}", f"…{CANARY[-cut:]}",
                 CANARY[:cut].upper(), CANARY[-cut:].lower()):
        assert not leaks(scrub(text), CANARY), (cut, scrub(text))


@pytest.mark.parametrize("mode", ["escapes", "quote-key"])
def test_report_files_hold_no_escape_codes_and_no_key(mode: str, tmp_path: Path) -> None:
    with Hostile(mode, quote="past280") as srv:
        for name in ("r.md", "r.json"):
            run = invoke("doctor", "--timeout", "3", "--retries", "0", "--report", str(tmp_path / name),
                         env=env_for(srv))
            clean_run(run)
            text = (tmp_path / name).read_text(encoding="utf-8")
            assert not controls_in(text) and not leaks(text, CANARY), text
            if name.endswith(".json"):
                json.loads(text)


def test_a_200_without_choices_is_not_ok() -> None:
    with Hostile("empty") as srv:
        run = invoke("ping", "--json", "--timeout", "3", "--retries", "0", env=env_for(srv))
        human = invoke("ping", "--timeout", "3", "--retries", "0", env=env_for(srv))
    clean_run(run)
    assert run.code == 8 and doc_of(run)["diagnosis"]["code"] == "http.empty_answer", run
    assert human.out.startswith("fail http.empty_answer 200"), human
