"""Instrument lint (gridctl.lint.model): the `model` field must be an instrument."""

from __future__ import annotations

import pytest

from gridctl import grid
from gridctl.findings import CATALOGUE
from gridctl.lint.model import lint_model

NINE = ("text-standard", "text-prime", "text-max", "code-standard", "code-prime", "code-max",
        "agent-standard", "agent-prime", "agent-max")


def test_the_nine_instruments_are_the_documented_ones() -> None:
    assert set(grid.INSTRUMENTS) == set(NINE)
    assert len(grid.INSTRUMENTS) == 9


@pytest.mark.parametrize("name", NINE + grid.LAB_MARKET)
def test_instruments_and_lab_market_pass(name: str) -> None:
    result = lint_model(name)
    assert result.findings == []
    assert result.ok and result.known


@pytest.mark.parametrize(("name", "suggestion"), [
    ("Text-Prime", "text-prime"),
    ("TEXT-MAX", "text-max"),
    ("Code-Standard", "code-standard"),
    ("agent-Prime", "agent-prime"),
    ("Claude-Opus-Latest", "claude-opus-latest"),
])
def test_wrong_case(name: str, suggestion: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.case"]
    assert result.suggestion == suggestion
    assert suggestion in result.findings[0].fix
    assert not result.ok


@pytest.mark.parametrize(("name", "suggestion"), [
    ("gpt-5.2", "text-prime"),
    ("gpt-4o", "text-prime"),
    ("gpt-4o-mini", "text-standard"),
    ("gpt-5-mini", "text-standard"),
    ("gpt-3.5-turbo", "text-standard"),
    ("o3", "text-max"),
    ("o1-preview", "text-max"),
    ("claude-sonnet-4-6", "agent-prime"),
    ("claude-opus-4-1", "agent-max"),
    ("claude-3-5-haiku-latest", "agent-standard"),
    ("claude-3-opus-20240229", "agent-max"),
    ("claude-3-5-sonnet-20241022", "agent-prime"),
    ("anthropic/claude-opus-4", "agent-max"),
    ("claude-haiku-4-5", "agent-standard"),
    ("gpt-5-codex", "code-prime"),
    ("deepseek-coder-v2", "code-prime"),
    ("qwen3-coder-480b", "code-prime"),
    ("gemini-2.5-pro", "text-max"),
    ("llama-3.1-70b-instruct", "text-prime"),
    ("openai/gpt-oss-120b", "text-prime"),
    ("anthropic/claude-sonnet-4", "agent-prime"),
    ("meta-llama/llama-3.3-70b", "text-prime"),
])
def test_foreign_names_get_a_tier_suggestion(name: str, suggestion: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.foreign_name"]
    assert result.suggestion == suggestion
    assert result.suggestion in grid.INSTRUMENTS
    f = result.findings[0]
    assert suggestion in f.fix and "404" in f.message
    # the fix explains the tier, in the docs' words
    assert grid.TIER_ADVICE[suggestion.rsplit("-", 1)[1]] in f.fix


def test_served_model_name_is_explained() -> None:
    # the response's `model` names what served the request; sending it back is a 404
    (f,) = lint_model("openai/gpt-oss-120b").findings
    assert "served" in f.message


@pytest.mark.parametrize(("name", "suggestion"), [
    ("text-prme", "text-prime"),
    ("textprime", "text-prime"),
    ("text_prime", "text-prime"),
    ("text prime", "text-prime"),
    ("code-primo", "code-prime"),
    ("agent-maxx", "agent-max"),
    ("txt-standard", "text-standard"),
    ("text-prime-latest", "text-prime"),
])
def test_near_misses_are_unknown_with_did_you_mean(name: str, suggestion: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.unknown"]
    assert result.suggestion == suggestion
    assert f"Did you mean {suggestion}" in result.findings[0].message


@pytest.mark.parametrize(("name", "suggestion"), [
    ("text", "text-prime"), ("code", "code-prime"), ("agent", "agent-prime"), ("prime", "text-prime"),
    ("max", "text-max"), ("standard", "text-standard"),
])
def test_half_a_name_is_completed(name: str, suggestion: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.unknown"]
    assert result.suggestion == suggestion


@pytest.mark.parametrize(("name", "suggestion"), [
    ("openai/text-prime", "text-prime"), ("openai/code-max", "code-max"), ("thegrid/agent-standard", "agent-standard"),
])
def test_provider_prefixed_instrument_suggests_the_instrument(name: str, suggestion: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.unknown"]
    assert result.suggestion == suggestion


def test_something_else_entirely_defaults_to_text_prime() -> None:
    result = lint_model("zzzzqqq")
    assert [f.code for f in result.findings] == ["model.unknown"]
    assert result.suggestion == grid.DEFAULT_MODEL


@pytest.mark.parametrize("name", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_empty(name: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.unknown"]
    assert result.suggestion == grid.DEFAULT_MODEL
    assert "empty" in result.findings[0].message


@pytest.mark.parametrize("name", [" text-prime", "text-prime\n", '"text-prime"', "'code-max'"])
def test_whitespace_or_quotes_around_a_good_name(name: str) -> None:
    result = lint_model(name)
    assert [f.code for f in result.findings] == ["model.unknown"]
    assert result.suggestion == name.strip().strip("\"'")


# --- the live list from GET /v1/models is the authority --------------------------------------

def test_name_only_in_live_list_passes() -> None:
    result = lint_model("text-ultra", live=["text-prime", "text-ultra"])
    assert result.findings == [] and result.known


def test_name_only_in_live_list_fails_without_it() -> None:
    assert not lint_model("text-ultra").ok


@pytest.mark.parametrize("name", ["text-max", "agent-max", "gpt-sol-latest"])
def test_known_instrument_missing_from_live_list_warns(name: str) -> None:
    result = lint_model(name, live=["text-prime", "code-prime"])
    assert [(f.code, f.severity) for f in result.findings] == [("model.not_listed", "warning")]
    assert result.ok  # a warning, not an error: the list may show only funded instruments


def test_listed_instrument_passes() -> None:
    assert lint_model("code-prime", live=["text-prime", "code-prime"]).findings == []


def test_live_none_means_unknown_not_empty() -> None:
    assert lint_model("text-max", live=None).findings == []
    assert [f.code for f in lint_model("text-max", live=[]).findings] == ["model.not_listed"]


def test_case_suggestion_uses_live_names() -> None:
    result = lint_model("Text-Ultra", live=["text-ultra"])
    assert [f.code for f in result.findings] == ["model.case"]
    assert result.suggestion == "text-ultra"


def test_every_finding_is_catalogued() -> None:
    for name in ["", "Text-Prime", "gpt-5.2", "text-prme", "openai/code-max", "code", " text-prime"]:
        for f in lint_model(name).findings:
            assert f.code in CATALOGUE and f.message and f.fix
