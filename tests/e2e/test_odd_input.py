"""Odd input from the environment, the command line and standard input (issue 22, low): one line and
the right exit code, never exit 1; a key split by a space never printed; a private config directory
whatever the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO, clean_env, invoke
from tests.support.hostile import leaks

pytestmark = pytest.mark.e2e

KEY = "gk-Qx7vM2pL9sR4tY8wB1cD6fH0jK5nZ3aE"
DEAD = "http://127.0.0.1:9/v1"  # nothing listens: no request can succeed, none leaves the machine


def codes(doc: dict[str, Any]) -> list[str]:
    return [f["code"] for c in doc["checks"] for f in c["findings"]]


@pytest.mark.parametrize(("args", "exit_code"), [
    (("ping",), 9), (("ping", "--stream"), 9), (("status",), 9), (("doctor",), 9), (("balance",), 9),
    (("usage", "req_abc"), 9), (("auth", "status"), 9), (("watch", "--count", "1"), 9),
    (("models",), 0),  # the live list unread: the built-in list, with the proxy named in a warning
])
@pytest.mark.parametrize("proxy", ["http://a\x01b", "http://proxy.example:3128/\x7f", "\x1b[2Jhttp://p:1"])
def test_a_proxy_variable_with_a_control_character_is_net_proxy(args: tuple[str, ...], exit_code: int,
                                                                 proxy: str) -> None:
    env = clean_env(THEGRID_API_KEY=KEY, THEGRID_BASE_URL=DEAD, THEGRID_STATUS_URL="http://127.0.0.1:9",
                    HTTPS_PROXY=proxy, HTTP_PROXY=proxy)
    run = invoke(*args, "--json", "--timeout", "2", env=env)
    assert run.code == exit_code and "Traceback" not in run.err and "internal error" not in run.err, run
    # named with its variable wherever the failure shows (status and models carry it in their own finding)
    assert "net.proxy" in run.out or "The proxy setting HTTPS_PROXY=" in run.out, run
    json.loads(run.out)


def test_a_proxy_variable_with_a_control_character_in_ping_is_one_line() -> None:
    env = clean_env(THEGRID_API_KEY=KEY, THEGRID_BASE_URL=DEAD, HTTPS_PROXY="http://a\x01b", HTTP_PROXY="http://a\x01b")
    run = invoke("ping", "--timeout", "2", env=env)
    assert run.code == 9 and run.out.startswith("fail net.proxy") and len(run.out.strip().splitlines()) == 1, run


def _gridctl(args: list[str], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """A real process: arguments as bytes the locale cannot decode, stdin as raw bytes."""
    return subprocess.run([sys.executable, "-m", "gridctl", *args], env=env, input=stdin, capture_output=True,
                          timeout=60, cwd=str(REPO))


STRICT = [{"PYTHONIOENCODING": "ascii:strict"}, {"LC_ALL": "C", "PYTHONIOENCODING": "", "PYTHONUTF8": "0"}]


@pytest.mark.parametrize("encoding", STRICT)
def test_an_undecodable_request_id_is_a_usage_error(encoding: dict[str, str]) -> None:
    env = clean_env(THEGRID_API_KEY=KEY, THEGRID_BASE_URL=DEAD, **encoding)
    proc = _gridctl(["usage", "req_\udcff\udcfe", "--timeout", "1"], env)  # surrogates: the raw bytes ff fe
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2 and "REQUEST_ID" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("encoding", STRICT)
def test_an_undecodable_report_path_is_written(encoding: dict[str, str], tmp_path: Path) -> None:
    env = clean_env(THEGRID_API_KEY=KEY, **encoding)
    target = os.fsencode(tmp_path) + b"/report-\xff.md"
    proc = _gridctl(["doctor", "--emulate", "healthy", "--timeout", "5", "--report", os.fsdecode(target)], env)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0 and "Traceback" not in err and "internal error" not in err, err
    assert os.path.exists(target)
    text = Path(os.fsdecode(target)).read_text(encoding="utf-8")
    assert "gridctl doctor report" in text and KEY not in text


@pytest.mark.parametrize("encoding", STRICT)
def test_an_undecodable_key_on_stdin_is_a_configuration_error(encoding: dict[str, str], tmp_path: Path) -> None:
    env = clean_env(GRIDCTL_CONFIG_DIR=str(tmp_path / "cfg"), **encoding)
    proc = _gridctl(["auth", "login", "--api-key-stdin", "--no-verify", "--insecure-storage", "--no-input"], env,
                    stdin=b"gk-Qx7vM2pL9\xff\xfesR4tY8wB1cD6fH0jK5nZ3aE\n")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 3 and "Traceback" not in err and "internal error" not in err, err
    assert err.strip().splitlines()[-1].startswith("gridctl: ")
    assert not (tmp_path / "cfg" / "credentials" / "default.key").exists()  # nothing stored


SPLIT = (KEY[:15], KEY[15:])  # the halves: each alone too short to look like a key


@pytest.mark.parametrize("args", [("url", " ".join(SPLIT)), ("url", " ".join(SPLIT), "--json"),
                                  ("doctor", "--base-url", " ".join(SPLIT), "--json"),
                                  ("ping", "--api-key", " ".join(SPLIT), "--base-url", DEAD, "--json"),
                                  ("auth", "lint", f"Authorization: Bearer {' '.join(SPLIT)}")])
def test_a_key_split_by_a_space_is_never_printed(args: tuple[str, ...]) -> None:
    run = invoke(*args, "--timeout", "2", env=clean_env()) if args[0] in ("doctor", "ping") else \
        invoke(*args, env=clean_env())
    assert run.code not in (0, 1), run
    text = run.out + run.err
    assert not leaks(text, KEY) and not leaks(text, KEY.lower()), (leaks(text, KEY), run)


def test_a_key_where_the_url_goes_is_named_as_such() -> None:
    run = invoke("url", " ".join(SPLIT), "--json", env=clean_env())
    doc = json.loads(run.out)
    assert run.code == 3 and "url.invalid" in codes(doc) and doc["canonical"] is None
    assert any("API key, not a URL" in f["message"] for c in doc["checks"] for f in c["findings"])


def test_the_config_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    config = tmp_path / "home" / "config" / "gridctl"
    env = clean_env(GRIDCTL_CONFIG_DIR=str(config))
    old = os.umask(0)
    try:
        run = invoke("auth", "login", "--api-key-stdin", "--no-verify", "--insecure-storage", "--no-input",
                     "--base-url", "https://api.thegrid.ai/v1", env=env, stdin=KEY + "\n")
    finally:
        os.umask(old)
    assert run.code == 0, run
    for made in (tmp_path / "home", tmp_path / "home" / "config", config, config / "credentials"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    for file in (config / "config.toml", config / "credentials" / "default.key"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
