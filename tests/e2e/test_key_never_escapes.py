"""The key never escapes, whatever the arguments: usage errors, argument echoes, partial, cased and encoded forms.

In-process through `gridctl.cli.main` (not the typer app alone): main() is where click's usage errors are
printed, so it is where the key must already be known. Hypothesis drives the arguments with a canary
key in the environment; every run is checked for every form of it.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cli import clean_env
from tests.support.hostile import controls_in, leaks

pytestmark = pytest.mark.e2e

CANARY = "gk-canary-Hq3wE8rT5yU1iO7pA2sD9fG4hJ6kL0zX"
DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port: network commands fail fast


@pytest.fixture(autouse=True)
def forget_secrets() -> None:
    """Each test starts with no key known: a pass must not depend on what an earlier test registered."""
    from gridctl import secrets

    secrets._SECRETS.clear()
    secrets._FORMS.clear()
    secrets._PATTERN[0] = None


def run_main(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of gridctl.cli.main(args) in this process."""
    from typer.testing import CliRunner

    from gridctl.cli import main

    wanted = env if env is not None else clean_env(THEGRID_API_KEY=CANARY, THEGRID_BASE_URL=DEAD + "/v1",
                                                   THEGRID_STATUS_URL=DEAD)
    overlay: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    overlay.update(wanted)
    with CliRunner().isolation(input=stdin, env=overlay) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")


def assert_clean(code: int, out: str, err: str, key: str = CANARY) -> None:
    text = out + err
    assert not leaks(text, key), (leaks(text, key), out, err)
    assert "Traceback" not in text and "internal error" not in text, (out, err)
    assert code != 1, (out, err)
    assert not controls_in(out), (out, err)


@pytest.mark.parametrize("args", [
    ("ping", CANARY), ("ping", "--timeout", CANARY), ("ping", "--api", CANARY), ("explain", CANARY),
    ("url", CANARY, "--json"), ("url", CANARY), ("doctor", "--body", CANARY), ("doctor", "--body", CANARY, "--json"),
    ("lint-curl", f"curl https://api.thegrid.ai/v1/chat/completions?key={CANARY}"),
    ("lint-curl", f"curl https://api.thegrid.ai/v1/chat/completions -H 'Authorization: Bearer {CANARY}' --json"),
    ("ping", "--base-url", CANARY.upper(), "--json"), ("ping", "--base-url", f"https://{CANARY}/v1"),
    ("models", "--offline", CANARY), ("models", "--offline", CANARY[:20] + " " + CANARY[20:]),
    ("auth", "lint", f"Authorization: Bearer {CANARY}"), ("ping", "--profile", CANARY),
    (f"--{CANARY}",), (CANARY,), ("explain", base64.b64encode(CANARY.encode()).decode()),
])
def test_usage_errors_and_echoes_never_print_the_key(args: tuple[str, ...]) -> None:
    code, out, err = run_main(*args, "--timeout", "2") if "--timeout" not in args and args[0] in (
        "ping", "doctor") else run_main(*args)
    assert_clean(code, out, err)
    if "--json" in args and code != 2:
        json.loads(out)


def test_a_key_given_only_as_an_argument_is_not_echoed() -> None:
    other = "sk-Other9KeyAbcdEfgh12345678ZzYy"
    code, out, err = run_main("explain", other, env=clean_env())
    assert code == 2
    assert not leaks(out + err, other), err


@pytest.mark.parametrize("key", ['gk-a": "b9XyZ8wV7uT6sR5qP4oN3', 'gk-{"x": [1, 2]}-Qz9Yx8Wv7Ut6Sr5', "gk-back\\slash-Qz9Yx8Wv7Ut6"])
def test_a_key_that_looks_like_json_never_corrupts_the_document(key: str) -> None:
    env = clean_env(THEGRID_API_KEY=key, THEGRID_BASE_URL=DEAD + "/v1", THEGRID_STATUS_URL=DEAD)
    for args in (("auth", "lint", "--json"), ("url", key, "--json"), ("explain", key, "--json"),
                 ("ping", "--json", "--timeout", "1", "--retries", "0")):
        code, out, err = run_main(*args, env=env)
        doc = json.loads(out)  # one valid document
        assert doc["schema"] == "gridctl/1", out
        assert key not in out + err


@pytest.mark.parametrize("base", ["https://thegridai.com/v1", "https://api-thegrid.com/v1", "https://api.grid.ai/v1",
                                  "https://xn--thegrd-8ve.ai/v1", "https://api.thegrid.ai.example.com/v1",
                                  "http://api.thegrid.ai/v1", "http://10.0.0.5:8080/v1"])
def test_the_key_goes_only_to_allowed_hosts(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def trap(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", trap)
    monkeypatch.setattr(socket.socket, "connect", trap)
    code, out, err = run_main("ping", "--json", "--timeout", "2",
                              env=clean_env(THEGRID_API_KEY=CANARY, THEGRID_BASE_URL=base, THEGRID_STATUS_URL=DEAD))
    assert code == 3, (out, err)
    doc = json.loads(out)
    assert doc["diagnosis"]["code"] in ("url.host_typo", "url.insecure_scheme"), out


# ---------------------------------------------------------------- hypothesis over the CLI

_KEYISH = [CANARY, CANARY.upper(), CANARY.lower(), CANARY[:20], CANARY[-20:], f" {CANARY} ", f"Bearer {CANARY}",
           f"https://{CANARY}/v1", f"https://api.thegrid.ai/v1?key={CANARY}", quote(CANARY), f'"{CANARY}"',
           CANARY[:15] + " " + CANARY[15:], base64.b64encode(CANARY.encode()).decode(), json.dumps(CANARY)]
_PLAIN = ["0", "-1", "1e9", "nan", "0.5", "text-prime", "chat", "messages", "https://api.thegrid.ai/v1",
          DEAD + "/v1", "-", "curl https://api.thegrid.ai/v1", "openai", "404"]
_FLAGS = ["--timeout", "--api", "--base-url", "--model", "--status-url", "--profile", "--api-key", "--json", "--sdk",
          "--retries", "--no-color", "-q", "--offline", "--curl", "--list", "-v"]
_COMMANDS = [["url"], ["explain"], ["auth", "lint"], ["lint-curl"], ["models", "--offline"], ["ping", "--curl"],
             ["ping", "--retries", "0"], ["status"], ["ping"]]
_value = st.one_of(st.sampled_from(_KEYISH), st.sampled_from(_PLAIN), st.text(max_size=20))
_arg = st.one_of(st.sampled_from(_FLAGS), _value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(_COMMANDS), args=st.lists(_arg, max_size=5),
       timeout=st.sampled_from([0.5, 1.0, 2.0]), as_json=st.booleans())
def test_no_arguments_leak_the_key_crash_or_overrun(command: list[str], args: list[str], timeout: float,
                                                   as_json: bool) -> None:
    argv = [*command, *args, "--timeout", str(timeout)] + (["--json"] if as_json else [])
    code, out, err = run_main(*argv)
    assert_clean(code, out, err)
    if as_json and code != 2 and out.strip():
        doc = json.loads(out)
        assert doc["duration_ms"] <= timeout * 1000 + 1000, (argv, doc["duration_ms"])
