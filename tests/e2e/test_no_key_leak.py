"""The key never appears anywhere: stdout, stderr, JSON, reports, printed curl commands, tracebacks.

A random canary key goes in (THEGRID_API_KEY, --api-key, --api-key-stdin) through every command and
every emulator scenario; the emulator proves it was really sent, and every byte gridctl wrote is
searched for it. The runs are subprocesses started together at module set-up.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from gridctl.emulator.scenarios import SCENARIOS
from gridctl.emulator.server import redact_credential, start
from tests.support.cli import Run, emu_env, gridctl, in_parallel

pytestmark = pytest.mark.e2e

_ALPHABET = string.ascii_letters + string.digits


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


CANARY = "gk-canary-" + _random(33)  # 43 characters, like a documented key
assert len(CANARY) == 43
# A key with a line break inside: HTTP cannot carry it, and error messages like to quote it escaped.
HEAD, TAIL = _random(16), _random(16)
BROKEN = f"gk-canary-{HEAD}\n{TAIL}"
FAST = ("--timeout", "2", "--retries", "0")


class Evidence:
    """Everything one job wrote, and what the emulator received."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.files: dict[str, str] = {}
        self.received: list[dict[str, str]] = []

    def texts(self) -> Iterator[tuple[str, str]]:
        for run in self.runs:
            yield f"stdout of {run.args}", run.out
            yield f"stderr of {run.args}", run.err
        yield from self.files.items()


# Every scenario runs once with human output, -v on stderr and a JSON report file; these also run with
# --json on stdout and a Markdown report (the JSON document's values are scrubbed one way for all scenarios:
# a subset that answers in every shape, 2xx, 4xx, redirects, HTML, streams, keeps the suite's time down).
BOTH_FORMS = frozenset({"healthy", "bad-key", "no-credits", "redirect", "redirect-token-expired", "html-error",
                        "stream-cut", "incident", "hang"})


def scenario_job(scenario: str, folder: Path) -> Callable[[], Evidence]:
    def job() -> Evidence:
        ev = Evidence()
        with start(scenario) as emu:
            env = emu_env(emu, CANARY)
            md, js = folder / f"{scenario}.md", folder / f"{scenario}.json"
            ev.runs.append(gridctl("doctor", "-v", "--stream", *FAST, "--report", str(js), env=env))
            if scenario in BOTH_FORMS:
                ev.runs.append(gridctl("doctor", "--json", *FAST, "--report", str(md), env=env))
            ev.files = {str(p): p.read_text(encoding="utf-8") for p in (md, js) if p.exists()}
            ev.received = [{**r["headers"], ":path": r["path"]} for r in emu.requests]
        return ev

    return job


def commands_job(scenario: str, *commands: tuple[str, ...], key: str | None = CANARY, stdin: str | None = None,
                 folder: Path | None = None) -> Callable[[], Evidence]:
    def job() -> Evidence:
        ev = Evidence()
        with start(scenario) as emu:
            env = emu_env(emu, key)
            for args in commands:
                ev.runs.append(gridctl(*args, env=env, stdin=stdin))
            ev.received = [{**r["headers"], ":path": r["path"]} for r in emu.requests]
        if folder is not None:
            ev.files = {str(p): p.read_text(encoding="utf-8") for p in folder.glob("*") if p.is_file()}
        return ev

    return job


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Evidence]]]:
    scen_dir = tmp_path_factory.mktemp("leak-scenarios")
    flag_dir = tmp_path_factory.mktemp("leak-flag")
    stdin_dir = tmp_path_factory.mktemp("leak-stdin")
    jobs: dict[str, Callable[[], Evidence]] = {
        name: scenario_job(name, scen_dir)
        for name in sorted(SCENARIOS, key=lambda n: n not in ("hang", "slow", "stream-idle"))
    }
    jobs["--api-key"] = commands_job(
        "bad-key", ("doctor", "--json", "--api-key", CANARY, *FAST, "--report", str(flag_dir / "r.json")),
        ("doctor", "--api-key", CANARY, *FAST, "--report", str(flag_dir / "r.md")),
        ("ping", "--api-key", CANARY, *FAST), ("auth", "lint", "--api-key", CANARY), key=None, folder=flag_dir)
    jobs["--api-key-stdin"] = commands_job(
        "healthy", ("doctor", "--api-key-stdin", *FAST, "--report", str(stdin_dir / "r.md")),
        ("doctor", "--json", "--api-key-stdin", *FAST), ("ping", "--json", "--api-key-stdin", *FAST),
        key=None, stdin=CANARY + "\n", folder=stdin_dir)
    jobs["ping"] = commands_job(
        "healthy", ("ping",), ("ping", "--json"), ("ping", "--all", "--json"), ("ping", "--stream"),
        ("ping", "--curl"), ("ping", "--curl", "--stream"), ("ping", "-v", "--json", "--model", "gpt-5.2"))
    jobs["ping-failing"] = commands_job(
        "redirect-cross-host", ("ping", *FAST), ("ping", "--json", *FAST), ("ping", "--stream", *FAST))
    jobs["status"] = commands_job("incident", ("status",), ("status", "--json"), ("ping", "--json", *FAST))
    jobs["balance"] = commands_job("instrument-no-tokens", ("balance", *FAST), ("balance", "--json", *FAST),
                                   ("balance", "--model", "text-max", "--json", *FAST))
    jobs["models"] = commands_job("models-unavailable", ("models",), ("models", "--json"),
                                  ("models", "text-prme", "--json"))
    jobs["auth"] = commands_job("healthy", ("auth", "lint"), ("auth", "lint", "--json"), ("auth", "status"),
                                ("auth", "status", "--json"), ("auth", "lint", f"Authorization: Bearer {CANARY}"),
                                ("auth", "lint", "--json", f"Authorization: bearer {CANARY}"))
    jobs["broken-key"] = commands_job("healthy", ("doctor", *FAST), ("doctor", "--json", *FAST),
                                      ("ping", *FAST), ("ping", "--json", *FAST), ("auth", "lint"), key=BROKEN)
    futures = in_parallel(jobs)
    yield futures
    for fut in futures.values():
        fut.result()


def assert_clean(ev: Evidence, *needles: str) -> None:
    checked = 0
    for where, text in ev.texts():
        checked += 1
        for needle in needles:
            assert needle not in text, f"the key leaked in {where}:\n{text}"
    assert checked >= 2


def assert_ran(ev: Evidence) -> None:
    for run in ev.runs:
        assert run.code not in (1, 2), run  # a crash or a usage error would make the search meaningless
        assert run.out.strip() or run.err.strip(), run


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_leak_in_any_scenario(evidence: dict[str, Future[Evidence]], scenario: str) -> None:
    ev = evidence[scenario].result()
    assert_ran(ev)
    assert len(ev.files) == (2 if scenario in BOTH_FORMS else 1)  # every report written was searched
    assert any(h.get("authorization") == redact_credential(f"Bearer {CANARY}") for h in ev.received)  # the canary was in use
    assert_clean(ev, CANARY)


@pytest.mark.parametrize("job", ["--api-key", "--api-key-stdin", "ping", "ping-failing", "status", "balance",
                                 "models", "auth"])
def test_no_leak_in_other_commands(evidence: dict[str, Future[Evidence]], job: str) -> None:
    ev = evidence[job].result()
    assert_ran(ev)
    if job.startswith("--api-key"):
        assert ev.files  # the reports exist and were searched
    if job not in ("status", "models", "auth"):
        assert any(h.get("authorization") == redact_credential(f"Bearer {CANARY}") for h in ev.received)
    if job == "status":
        status_page = [h for h in ev.received if h[":path"].startswith("/api/v2/")]
        assert status_page and not any("authorization" in h for h in status_page)  # no credentials there
    assert_clean(ev, CANARY)


def test_curl_command_uses_the_variable(evidence: dict[str, Future[Evidence]]) -> None:
    curls = [r.out for r in evidence["ping"].result().runs if "--curl" in r.args]
    assert len(curls) == 2 and all('"Authorization: Bearer $THEGRID_API_KEY"' in c for c in curls)


def test_a_key_with_a_line_break_leaks_in_no_form(evidence: dict[str, Future[Evidence]]) -> None:
    """h11 refuses the header and quotes it repr-escaped; neither half may show, escaped or not."""
    ev = evidence["broken-key"].result()
    assert_ran(ev)
    doctor_json: Any = ev.runs[1].json()
    assert doctor_json["diagnosis"]["code"] == "auth.key_whitespace"
    assert_clean(ev, HEAD, TAIL[:-4])  # the fingerprint may show the last four characters, nothing more
