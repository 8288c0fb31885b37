"""The cores the thin adapters call (issue 10): option checks and choices live here, not in cli/."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from gridctl.errors import ConfigProblem, UsageError
from gridctl.settings import Flags, Settings, from_env
from gridctl.trace.main import TraceOptions, exit_status, trace_options
from gridctl.watch.run import duration, watch_plan

KEY = "sk-test-0123456789abcdef"


def _settings(**flags: str) -> Settings:
    """Settings from the isolated environment (tests/conftest.py: empty config dir, no keyring)."""
    return from_env(Flags(api_key=KEY, **flags))  # type: ignore[arg-type]


@pytest.mark.parametrize("text, seconds", [("30s", 30.0), ("1m", 60.0), ("500ms", 0.5), ("1.5", 1.5), ("0", 0.0)])
def test_duration_reads_units(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text, message", [("soon", "takes a duration"), ("25h", "between 0 and 24h")])
def test_duration_rejects_as_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        duration(text)


def test_watch_plan_targets_and_envelope_target() -> None:
    plan = watch_plan(_settings(model="text-max"), every="10ms", count=2, all_=False, stream=True, retries=1,
                      json=False, jsonl=True)
    assert [t.model for t in plan.targets] == ["text-max"] and plan.every_s == 0.01 and plan.count == 2
    assert plan.target_info is not None and plan.target_info["model"] == "text-max"
    assert KEY not in str(plan.target_info)  # the key only as its fingerprint
    assert len(watch_plan(_settings(), every="1s", count=None, all_=True, stream=False, retries=0,
                          json=False, jsonl=False).targets) == 9


@pytest.mark.parametrize("count, json, jsonl, message", [(0, False, False, "--count must be at least 1"),
                                                        (None, True, True, "exclude each other")])
def test_watch_plan_usage_errors(count: int | None, json: bool, jsonl: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        watch_plan(_settings(), every="1s", count=count, all_=False, stream=False, retries=0,
                   json=json, jsonl=jsonl)


def _trace_opts(argv: list[str], **kw: object) -> TraceOptions:
    args: dict[str, object] = {"emulate": None, "har": None, "listen": None, "yes": False, "timeout": 300.0,
                               "idle_warn_s": 5.0, "json": False, "exit_code": "child"} | kw
    return trace_options(argv, {}, **args)  # type: ignore[arg-type]


def test_trace_options_default_to_a_free_loopback_port() -> None:
    opts = _trace_opts(["true"], har=Path("x.har"))
    assert (opts.host, opts.port, opts.har) == ("127.0.0.1", 0, Path("x.har"))


@pytest.mark.parametrize("argv, kw, message", [
    ([], {}, "give a command after"),
    (["true"], {"emulate": "no-such-scenario"}, "unknown scenario"),
    (["true"], {"listen": "nonsense:port"}, "expected \\[HOST:\\]PORT"),
    (["true"], {"listen": "10.0.0.1:0"}, "not a loopback address"),  # no terminal to ask on: refused
])
def test_trace_options_usage_errors(argv: list[str], kw: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _trace_opts(argv, **kw)


def test_trace_listen_beyond_loopback_with_yes() -> None:
    opts = _trace_opts([], listen="10.0.0.1:8080", yes=True)
    assert (opts.host, opts.port) == ("10.0.0.1", 8080)


@pytest.mark.parametrize("mode, child, expected", [("child", 3, 3), ("child", None, 5), ("diagnosis", 3, 5)])
def test_trace_exit_status(mode: Literal["child", "diagnosis"], child: int | None, expected: int) -> None:
    assert exit_status(_trace_opts(["true"], exit_code=mode), 5, child) == expected


def test_exporter_refuses_a_bad_address_then_a_missing_key() -> None:
    from gridctl.watch.exporter import open_exporter

    with pytest.raises(UsageError, match="--listen takes HOST:PORT"):
        open_exporter(from_env(Flags()), "nowhere")
    with pytest.raises(ConfigProblem, match="key"):
        open_exporter(from_env(Flags()), "127.0.0.1:0")


def test_exporter_binds_on_loopback() -> None:
    from gridctl.watch.exporter import open_exporter

    bound = open_exporter(_settings(), "127.0.0.1:0")
    try:
        assert bound.loopback and bound.host == "127.0.0.1"
        assert bound.url == f"http://127.0.0.1:{bound.server.server_port}" and bound.server.server_port > 0
    finally:
        bound.server.server_close()
