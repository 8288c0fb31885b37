"""`gridctl onboard` end to end: the checklist against the emulator, and the snippet it prints run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridctl import grid
from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator, redact_credential
from gridctl.onboard import sdk_base_url, snippet
from tests.support.cli import Run, clean_env, gridctl, invoke

pytestmark = pytest.mark.e2e

EmulatorFactory = Callable[..., Emulator]
REPO = Path(__file__).resolve().parents[2]
SDKS = ("openai", "anthropic", "litellm", "langchain", "curl", "env")


def run(*args: str, process: bool = False, **env: str) -> Run:
    """onboard in-process (tests.support.cli.invoke), or as a real subprocess."""
    return (gridctl if process else invoke)(*args, env=clean_env(**env))


def run_snippet(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The snippet as a user runs it: a file, a fresh interpreter, only THEGRID_API_KEY set."""
    path = tmp_path / "snippet.py"
    path.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "THEGRID"))}
    env["THEGRID_API_KEY"] = DEMO_KEY
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL, cwd=str(tmp_path))


def assert_all_green(doc: dict[str, Any]) -> None:
    assert doc["ok"] is True and doc["exit_code"] == 0 and doc["diagnosis"] is None
    for check in doc["checks"]:
        assert check["status"] in ("pass", "skip"), check
        assert all(f["severity"] == "info" for f in check["findings"]), check


@pytest.mark.parametrize(("sdk", "path"), [("openai", "/v1/chat/completions"), ("anthropic", "/v1/messages")])
def test_onboard_snippet_works_with_the_real_sdk(healthy_emulator: Emulator, tmp_path: Path, sdk: str,
                                                 path: str) -> None:
    emu = healthy_emulator
    proc = run("onboard", "--sdk", sdk, "--no-input", "--json",
                   THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert DEMO_KEY not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert_all_green(doc)
    ids = [c["id"] for c in doc["checks"]]
    assert ids == ["key", "url", "ping", "model", "stream", "tools", "json_mode", "balance"]
    if sdk == "openai":
        assert all(c["status"] == "pass" for c in doc["checks"])  # tools and JSON mode really ran

    snip = doc["snippet"]
    assert set(snip) == {"sdk", "base_url", "env", "code"}
    want_base = emu.base_url if sdk == "openai" else emu.root_url  # the Anthropic SDK appends /v1/messages
    assert snip["sdk"] == sdk and snip["base_url"] == want_base
    assert want_base in snip["env"] and repr(want_base) in snip["code"]
    assert 'os.environ["THEGRID_API_KEY"]' in snip["code"] and "THEGRID_API_KEY" in snip["env"]
    assert DEMO_KEY not in json.dumps(snip) and DEMO_KEY[-12:] not in json.dumps(snip)

    before = len(emu.requests)
    ran = run_snippet(snip["code"], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "pong"
    (call,) = emu.requests[before:]
    assert call["path"] == path
    # the key from THEGRID_API_KEY reached the server (anthropic 2.x sends api_key= as a Bearer token)
    sent = {call["headers"].get("x-api-key"), call["headers"].get("authorization")}
    assert redact_credential(DEMO_KEY) in sent or redact_credential(f"Bearer {DEMO_KEY}") in sent


def test_onboard_human_output_ends_with_the_snippet(healthy_emulator: Emulator) -> None:
    proc = run("onboard", "--sdk", "openai", "--no-input", process=True,
               THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=healthy_emulator.base_url)
    assert proc.returncode == 0, proc.stdout
    assert "All set. Your openai configuration:" in proc.stdout
    assert f"export OPENAI_BASE_URL={healthy_emulator.base_url}" in proc.stdout
    assert "client = OpenAI(" in proc.stdout
    assert DEMO_KEY not in proc.stdout + proc.stderr
    assert proc.stderr == ""  # no spinner or prompt off a terminal


def test_onboard_base_url_flag_is_custom_and_used_as_given(healthy_emulator: Emulator) -> None:
    proc = run("onboard", "--sdk", "openai", "--no-input", "--json", "--base-url", healthy_emulator.base_url,
                   THEGRID_API_KEY=DEMO_KEY)
    assert proc.returncode == 0, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["snippet"]["base_url"] == healthy_emulator.base_url
    assert healthy_emulator.requests  # the checks went to the emulator, not to api.thegrid.ai


# --- the snippet logic, offline ------------------------------------------------------------------

@pytest.mark.parametrize(("sdk", "base", "custom", "expected"), [
    # the default base URL: each SDK gets The Grid's canonical host
    ("openai", grid.DEFAULT_BASE_URL, False, "https://api.thegrid.ai/v1"),
    ("litellm", grid.DEFAULT_BASE_URL, False, "https://api.thegrid.ai/v1"),
    ("langchain", grid.DEFAULT_BASE_URL, False, "https://api.thegrid.ai/v1"),
    ("curl", grid.DEFAULT_BASE_URL, False, "https://api.thegrid.ai/v1"),
    ("env", grid.DEFAULT_BASE_URL, False, "https://api.thegrid.ai/v1"),
    ("anthropic", grid.DEFAULT_BASE_URL, False, "https://messages-beta.api.thegrid.ai"),
    ("anthropic", f"{grid.MESSAGES_ROOT}/v1", False, "https://messages-beta.api.thegrid.ai"),
    # The Grid's own hosts set explicitly (env, profile, flag) are not "custom": same canonical answers
    ("anthropic", "https://api.thegrid.ai/v1", True, "https://messages-beta.api.thegrid.ai"),
    ("openai", "https://api.thegrid.ai/v1", True, "https://api.thegrid.ai/v1"),
    ("openai", "https://messages-beta.api.thegrid.ai/v1", True, "https://api.thegrid.ai/v1"),
    # a gateway or the emulator is used as given (only a trailing slash goes; /v1 only for Anthropic)
    ("openai", "http://127.0.0.1:8080/v1", True, "http://127.0.0.1:8080/v1"),
    ("openai", "https://gw.example.com/grid/v1/", True, "https://gw.example.com/grid/v1"),
    ("anthropic", "http://127.0.0.1:8080/v1", True, "http://127.0.0.1:8080"),
    ("anthropic", "https://gw.example.com/anthropic", True, "https://gw.example.com/anthropic"),
    ("openai", "https://api.staging.thegrid.ai/v1", True, "https://api.staging.thegrid.ai/v1"),
])
def test_sdk_base_url(sdk: str, base: str, custom: bool, expected: str) -> None:
    assert sdk_base_url(sdk, base, custom) == expected


@pytest.mark.parametrize("sdk", SDKS)
def test_snippet_reads_the_key_from_the_environment(sdk: str) -> None:
    base = sdk_base_url(sdk, grid.DEFAULT_BASE_URL, False)
    snip = snippet(sdk, base, "text-prime")
    assert set(snip) == {"env", "code"}
    text = snip["env"] + snip["code"]
    assert "THEGRID_API_KEY" in text
    assert base in text
    assert "gk-" not in text
    if snip["code"] and sdk != "curl":
        compile(snip["code"], f"<{sdk} snippet>", "exec")  # valid Python
        assert 'os.environ["THEGRID_API_KEY"]' in snip["code"]


def test_snippet_for_claude_code_uses_the_messages_root() -> None:
    snip = snippet("anthropic", sdk_base_url("anthropic", grid.DEFAULT_BASE_URL, False), "agent-prime")
    assert "export ANTHROPIC_BASE_URL=https://messages-beta.api.thegrid.ai\n" in snip["env"]
    assert 'ANTHROPIC_API_KEY="$THEGRID_API_KEY"' in snip["env"]
    assert '"x-api-key": key' in snip["code"]
    assert "model='agent-prime'" in snip["code"]


def test_onboard_explicit_grid_host_gives_canonical_anthropic_snippet() -> None:
    """THEGRID_BASE_URL=https://api.thegrid.ai/v1 with --sdk anthropic: the URL check explains the wrong host
    (offline, no request), and the snippet still shows the right one."""
    result = run("onboard", "--sdk", "anthropic", "--no-input", "--json", THEGRID_API_KEY=DEMO_KEY,
                 THEGRID_BASE_URL="https://api.thegrid.ai/v1")
    doc = json.loads(result.stdout)
    assert doc["snippet"]["base_url"] == "https://messages-beta.api.thegrid.ai"
    assert doc["exit_code"] == 3 and doc["diagnosis"]["code"] == "url.wrong_api_host"
    assert [c["id"] for c in doc["checks"]] == ["key", "url"]


# --- failures ------------------------------------------------------------------------------------

def test_onboard_without_a_key_exits_3_without_prompting(healthy_emulator: Emulator) -> None:
    proc = run("onboard", "--no-input", "--json", THEGRID_BASE_URL=healthy_emulator.base_url)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["diagnosis"]["code"] == "config.no_key"
    assert doc["snippet"]["sdk"] == "openai"  # the default SDK off a terminal
    assert healthy_emulator.requests == []  # offline checks failed: nothing sent
    assert proc.stderr == ""


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """CliRunner's stdin pretends to be a terminal; getpass and prompts are recorded, never read."""
    import getpass

    import typer
    import typer.testing

    asked: list[str] = []
    monkeypatch.setattr(typer.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": asked.append(prompt) or DEMO_KEY)
    monkeypatch.setattr(typer, "prompt", lambda text, **kw: asked.append(text) or "openai")
    return asked


def test_no_input_never_prompts_even_on_a_terminal(terminal: list[str]) -> None:
    result = run("onboard", "--no-input")
    assert result.exit_code == 3, result.output
    assert terminal == []
    assert "config.no_key" in result.stdout


def test_on_a_terminal_onboard_asks_for_sdk_and_key(terminal: list[str], healthy_emulator: Emulator) -> None:
    result = run("onboard", THEGRID_BASE_URL=healthy_emulator.base_url)
    assert result.exit_code == 0, result.output
    assert len(terminal) == 2 and "SDK" in terminal[0] and "key" in terminal[1]
    assert "All set. Your openai configuration:" in result.stdout
    assert DEMO_KEY not in result.stdout + result.stderr


def test_onboard_no_credits_exits_5(emulator: EmulatorFactory) -> None:
    emu = emulator("no-credits")
    proc = run("onboard", "--sdk", "openai", "--no-input", "--json",
                   THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 5, proc.stdout
    doc = json.loads(proc.stdout)
    assert doc["diagnosis"]["code"] == "balance.credits_empty"
    statuses = {c["id"]: c["status"] for c in doc["checks"]}
    assert statuses["ping"] == "fail" and statuses["balance"] == "fail"
    assert statuses["model"] == statuses["stream"] == statuses["tools"] == "skip"


def test_onboard_rejected_key_exits_4(emulator: EmulatorFactory) -> None:
    emu = emulator("bad-key")
    proc = run("onboard", "--no-input", THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=emu.base_url)
    assert proc.returncode == 4
    assert "Fix the failing step above" in proc.stdout
    assert "All set" not in proc.stdout


@pytest.mark.parametrize("args", [["--sdk", "bogus"], ["--sdk", "bogus", "--json"], ["--sdk", "OpenAI"]])
def test_onboard_unknown_sdk_is_a_usage_error(healthy_emulator: Emulator, args: list[str]) -> None:
    result = run("onboard", "--no-input", *args, THEGRID_API_KEY=DEMO_KEY, THEGRID_BASE_URL=healthy_emulator.base_url)
    assert result.exit_code == 2
    assert "--sdk must be one of" in result.stderr
    assert healthy_emulator.requests == []
    if "--json" in args:
        assert json.loads(result.stdout)["exit_code"] == 2


# --- the tool-calling and JSON-mode probes survive any answer --------------------------------------

ODD_BODIES = [[1, 2], "text", {"choices": "x"}, {"choices": []}, {"choices": [None]},
              {"choices": [{"message": "hi"}]}, {"choices": [{"message": {"tool_calls": "x", "content": 7}}]}]


@pytest.mark.parametrize("body", ODD_BODIES, ids=lambda b: json.dumps(b)[:30])
def test_feature_probes_never_crash_on_odd_bodies(body: Any) -> None:
    from gridctl.probe.client import Deadline, Net
    from gridctl.probe.features import check_json_mode, check_tools
    from gridctl.probe.ping import Target

    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    target = Target("https://api.thegrid.ai/v1", DEMO_KEY, "text-prime")
    with Net(Deadline(5), retries=0, transport=transport) as net:
        tools, json_mode = check_tools(net, target), check_json_mode(net, target)
    assert tools.id == "tools" and json_mode.id == "json_mode"
    for check in (tools, json_mode):  # an odd answer is a finding, never an exception
        assert check.status in ("warn", "fail")
        assert check.findings


def test_feature_probes_report_a_failure_with_a_finding() -> None:
    from gridctl.probe.client import Deadline, Net
    from gridctl.probe.features import check_tools
    from gridctl.probe.ping import Target

    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"errors": {"detail": "bad key"}}))
    target = Target("https://api.thegrid.ai/v1", DEMO_KEY, "text-prime")
    with Net(Deadline(5), retries=0, transport=transport) as net:
        check = check_tools(net, target)
    assert check.status == "fail" and check.findings[0].code == "auth.rejected"
    assert check.data["status_code"] == 401


# --- the snippet's credential routes, run as printed --------------------------------------------

@pytest.mark.parametrize("route", ["pasted key", "auth login"])
def test_snippet_works_with_each_credential_route(healthy_emulator: Emulator, tmp_path: Path, route: str) -> None:
    """The env block in sh, then the code in a fresh interpreter with the real OpenAI SDK. Route "auth
    login": the key stored (keyring's fail backend: the 0600 file) and the commented line taken instead."""
    emu = healthy_emulator
    env = clean_env(THEGRID_BASE_URL=emu.base_url, GRIDCTL_CONFIG_DIR=str(tmp_path / "config"),
                    PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    doc = run("onboard", "--sdk", "openai", "--no-input", "--json", THEGRID_API_KEY=DEMO_KEY,
              THEGRID_BASE_URL=emu.base_url).json()
    lines = doc["snippet"]["env"].splitlines()
    pasted, token = lines[0], lines[2]
    assert pasted == 'export THEGRID_API_KEY="<your consumption key>"'
    assert token == '# export THEGRID_API_KEY="$(gridctl auth token)"' and "gridctl auth login" in lines[1]
    if route == "pasted key":
        chosen = [pasted.replace("<your consumption key>", DEMO_KEY), *lines[3:]]
    else:
        login = invoke("auth", "login", "--api-key-stdin", "--no-verify", "--insecure-storage", env=env,
                       stdin=DEMO_KEY)
        assert login.code == 0, login
        chosen = [token.removeprefix("# "), *lines[3:]]
    (tmp_path / "snippet.py").write_text(doc["snippet"]["code"], encoding="utf-8")
    script = "\n".join(["set -e", *chosen, f'exec "{sys.executable}" snippet.py'])
    before = len(emu.requests)
    ran = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, cwd=str(tmp_path),
                         stdin=subprocess.DEVNULL, env={k: v for k, v in env.items() if k != "THEGRID_BASE_URL"})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "pong"
    (call,) = emu.requests[before:]
    assert call["headers"]["authorization"] == redact_credential(f"Bearer {DEMO_KEY}")
