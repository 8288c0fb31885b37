"""lint-curl (gridctl.lint.curl): parse a pasted curl command and run every offline lint on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridctl.findings import CATALOGUE
from gridctl.lint.curl import CurlSyntaxError, lint_curl, parse_curl

KEY = "Zk3pQ9vX2mL7nR4tY8wB1cD6fH0jK5sA3eG9uI2oP7q"
URL = "https://api.thegrid.ai/v1/chat/completions"
BODY = '{"model": "text-prime", "messages": [{"role": "user", "content": "ping"}]}'
ENV = {"THEGRID_API_KEY": KEY}

# The troubleshooting page's own command, as written there (line continuations, placeholder key).
DOC_CURL = """curl https://api.thegrid.ai/v1/chat/completions \\
  -H "Authorization: Bearer YOUR_GRID_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "text-prime",
    "messages": [{"role": "user", "content": "ping"}]
  }'"""


def _doc_curl_from_the_page() -> str:
    """The same command as the rendered page shows it: flattened onto one line, `\\ ` between options."""
    page = Path("/work/shared/grid-docs/troubleshooting.txt")
    if page.exists():
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("curl https://api.thegrid.ai"):
                return line[: line.rindex("}'") + 2]
    return ("curl https://api.thegrid.ai/v1/chat/completions \\ -H \"Authorization: Bearer YOUR_GRID_API_KEY\" "
            "\\ -H \"Content-Type: application/json\" \\ -d '{ \"model\": \"text-prime\", \"messages\": "
            "[{\"role\": \"user\", \"content\": \"ping\"}] }'")


def codes(text: str, env: dict[str, str] | None = None) -> list[str]:
    return [f.code for f in lint_curl(text, env=ENV if env is None else env)[1]]


@pytest.mark.parametrize("text", [DOC_CURL, _doc_curl_from_the_page()], ids=["multi-line", "as-on-the-page"])
def test_troubleshooting_page_command(text: str) -> None:
    cmd, found = lint_curl(text, env={})
    assert cmd.url == URL
    assert cmd.headers == ["Authorization: Bearer YOUR_GRID_API_KEY", "Content-Type: application/json"]
    assert cmd.body is not None and '"text-prime"' in cmd.body
    assert not cmd.follow
    # the page's key is a placeholder, and the page's command has no -L
    assert sorted(f.code for f in found) == ["auth.placeholder_key", "http.redirect"]
    (redirect,) = [f for f in found if f.code == "http.redirect"]
    assert redirect.severity == "info" and "-L" in redirect.fix


def test_troubleshooting_command_with_real_key_variable() -> None:
    text = DOC_CURL.replace("YOUR_GRID_API_KEY", "$THEGRID_API_KEY")
    assert codes(text) == ["http.redirect"]


def test_clean_command_has_no_findings() -> None:
    text = f"curl -sSL {URL} -H 'Authorization: Bearer {KEY}' -H 'Content-Type: application/json' -d '{BODY}'"
    cmd, found = lint_curl(text, env={})
    assert found == []
    assert cmd.follow and cmd.url == URL and cmd.body == BODY


@pytest.mark.parametrize("text", [
    f"curl -sSL {URL} -H 'Authorization: Bearer {KEY}' -H 'Content-Type: application/json' -d '{BODY}'",
    f"curl -L -s -S {URL} -H 'Authorization: Bearer {KEY}' -H 'Content-Type: application/json' -d '{BODY}'",
    f"curl -LsSH 'Authorization: Bearer {KEY}' {URL} -H 'Content-Type: application/json' -d '{BODY}'",
    f"curl -sSL {URL} -H'Authorization: Bearer {KEY}' -H'Content-Type: application/json' -d'{BODY}'",
    f"curl -L {URL} --header 'Authorization: Bearer {KEY}' --header=Content-Type:application/json --data '{BODY}'",
    f"curl -L {URL} -H 'Authorization: Bearer {KEY}' -H 'Content-Type: application/json' --data-raw '{BODY}'",
    f"curl -L {URL} -H 'Authorization: Bearer {KEY}' -H 'Content-Type: application/json' --data-binary '{BODY}'",
    f"curl -L {URL} -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl -L --url {URL} -X POST -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl -L --url={URL} --request=POST -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl --location {URL} --oauth2-bearer {KEY} --json '{BODY}'",
    f"curl -L {URL} -H \"Authorization: Bearer $THEGRID_API_KEY\" --json '{BODY}'",
    f"curl -L {URL} -H \"Authorization: Bearer ${{THEGRID_API_KEY}}\" --json '{BODY}'",
    f"curl --limit-rate 100K -L {URL} -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"/usr/bin/curl -L {URL} -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl.exe -L {URL} -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"$ curl -L {URL} -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl -L {URL} \\\r\n -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl -L {URL} \\   \n -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
    f"curl -L {URL} ^\n -H \"Authorization: Bearer {KEY}\" --json \"{BODY.replace(chr(34), chr(92) + chr(34))}\"",
    f"curl -L {URL} -H 'Authorization: Bearer {KEY}' -H 'content-type: application/json; charset=utf-8' -d '{BODY}'",
], ids=["sSL", "separate-flags", "bundle-ending-in-H", "attached-H", "long-options", "data-raw", "data-binary",
        "json", "url-and-X", "equals-forms", "oauth2-bearer", "env-var", "env-var-braces", "unknown-option-value",
        "full-path", "curl-exe", "shell-prompt", "crlf-continuation", "continuation-trailing-spaces",
        "cmd-caret", "content-type-charset"])
def test_command_forms_parse_clean(text: str) -> None:
    cmd, found = lint_curl(text, env=ENV)
    assert found == [], [(f.code, f.message) for f in found]
    assert cmd.url == URL
    assert cmd.follow
    assert cmd.body is not None and "text-prime" in cmd.body


def test_method_and_json_flag() -> None:
    cmd = parse_curl(f"curl -L -X post --url {URL} --json '{BODY}'")
    assert cmd.method == "POST" and cmd.json_flag and cmd.url == URL


def test_missing_L_is_an_info_finding() -> None:
    found = lint_curl(f"curl {URL} -H 'Authorization: Bearer {KEY}' --json '{BODY}'", env={})[1]
    assert [(f.code, f.severity) for f in found] == [("http.redirect", "info")]


def test_data_without_content_type() -> None:
    found = codes(f"curl -L {URL} -H 'Authorization: Bearer {KEY}' -d '{BODY}'")
    assert found == ["body.content_type"]


def test_body_file_is_not_linted_as_json() -> None:
    text = f"curl -L {URL} -H 'Authorization: Bearer {KEY}' -H 'Content-Type: application/json' -d @body.json"
    assert codes(text) == []


def test_body_problems_come_through() -> None:
    text = f"curl -L {URL} -H 'Authorization: Bearer {KEY}' --json '{{\"model\": \"gpt-5.2\", \"temprature\": 1}}'"
    assert sorted(codes(text)) == ["body.missing_field", "body.unknown_param", "model.foreign_name"]


def test_invalid_json_body() -> None:
    text = f"curl -L {URL} -H 'Authorization: Bearer {KEY}' --json '{{\"model\": \"text-prime\",}}'"
    assert codes(text) == ["body.invalid_json"]


def test_url_problems_come_through() -> None:
    text = f"curl -L https://api.thegrid.ai/v1/v1/chat/completions -H 'Authorization: Bearer {KEY}' --json '{BODY}'"
    assert codes(text) == ["url.doubled_v1"]
    text = f"curl -L http://api.thegird.ai/v1/chat/completions -H 'Authorization: Bearer {KEY}' --json '{BODY}'"
    assert set(codes(text)) == {"url.host_typo", "url.insecure_scheme"}


def test_messages_endpoint_uses_messages_rules() -> None:
    base = "curl -L https://messages-beta.api.thegrid.ai/v1/messages -H 'anthropic-version: 2023-06-01' "
    assert codes(base + f"-H 'x-api-key: {KEY}' --json '{BODY}'") == []
    found = lint_curl(base + f"-H 'Authorization: Bearer {KEY}' --json '{BODY}'", env={})[1]
    assert [(f.code, f.severity) for f in found] == [("auth.wrong_header", "warning")]


def test_x_api_key_on_chat_is_wrong_header() -> None:
    assert codes(f"curl -L {URL} -H 'x-api-key: {KEY}' --json '{BODY}'") == ["auth.wrong_header"]


def test_no_auth_header() -> None:
    found = lint_curl(f"curl -L {URL} --json '{BODY}'", env=ENV)[1]
    (f,) = found
    assert f.code == "auth.missing_key" and "$THEGRID_API_KEY" in f.fix


def test_basic_auth_flag() -> None:
    assert codes(f"curl -L -u user:pass {URL} --json '{BODY}'") == ["auth.missing_bearer"]


# --- environment variables ---------------------------------------------------------------------

def test_variable_expanded_from_the_passed_mapping_only() -> None:
    text = f"curl -L {URL} -H \"Authorization: Bearer $THEGRID_API_KEY\" --json '{BODY}'"
    assert codes(text, env=ENV) == []
    # not set in the mapping: the shell sends `Bearer ` and nothing, and the lint says so (not "create a key")
    cmd, found = lint_curl(text, env={})
    assert [f.code for f in found] == ["auth.missing_key"]
    assert "$THEGRID_API_KEY is not set in this environment" in found[0].message
    assert "`Authorization: Bearer ` with nothing after it" in found[0].message
    assert found[0].fix.startswith("export THEGRID_API_KEY=") and "create" not in found[0].fix.lower()
    assert cmd.variables == {"$THEGRID_API_KEY": False}
    assert lint_curl(text, env=ENV)[0].variables == {"$THEGRID_API_KEY": True}


def test_variable_references_are_shown_as_written_not_redacted() -> None:
    from gridctl.secrets import scrub

    for ref in ("$THEGRID_API_KEY", "${THEGRID_API_KEY}"):
        single = f"curl -L {URL} -H 'Authorization: Bearer {ref}' --json '{BODY}'"
        double = f"curl -L {URL} -H \"Authorization: Bearer {ref}\" --json '{BODY}'"
        for text in (single, double):
            for f in lint_curl(text, env={})[1]:
                assert ref in scrub(f.message) and "…_KEY" not in scrub(f.message + f.fix), (text, f)
        [f] = lint_curl(single, env={})[1]
        assert f.code == "auth.placeholder_key" and ref in scrub(f.fix)


@pytest.mark.parametrize(("path", "endpoint"), [("/v1/completions", "/completions"), ("/v1/responses", "/responses"),
                                                ("/v1/embeddings", "/embeddings")])
def test_unsupported_endpoint_in_curl(path: str, endpoint: str) -> None:
    found = lint_curl(f"curl -L https://api.thegrid.ai{path} -H 'Authorization: Bearer {KEY}' --json '{BODY}'",
                      env=ENV)[1]
    [f] = [f for f in found if f.code.startswith("url.")]
    assert f.code == "url.unsupported_endpoint" and f.severity == "error" and endpoint in f.message
    assert "chat/completions" in f.fix


def test_variable_expanded_to_a_bad_key_is_linted() -> None:
    text = f"curl -L {URL} -H \"Authorization: Bearer $THEGRID_API_KEY\" --json '{BODY}'"
    assert codes(text, env={"THEGRID_API_KEY": "sk-proj-" + "x" * 40}) == ["auth.foreign_key"]
    assert codes(text, env={"THEGRID_API_KEY": KEY + "\n"}) == ["auth.key_whitespace"]


def test_single_quotes_stop_the_shell_from_expanding() -> None:
    text = f"curl -L {URL} -H 'Authorization: Bearer $THEGRID_API_KEY' --json '{BODY}'"
    found = lint_curl(text, env=ENV)[1]
    assert [f.code for f in found] == ["auth.placeholder_key"]
    assert "single quotes" in found[0].message and "double quotes" in found[0].fix
    cmd = parse_curl(text)
    assert cmd.headers == ["Authorization: Bearer $THEGRID_API_KEY"]


def test_variable_in_url_is_expanded() -> None:
    text = f"curl -L \"$THEGRID_BASE_URL/chat/completions\" -H 'Authorization: Bearer {KEY}' --json '{BODY}'"
    assert codes(text, env={"THEGRID_BASE_URL": "https://api.thegrid.ai/v1"}) == []
    assert codes(text, env={"THEGRID_BASE_URL": "https://api.thegrid.ai/v1/"}) != []


def test_findings_never_contain_the_key() -> None:
    texts = [
        f"curl {URL} -H 'Authorization: {KEY}' -d '{BODY}'",
        f"curl {URL} -H 'Authorization: Bearer \u201c{KEY}\u201d' -d '{{bad'",
        f"curl {URL} -H \"x-api-key: $THEGRID_API_KEY\"",
        f"curl {URL} -H 'Authorization: {KEY[:20]} {KEY[20:]}'",
    ]
    for text in texts:
        for f in lint_curl(text, env=ENV)[1]:
            assert f.code in CATALOGUE
            assert KEY not in f.message + f.fix and KEY[:20] not in f.message and KEY[20:] not in f.message


# --- not a curl command we can read -------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "wget https://api.thegrid.ai/v1/models",
    "",
    "   ",
    "http GET https://api.thegrid.ai/v1/models",
    "curl",
    "curl -L -H 'Authorization: Bearer x'",
    "curl 'https://api.thegrid.ai/v1/chat/completions",
    f"curl {URL} -H \"Authorization: Bearer {KEY}",
    f"curl {URL} -d '{{\"model\": \"text-prime\"}}",
], ids=["wget", "empty", "blank", "httpie", "curl-alone", "no-url", "unbalanced-single", "unbalanced-double",
        "unbalanced-body"])
def test_unreadable_commands_raise(text: str) -> None:
    with pytest.raises(CurlSyntaxError) as info:
        lint_curl(text, env={})
    message = str(info.value)
    assert message and "\n" not in message
    assert KEY not in message


def test_curl_syntax_error_is_a_value_error() -> None:
    assert issubclass(CurlSyntaxError, ValueError)
