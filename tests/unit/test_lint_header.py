"""Auth-header lint (gridctl.lint.header): what earns a 401 before the key is even checked."""

from __future__ import annotations

import pytest

from gridctl.findings import CATALOGUE
from gridctl.lint.header import HeaderSyntaxError, lint_header, split_header
from gridctl.secrets import fingerprint, scrub

# A realistic consumption key: 43 characters of base64, like the documented example.
KEY = "Zk3pQ9vX2mL7nR4tY8wB1cD6fH0jK5sA3eG9uI2oP7q"
assert len(KEY) == 43

CASES: list[tuple[str, str, str, set[str]]] = [
    # id, header, api, exactly these codes
    ("clean-chat", f"Authorization: Bearer {KEY}", "chat", set()),
    ("clean-chat-lowercase-name", f"authorization: Bearer {KEY}", "chat", set()),
    ("clean-chat-no-space-after-colon", f"Authorization:Bearer {KEY}", "chat", set()),
    ("clean-bare-bearer-value", f"Bearer {KEY}", "chat", set()),
    ("clean-messages", f"x-api-key: {KEY}", "messages", set()),
    ("clean-messages-mixed-case-name", f"X-API-Key: {KEY}", "messages", set()),
    # Bearer missing, doubled, glued, wrong scheme
    ("missing-bearer", f"Authorization: {KEY}", "chat", {"auth.missing_bearer"}),
    ("basic-scheme", f"Authorization: Basic {KEY}", "chat", {"auth.missing_bearer"}),
    ("token-scheme", f"Authorization: Token {KEY}", "chat", {"auth.missing_bearer"}),
    ("bearer-colon", f"Authorization: Bearer: {KEY}", "chat", {"auth.missing_bearer"}),
    ("bearer-glued-to-key", f"Authorization: Bearer{KEY}", "chat", {"auth.missing_bearer"}),
    ("double-bearer", f"Authorization: Bearer Bearer {KEY}", "chat", {"auth.double_bearer"}),
    ("double-bearer-lower", f"Authorization: Bearer bearer {KEY}", "chat", {"auth.double_bearer"}),
    # scheme case
    ("scheme-lower", f"Authorization: bearer {KEY}", "chat", {"auth.scheme_case"}),
    ("scheme-upper", f"Authorization: BEARER {KEY}", "chat", {"auth.scheme_case"}),
    ("scheme-lower-bare", f"bearer {KEY}", "chat", {"auth.scheme_case"}),
    # quotes, straight and smart
    ("key-double-quoted", f'Authorization: Bearer "{KEY}"', "chat", {"auth.key_quoted"}),
    ("key-single-quoted", f"Authorization: Bearer '{KEY}'", "chat", {"auth.key_quoted"}),
    ("key-trailing-quote", f'Authorization: Bearer {KEY}"', "chat", {"auth.key_quoted"}),
    ("value-quoted", f'Authorization: "Bearer {KEY}"', "chat", {"auth.key_quoted"}),
    ("key-smart-quoted", f"Authorization: Bearer \u201c{KEY}\u201d", "chat", {"auth.key_quoted", "auth.non_ascii"}),
    ("whole-header-smart-quoted", f"\u201cAuthorization: Bearer {KEY}\u201d", "chat",
     {"auth.key_quoted", "auth.non_ascii"}),
    ("x-api-key-quoted", f"x-api-key: '{KEY}'", "messages", {"auth.key_quoted"}),
    # whitespace
    ("space-inside-key", f"Authorization: Bearer {KEY[:20]} {KEY[20:]}", "chat", {"auth.key_whitespace"}),
    ("trailing-newline", f"Authorization: Bearer {KEY}\n", "chat", {"auth.key_whitespace"}),
    ("trailing-crlf", f"Authorization: Bearer {KEY}\r\n", "chat", {"auth.key_whitespace"}),
    ("trailing-space", f"Authorization: Bearer {KEY} ", "chat", {"auth.key_whitespace"}),
    ("two-spaces", f"Authorization: Bearer  {KEY}", "chat", {"auth.key_whitespace"}),
    ("tab", f"Authorization: Bearer\t{KEY}", "chat", {"auth.key_whitespace"}),
    ("x-api-key-trailing-newline", f"x-api-key: {KEY}\n", "messages", {"auth.key_whitespace"}),
    # non-ASCII
    ("nbsp-after-bearer", f"Authorization: Bearer\u00a0{KEY}", "chat", {"auth.non_ascii", "auth.key_whitespace"}),
    ("zero-width-space", f"Authorization: Bearer {KEY}\u200b", "chat", {"auth.non_ascii"}),
    ("en-dash-in-key", f"Authorization: Bearer {KEY[:10]}\u2013{KEY[11:]}", "chat", {"auth.non_ascii"}),
    # placeholders and unexpanded variables
    ("placeholder-doc", "Authorization: Bearer YOUR_GRID_API_KEY", "chat", {"auth.placeholder_key"}),
    ("placeholder-angle", "Authorization: Bearer <YOUR_CONSUMPTION_KEY>", "chat", {"auth.placeholder_key"}),
    ("placeholder-var", "Authorization: Bearer $THEGRID_API_KEY", "chat", {"auth.placeholder_key"}),
    ("placeholder-var-braces", "Authorization: Bearer ${THEGRID_API_KEY}", "chat", {"auth.placeholder_key"}),
    ("placeholder-your-key", "Authorization: Bearer YOUR_KEY", "chat", {"auth.placeholder_key"}),
    ("placeholder-messages", "x-api-key: YOUR_KEY", "messages", {"auth.placeholder_key"}),
    # placeholders as real .env files and READMEs spell them
    ("placeholder-here", "Authorization: Bearer your-api-key-here", "chat", {"auth.placeholder_key"}),
    ("placeholder-lower-angle", "Authorization: Bearer <your key>", "chat",
     {"auth.placeholder_key", "auth.key_whitespace"}),
    ("placeholder-xxx", "Authorization: Bearer xxxxxxxxxxxxxxxxxxxx", "chat", {"auth.placeholder_key"}),
    ("placeholder-ellipsis", "Authorization: Bearer ...", "chat", {"auth.placeholder_key"}),
    ("placeholder-unicode-ellipsis", "Authorization: Bearer \u2026", "chat",
     {"auth.placeholder_key", "auth.non_ascii"}),
    ("placeholder-changeme", "Authorization: Bearer changeme", "chat", {"auth.placeholder_key"}),
    ("placeholder-change-me", "Authorization: Bearer CHANGE-ME", "chat", {"auth.placeholder_key"}),
    ("placeholder-sk-dots", "Authorization: Bearer sk-...", "chat", {"auth.placeholder_key"}),
    ("placeholder-elided", "Authorization: Bearer gk-7Qm2...Aa0o", "chat", {"auth.placeholder_key"}),
    ("placeholder-none", "Authorization: Bearer None", "chat", {"auth.placeholder_key"}),
    # text that cannot be a key
    ("url-as-key", "Authorization: Bearer https://example.com/my-key", "chat", {"auth.not_a_key"}),
    ("email-as-key", "Authorization: Bearer dev@example.com", "chat", {"auth.not_a_key"}),
    ("path-as-key", "Authorization: Bearer ~/.config/grid/key.txt", "chat", {"auth.not_a_key"}),
    ("sentence-as-key", "Authorization: Bearer see the dashboard for it", "chat",
     {"auth.not_a_key", "auth.key_whitespace"}),
    # empty key
    ("bearer-no-key", "Authorization: Bearer", "chat", {"auth.missing_key"}),
    ("bearer-space-no-key", "Authorization: Bearer ", "chat", {"auth.missing_key"}),
    ("empty-value", "Authorization:", "chat", {"auth.missing_key"}),
    ("x-api-key-empty", "x-api-key: ", "messages", {"auth.missing_key"}),
    # other vendors' keys
    ("openai-project-key", "Authorization: Bearer sk-proj-" + "a1B2c3D4e5" * 4, "chat", {"auth.foreign_key"}),
    ("anthropic-key", "Authorization: Bearer sk-ant-api03-" + "a1B2c3D4e5" * 4, "chat", {"auth.foreign_key"}),
    ("anthropic-key-messages", "x-api-key: sk-ant-api03-" + "a1B2c3D4e5" * 4, "messages", {"auth.foreign_key"}),
    ("openrouter-key", "Authorization: Bearer sk-or-v1-" + "a1B2c3D4e5" * 4, "chat", {"auth.foreign_key"}),
    ("bare-sk-key", "Authorization: Bearer sk-" + "a1B2c3D4e5" * 4, "chat", {"auth.foreign_key"}),
    # the wrong header for the API
    ("x-api-key-on-chat", f"x-api-key: {KEY}", "chat", {"auth.wrong_header"}),
    ("bearer-on-messages", f"Authorization: Bearer {KEY}", "messages", {"auth.wrong_header"}),
    ("x-api-key-with-bearer", f"x-api-key: Bearer {KEY}", "messages", {"auth.wrong_header"}),
    ("unknown-header", f"Api-Key: {KEY}", "chat", {"auth.wrong_header"}),
]

SEVERITY = {
    ("bare-sk-key", "auth.foreign_key"): "warning",
    ("openai-project-key", "auth.foreign_key"): "error",
    ("anthropic-key", "auth.foreign_key"): "error",
    ("x-api-key-on-chat", "auth.wrong_header"): "error",
    ("bearer-on-messages", "auth.wrong_header"): "warning",
    ("x-api-key-with-bearer", "auth.wrong_header"): "error",
}


@pytest.mark.parametrize(("header", "api", "codes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lint_header_table(header: str, api: str, codes: set[str]) -> None:
    result = lint_header(header, api=api)
    assert {f.code for f in result.findings} == codes, [(f.code, f.message) for f in result.findings]
    assert all(f.code in CATALOGUE for f in result.findings)
    assert result.ok == (not any(f.severity == "error" for f in result.findings))


@pytest.mark.parametrize(("case_id", "code", "severity"), [(k[0], k[1], v) for k, v in SEVERITY.items()],
                         ids=[f"{k[0]}-{v}" for k, v in SEVERITY.items()])
def test_severities(case_id: str, code: str, severity: str) -> None:
    _, header, api, _ = next(c for c in CASES if c[0] == case_id)
    found = [f for f in lint_header(header, api=api).findings if f.code == code]
    assert found and all(f.severity == severity for f in found)


@pytest.mark.parametrize("header", [
    f"Authorization: Bearer {KEY}",
    f"Authorization: Bearer \u201c{KEY}\u201d",
    f"Authorization: Bearer  {KEY}\n",
    f"Authorization: bearer Bearer '{KEY}'",
    f"x-api-key: Bearer {KEY}",
    f"Bearer{KEY}",
])
def test_key_is_recovered_without_its_wrapping(header: str) -> None:
    result = lint_header(header, api="chat")
    assert result.key == KEY


@pytest.mark.parametrize("value", ["https://user:hunter2@proxy.corp/x", "dev@example.com", "/etc/grid/secret.env"])
def test_not_a_key_never_echoes_the_value(value: str) -> None:
    [f] = [f for f in lint_header(f"Authorization: Bearer {value}").findings if f.code == "auth.not_a_key"]
    assert value not in f.message and value not in f.fix and "not a key" in f.message
    assert CATALOGUE["auth.not_a_key"].exit_code == 3


@pytest.mark.parametrize("key", [KEY, "gk-" + "x1" * 20, "AbCdEfGh" * 5 + "xyz", "Xx9" * 14])
def test_real_looking_keys_are_not_placeholders(key: str) -> None:
    assert lint_header(f"Authorization: Bearer {key}").findings == []


def test_clean_header_has_the_name_and_key() -> None:
    result = lint_header(f"Authorization: Bearer {KEY}")
    assert result.name == "Authorization"
    assert result.key == KEY
    assert result.ok


@pytest.mark.parametrize(("case_id", "header", "api", "codes"), CASES, ids=[c[0] for c in CASES])
def test_no_finding_repeats_the_key(case_id: str, header: str, api: str, codes: set[str]) -> None:
    result = lint_header(header, api=api)
    secret_parts = [KEY, KEY[:20], KEY[20:], KEY[:16], KEY[-16:]]
    for f in result.findings:
        text = f.message + " " + f.fix + " " + repr(f.data)
        for part in secret_parts:
            assert part not in text, (f.code, text)


def test_key_split_by_a_space_is_not_echoed_as_a_scheme() -> None:
    # "Authorization: <first half> <second half>": the first half is no scheme, and must not be shown
    half_a, half_b = KEY[:21], KEY[21:]
    result = lint_header(f"Authorization: {half_a} {half_b}")
    assert "auth.missing_bearer" in {f.code for f in result.findings}
    for f in result.findings:
        assert half_a not in f.message and half_b not in f.message


def test_foreign_key_message_shows_only_prefix_and_fingerprint() -> None:
    key = "sk-proj-" + "Q" * 30 + "abcd"
    (f,) = [f for f in lint_header(f"Authorization: Bearer {key}").findings if f.code == "auth.foreign_key"]
    assert "sk-proj-" in f.message
    assert key not in f.message and "Q" * 8 not in f.message


def test_linted_key_is_registered_for_scrubbing() -> None:
    lint_header(f"Authorization: Bearer {KEY}")
    assert KEY not in scrub(f"oops {KEY} leaked")
    assert fingerprint(KEY) in scrub(f"oops {KEY} leaked")


@pytest.mark.parametrize("raw", ["no colon here", KEY, "-H", "Authorization Bearer " + KEY],
                         ids=["words", "bare-key", "flag", "no-colon-auth"])
def test_not_a_header_raises(raw: str) -> None:
    with pytest.raises(HeaderSyntaxError) as info:
        lint_header(raw)
    message = str(info.value)
    assert "\n" not in message and message
    assert KEY not in message


@pytest.mark.parametrize("raw", ["", "   ", "\n", "\r\n\t"], ids=["empty", "spaces", "newline", "crlf-tab"])
def test_empty_header_raises(raw: str) -> None:
    with pytest.raises(HeaderSyntaxError, match="empty"):
        lint_header(raw)


def test_name_with_space_raises() -> None:
    with pytest.raises(HeaderSyntaxError):
        lint_header(f"-H Authorization: Bearer {KEY}")


def test_header_starting_with_bearer_needs_no_colon() -> None:
    name, value = split_header(f"Bearer {KEY}")
    assert name == "Authorization"
    assert value == f"Bearer {KEY}"


def test_split_header_keeps_trailing_whitespace_of_value() -> None:
    assert split_header(f"Authorization: Bearer {KEY}\n") == ("Authorization", f"Bearer {KEY}\n")
    assert split_header(f"x-api-key:{KEY}") == ("x-api-key", KEY)
