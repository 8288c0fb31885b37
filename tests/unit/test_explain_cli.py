"""`gridctl explain TEXT | - | --file LOG` through the CLI: exit codes, the envelope, redaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gridctl.cli import app

KEY = "Hj4kL9mN2bV7cX3zQ8wE1rT6yU5iO0pA9sD4fG7hJ2k"
TRACEBACK = f"""Traceback (most recent call last):
  File "app.py", line 9, in <module>
    client.chat.completions.create(model="text-prime", messages=m)
httpx2.ConnectError: [Errno 111] Connection refused

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "app.py", line 9, in <module>
openai.APIConnectionError: Connection error.
headers={{'Authorization': 'Bearer {KEY}'}}
"""


def run(*args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_text_argument_gives_the_diagnosis_and_its_exit_code() -> None:
    result = run("explain", TRACEBACK)
    assert result.exit_code == 9
    assert "net.refused" in result.stdout and "Connection refused" in result.stdout
    assert "line 4" in result.stdout  # which part of the text it matched
    assert KEY not in result.stdout + result.stderr


def test_stdin() -> None:
    result = run("explain", "-", stdin="curl: (6) Could not resolve host: api.thegird.ai\n")
    assert result.exit_code == 3
    assert "url.host_typo" in result.stdout and "net.dns" in result.stdout  # best, then the others


def test_stdin_takes_invalid_utf8_and_binary() -> None:
    result = run("explain", "-", stdin=b"\xff\xfe\x00garbage\nopenai.RateLimitError: Error code: 429\n\xc3")
    assert result.exit_code == 7 and "http.rate_limited" in result.stdout


def test_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join(["INFO starting"] * 2000 + [
        "ERROR anthropic.PaymentRequiredError: Error code: 402 - {'errors': {'detail': 'Insufficient credits'}}",
        "x-request-id: 5b1f7c1e-0d7e-4b8a-9d4e-2f5a9c3b1e77"] + ["INFO retrying"] * 2000), encoding="utf-8")
    result = run("explain", "--file", str(log), "--json")
    assert result.exit_code == 5
    doc = json.loads(result.stdout)
    assert doc["command"] == "explain" and doc["exit_code"] == 5 and doc["ok"] is False
    assert doc["diagnosis"]["code"] == "balance.credits_empty"
    assert doc["matches"][0]["line"] == 2001
    assert doc["request_ids"] == ["5b1f7c1e-0d7e-4b8a-9d4e-2f5a9c3b1e77"]
    assert doc["facts"]["statuses"] == [402]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("explain", "--file", str(tmp_path / "nope.log"))
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_json_envelope_holds_matches_and_facts() -> None:
    result = run("explain", "--json", "POST https://api.thegrid.ai/v1/v1/chat/completions -> "
                 "openai.NotFoundError: Error code: 404 model='gpt-5.2'")
    doc = json.loads(result.stdout)
    # a doubled /v1 with the 404 it got exits 6 (reached the server), as doctor's does; offline it is 3
    assert result.exit_code == doc["exit_code"] == 6
    assert doc["diagnosis"]["code"] == "url.doubled_v1"
    assert doc["matches"][0]["code"] == "url.doubled_v1" and doc["matches"][0]["exit_code"] == 6
    codes = [m["code"] for m in doc["matches"]]
    assert "model.foreign_name" in codes and "http.not_found_path" in codes
    assert {"urls", "statuses", "models", "hosts", "request_ids", "keys"} <= set(doc["facts"])
    assert doc["facts"]["models"] == ["gpt-5.2"]
    assert all({"code", "score", "line", "quote", "via", "exit_code"} <= set(m) for m in doc["matches"])


def test_nothing_recognised_exits_2_and_points_at_doctor() -> None:
    result = run("explain", "my program does not work, help")
    assert result.exit_code == 2
    assert "gridctl doctor" in result.stderr and result.stdout == ""


def test_recognised_without_a_failure_says_what_was_recognised() -> None:
    result = run("explain", "calling https://api.thegrid.ai/v1/chat/completions with model text-prime")
    assert result.exit_code == 0
    assert "recognised" in result.stdout and "https://api.thegrid.ai/v1/chat/completions" in result.stdout
    assert "gridctl doctor" in result.stdout


@pytest.mark.parametrize("query", ["404", "url.doubled_v1", "5xx", "auth", "HTTP 429"])
def test_the_table_still_answers_codes_and_statuses(query: str) -> None:
    result = run("explain", query)
    assert result.exit_code == 0 and result.stdout.strip()


@pytest.mark.parametrize("mode", [[], ["--json"], ["--no-color"]])
@pytest.mark.parametrize("how", ["arg", "stdin"])
def test_a_key_in_the_text_is_never_echoed(mode: list[str], how: str) -> None:
    texts = [TRACEBACK, f"Error code: 401 - {{'errors': {{'detail': 'Invalid API key'}}}} key={KEY}",
             f"{KEY}", f"zzz {KEY} zzz", f"Authorization: Bearer {KEY}\n"]
    for text in texts:
        result = run("explain", *mode, *(["-"] if how == "stdin" else [text]),
                     stdin=text if how == "stdin" else None)
        assert KEY not in result.stdout + result.stderr, (text, result.stdout)
        assert KEY[8:-8] not in result.stdout + result.stderr


def test_a_key_gridctl_knows_from_the_environment_is_redacted_whatever_its_shape() -> None:
    odd = "short-odd-key-1"  # no key shape at all: only the environment says it is a key
    result = run("explain", "--json", f"openai.AuthenticationError: Error code: 401 sent {odd}",
                 env={"THEGRID_API_KEY": odd})
    assert odd not in result.stdout
    assert json.loads(result.stdout)["diagnosis"]["code"] == "auth.rejected"


def test_a_pipe_without_dash_is_read_too() -> None:
    result = run("explain", stdin="openai.RateLimitError: Error code: 429\n")
    assert result.exit_code == 7 and "http.rate_limited" in result.stdout
    empty = run("explain", stdin="")
    assert empty.exit_code == 2 and "gridctl doctor" in empty.stderr


@pytest.mark.parametrize("mode", [[], ["--json"]])
def test_models_does_not_echo_a_key_given_as_the_name(mode: list[str]) -> None:
    result = run("models", KEY, "--offline", *mode)
    assert result.exit_code == 3
    assert KEY not in result.stdout + result.stderr


def test_a_lint_without_the_status_that_confirms_it_keeps_the_offline_exit_code() -> None:
    offline = run("explain", "--json", "base_url='https://api.thegrid.ai/v1/v1'")
    assert json.loads(offline.stdout)["diagnosis"]["code"] == "url.doubled_v1" and offline.exit_code == 3
    refused = run("explain", "--json", "HTTP/1.1 401 Unauthorized\nAuthorization: bearer "
                  "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    assert json.loads(refused.stdout)["diagnosis"]["code"] == "auth.scheme_case" and refused.exit_code == 4
