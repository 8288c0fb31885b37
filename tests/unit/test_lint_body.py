"""Request-body lint (gridctl.lint.body): what earns a 400 or 422 before the request is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridctl.findings import CATALOGUE
from gridctl.lint.body import lint_body

MESSAGES = [{"role": "user", "content": "ping"}]


def body(**extra: Any) -> str:
    doc: dict[str, Any] = {"model": "text-prime", "messages": MESSAGES}
    doc.update(extra)
    return json.dumps(doc)


def codes(text: str, **kw: Any) -> list[str]:
    return [f.code for f in lint_body(text, **kw)]


def test_the_troubleshooting_ping_body_is_clean() -> None:
    text = '{ "model": "text-prime", "messages": [{"role": "user", "content": "ping"}] }'
    assert lint_body(text) == []


@pytest.mark.parametrize("extra", [
    {}, {"temperature": 0}, {"temperature": 2}, {"temperature": 0.7}, {"top_p": 0}, {"top_p": 1},
    {"max_tokens": 1}, {"max_tokens": 4096}, {"n": 1}, {"n": 128}, {"stream": True},
    {"stream": False, "stream_options": {"include_usage": True}}, {"temperature": None},
    {"tools": [], "tool_choice": "auto"}, {"response_format": {"type": "json_object"}},
    {"max_completion_tokens": 10}, {"presence_penalty": -2}, {"frequency_penalty": 2}, {"seed": 7},
    {"max_tokens": 100.0},
], ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "plain")
def test_valid_bodies_are_clean(extra: dict[str, Any]) -> None:
    assert lint_body(body(**extra)) == []


@pytest.mark.parametrize(("text", "line", "column"), [
    ('{"model": "text-prime", "messages": [}', 1, 38),
    ('{"model": "text-prime",}', 1, 24),
    ("{'model': 'text-prime'}", 1, 2),
    ('{\n  "model": "text-prime"\n  "messages": []\n}', 3, 3),
    ("", 1, 1),
])
def test_invalid_json_gives_the_position(text: str, line: int, column: int) -> None:
    (f,) = lint_body(text)
    assert f.code == "body.invalid_json" and f.severity == "error"
    assert f"line {line}, column {column}" in f.message
    assert f.data == {"line": line, "column": column}
    assert "at at" not in f.message


def test_unescaped_newline_in_a_string_is_invalid() -> None:
    (f,) = lint_body('{"model": "text-prime", "messages": [{"role": "user", "content": "a\nb"}]}')
    assert f.code == "body.invalid_json"
    assert "control character" in f.message and "at at" not in f.message


@pytest.mark.parametrize("text", ['{"model": "text-prime", "temperature": NaN}', "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    assert codes(text) == ["body.invalid_json"]


def test_deep_nesting_and_huge_numbers_do_not_crash() -> None:
    assert codes("[" * 100_000) == ["body.invalid_json"]
    assert codes('{"max_tokens": ' + "9" * 5000 + "}") == ["body.invalid_json"]


@pytest.mark.parametrize(("text", "kind"), [
    ("null", "null"), ("[]", "array"), ('"hello"', "string"), ("42", "number"), ("true", "boolean"),
    ('[{"model": "text-prime"}]', "array"),
])
def test_non_object_bodies(text: str, kind: str) -> None:
    (f,) = lint_body(text)
    assert f.code == "body.invalid_json"
    assert f"JSON {kind}," in f.message


@pytest.mark.parametrize(("doc", "fragment"), [
    ({"messages": MESSAGES}, "`model`"),
    ({"model": "text-prime"}, "`messages`"),
    ({"model": "text-prime", "messages": []}, "non-empty"),
    ({"model": "text-prime", "messages": {}}, "non-empty"),
    ({"model": "text-prime", "messages": "ping"}, "non-empty"),
    ({"model": "text-prime", "messages": ["ping"]}, "messages[0] must be an object"),
    ({"model": "text-prime", "messages": [{"content": "x"}]}, "messages[0] has no valid `role`"),
    ({"model": "text-prime", "messages": [{"role": "bot", "content": "x"}]}, "messages[0] has no valid `role`"),
    ({"model": "text-prime", "messages": [{"role": "user"}]}, "messages[0] has no `content`"),
    ({"model": "text-prime", "messages": [MESSAGES[0], {"role": "robot", "content": "x"}]}, "messages[1]"),
    ({"model": "text-prime", "messages": [{"role": "User", "content": "x"}]}, "lower case"),
    ({"model": 5, "messages": MESSAGES}, "`model` must be a string"),
    ({"model": None, "messages": MESSAGES}, "`model` must be a string"),
])
def test_missing_or_malformed_fields(doc: dict[str, Any], fragment: str) -> None:
    found = lint_body(json.dumps(doc))
    assert [f.code for f in found] == ["body.missing_field"], [(f.code, f.message) for f in found]
    assert fragment in found[0].message


def test_empty_object_misses_both_fields() -> None:
    assert codes("{}") == ["body.missing_field", "body.missing_field"]


def test_assistant_tool_call_without_content_is_fine() -> None:
    msgs = [{"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "1", "type": "function",
                                                  "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "1", "content": "42"}]
    assert lint_body(json.dumps({"model": "text-prime", "messages": msgs})) == []


def test_unknown_param_typo_gets_a_suggestion() -> None:
    (f,) = lint_body(body(temprature=0.5))
    assert f.code == "body.unknown_param" and f.severity == "warning"
    assert "`temprature`" in f.message and "temperature" in f.fix
    assert f.data.get("suggestion") == "temperature"


@pytest.mark.parametrize("name", ["top_k", "extra_body", "repetition_penalty"])
def test_unknown_params(name: str) -> None:
    assert codes(body(**{name: 1})) == ["body.unknown_param"]


@pytest.mark.parametrize(("param", "value", "fragment"), [
    ("temperature", 3, "0 to 2"), ("temperature", -0.1, "0 to 2"), ("temperature", 2.01, "0 to 2"),
    ("top_p", 1.5, "0 to 1"), ("top_p", -1, "0 to 1"),
    ("max_tokens", 0, "at least 1"), ("max_tokens", -5, "at least 1"),
    ("max_completion_tokens", 0, "at least 1"),
    ("n", 0, "1 to 128"), ("n", 200, "1 to 128"),
    ("presence_penalty", 2.5, "-2 to 2"), ("frequency_penalty", -3, "-2 to 2"),
    ("top_logprobs", 21, "0 to 20"),
    ("max_tokens", 1.5, "whole number"), ("n", 2.5, "whole number"),
])
def test_out_of_range(param: str, value: float, fragment: str) -> None:
    found = lint_body(body(**{param: value}))
    assert [f.code for f in found] == ["body.out_of_range"]
    assert f"`{param}`" in found[0].message and fragment in found[0].message


def test_overflowing_number_is_out_of_range() -> None:
    text = '{"model": "text-prime", "messages": [{"role": "user", "content": "x"}], "temperature": 1e999}'
    assert codes(text) == ["body.out_of_range"]


@pytest.mark.parametrize(("param", "value"), [
    ("temperature", "0.7"), ("temperature", True), ("top_p", [1]), ("max_tokens", "100"), ("n", {"x": 1}),
])
def test_non_numbers(param: str, value: Any) -> None:
    found = lint_body(body(**{param: value}))
    assert [f.code for f in found] == ["body.out_of_range"]
    assert "must be a number" in found[0].message


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_stream_must_be_boolean(value: Any) -> None:
    found = lint_body(body(stream=value))
    assert [f.code for f in found] == ["body.out_of_range"]
    assert "true or false" in found[0].message


def test_model_is_linted_too() -> None:
    assert codes(json.dumps({"model": "gpt-5.2", "messages": MESSAGES})) == ["model.foreign_name"]
    assert codes(json.dumps({"model": "gpt-5.2", "messages": MESSAGES}), check_model=False) == []


def test_several_problems_are_all_reported() -> None:
    found = codes(json.dumps({"model": "Text-Prime", "messages": [], "temprature": 1, "top_p": 9}))
    assert sorted(found) == ["body.missing_field", "body.out_of_range", "body.unknown_param", "model.case"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=200),
    st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                     st.sampled_from(["model", "messages", "role", "content", "temperature", "n", "stream", "x"]),
                     inner, max_size=5), max_leaves=20).map(json.dumps),
))
def test_lint_body_is_total(text: str) -> None:
    for f in lint_body(text):
        assert f.code in CATALOGUE
        assert f.severity in ("error", "warning", "info")
