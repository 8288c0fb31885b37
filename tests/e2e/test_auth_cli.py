"""`gridctl auth login / status / logout` end to end: a file-backed keyring, the emulator.

`cli(...)` runs the program in-process (tests.support.cli.invoke) with PYTHON_KEYRING_BACKEND=
tests.support.keyrings.<Backend>, built by keyring as a child process would; `cli(..., process=True)`
runs a real subprocess where the process is the point. Other in-process runs use the memory keyring.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring
import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator, redact_credential
from tests.support import keyrings
from tests.support.cli import Run, clean_env, gridctl, invoke

pytestmark = pytest.mark.e2e

EmulatorFactory = Callable[..., Emulator]
REPO = Path(__file__).resolve().parents[2]
CANARY = "gk-canary-Zx8Qw2Lm5Np7Rt4Vb1Hc3Jd6Kf9Gs0Ty2"  # 43 characters, never to be printed
OTHER = "gk-other-Pq3Wn8Ld2Xs6Ty1Bc5Hv9Jm4Kr7Gz0Ae3U"  # 43 characters
assert len(CANARY) == len(OTHER) == 43


class Cli:
    """Runs gridctl against a keyring file of its own (in-process unless process=True)."""

    def __init__(self, config_dir: Path, ring_file: Path) -> None:
        self.config_dir = config_dir
        self.ring_file = ring_file

    def __call__(self, *args: str, stdin: str | None = None, backend: str = "FileKeyring", process: bool = False,
                 **env: str) -> Run:
        full = clean_env(GRIDCTL_CONFIG_DIR=str(self.config_dir), GRIDCTL_TEST_KEYRING=str(self.ring_file),
                         PYTHON_KEYRING_BACKEND=f"tests.support.keyrings.{backend}", **env)
        return (gridctl if process else invoke)(*args, env=full, stdin=stdin)

    def stored(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.ring_file.read_text()))
        except FileNotFoundError:
            return {}

    def store(self, profile: str, key: str) -> None:
        data = self.stored()
        data[f"gridctl/{profile}"] = key
        self.ring_file.write_text(json.dumps(data))

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"


@pytest.fixture
def cli(isolated_env: Path, tmp_path: Path) -> Cli:
    return Cli(isolated_env, tmp_path / "keyring.json")


def one_line_error(proc: Any) -> str:
    """stderr of a failed command: exactly one line, `gridctl: ...`, and no traceback anywhere."""
    out, err = proc.stdout, proc.stderr
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gridctl: ")
    return lines[0]


def chat_requests(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.requests if r["path"].endswith("/chat/completions")]


# --- login ------------------------------------------------------------------------------------

def test_login_verifies_stores_then_status_reads_the_keyring(cli: Cli, healthy_emulator: Emulator) -> None:
    emu = healthy_emulator
    login = cli("auth", "login", "--api-key-stdin", stdin=DEMO_KEY + "\n", THEGRID_BASE_URL=emu.base_url,
                process=True)
    assert login.returncode == 0, login.stderr
    assert cli.stored() == {"gridctl/default": DEMO_KEY}
    (sent,) = chat_requests(emu)  # exactly one verifying ping, with the key as a Bearer token
    assert sent["headers"]["authorization"] == redact_credential(f"Bearer {DEMO_KEY}")
    assert "keyring" in login.stdout and f"…{DEMO_KEY[-4:]}" in login.stdout
    assert DEMO_KEY not in login.stdout + login.stderr

    status = cli("auth", "status", "--json", THEGRID_BASE_URL=emu.base_url, process=True)
    assert status.returncode == 0, status.stdout + status.stderr
    doc = json.loads(status.stdout)
    assert doc["ok"] is True and doc["exit_code"] == 0
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["auth"]["data"]["key"] == f"…{DEMO_KEY[-4:]} (keyring (gridctl/default))"
    assert checks["ping"]["status"] == "pass" and checks["ping"]["data"]["status_code"] == 200
    assert doc["target"]["key"].endswith("(keyring (gridctl/default))")
    assert len(chat_requests(emu)) == 2

    human = cli("auth", "status", THEGRID_BASE_URL=emu.base_url)
    assert human.returncode == 0
    assert "from keyring (gridctl/default)" in human.stdout
    assert f"base_url: {emu.base_url} (env THEGRID_BASE_URL)" in human.stdout


def test_login_rejected_key_stores_nothing(cli: Cli, emulator: EmulatorFactory) -> None:
    emu = emulator("bad-key")
    proc = cli("auth", "login", "--api-key-stdin", "--base-url", emu.base_url, stdin=DEMO_KEY)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "nothing stored" in proc.stdout and "The Grid rejected the key (HTTP 401" in proc.stdout
    assert "auth.rejected" in proc.stdout
    assert len(chat_requests(emu)) == 1
    assert cli.stored() == {}
    assert not cli.config_file.exists()  # the --base-url is not saved either
    assert not (cli.config_dir / "credentials").exists()
    assert DEMO_KEY not in proc.stdout + proc.stderr


@pytest.mark.parametrize(("scenario", "code", "words"), [
    ("hang", 9, "could not reach the API (net.no_response: network, not the key)"),
    (None, 9, "could not reach the API (net.refused: network, not the key)"),
])
def test_login_network_failure_says_network_not_key(cli: Cli, emulator: EmulatorFactory, scenario: str | None,
                                                   code: int, words: str) -> None:
    if scenario is None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # closed once the block ends: refused
    else:
        base = emulator(scenario).base_url
    proc = cli("auth", "login", "--api-key-stdin", "--timeout", "2", "--base-url", base, stdin=DEMO_KEY)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert words in proc.stdout and "did not work" not in proc.stdout
    assert "rejected" not in proc.stdout.split("\n")[0] and cli.stored() == {}


def test_login_rejected_json(cli: Cli, emulator: EmulatorFactory) -> None:
    emu = emulator("bad-key")
    proc = cli("auth", "login", "--api-key-stdin", "--json", stdin=DEMO_KEY, THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 4
    doc = json.loads(proc.stdout)
    assert doc["exit_code"] == 4 and doc["stored"] is None and doc["diagnosis"]["code"] == "auth.rejected"


def test_login_no_verify_sends_nothing(cli: Cli, healthy_emulator: Emulator) -> None:
    emu = healthy_emulator
    proc = cli("auth", "login", "--api-key-stdin", "--no-verify", stdin=CANARY, THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 0, proc.stderr
    assert emu.requests == []
    assert cli.stored() == {"gridctl/default": CANARY}


def test_login_base_url_saved_in_profile_never_the_key(cli: Cli, healthy_emulator: Emulator) -> None:
    emu = healthy_emulator
    proc = cli("auth", "login", "--profile", "work", "--api-key-stdin", "--base-url", emu.base_url, stdin=DEMO_KEY)
    assert proc.returncode == 0, proc.stderr
    assert len(chat_requests(emu)) == 1  # verified against the URL given, not the default host
    text = cli.config_file.read_text()
    assert DEMO_KEY not in text and DEMO_KEY[-8:] not in text
    import tomllib

    assert tomllib.loads(text)["profiles"]["work"] == {"base_url": emu.base_url}
    assert stat.S_IMODE(cli.config_file.stat().st_mode) == 0o600
    assert cli.stored() == {"gridctl/work": DEMO_KEY}

    status = cli("auth", "status", "--profile", "work", "--json")
    assert status.returncode == 0, status.stdout
    data = json.loads(status.stdout)["checks"][0]["data"]
    assert data["base_url"] == f"{emu.base_url} (profile work)"
    assert data["profile"] == "work (flag --profile)"


def test_login_bad_base_url_is_refused_before_anything(cli: Cli) -> None:
    proc = cli("auth", "login", "--api-key-stdin", "--no-verify", "--base-url", "https://api.thegrid.ai/v1/v1",
               stdin=CANARY)
    assert proc.returncode == 3
    assert "--base-url" in one_line_error(proc)
    assert cli.stored() == {} and not cli.config_file.exists()


@pytest.mark.parametrize("backend", ["FailingKeyring", "NoKeyring", "InitErrorKeyring", "DbusErrorKeyring",
                                     "BrokenInitKeyring"])
def test_login_without_a_working_keyring_refuses(cli: Cli, backend: str) -> None:
    proc = cli("auth", "login", "--api-key-stdin", "--no-verify", stdin=CANARY, backend=backend)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    line = one_line_error(proc)
    assert "THEGRID_API_KEY" in line and "--insecure-storage" in line
    assert proc.stdout == ""
    assert not (cli.config_dir / "credentials").exists()
    assert CANARY not in proc.stdout + proc.stderr


def test_login_with_keyrings_null_backend_does_not_claim_storage(cli: Cli) -> None:
    """keyring.backends.null accepts set_password and keeps nothing: that is not a stored key."""
    proc = gridctl("auth", "login", "--api-key-stdin", "--no-verify", stdin=CANARY,
                   env=clean_env(PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    # said before the key is read (like gh), so the key was never offered to a backend that drops it
    assert "keyring.backends.null.Keyring keeps nothing" in one_line_error(proc)


def test_login_insecure_storage_writes_a_0600_file_and_says_plain_text(cli: Cli) -> None:
    proc = cli("auth", "login", "--api-key-stdin", "--no-verify", "--insecure-storage", stdin=CANARY,
               backend="NoKeyring")
    assert proc.returncode == 0, proc.stderr
    path = cli.config_dir / "credentials" / "default.key"
    assert path.read_text() == CANARY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "plain text" in proc.stderr.lower()
    assert "plain text" in proc.stdout.lower()
    assert CANARY not in proc.stdout + proc.stderr

    status = cli("auth", "status", "--offline", "--json", backend="NoKeyring")
    assert status.returncode == 0
    doc = json.loads(status.stdout)
    assert doc["target"]["key"] == f"…{CANARY[-4:]} (file {path} (plain text))"
    codes = [f["code"] for f in doc["checks"][0]["findings"]]
    assert "config.keyring_unavailable" in codes

    logout = cli("auth", "logout", backend="NoKeyring")
    assert logout.returncode == 0 and "plain-text file" in logout.stdout
    assert not path.exists()


def test_insecure_storage_is_only_a_fallback(cli: Cli) -> None:
    proc = cli("auth", "login", "--api-key-stdin", "--no-verify", "--insecure-storage", stdin=CANARY)
    assert proc.returncode == 0
    assert cli.stored() == {"gridctl/default": CANARY}
    assert not (cli.config_dir / "credentials").exists()
    assert "plain text" not in proc.stderr.lower()


@pytest.mark.parametrize(("key", "says"), [
    ("YOUR_GRID_API_KEY", "example text"),
    ("$THEGRID_API_KEY", "unexpanded"),
    ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123", "Anthropic"),
    (f'"{CANARY}"', "quote"),
    (f"{CANARY[:20]} {CANARY[20:]}", "whitespace"),
    (f"{CANARY[:-1]}é", "non-ASCII"),
    ("your-api-key-here", "example text"),
    ("sk-...", "example text"),
    ("https://app.thegrid.ai/profile/api-keys", "is a URL, not a key"),
    ("me@example.com", "is an email address, not a key"),
])
def test_login_refuses_unusable_keys_without_sending_them(cli: Cli, healthy_emulator: Emulator, key: str,
                                                          says: str) -> None:
    proc = cli("auth", "login", "--api-key-stdin", stdin=key + "\n", THEGRID_BASE_URL=healthy_emulator.base_url)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert says in one_line_error(proc)
    assert healthy_emulator.requests == []
    assert cli.stored() == {}
    assert CANARY not in proc.stderr


def test_login_without_stdin_or_terminal_is_a_usage_error(cli: Cli) -> None:
    proc = cli("auth", "login")  # stdin is /dev/null: no terminal to prompt on
    assert proc.returncode == 2
    assert "--api-key-stdin" in one_line_error(proc)
    empty = cli("auth", "login", "--api-key-stdin", stdin="\n")
    assert empty.returncode == 2
    assert "no key" in one_line_error(empty)
    assert cli.stored() == {}


# --- status -----------------------------------------------------------------------------------

def test_env_key_outranks_stored_key_and_status_says_so(cli: Cli, healthy_emulator: Emulator) -> None:
    cli.store("default", OTHER)
    proc = cli("auth", "status", "--json", THEGRID_API_KEY=CANARY, THEGRID_BASE_URL=healthy_emulator.base_url)
    assert proc.returncode == 0, proc.stdout
    doc = json.loads(proc.stdout)
    auth = doc["checks"][0]
    assert auth["data"]["key"] == f"…{CANARY[-4:]} (env THEGRID_API_KEY)"
    assert auth["data"]["shadowed"] == f"keyring …{OTHER[-4:]}"
    messages = " ".join(f["message"] for f in auth["findings"])
    assert "shadowed by env THEGRID_API_KEY" in messages
    # the env key is the one that was sent
    (sent,) = chat_requests(healthy_emulator)
    assert sent["headers"]["authorization"] == redact_credential(f"Bearer {CANARY}")

    human = cli("auth", "status", "--offline", THEGRID_API_KEY=CANARY)
    assert "in effect, from env THEGRID_API_KEY" in human.stdout
    assert f"shadowed: keyring …{OTHER[-4:]}" in human.stdout
    for text in (proc.stdout, proc.stderr, human.stdout, human.stderr):
        assert CANARY not in text and OTHER not in text


def test_legacy_env_var_is_named(cli: Cli) -> None:
    proc = cli("auth", "status", "--offline", THEGRIDAI_API_KEY=CANARY)
    assert proc.returncode == 0
    assert "from env THEGRIDAI_API_KEY" in proc.stdout


def test_status_without_a_key_exits_3(cli: Cli) -> None:
    for args in (("auth", "status"), ("auth", "status", "--offline")):
        proc = cli(*args)
        assert proc.returncode == 3, proc.stdout
        assert "config.no_key" in proc.stdout and "THEGRID_API_KEY" in proc.stdout
        assert "Traceback" not in proc.stderr
    doc = json.loads(cli("auth", "status", "--json").stdout)
    assert doc["exit_code"] == 3 and doc["diagnosis"]["code"] == "config.no_key"
    assert [c["id"] for c in doc["checks"]] == ["auth"]  # nothing to ping with


def test_status_with_a_rejected_key_exits_4(cli: Cli, emulator: EmulatorFactory) -> None:
    emu = emulator("bad-key")
    cli.store("default", CANARY)
    proc = cli("auth", "status", THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 4, proc.stdout
    assert "auth.rejected" in proc.stdout
    assert CANARY not in proc.stdout + proc.stderr


@pytest.mark.parametrize("args", [("auth", "status"), ("auth", "status", "--json"), ("auth", "status", "-v"),
                                  ("auth", "status", "--offline", "--json"), ("auth", "lint")])
@pytest.mark.parametrize("where", ["keyring", "env"])
def test_status_never_prints_the_key(cli: Cli, healthy_emulator: Emulator, args: tuple[str, ...],
                                     where: str) -> None:
    env = {"THEGRID_BASE_URL": healthy_emulator.base_url}
    if where == "keyring":
        cli.store("default", CANARY)
    else:
        env["THEGRID_API_KEY"] = CANARY
    proc = cli(*args, **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    both = proc.stdout + proc.stderr
    assert CANARY not in both
    assert CANARY[:12] not in both and CANARY[4:-4] not in both  # nor a long piece of it
    assert f"…{CANARY[-4:]}" in both  # the fingerprint is what identifies it


def test_status_with_a_broken_keyring_warns_and_still_uses_env(cli: Cli) -> None:
    proc = cli("auth", "status", "--offline", backend="DbusErrorKeyring", THEGRID_API_KEY=CANARY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "from env THEGRID_API_KEY" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    nokey = cli("auth", "status", "--offline", "--json", backend="BrokenInitKeyring")
    assert nokey.returncode == 3
    doc = json.loads(nokey.stdout)
    codes = [f["code"] for f in doc["checks"][0]["findings"]]
    assert codes == ["config.no_key", "config.keyring_unavailable"]
    assert doc["checks"][0]["data"]["keyring"] == "unavailable"


# --- logout -----------------------------------------------------------------------------------

def test_logout_removes_the_key(cli: Cli) -> None:
    cli.store("default", CANARY)
    assert cli("auth", "status", "--offline").returncode == 0
    proc = cli("auth", "logout")
    assert proc.returncode == 0
    assert "removed the key of profile default from the keyring" in proc.stdout
    assert cli.stored() == {}
    assert cli("auth", "status", "--offline").returncode == 3


def test_logout_with_nothing_stored_is_fine(cli: Cli) -> None:
    proc = cli("auth", "logout", "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["checks"][0]["data"]["removed"] == []
    assert doc["checks"][0]["data"]["summary"].startswith("nothing to remove")
    human = cli("auth", "logout")
    assert human.returncode == 0 and "nothing to remove" in human.stdout, human


@pytest.mark.parametrize("args", [("explain", "--list"), ("explain", "--list", "--json"), ("emulator", "list")])
def test_output_into_a_closed_pipe_exits_quietly(args: tuple[str, ...]) -> None:
    """`gridctl explain --list | head -1`: the reader left; that is not "gridctl itself failed" (exit 1)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before the child writes a byte: every write meets EPIPE, deterministically
    try:
        proc = subprocess.run([sys.executable, "-m", "gridctl", *args], stdout=write_end, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, timeout=60, cwd=str(REPO),
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        os.close(write_end)
    assert proc.returncode == 0 and proc.stderr == "", proc


def test_logout_with_a_broken_keyring_exits_3_in_one_line(cli: Cli) -> None:
    proc = cli("auth", "logout", backend="InitErrorKeyring")
    assert proc.returncode == 3
    assert "InitError" in one_line_error(proc)


# --- profiles ---------------------------------------------------------------------------------

def test_profiles_keep_separate_keys(cli: Cli) -> None:
    keys = {"default": CANARY, "work": OTHER, "home": "gk-home-" + "h" * 35}
    assert cli("auth", "login", "--api-key-stdin", "--no-verify", stdin=keys["default"]).returncode == 0
    assert cli("auth", "login", "--profile", "work", "--api-key-stdin", "--no-verify",
               stdin=keys["work"]).returncode == 0
    assert cli("auth", "login", "--api-key-stdin", "--no-verify", stdin=keys["home"],
               THEGRID_PROFILE="home").returncode == 0
    assert cli.stored() == {f"gridctl/{p}": k for p, k in keys.items()}

    def fingerprint_in_effect(*args: str, **env: str) -> str:
        doc = json.loads(cli("auth", "status", "--offline", "--json", *args, **env).stdout)
        return str(doc["target"]["key"])

    assert fingerprint_in_effect() == f"…{CANARY[-4:]} (keyring (gridctl/default))"
    assert fingerprint_in_effect("--profile", "work") == f"…{OTHER[-4:]} (keyring (gridctl/work))"
    assert fingerprint_in_effect(THEGRID_PROFILE="home") == "…hhhh (keyring (gridctl/home))"
    assert fingerprint_in_effect("--profile", "work", THEGRID_PROFILE="home").startswith(f"…{OTHER[-4:]}")

    assert cli("auth", "logout", THEGRID_PROFILE="work").returncode == 0
    assert set(cli.stored()) == {"gridctl/default", "gridctl/home"}
    assert cli("auth", "status", "--offline", "--profile", "work").returncode == 3


def test_bad_profile_name_never_becomes_a_path(cli: Cli, tmp_path: Path) -> None:
    proc = cli("auth", "login", "--profile", "../../../outside", "--api-key-stdin", "--no-verify",
               "--insecure-storage", stdin=CANARY, backend="NoKeyring")
    assert proc.returncode == 2  # a bad flag value is a usage error
    assert "bad profile name" in one_line_error(proc)
    assert not list(tmp_path.rglob("*.key"))


# --- in process, with the in-memory keyring and every failing backend -------------------------

def test_in_process_login_status_logout(memory_keyring: keyrings.MemoryKeyring, healthy_emulator: Emulator) -> None:
    env = clean_env(THEGRID_BASE_URL=healthy_emulator.base_url)
    login = invoke("auth", "login", "--api-key-stdin", stdin=CANARY + "\n", env=env)
    assert login.exit_code == 0, login.output
    assert memory_keyring.store == {("gridctl", "default"): CANARY}
    status = invoke("auth", "status", "--json", env=env)
    assert status.exit_code == 0
    assert json.loads(status.stdout)["target"]["key"] == f"…{CANARY[-4:]} (keyring (gridctl/default))"
    assert CANARY not in status.stdout + status.stderr + login.stdout + login.stderr
    assert invoke("auth", "logout").exit_code == 0
    assert memory_keyring.store == {}
    assert invoke("auth", "status", "--offline").exit_code == 3


@pytest.mark.parametrize("backend", [keyrings.FailingKeyring, keyrings.NoKeyring, keyrings.InitErrorKeyring,
                                     keyrings.DbusErrorKeyring], ids=lambda b: b.__name__)
def test_in_process_failing_backends_never_show_a_traceback(backend: type) -> None:
    keyring.set_keyring(backend())  # the autouse isolation fixture restores the null backend
    login = invoke("auth", "login", "--api-key-stdin", "--no-verify", stdin=CANARY)
    assert login.exit_code == 3
    assert "THEGRID_API_KEY" in one_line_error(login)
    status = invoke("auth", "status", "--offline")
    assert status.exit_code == 3
    assert "config.keyring_unavailable" in status.stdout
    assert "Traceback" not in status.stdout + status.stderr
    logout = invoke("auth", "logout")
    assert logout.exit_code == 3
    one_line_error(logout)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """CliRunner's stdin pretends to be a terminal; getpass records its prompt and answers CANARY."""
    import getpass

    import typer.testing

    prompts: list[str] = []
    monkeypatch.setattr(typer.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": prompts.append(prompt) or f"  {CANARY}  ")
    return prompts


def test_login_prompts_without_echo_on_a_terminal(memory_keyring: keyrings.MemoryKeyring,
                                                  terminal: list[str]) -> None:
    result = invoke("auth", "login", "--no-verify")
    assert result.exit_code == 0, result.output
    assert terminal == ["Paste your Grid consumption key (input hidden): "]
    assert memory_keyring.store == {("gridctl", "default"): CANARY}  # stripped
    assert CANARY not in result.stdout + result.stderr


def test_login_eof_at_the_prompt_is_a_usage_error(memory_keyring: keyrings.MemoryKeyring, terminal: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", eof)
    result = invoke("auth", "login", "--no-verify")
    assert result.exit_code == 2
    assert "no key" in one_line_error(result)
    assert memory_keyring.store == {}


def test_login_warns_when_an_env_key_will_shadow_the_stored_one(memory_keyring: keyrings.MemoryKeyring) -> None:
    result = invoke("auth", "login", "--api-key-stdin", "--no-verify", "--json", stdin=CANARY,
                    env=clean_env(THEGRID_API_KEY=OTHER))
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    findings = doc["checks"][-1]["findings"]
    assert [f["severity"] for f in findings] == ["info", "warning"]
    assert "THEGRID_API_KEY is set" in findings[1]["message"] and "outranks" in findings[1]["message"]
    assert memory_keyring.store == {("gridctl", "default"): CANARY}


def test_login_with_corrupt_config_stores_nothing(memory_keyring: keyrings.MemoryKeyring, isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").write_text("[profiles.work\n")
    result = invoke("auth", "login", "--profile", "work", "--api-key-stdin", "--no-verify",
                    "--base-url", "http://127.0.0.1:9/v1", stdin=CANARY)
    assert result.exit_code == 3
    assert "config.toml" in one_line_error(result)
    assert memory_keyring.store == {}  # refused before the key went anywhere


def test_login_json_carries_the_request_id_of_its_verifying_ping(cli: Cli, healthy_emulator: Emulator) -> None:
    emu = healthy_emulator
    proc = cli("auth", "login", "--api-key-stdin", "--json", stdin=DEMO_KEY, THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (sent,) = chat_requests(emu)
    assert doc["request_ids"] == [sent["request_id"]]  # was [] although the ping got one
    assert doc["stored"] and DEMO_KEY not in proc.stdout + proc.stderr
