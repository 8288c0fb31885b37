"""The offline commands end to end through the CLI: url, auth lint, lint-curl, explain, --version.

In-process through tests.support.cli.invoke(), plus a few real `python -m gridctl` runs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from gridctl import __version__
from tests.support.cli import Run, gridctl, invoke
from tests.support.contract import (
    CANDIDATE_KEYS,
    CHECK_KEYS,
    DIAGNOSIS_KEYS,
    DIAGNOSIS_OPTIONAL_KEYS,
    ENVELOPE_KEYS,
    FINDING_KEYS,
)

KEY = "Zk3pQ9vX2mL7nR4tY8wB1cD6fH0jK5sA3eG9uI2oP7q"
ROOT = Path(__file__).resolve().parents[2]

# Command-specific top-level fields the contract lets a command add.
EXTRAS = {"url": {"canonical"}, "explain": {"query", "entries", "matches", "facts", "recognised", "recognised_text", "client", "program"}, "auth lint": set(), "lint-curl": set(),
          "emulator list": {"scenarios", "validation"}, "ping": {"curl"}}


def run(*args: str, input: str | None = None) -> Run:
    # this test's environment as the autouse isolation and the test's own monkeypatch.setenv left it
    result = invoke(*args, stdin=input, env=dict(os.environ))
    # a command ends through its exit code, never an uncaught exception (main() would call it internal)
    assert "internal error" not in result.err, result
    return result


def no_traceback(result: Any) -> None:
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream
        assert 'File "' not in stream


def one_json(stdout: str) -> dict[str, Any]:
    """stdout holds exactly one JSON document and nothing else."""
    doc, end = json.JSONDecoder().raw_decode(stdout.lstrip())
    assert stdout.lstrip()[end:].strip() == "", "more than one JSON document (or text) on stdout"
    assert isinstance(doc, dict)
    return doc


def check_envelope(doc: dict[str, Any], command: str, exit_code: int) -> None:
    extras = set(doc) - ENVELOPE_KEYS
    assert ENVELOPE_KEYS <= set(doc), ENVELOPE_KEYS - set(doc)
    assert extras <= EXTRAS[command] | ({"error"} if exit_code == 2 else set()), extras
    assert doc["schema"] == "gridctl/1"
    assert doc["command"] == command
    assert doc["exit_code"] == exit_code
    assert doc["ok"] is (exit_code == 0)
    assert isinstance(doc["checks"], list) and isinstance(doc["request_ids"], list)
    assert isinstance(doc["target"], dict)
    assert isinstance(doc["duration_ms"], (int, float))
    if doc["started_at"] is not None:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["started_at"])
    for check in doc["checks"]:
        assert set(check) == CHECK_KEYS
        assert check["status"] in ("pass", "warn", "fail", "skip")
        assert isinstance(check["duration_ms"], (int, float)) and isinstance(check["data"], dict)
        for f in check["findings"]:
            assert FINDING_KEYS <= set(f) <= FINDING_KEYS | {"data"}
            assert f["severity"] in ("error", "warning", "info")
    if doc["ok"]:
        assert doc["diagnosis"] is None
    elif exit_code != 2:
        assert {"code", "title", "fix"} <= set(doc["diagnosis"])
        assert set(doc["diagnosis"]) <= DIAGNOSIS_KEYS | DIAGNOSIS_OPTIONAL_KEYS
        for candidate in doc["diagnosis"].get("candidates", []):
            assert set(candidate) == CANDIDATE_KEYS
        assert doc["diagnosis"].get("certain", True) is not False or doc["diagnosis"]["candidates"]
        # the diagnosis is the first error finding, in check order
        errors = [f for c in doc["checks"] for f in c["findings"] if f["severity"] == "error"]
        assert errors and doc["diagnosis"]["code"] == errors[0]["code"]


# --- gridctl url ------------------------------------------------------------------------------

def test_url_doubled_v1_prints_canonical_and_exits_3() -> None:
    result = run("url", "https://api.thegrid.ai/v1/v1/")
    assert result.exit_code == 3
    assert "https://api.thegrid.ai/v1\n" in result.stdout
    assert "url.doubled_v1" in result.stdout and "url.trailing_slash" in result.stdout
    assert result.stderr == ""
    no_traceback(result)


@pytest.mark.parametrize("args", [
    ["https://api.thegrid.ai/v1"],
    ["https://api.thegrid.ai/v1", "--sdk", "openai"],
    ["https://messages-beta.api.thegrid.ai", "--sdk", "anthropic"],
    ["http://localhost:8080/v1"],
])
def test_url_clean_exits_0(args: list[str]) -> None:
    result = run("url", *args)
    assert result.exit_code == 0, result.stdout
    no_traceback(result)


def test_url_anthropic_canonical_has_no_v1() -> None:
    result = run("url", "https://messages-beta.api.thegrid.ai/v1", "--sdk", "anthropic", "--json")
    assert result.exit_code == 3
    doc = one_json(result.stdout)
    assert doc["canonical"] == "https://messages-beta.api.thegrid.ai"
    assert doc["diagnosis"]["code"] == "url.doubled_v1"


def test_url_without_argument_lints_the_configured_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THEGRID_BASE_URL", "https://api.thegrid.ai/v1/chat/completions")
    result = run("url", "--json")
    assert result.exit_code == 3
    doc = one_json(result.stdout)
    assert doc["canonical"] == "https://api.thegrid.ai/v1"
    assert doc["checks"][0]["data"]["source"] == "env THEGRID_BASE_URL"


@pytest.mark.parametrize(("url", "exit_code"), [
    ("https://api.thegrid.ai/v1/v1/", 3), ("https://api.thegrid.ai/v1", 0), ("https://api.thegird.ai/v1", 3),
    ("https://gateway.example.com/v1", 0), ("", 3),
])
def test_url_json_envelope(url: str, exit_code: int) -> None:
    result = run("url", url, "--json")
    assert result.exit_code == exit_code
    doc = one_json(result.stdout)
    check_envelope(doc, "url", exit_code)
    assert [c["id"] for c in doc["checks"]] == ["url"]
    if url == "https://api.thegrid.ai/v1/v1/":
        assert doc["canonical"] == "https://api.thegrid.ai/v1"
        assert [f["code"] for f in doc["checks"][0]["findings"]] == ["url.doubled_v1", "url.trailing_slash"]
        assert doc["diagnosis"]["code"] == "url.doubled_v1"


# --- bad input: exit 2 or 3, one line on stderr, no traceback ------------------------------------

BAD_INPUT = [
    (["url", ""], 3),
    (["url", "https://api.thegrid.ai/v1\x01\x07"], 3),
    (["url", "\x00"], 3),
    (["auth", "lint", "no colon here"], 2),
    (["auth", "lint", ""], 2),
    (["lint-curl", "wget x"], 2),
    (["lint-curl", "curl 'unbalanced"], 2),
    (["explain", "zzzz-nonsense"], 2),
    (["explain", ""], 2),
    (["url", "https://api.thegrid.ai/v1", "--api", "bogus"], 2),
    (["url", "https://api.thegrid.ai/v1", "--sdk", "bogus"], 2),
    (["auth", "lint", "Authorization: Bearer x", "--api", "bogus"], 2),
    (["auth", "lint", "Authorization: Bearer x", "--timeout", "-1"], 2),
    (["auth", "lint", "Authorization: Bearer x", "--timeout", "0"], 2),
]


@pytest.mark.parametrize(("args", "exit_code"), BAD_INPUT, ids=[" ".join(a).strip() or "empty" for a, _ in BAD_INPUT])
def test_bad_input_fails_cleanly(args: list[str], exit_code: int) -> None:
    result = run(*args)
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    no_traceback(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if exit_code == 2:
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("gridctl: ")
        assert result.stdout == ""
    else:
        assert len(lines) <= 1, result.stderr


@pytest.mark.parametrize(("args", "exit_code"), BAD_INPUT, ids=[" ".join(a).strip() or "empty" for a, _ in BAD_INPUT])
def test_bad_input_with_json_still_prints_one_document(args: list[str], exit_code: int) -> None:
    result = run(*args, "--json")
    assert result.exit_code == exit_code
    doc = one_json(result.stdout)
    command = "auth lint" if args[0] == "auth" else args[0]
    # the command's name is checked separately (test_usage_error_envelope_names_the_subcommand)
    check_envelope({**doc, "command": command} if args[0] == "auth" else doc, command, exit_code)
    if exit_code == 2:
        assert doc["error"] and "\n" not in doc["error"]
        assert len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


def test_usage_error_envelope_names_the_subcommand() -> None:
    result = run("auth", "lint", "no colon here", "--json")
    assert result.exit_code == 2
    assert one_json(result.stdout)["command"] == "auth lint"


@pytest.mark.parametrize("args", [
    ["url", "--json", "--no-such-flag"],
    ["auth", "lint", "--json", "--timeout", "abc"],
    ["lint-curl", "--json"],
])
def test_parser_usage_errors_with_json_print_one_document(args: list[str]) -> None:
    # the parser's own errors end in main(), which invoke() runs as the real program does
    proc = invoke(*args)
    assert proc.returncode == 2
    doc = one_json(proc.stdout)
    assert doc["exit_code"] == 2 and doc["ok"] is False
    assert doc["command"] == ("auth lint" if args[0] == "auth" else args[0])
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_parser_usage_error_without_json_is_one_line() -> None:
    proc = invoke("ping", "--retries", "many")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gridctl: ") and "--retries" in lines[0]


# --- gridctl auth lint ----------------------------------------------------------------------------

def test_auth_lint_header_argument() -> None:
    result = run("auth", "lint", f"Authorization: Bearer {KEY}")
    assert result.exit_code == 0
    assert KEY not in result.stdout + result.stderr
    result = run("auth", "lint", f"Authorization: {KEY}")
    assert result.exit_code == 3
    assert "auth.missing_bearer" in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_auth_lint_messages_api() -> None:
    assert run("auth", "lint", f"x-api-key: {KEY}", "--api", "messages").exit_code == 0
    result = run("auth", "lint", f"x-api-key: {KEY}", "--json")
    assert result.exit_code == 3
    assert one_json(result.stdout)["diagnosis"]["code"] == "auth.wrong_header"


@pytest.mark.parametrize("json_out", [False, True], ids=["human", "json"])
def test_auth_lint_lints_the_env_key_without_printing_it(monkeypatch: pytest.MonkeyPatch, json_out: bool) -> None:
    monkeypatch.setenv("THEGRID_API_KEY", KEY)
    result = run("auth", "lint", *(["--json"] if json_out else []))
    assert result.exit_code == 0, result.stdout
    out = result.stdout + result.stderr
    assert KEY not in out and KEY[:-4] not in out and KEY[:12] not in out
    assert KEY[-4:] in out  # the fingerprint: the last four characters only
    if json_out:
        doc = one_json(result.stdout)
        check_envelope(doc, "auth lint", 0)
        assert doc["checks"][0]["data"]["source"] == "env THEGRID_API_KEY"
    else:
        assert "env THEGRID_API_KEY" in result.stdout


@pytest.mark.parametrize(("value", "code"), [
    (KEY + "\n", "auth.key_whitespace"),
    (f'"{KEY}"', "auth.key_quoted"),
    (f"Bearer {KEY}", "auth.double_bearer"),
    ("sk-proj-" + KEY, "auth.foreign_key"),
], ids=["newline", "quoted", "bearer-in-value", "openai-key"])
def test_auth_lint_finds_problems_in_the_env_key(monkeypatch: pytest.MonkeyPatch, value: str, code: str) -> None:
    monkeypatch.setenv("THEGRID_API_KEY", value)
    for args in (["auth", "lint"], ["auth", "lint", "--json"]):
        result = run(*args)
        assert result.exit_code == 3
        assert code in result.stdout
        assert KEY not in result.stdout + result.stderr and KEY[:12] not in result.stdout


def test_auth_lint_without_any_key_is_config_no_key() -> None:
    result = run("auth", "lint")
    assert result.exit_code == 3
    assert "config.no_key" in result.stdout
    result = run("auth", "lint", "--json")
    assert result.exit_code == 3
    doc = one_json(result.stdout)
    check_envelope(doc, "auth lint", 3)
    assert doc["diagnosis"]["code"] == "config.no_key"


# --- gridctl lint-curl ----------------------------------------------------------------------------

def test_lint_curl_json_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THEGRID_API_KEY", KEY)
    cmd = ("curl https://api.thegrid.ai/v1/v1/chat/completions -H \"Authorization: Bearer $THEGRID_API_KEY\" "
           "-d '{\"model\": \"gpt-5.2\", \"messages\": [{\"role\": \"user\", \"content\": \"ping\"}]}'")
    result = run("lint-curl", cmd, "--json")
    assert result.exit_code == 3
    doc = one_json(result.stdout)
    check_envelope(doc, "lint-curl", 3)
    found = {f["code"] for c in doc["checks"] for f in c["findings"]}
    assert {"url.doubled_v1", "model.foreign_name", "body.content_type", "http.redirect"} <= found
    assert doc["diagnosis"]["code"] == "url.doubled_v1"
    assert KEY not in result.stdout


def test_lint_curl_reads_standard_input() -> None:
    cmd = ("curl -L https://api.thegrid.ai/v1/chat/completions \\\n  -H 'Authorization: Bearer " + KEY + "' \\\n"
           "  --json '{\"model\": \"text-prime\", \"messages\": [{\"role\": \"user\", \"content\": \"ping\"}]}'\n")
    result = run("lint-curl", "-", input=cmd)
    assert result.exit_code == 0, result.stdout
    assert KEY not in result.stdout


# --- gridctl explain ------------------------------------------------------------------------------

def test_explain_404_mentions_both_rows() -> None:
    result = run("explain", "404")
    assert result.exit_code == 0
    assert "model.not_found" in result.stdout and "http.not_found_path" in result.stdout
    assert "url.doubled_v1" in result.stdout


def test_explain_json() -> None:
    result = run("explain", "404", "--json")
    assert result.exit_code == 0
    doc = one_json(result.stdout)
    check_envelope(doc, "explain", 0)
    codes = [e["code"] for e in doc["entries"]]
    assert "model.not_found" in codes and "http.not_found_path" in codes
    assert all({"code", "title", "cause", "fix", "exit_code"} <= set(e) for e in doc["entries"])


def test_explain_code_and_phrase() -> None:
    result = run("explain", "url.doubled_v1")
    assert result.exit_code == 0 and "Doubled /v1" in result.stdout
    # a phrase from an error is a pasted text now: the diagnosis's exit code (network)
    result = run("explain", "connection refused")
    assert result.exit_code == 9 and "net.refused" in result.stdout


# --- version and `python -m gridctl` --------------------------------------------------------------

def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"gridctl {__version__}"


def _python_m(*args: str) -> Run:
    return gridctl(*args)  # `python -m gridctl` as a real subprocess: the entry point is the point


def test_python_m_url() -> None:
    proc = _python_m("url", "https://api.thegrid.ai/v1/v1/")
    assert proc.returncode == 3, proc.stderr
    assert "https://api.thegrid.ai/v1\n" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_python_m_version_and_usage_error() -> None:
    proc = _python_m("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"gridctl {__version__}"
    proc = _python_m("auth", "lint", "no colon here", "--json")
    assert proc.returncode == 2
    assert one_json(proc.stdout)["exit_code"] == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_ping_curl_with_json_is_one_envelope_holding_the_command() -> None:
    result = run("ping", "--curl", "--json")
    assert result.exit_code == 0
    doc = one_json(result.stdout)
    assert doc["command"] == "ping" and doc["ok"] is True
    assert doc["curl"].startswith("curl -sS -L ") and "$THEGRID_API_KEY" in doc["curl"]


@pytest.mark.parametrize(("args", "command"), [
    (["explain", "404", "--json"], "explain"),
    (["emulator", "list", "--json"], "emulator list"),
    (["ping", "--curl", "--json"], "ping"),
])
def test_data_commands_use_the_full_envelope(args: list[str], command: str) -> None:
    result = run(*args)
    assert result.exit_code == 0
    check_envelope(one_json(result.stdout), command, 0)


@pytest.mark.parametrize(("code", "title"), [
    ("http.redirect_rejected", "The signed redirect was rejected"), ("http.timeout", "(408)"),
    ("http.too_large", "(413)"), ("http.conflict", "(409)"), ("http.blocked", "WAF/CDN block page"),
    ("url.unsupported_endpoint", "does not serve"), ("auth.not_a_key", "not a key"),
])
def test_explain_shows_the_new_codes(code: str, title: str) -> None:
    result = run("explain", code)
    assert result.exit_code == 0 and code in result.output and title in result.output
    assert "cause:" in result.output and "fix:" in result.output
# --- the profile's api (a profile with api = "messages" is linted as the messages API) -------------

def _messages_profile(config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text('[profiles.default]\napi = "messages"\n', encoding="utf-8")


def test_auth_lint_honours_the_profiles_api(isolated_env: Path) -> None:
    _messages_profile(isolated_env)
    result = run("auth", "lint", f"x-api-key: {KEY}", "--json")
    assert result.exit_code == 0, result.stdout  # on chat this header is auth.wrong_header
    assert one_json(result.stdout)["checks"][0]["data"]["api"] == "messages"
    # a flag still outranks the profile
    flagged = run("auth", "lint", f"x-api-key: {KEY}", "--api", "chat", "--json")
    assert one_json(flagged.stdout)["diagnosis"]["code"] == "auth.wrong_header"


def test_auth_lint_without_header_synthesises_the_profiles_header(isolated_env: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _messages_profile(isolated_env)
    monkeypatch.setenv("THEGRID_API_KEY", KEY)
    result = run("auth", "lint", "--json")
    assert result.exit_code == 0, result.stdout
    assert one_json(result.stdout)["checks"][0]["data"]["header"].lower() == "x-api-key"
    assert KEY not in result.stdout


def test_url_honours_the_profiles_api(isolated_env: Path) -> None:
    plain = one_json(run("url", "https://api.thegrid.ai/v1", "--json").stdout)
    _messages_profile(isolated_env)
    result = run("url", "https://api.thegrid.ai/v1", "--json")
    doc = one_json(result.stdout)
    assert doc["checks"][0]["data"]["api"] == "messages"
    assert plain["checks"][0]["data"]["api"] == "chat"
    assert doc["canonical"] != plain["canonical"] or doc["checks"][0]["findings"] != plain["checks"][0]["findings"]
    flagged = one_json(run("url", "https://api.thegrid.ai/v1", "--api", "chat", "--json").stdout)
    assert flagged["checks"][0]["data"]["api"] == "chat"
