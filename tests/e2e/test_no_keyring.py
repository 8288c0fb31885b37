"""No keyring on the machine (most Linux servers, containers, CI): keyring's own `fail` backend.

Like gh: the missing keyring is said in one line before the key is asked for; a terminal is offered
the 0600 file, --no-input (or no terminal) requires --insecure-storage; then `doctor` works with the
file-stored key and stops recommending the flag. And `auth token` hands the stored key to a script.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator
from tests.support.cli import clean_env, emu_env, gridctl, invoke

pytestmark = pytest.mark.e2e

FAIL = "keyring.backends.fail.Keyring"


def test_login_then_doctor_with_the_file_fallback(healthy_emulator: Emulator, tmp_path: Path) -> None:
    """The acceptance path, as real processes: login stores in the announced file, doctor uses it."""
    emu = healthy_emulator
    env = clean_env(PYTHON_KEYRING_BACKEND=FAIL, GRIDCTL_CONFIG_DIR=str(tmp_path), THEGRID_BASE_URL=emu.base_url,
                    THEGRID_STATUS_URL=emu.root_url)
    login = gridctl("auth", "login", "--api-key-stdin", "--insecure-storage", env=env, stdin=DEMO_KEY + "\n")
    assert login.code == 0, login
    path = tmp_path / "credentials" / "default.key"
    assert path.read_text() == DEMO_KEY and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "no OS keyring on this machine" in login.err and str(path) in login.err  # announced
    assert DEMO_KEY not in login.out + login.err

    doctor = gridctl("doctor", "--json", env=env)
    assert doctor.code == 0, doctor
    doc = doctor.json()
    config = next(c for c in doc["checks"] if c["id"] == "config")
    assert config["data"]["key"] == f"…{DEMO_KEY[-4:]} (file {path} (plain text))"
    keyring_note = [f for f in config["findings"] if f["code"] == "config.keyring_unavailable"]
    assert keyring_note and keyring_note[0]["severity"] == "info"
    assert "--insecure-storage" not in doctor.out + doctor.err  # the flag is in use: no more recommending it

    status = invoke("auth", "status", "--offline", env=env)
    assert status.code == 0, status
    assert f"stored: file {path} (plain text, 0600)" in status.out
    assert "--insecure-storage" not in status.out + status.err


def test_no_input_requires_the_flag_before_reading_the_key(healthy_emulator: Emulator, tmp_path: Path) -> None:
    env = emu_env(healthy_emulator, None, PYTHON_KEYRING_BACKEND=FAIL, GRIDCTL_CONFIG_DIR=str(tmp_path))
    run = invoke("auth", "login", "--no-input", env=env)  # no key given at all: refused before asking for one
    assert run.code == 3, run
    (line,) = run.err.strip().splitlines()
    assert line.startswith("gridctl: no OS keyring on this machine")
    assert "--insecure-storage" in line and "THEGRID_API_KEY" in line and str(tmp_path / "credentials") in line
    assert healthy_emulator.requests == [] and not (tmp_path / "credentials").exists()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """stdin looks like a terminal; the hidden key prompt answers DEMO_KEY (answers to questions come on stdin)."""
    import getpass

    import typer.testing

    asked: list[str] = []
    monkeypatch.setattr(typer.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": asked.append(prompt) or DEMO_KEY)
    return asked


def test_a_terminal_is_offered_the_file_and_a_wrong_answer_asks_again(terminal: list[str], tmp_path: Path) -> None:
    env = clean_env(PYTHON_KEYRING_BACKEND=FAIL, GRIDCTL_CONFIG_DIR=str(tmp_path))
    run = invoke("auth", "login", "--no-verify", env=env, stdin="maybe\ny\n")
    assert run.code == 0, run
    assert run.out.count("plain text, mode 0600)? [y/N]") == 2  # asked, a wrong answer, asked again
    assert "'maybe' is not one of" in run.err
    assert terminal == ["Paste your Grid consumption key (input hidden): "]  # the key only after the answer
    assert (tmp_path / "credentials" / "default.key").read_text() == DEMO_KEY


def test_a_terminal_that_declines_stores_nothing(terminal: list[str], tmp_path: Path) -> None:
    run = invoke("auth", "login", "--no-verify", env=clean_env(PYTHON_KEYRING_BACKEND=FAIL,
                                                               GRIDCTL_CONFIG_DIR=str(tmp_path)), stdin="n\n")
    assert run.code == 3 and "nothing stored" in run.err and "THEGRID_API_KEY" in run.err
    assert terminal == [] and not (tmp_path / "credentials").exists()


# --- auth token -------------------------------------------------------------------------------------

def test_auth_token_prints_the_stored_key_to_a_pipe_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = clean_env(PYTHON_KEYRING_BACKEND=FAIL, GRIDCTL_CONFIG_DIR=str(tmp_path))
    assert invoke("auth", "token", env=env).code == 3  # nothing stored yet
    assert invoke("auth", "login", "--api-key-stdin", "--no-verify", "--insecure-storage", env=env,
                  stdin=DEMO_KEY).code == 0
    piped = invoke("auth", "token", env=env)
    assert piped.code == 0 and piped.out == DEMO_KEY + "\n" and piped.err == ""
    assert invoke("auth", "token", "--json", env=env).code == 2  # never the key inside a JSON report

    import typer.testing

    monkeypatch.setattr(typer.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    shown = invoke("auth", "token", env=env)
    assert shown.code == 2 and DEMO_KEY not in shown.out + shown.err
    assert '"$(gridctl auth token)"' in shown.err
    assert invoke("auth", "token", "--show", env=env).out == DEMO_KEY + "\n"
