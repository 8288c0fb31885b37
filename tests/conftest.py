"""Shared fixtures for every test.

Section 1 isolates each test from the machine it runs on (config dir, environment, keyring).
Section 2 holds the fixtures every test file shares; add new shared ones there, not in a test file:
  emulator / healthy_emulator   a running emulator of a scenario, shared for the session (reset per test)
  fresh_emulator                one of your own, stopped after the test (for tests that stop or stress it)
  memory_keyring                an in-memory keyring installed in this process
Helpers (not fixtures) live in tests/support/: cli.py (`invoke()` in-process, `gridctl()` as a real
subprocess, `clean_env`, `emu_env`), contract.py (the JSON envelope, the flow), keyrings.py (test
keyring backends), tls.py (a throwaway TLS server).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gridctl import grid
from gridctl.emulator.server import Emulator, start


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile gridctl's bytecode once per run. Machines that set PYTHONDONTWRITEBYTECODE (this one does)
    never cache it, so each of the suite's ~200 `python -m gridctl` subprocesses would compile the package
    from source again: about 80 ms of CPU each, a tenth of the suite on 2 cores. Up-to-date files are skipped."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "gridctl"), quiet=1)
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        _rewrite_test_modules_once(session.config)


def _rewrite_test_modules_once(config: pytest.Config) -> None:
    """Cache pytest's assertion-rewritten test modules before the workers start. Under PYTHONDONTWRITEBYTECODE
    pytest writes no such cache, so each worker parsed and rewrote every test file again: 4-5 s of CPU per worker
    (collection took 6.2 s against 1.9 s with the cache). These are pytest's own functions, as its import hook
    calls them (hash-based pycs, checked against the source on every read); on a pytest without them, nothing is
    cached and collection is only slower."""
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
        )

        state = config.stash[assertstate_key]
    except (ImportError, KeyError):
        return
    for fn in sorted(Path(__file__).parent.rglob("test_*.py")):
        cache = get_cache_dir(fn)
        pyc = cache / (fn.name[:-3] + PYC_TAIL)
        if _read_pyc(fn, pyc, state.trace) is None:
            cache.mkdir(exist_ok=True)
            source_hash, co = _rewrite_test(fn, config)
            _write_pyc(state, co, source_hash, pyc)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker more than the cores. About a third of the suite's time is waiting (the
    scenarios' delays, timeouts run out on purpose, servers starting), which a third worker fills on
    2 cores: 97-111 s against 105-120 s for two, in alternating runs. PYTEST_XDIST_AUTO_NUM_WORKERS
    still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


# The longest test files first. With `--dist loadfile` each file goes whole to one worker, in collection
# order (`--no-loadscope-reorder`); starting the long ones first and ending on the short ones keeps both
# workers busy to the end (longest-processing-time-first). Seconds per file on this 2-core machine,
# 2026-11-27, from `pytest --durations=0`; a file not listed keeps its place after these.
SLOW_FIRST = (
    "tests/e2e/test_trace.py",  # 34 s
    "tests/e2e/test_trace_output.py",  # 25 s (Ctrl-C, a hung call, real SDK programs)
    "tests/e2e/test_trace_intercept.py",  # 31 s (8 traced SDK programs, 11 short runs; 32 s of CPU)
    "tests/e2e/test_exporter.py",  # 15
    "tests/e2e/test_trace_hardening_e2e.py",  # 15
    "tests/e2e/test_no_key_leak.py",  # 15
    "tests/e2e/test_emulator.py",  # 14
    "tests/e2e/test_hostile.py",  # 12
    "tests/e2e/test_deadline.py",  # 12: every network command against a header trickle, as processes
    "tests/e2e/test_hardening.py",  # 11
    "tests/e2e/test_network_cli.py",  # 10
    "tests/e2e/test_doctor.py",  # 9
    "tests/e2e/test_watch.py",  # 9
    "tests/e2e/test_replay.py",  # 7 (one traced openai program, then in-process replays)
    "tests/e2e/test_explain_sdk.py",  # 8
    "tests/e2e/test_packaging.py",  # 8
    "tests/e2e/test_auth_cli.py",  # 8
    "tests/unit/test_client.py",  # 7
    "tests/e2e/test_onboard.py",  # 7
    "tests/e2e/test_watch_codes.py",  # 7
    "tests/unit/test_static.py",  # 6
    "tests/unit/test_cli_offline.py",  # 6
    "tests/e2e/test_key_never_escapes.py",  # 5
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))  # stable: order within a file kept


# --- 1. isolation from the user's machine (autouse) ------------------------------------------

# Variables gridctl (or the SDKs and httpx underneath it) read; none may leak in from the shell.
ISOLATED_ENV = (
    grid.ENV_API_KEY,
    grid.ENV_LEGACY_KEY,
    grid.ENV_BASE_URL,
    grid.ENV_MODEL,
    grid.ENV_STATUS_URL,
    grid.ENV_PROFILE,
    *grid.SDK_ENV_VARS,
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets an empty config dir, no Grid/SDK/proxy variables, no colour, no real keyring.

    Returns the config dir (GRIDCTL_CONFIG_DIR), which does not exist until something writes it.
    """
    config = tmp_path / "config"
    monkeypatch.setenv("GRIDCTL_CONFIG_DIR", str(config))
    monkeypatch.setenv("GRIDCTL_TEST_CONFIG_DIR", str(config))  # for tests.support.cli.clean_env()
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    # The null backend stores nothing and finds nothing: no test reads or writes a real keyring,
    # neither in a subprocess (the variable) nor in this process (set again for each test, in case
    # an earlier test installed another backend).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring
    from keyring.backends.null import Keyring as NullKeyring

    keyring.set_keyring(NullKeyring())
    # in-process runs register every key they see for scrubbing: start each test with none, or an
    # earlier test's "key" (say `$THEGRID_API_KEY`) would be scrubbed out of this test's output
    from gridctl import secrets

    monkeypatch.setattr(secrets, "_SECRETS", set())
    return config


# --- 2. shared fixtures (add below) -----------------------------------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """An in-memory keyring for in-process tests; the isolation fixture's null keyring comes back after."""
    import keyring

    from tests.support.keyrings import MemoryKeyring

    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


EmulatorFactory = Callable[..., Emulator]


@pytest.fixture(scope="session")
def _emulator_pool() -> Iterator[dict[tuple[str, float], Emulator]]:
    pool: dict[tuple[str, float], Emulator] = {}
    yield pool
    for emu in pool.values():
        emu.stop()


def _reset(emu: Emulator) -> Emulator:
    """A pooled emulator as if just started: no recorded requests, the scenario's counters at zero."""
    with emu._lock:
        emu.requests.clear()
        emu._served = 0
    return emu


@pytest.fixture
def emulator(_emulator_pool: dict[tuple[str, float], Emulator]) -> EmulatorFactory:
    """`emulator(scenario="healthy", latency=0.0)` -> a running Emulator on a loopback port.

    One per (scenario, latency) for the whole session (per xdist worker), reset for each test:
    starting and stopping hundreds of servers cost more than the tests using them. A test that
    stops, floods or otherwise spoils its emulator takes `fresh_emulator` instead.
    """

    def factory(scenario: str = "healthy", latency: float = 0.0) -> Emulator:
        key = (scenario, latency)
        if key not in _emulator_pool:
            _emulator_pool[key] = start(scenario=scenario, latency=latency)
        return _reset(_emulator_pool[key])

    return factory


@pytest.fixture
def fresh_emulator() -> Iterator[EmulatorFactory]:
    """`fresh_emulator(scenario, latency=0.0, **kwargs)` -> an emulator of this test's own, stopped at teardown."""
    started: list[Emulator] = []

    def factory(scenario: str = "healthy", latency: float = 0.0, **kwargs: object) -> Emulator:
        emu = start(scenario=scenario, latency=latency, **kwargs)  # type: ignore[arg-type]
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def healthy_emulator(emulator: EmulatorFactory) -> Emulator:
    return emulator("healthy")


@pytest.fixture(scope="module")
def shaped() -> Iterator[Emulator]:
    """An emulator with the known latency shapes of tests/support/latency.py (the watch and exporter truth)."""
    from tests.support.latency import FIRST_BYTE, FIRST_TOKEN, TOKEN_GAP, TOKENS

    with start("healthy", first_byte_delay=FIRST_BYTE, first_token_delay=FIRST_TOKEN, token_gap=TOKEN_GAP,
               stream_tokens=TOKENS) as emu:
        yield emu


@pytest.fixture(scope="module")
def floor() -> Iterator[Emulator]:
    """The same emulator with 1 ms shapes: the floor every measurement stands on, wake-ups included.

    On a busy machine, waking a thread after a sleep costs more than the work itself; the floor
    sleeps too, so what is left after subtracting it is the delay gridctl saw injected.
    """
    from tests.support.latency import FLOOR, TOKENS

    with start("healthy", first_byte_delay=FLOOR, first_token_delay=FLOOR, token_gap=FLOOR,
               stream_tokens=TOKENS) as emu:
        yield emu
