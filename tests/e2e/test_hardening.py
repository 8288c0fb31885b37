"""Broken environments and a user who presses Ctrl-C: findings and one-line errors, never a crash or a hang.

Real subprocesses where the point is a signal, an encoding or a file descriptor; in-process runs
for the rest. Assertions are on gridctl's exit codes, findings and its own reported duration.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gridctl.emulator.scenarios import MAX_INSTRUMENTS
from gridctl.emulator.server import Emulator, start
from gridctl.grid import INSTRUMENTS  # the nine a sweep probes
from tests.support.cli import clean_env, emu_env, invoke

pytestmark = pytest.mark.e2e

KEY = "gk-harden-Wm4qT8zX1cV6bN3jL7pR2sY9dF5gH0kA"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hang() -> Iterator[Emulator]:
    emu = start(scenario="hang")
    yield emu
    emu.stop()


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gridctl", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


# ---------------------------------------------------------------- Ctrl-C

JSON_RUNS = (["doctor", "--json"], ["ping", "--all", "--json"], ["balance", "--json"], ["ping", "--json"])
SWEEPS = (["ping", "--all", "--json"], ["balance", "--json"], ["ping", "--all"], ["balance", "--no-color"])


@pytest.fixture(scope="module")
def partly_hung() -> Iterator[Emulator]:
    """The three *-max instruments never answer; the six others answer at once."""
    emu = start(scenario="hang")
    emu.scenario = replace(emu.scenario, fail_instruments=MAX_INSTRUMENTS)
    yield emu
    emu.stop()


def _chat_calls(emu: Emulator, since: int) -> int:
    return sum("/chat/completions" in r["path"] for r in emu.requests[since:])


@pytest.fixture(scope="module")
def interrupted(hang: Emulator, partly_hung: Emulator) -> dict[str, tuple[int, str, str]]:
    """Every Ctrl-C case at once (started together, one wait): {name: (exit code, stdout, stderr)}."""
    before, before_partly = len(hang.requests), len(partly_hung.requests)
    runs = {" ".join(args): (_spawn([*args, "--timeout", "30"], emu_env(hang, KEY)), 1) for args in JSON_RUNS}
    runs["doctor human"] = (_spawn(["doctor", "--timeout", "30", "--no-color"], emu_env(hang, KEY)), 1)
    runs["doctor twice"] = (_spawn(["doctor", "--timeout", "30"], emu_env(hang, KEY)), 2)
    for args in SWEEPS:
        runs["partly " + " ".join(args)] = (_spawn([*args, "--timeout", "30"], emu_env(partly_hung, KEY)), 1)
    # Wait until every process is parked in its hanging requests (1 per doctor or ping, 9 per --all or
    # balance): a signal during interpreter start-up would test Python, not gridctl.
    expected = 1 + 9 + 9 + 1 + 1 + 1
    until = time.monotonic() + 20
    while time.monotonic() < until and (_chat_calls(hang, before) < expected or
                                        _chat_calls(partly_hung, before_partly) < 9 * len(SWEEPS)):
        time.sleep(0.05)
    time.sleep(0.3)
    for proc, times in runs.values():
        for _ in range(times):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.02)
    out: dict[str, tuple[int, str, str]] = {}
    for name, (proc, _) in runs.items():
        stdout, stderr = proc.communicate(timeout=10)  # a bound for the test, far below the 30 s budget
        out[name] = (proc.returncode, stdout, stderr)
    return out


@pytest.mark.parametrize("name", [" ".join(a) for a in JSON_RUNS])
def test_ctrl_c_stops_at_once_with_a_valid_document(interrupted: dict[str, tuple[int, str, str]], name: str) -> None:
    code, out, err = interrupted[name]
    assert code == 130, (out, err)
    assert "Traceback" not in err
    doc = json.loads(out)
    assert doc["exit_code"] == 130 and doc["ok"] is False
    assert doc["diagnosis"]["code"] == "run.interrupted"
    assert doc["duration_ms"] < 5000  # its own clock: stopped soon after the signal, not at the 30 s budget
    assert KEY not in out + err


def test_an_interrupted_sweep_keeps_the_instruments_that_answered(
        interrupted: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = interrupted["partly ping --all --json"]
    assert code == 130, (out, err)
    doc = json.loads(out)
    assert doc["diagnosis"]["code"] == "run.interrupted" and doc["exit_code"] == 130
    by_model = {c["data"]["model"]: c for c in doc["checks"]}
    assert sorted(by_model) == sorted(INSTRUMENTS)
    for model, check in by_model.items():
        codes = [f["code"] for f in check["findings"]]
        if model in MAX_INSTRUMENTS:
            assert codes == ["run.interrupted"], check
        else:  # answered before the Ctrl-C: kept as it came, with its request ID
            assert check["data"]["status_code"] == 200 and "run.interrupted" not in codes, check
            assert check["data"]["request_id"] in doc["request_ids"]


def test_an_interrupted_balance_lists_the_answers_and_gives_no_verdict(
        interrupted: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = interrupted["partly balance --json"]
    assert code == 130, (out, err)
    doc = json.loads(out)
    (check,) = doc["checks"]
    assert [f["code"] for f in check["findings"]] == ["run.interrupted"]  # no credits-or-tokens guess
    assert sorted(check["data"]["waiting"]) == sorted(MAX_INSTRUMENTS)
    assert {r["model"]: r["status_code"] for r in check["data"]["instruments"]} == \
        {m: 200 for m in INSTRUMENTS if m not in MAX_INSTRUMENTS}


def test_an_interrupted_sweep_prints_a_line_per_instrument(interrupted: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = interrupted["partly ping --all"]
    assert code == 130 and "Traceback" not in err, (out, err)
    lines = out.splitlines()
    assert sorted(line.split()[1] for line in lines if line.startswith("ok ")) == \
        sorted(m for m in INSTRUMENTS if m not in MAX_INSTRUMENTS)
    assert sorted(line.rsplit("model=", 1)[1] for line in lines if line.startswith("fail run.interrupted")) == \
        sorted(MAX_INSTRUMENTS)


def test_an_interrupted_balance_shows_who_answered_and_who_was_still_waiting(
        interrupted: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = interrupted["partly balance --no-color"]
    assert code == 130 and "Traceback" not in err, (out, err)
    rows = dict(line.split() for line in out.splitlines() if line.split() and line.split()[0] in INSTRUMENTS)
    assert rows == {m: "interrupted" if m in MAX_INSTRUMENTS else "200" for m in INSTRUMENTS}
    assert "no balance verdict" in out and "credits" not in out.lower()


def test_doctor_interrupted_keeps_what_it_learned(interrupted: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = interrupted["doctor human"]
    assert code == 130, (out, err)
    assert "Configuration" in out and "Interrupted" in out  # the finished steps, then the interruption


def test_a_second_ctrl_c_never_prints_a_traceback(interrupted: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = interrupted["doctor twice"]
    assert code == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


# ---------------------------------------------------------------- keyring


def test_a_hanging_keyring_is_bounded_by_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    from tests.support.keyrings import HANG_RELEASE, HangingKeyring

    HANG_RELEASE.clear()
    previous = keyring.get_keyring()
    keyring.set_keyring(HangingKeyring())
    try:
        run = invoke("ping", "--json", "--timeout", "1", env=clean_env(THEGRID_BASE_URL="http://127.0.0.1:9/v1"))
    finally:
        keyring.set_keyring(previous)
        HANG_RELEASE.set()
    doc = json.loads(run.out)
    assert run.code == 3 and doc["diagnosis"]["code"] == "config.no_key", run
    assert doc["duration_ms"] < 2000


def test_login_logout_and_status_with_a_hanging_keyring_are_bounded(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    import keyring

    from gridctl import secrets
    from tests.support.keyrings import HANG_RELEASE, HangingKeyring

    monkeypatch.setattr(secrets, "KEYRING_TIMEOUT", 0.5)
    HANG_RELEASE.clear()
    previous = keyring.get_keyring()
    keyring.set_keyring(HangingKeyring())
    env = clean_env(GRIDCTL_CONFIG_DIR=str(tmp_path / "cfg"))
    try:
        login = invoke("auth", "login", "--api-key-stdin", "--no-verify", "--json", env=env, stdin=KEY + "\n")
        status = invoke("auth", "status", "--offline", "--json", "--timeout", "1", env=env)
        logout = invoke("auth", "logout", "--json", env=env)
    finally:
        keyring.set_keyring(previous)
        HANG_RELEASE.set()
    assert login.code == 3 and "did not answer" in login.err, login
    assert status.code != 1 and json.loads(status.out)["duration_ms"] < 2000, status
    assert logout.code != 1 and "Traceback" not in logout.err, logout
    for run in (login, status, logout):
        assert KEY not in run.out + run.err


# ---------------------------------------------------------------- proxies


@pytest.mark.parametrize(("name", "value"), [("HTTPS_PROXY", "socks5://127.0.0.1:1080"),
                                             ("HTTP_PROXY", "http://127.0.0.1:99999"),
                                             ("HTTP_PROXY", "http://[::1"), ("ALL_PROXY", "ftp://proxy:21"),
                                             ("http_proxy", "http://user:hunter2pass@proxy:99999")])
def test_a_bad_proxy_setting_is_net_proxy_naming_the_variable(name: str, value: str) -> None:
    for args in (["ping", "--json", "--retries", "0"], ["doctor", "--json", "--retries", "0"], ["models", "--json"]):
        run = invoke(*args, "--timeout", "2",
                     env=clean_env(THEGRID_API_KEY=KEY, THEGRID_BASE_URL="http://127.0.0.1:9/v1",
                                   THEGRID_STATUS_URL="http://127.0.0.1:9", **{name: value}))
        assert run.code != 1 and "Traceback" not in run.err, run
        doc = json.loads(run.out)
        proxy = [f for c in doc["checks"] for f in c["findings"] if f["code"] == "net.proxy"]
        if args[0] != "models":
            assert run.code == 9, run
            assert proxy and name in proxy[0]["message"], run
        assert "hunter2pass" not in run.out + run.err


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": ""},
                                 {"PYTHONIOENCODING": "latin-1"}])
def test_odd_output_encodings_never_crash(env: dict[str, str]) -> None:
    base = clean_env(**env)
    if not env.get("PYTHONIOENCODING"):
        base.pop("PYTHONIOENCODING", None)
    for args in (["explain", "404"], ["url", "https://api.thegrid.ai/v1/\u201c"]):
        proc = subprocess.run([sys.executable, "-m", "gridctl", *args], env=base, capture_output=True, timeout=30)
        assert b"Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode in (0, 3), (args, proc.stdout, proc.stderr)


def test_non_utf8_argv_never_crashes() -> None:
    for args in ([b"url", b"https://api.thegrid.ai/v1/\xff\xfe"], [b"--\xff"], [b"lint-curl", b"curl https://x/\xff"]):
        proc = subprocess.run([sys.executable.encode(), b"-m", b"gridctl", *args], env=clean_env(),
                              capture_output=True, timeout=30)
        assert b"Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode in (0, 2, 3), (args, proc.returncode, proc.stderr)


# ---------------------------------------------------------------- local state


def _config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    d.mkdir()
    return d


def _one_line_error(run: Any, code: int) -> None:
    assert run.code == code, run
    assert "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1, run.err


def test_a_config_that_is_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    cfg = _config_dir(tmp_path)
    os.mkfifo(cfg / "config.toml")
    run = invoke("ping", "--timeout", "2", env=clean_env(GRIDCTL_CONFIG_DIR=str(cfg)))
    _one_line_error(run, 3)
    assert "not a regular file" in run.err


def test_a_config_that_is_a_device_or_deeply_nested(tmp_path: Path) -> None:
    cfg = _config_dir(tmp_path)
    (cfg / "config.toml").symlink_to("/dev/urandom")
    _one_line_error(invoke("ping", env=clean_env(GRIDCTL_CONFIG_DIR=str(cfg))), 3)
    (cfg / "config.toml").unlink()
    (cfg / "config.toml").write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    _one_line_error(invoke("ping", env=clean_env(GRIDCTL_CONFIG_DIR=str(cfg))), 3)


def test_body_from_dev_zero_and_a_fifo(tmp_path: Path) -> None:
    run = invoke("doctor", "--body", "/dev/zero", env=clean_env(THEGRID_API_KEY=KEY))
    _one_line_error(run, 2)
    assert "/dev/zero" in run.err


def test_an_unwritable_config_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    run = invoke("auth", "login", "--api-key-stdin", "--insecure-storage", "--no-verify",
                 env=clean_env(GRIDCTL_CONFIG_DIR=str(blocker / "cfg")), stdin=KEY + "\n")
    assert run.code in (2, 3), run
    assert "Traceback" not in run.err and KEY not in run.out + run.err


def test_an_unreadable_credentials_file_is_reported_as_unreadable(tmp_path: Path) -> None:
    cfg = _config_dir(tmp_path)
    (cfg / "credentials" / "default.key").mkdir(parents=True)  # root reads any file; a directory it cannot
    run = invoke("ping", env=clean_env(GRIDCTL_CONFIG_DIR=str(cfg)))
    _one_line_error(run, 3)
    assert "unreadable" in run.err


def test_closed_stdin_for_dash() -> None:
    for cmd in ("gridctl lint-curl -", "gridctl ping --api-key-stdin --timeout 1"):
        proc = subprocess.run(["sh", "-c", f"{sys.executable} -m {cmd} <&-"], env=clean_env(),
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2, (cmd, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_credentials_file_never_follows_a_symlink_and_tightens_its_directory(tmp_path: Path) -> None:
    from gridctl import secrets

    cfg = _config_dir(tmp_path)
    creds = cfg / "credentials"
    creds.mkdir(mode=0o777)
    creds.chmod(0o777)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (creds / "default.key").symlink_to(victim)
    path = secrets.file_set(cfg, "default", KEY)
    assert victim.read_text() == "keep me"  # the symlink was replaced, not written through
    assert not path.is_symlink() and path.read_text() == KEY
    assert path.stat().st_mode & 0o777 == 0o600
    assert creds.stat().st_mode & 0o777 == 0o700
    assert not list(creds.glob("*.tmp"))


# ---------------------------------------------------------------- the emulator forgets keys and bodies


def test_the_emulator_records_no_key_and_a_bounded_log() -> None:
    import httpx

    from gridctl.emulator import server
    from gridctl.emulator.server import redact_credential

    emu = start(scenario="healthy")
    try:
        body = {"model": "text-prime", "messages": [{"role": "user", "content": "x" * 10_000}]}
        for headers in ({"authorization": f"Bearer {KEY}"}, {"x-api-key": KEY}):
            httpx.post(emu.base_url + "/chat/completions", json=body, headers=headers, timeout=5)
        recorded = repr(emu.requests)
        assert KEY not in recorded and KEY[:12] not in recorded
        assert emu.requests[0]["headers"]["authorization"] == redact_credential(f"Bearer {KEY}")
        assert emu.requests[1]["headers"]["x-api-key"] == redact_credential(KEY)
        assert all(len(r["body"]) <= server.MAX_BODY_KEPT for r in emu.requests)
        for i in range(server.MAX_REQUESTS_KEPT + 50):
            emu.record({"method": "GET", "path": f"/{i}", "headers": {}, "body": b""})
        assert len(emu.requests) == server.MAX_REQUESTS_KEPT
        assert emu.requests[-1]["path"] == f"/{server.MAX_REQUESTS_KEPT + 49}"
    finally:
        emu.stop()


def test_a_key_that_is_not_utf8_never_crashes() -> None:
    env = clean_env(THEGRID_API_KEY="gk-\udcff\udcfeAbcdefgh12345678XYZ", THEGRID_BASE_URL="http://127.0.0.1:9/v1",
                    THEGRID_STATUS_URL="http://127.0.0.1:9")
    for args in (["ping", "--timeout", "1", "--retries", "0"], ["auth", "lint", "--json"]):
        proc = subprocess.run([sys.executable, "-m", "gridctl", *args], env=env, capture_output=True, timeout=30)
        assert b"Traceback" not in proc.stderr and proc.returncode != 1, (args, proc.stdout, proc.stderr)
        assert b"Abcdefgh12345678" not in proc.stdout + proc.stderr
