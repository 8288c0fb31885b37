"""Base-URL lint and normalisation (gridctl.lint.url.lint_url): table-driven and property tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridctl import grid
from gridctl.findings import CATALOGUE
from gridctl.lint.url import lint_url

API = "https://api.thegrid.ai/v1"
MSG_ROOT = "https://messages-beta.api.thegrid.ai"
MSG_V1 = MSG_ROOT + "/v1"


@dataclass(frozen=True)
class Case:
    id: str
    raw: str
    codes: frozenset[str]  # exactly these codes (order and repeats ignored)
    canonical: str | None
    api: str = "chat"
    sdk: str | None = None
    endpoint: bool = False
    refuse_key: bool = False
    grid_host: bool | None = None  # None: not asserted
    severities: dict[str, str] = field(default_factory=dict)  # code -> expected severity


def C(id: str, raw: str, codes: str, canonical: str | None, **kw: object) -> Case:  # noqa: N802 - table helper
    return Case(id, raw, frozenset(codes.split()), canonical, **kw)  # type: ignore[arg-type]


CASES = [
    # --- clean ---
    C("clean", API, "", API, grid_host=True),
    C("clean-upper-case-host", "https://API.THEGRID.AI/v1", "", API),
    C("clean-fqdn-dot", "https://api.thegrid.ai./v1", "", API),
    C("clean-explicit-443", "https://api.thegrid.ai:443/v1", "", API),
    C("clean-litellm", API, "", API, sdk="litellm"),
    C("clean-langchain", API, "", API, sdk="langchain"),
    C("clean-openai", API, "", API, sdk="openai"),
    C("clean-curl", API, "", API, sdk="curl"),
    C("clean-anthropic-root", MSG_ROOT, "", MSG_ROOT, sdk="anthropic", grid_host=True),
    C("clean-messages-api-v1", MSG_V1, "", MSG_V1, api="messages"),
    # --- doubled /v1 anywhere ---
    C("acceptance-v1v1-slash", "https://api.thegrid.ai/v1/v1/", "url.doubled_v1 url.trailing_slash", API,
      severities={"url.doubled_v1": "error", "url.trailing_slash": "warning"}),
    C("v1v1", "https://api.thegrid.ai/v1/v1", "url.doubled_v1", API),
    C("v1v1v1", "https://api.thegrid.ai/v1/v1/v1", "url.doubled_v1", API),
    C("v1-upper-v1", "https://api.thegrid.ai/v1/V1", "url.doubled_v1", API),
    C("v1v1-chat", "https://api.thegrid.ai/v1/v1/chat/completions", "url.doubled_v1 url.endpoint_appended", API),
    C("v1v1-chat-endpoint-mode", "https://api.thegrid.ai/v1/v1/chat/completions", "url.doubled_v1", API,
      endpoint=True),
    C("v1v1-openai-sdk", "https://api.thegrid.ai/v1/v1", "url.doubled_v1", API, sdk="openai"),
    # --- trailing slashes ---
    C("trailing-slash", "https://api.thegrid.ai/v1/", "url.trailing_slash", API,
      severities={"url.trailing_slash": "warning"}),
    C("trailing-slashes", "https://api.thegrid.ai/v1///", "url.trailing_slash", API),
    C("root-slash-no-v1", "https://api.thegrid.ai/", "url.missing_v1", API),
    # --- endpoints pasted into the base ---
    C("chat-completions", "https://api.thegrid.ai/v1/chat/completions", "url.endpoint_appended", API),
    C("chat-completions-slash", "https://api.thegrid.ai/v1/chat/completions/",
      "url.endpoint_appended url.trailing_slash", API),
    C("completions", "https://api.thegrid.ai/v1/completions", "url.unsupported_endpoint", API),
    C("models", "https://api.thegrid.ai/v1/models", "url.endpoint_appended", API),
    C("embeddings", "https://api.thegrid.ai/v1/embeddings", "url.unsupported_endpoint", API),
    C("responses", "https://api.thegrid.ai/v1/responses", "url.unsupported_endpoint", API),
    C("legacy-completions-endpoint", "https://api.thegrid.ai/v1/completions", "url.unsupported_endpoint", API,
      endpoint=True),
    C("chat-without-v1", "https://api.thegrid.ai/chat/completions", "url.endpoint_appended url.missing_v1", API),
    C("endpoint-mode-full-url-clean", "https://api.thegrid.ai/v1/chat/completions", "", API, endpoint=True),
    C("endpoint-mode-messages-clean", MSG_V1 + "/messages", "", MSG_V1, api="messages", endpoint=True),
    # --- scheme ---
    C("http", "http://api.thegrid.ai/v1", "url.insecure_scheme", API),
    C("http-port-80", "http://api.thegrid.ai:80/v1", "url.insecure_scheme url.nonstandard_port", API),
    C("no-scheme", "api.thegrid.ai/v1", "url.invalid", API),
    C("ftp-scheme", "ftp://api.thegrid.ai/v1", "url.invalid", API),
    C("one-slash-after-scheme", "https:/api.thegrid.ai/v1", "url.invalid", API),
    C("no-slash-after-scheme", "https:api.thegrid.ai/v1", "url.invalid", API),
    C("three-slashes-after-scheme", "https:///api.thegrid.ai/v1", "url.invalid", API),
    # --- whitespace, quotes, newlines, smart quotes ---
    C("spaces-around", "  https://api.thegrid.ai/v1  ", "url.whitespace", API),
    C("trailing-newline", "https://api.thegrid.ai/v1\n", "url.whitespace", API),
    C("crlf", "https://api.thegrid.ai/v1\r\n", "url.whitespace", API),
    C("tab-before", "\thttps://api.thegrid.ai/v1", "url.whitespace", API),
    C("double-quotes", '"https://api.thegrid.ai/v1"', "url.whitespace", API),
    C("single-quotes", "'https://api.thegrid.ai/v1'", "url.whitespace", API),
    C("smart-quotes", "\u201chttps://api.thegrid.ai/v1\u201d", "url.whitespace", API),
    C("smart-single-quotes", "\u2018https://api.thegrid.ai/v1\u2019", "url.whitespace", API),
    C("quotes-and-spaces", "\" https://api.thegrid.ai/v1 \"", "url.whitespace", API),
    C("space-inside-host", "https://api.thegrid .ai/v1", "url.whitespace", API),
    C("newline-inside", "https://api.thegrid.ai/\nv1", "url.whitespace", API),
    C("quoted-and-slash", "'https://api.thegrid.ai/v1/'", "url.whitespace url.trailing_slash", API),
    # --- host typos (the key must not be sent there) ---
    C("typo-thegird", "https://api.thegird.ai/v1", "url.host_typo", API, refuse_key=True),
    C("typo-io", "https://api.thegrid.io/v1", "url.host_typo", API, refuse_key=True),
    C("typo-com", "https://api.thegrid.com/v1", "url.host_typo", API, refuse_key=True),
    C("typo-hyphen", "https://api.the-grid.ai/v1", "url.host_typo", API, refuse_key=True),
    C("typo-ia", "https://api.thegrid.ia/v1", "url.host_typo", API, refuse_key=True),
    C("typo-apii", "https://apii.thegrid.ai/v1", "url.host_typo", API, refuse_key=True),
    C("typo-missing-letter", "https://api.thegri.ai/v1", "url.host_typo", API, refuse_key=True),
    C("typo-bare-domain-io", "https://thegrid.io/v1", "url.host_typo url.docs_url", API, refuse_key=True),
    C("lookalike-suffix-domain", "https://api.thegrid.ai.example.com/v1", "url.host_typo", API, refuse_key=True),
    C("typo-plus-v1v1", "https://api.thegird.ai/v1/v1", "url.host_typo url.doubled_v1", API, refuse_key=True),
    # --- base without /v1 ---
    C("missing-v1", "https://api.thegrid.ai", "url.missing_v1", API),
    C("missing-v1-openai-sdk", "https://api.thegrid.ai", "url.missing_v1", API, sdk="openai"),
    C("missing-v1-litellm", "https://api.thegrid.ai", "url.missing_v1", API, sdk="litellm"),
    C("missing-v1-langchain", "https://api.thegrid.ai", "url.missing_v1", API, sdk="langchain"),
    C("extra-prefix", "https://api.thegrid.ai/api/v1", "url.extra_path", API),
    C("empty-segment", "https://api.thegrid.ai//v1", "url.extra_path", API),
    C("extra-after-v1", "https://api.thegrid.ai/v1/openai", "url.extra_path", API),
    # --- docs, website, dashboard, status page ---
    C("docs", "https://thegrid.ai/docs", "url.docs_url", API),
    C("docs-page", "https://thegrid.ai/docs/troubleshooting", "url.docs_url", API),
    C("www", "https://www.thegrid.ai", "url.docs_url", API),
    C("dashboard", "https://app.thegrid.ai", "url.docs_url", API),
    C("dashboard-keys-page", "https://app.thegrid.ai/profile/api-keys", "url.docs_url", API),
    C("status-page", "https://status.thegrid.ai", "url.docs_url", API),
    C("docs-for-anthropic", "https://thegrid.ai/docs", "url.docs_url", MSG_ROOT, sdk="anthropic"),
    # --- trading / platform hosts used for inference ---
    C("trading-host", "https://trading.api.thegrid.ai/v1", "url.wrong_api_host", API),
    C("platform-host", "https://platform.api.thegrid.ai/v1", "url.wrong_api_host", API),
    C("trading-host-messages", "https://trading.api.thegrid.ai/v1", "url.wrong_api_host", MSG_V1, api="messages"),
    # --- messages host for chat and vice versa ---
    C("messages-host-for-chat", MSG_V1, "url.wrong_api_host", API),
    C("messages-host-openai-sdk", MSG_ROOT, "url.wrong_api_host url.missing_v1", API, sdk="openai"),
    C("chat-host-for-messages", API, "url.wrong_api_host", MSG_V1, api="messages"),
    C("chat-host-for-anthropic", API, "url.wrong_api_host url.doubled_v1", MSG_ROOT, sdk="anthropic"),
    C("chat-root-for-anthropic", "https://api.thegrid.ai", "url.wrong_api_host", MSG_ROOT, sdk="anthropic"),
    # --- anthropic SDK conventions: root, no /v1 ---
    C("anthropic-v1-doubled", MSG_V1, "url.doubled_v1", MSG_ROOT, sdk="anthropic",
      severities={"url.doubled_v1": "error"}),
    C("anthropic-trailing-slash", MSG_ROOT + "/", "", MSG_ROOT, sdk="anthropic"),
    C("anthropic-v1-slash", MSG_V1 + "/", "url.doubled_v1 url.trailing_slash", MSG_ROOT, sdk="anthropic"),
    C("anthropic-messages-pasted", MSG_V1 + "/messages", "url.doubled_v1 url.endpoint_appended", MSG_ROOT,
      sdk="anthropic"),
    C("anthropic-http", "http://messages-beta.api.thegrid.ai", "url.insecure_scheme", MSG_ROOT, sdk="anthropic"),
    # --- messages API without an SDK: a raw client joins base + /messages, so /v1 is needed ---
    C("messages-root-no-sdk", MSG_ROOT, "url.missing_v1", MSG_V1, api="messages",
      severities={"url.missing_v1": "error"}),
    # --- ports ---
    C("port-8443", "https://api.thegrid.ai:8443/v1", "url.nonstandard_port", API,
      severities={"url.nonstandard_port": "warning"}),
    C("port-8080-slash", "https://api.thegrid.ai:8080/v1/", "url.nonstandard_port url.trailing_slash", API),
    # --- custom hosts: gateway, local emulator ---
    C("gateway", "https://gateway.example.com/grid/v1", "url.custom_host", "https://gateway.example.com/grid/v1",
      grid_host=False, severities={"url.custom_host": "info"}),
    C("gateway-port-kept", "https://llm.corp.example:8443/v1", "url.custom_host", "https://llm.corp.example:8443/v1"),
    C("gateway-chat-pasted", "https://gateway.example.com/v1/chat/completions",
      "url.custom_host url.endpoint_appended", "https://gateway.example.com/v1"),
    C("localhost-emulator", "http://localhost:8080/v1", "url.custom_host", "http://localhost:8080/v1",
      grid_host=False),
    C("loopback-emulator", "http://127.0.0.1:8787/v1", "url.custom_host", "http://127.0.0.1:8787/v1"),
    C("ipv6-loopback", "http://[::1]:8080/v1", "url.custom_host", "http://[::1]:8080/v1"),
    C("localhost-trailing-slash", "http://localhost:8080/v1/", "url.custom_host url.trailing_slash",
      "http://localhost:8080/v1"),
    C("localhost-anthropic-root", "http://localhost:8080", "url.custom_host", "http://localhost:8080",
      sdk="anthropic"),
    C("localhost-anthropic-v1", "http://localhost:8080/v1", "url.custom_host url.doubled_v1",
      "http://localhost:8080", sdk="anthropic"),
    C("gateway-http-insecure", "http://gateway.example.com/v1", "url.custom_host url.insecure_scheme",
      "https://gateway.example.com/v1"),
    C("non-prod-grid-host", "https://api.dev.thegrid.ai/v1", "url.custom_host", "https://api.dev.thegrid.ai/v1",
      severities={"url.custom_host": "warning"}),
    # --- other vendors ---
    C("openai", "https://api.openai.com/v1", "url.custom_host", "https://api.openai.com/v1",
      severities={"url.custom_host": "warning"}),
    C("anthropic-vendor", "https://api.anthropic.com", "url.custom_host", "https://api.anthropic.com",
      sdk="anthropic", severities={"url.custom_host": "warning"}),
    C("openrouter", "https://openrouter.ai/api/v1", "url.custom_host", "https://openrouter.ai/api/v1"),
    # --- not URLs at all ---
    C("empty", "", "url.invalid", None),
    C("blank", "   ", "url.whitespace url.invalid", None),
    C("just-scheme", "https://", "url.invalid", None),
    C("bad-port", "https://api.thegrid.ai:99999/v1", "url.invalid", None),
    C("port-not-number", "https://api.thegrid.ai:abc/v1", "url.invalid", None),
    C("only-quotes", '""', "url.whitespace url.invalid", None),
]


def _codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lint_url_table(case: Case) -> None:
    result = lint_url(case.raw, api=case.api, sdk=case.sdk, endpoint=case.endpoint)
    assert _codes(result) == set(case.codes), [(f.code, f.message) for f in result.findings]
    assert result.canonical == case.canonical
    assert result.refuse_key is case.refuse_key
    if case.grid_host is not None:
        assert result.grid_host is case.grid_host
    for code, severity in case.severities.items():
        assert {f.severity for f in result.findings if f.code == code} == {severity}
    # one finding per code: the report lists each problem once
    assert len(result.findings) == len(_codes(result))
    # ok means "no error": it must agree with the findings
    assert result.ok == (not any(f.severity == "error" for f in result.findings))


def test_missing_v1_message_fits_the_api() -> None:
    (chat,) = lint_url("https://api.thegrid.ai").findings
    assert "/chat/completions" in chat.message
    (msgs,) = lint_url(MSG_ROOT, api="messages").findings
    assert "/messages" in msgs.message and "/chat/completions" not in msgs.message
    assert "--sdk anthropic" in msgs.fix


def test_acceptance_example_exact() -> None:
    result = lint_url("https://api.thegrid.ai/v1/v1/")
    assert [f.code for f in result.findings] == ["url.doubled_v1", "url.trailing_slash"]
    assert result.canonical == "https://api.thegrid.ai/v1"
    assert not result.ok


def test_most_telling_finding_comes_first() -> None:
    # a look-alike host is the root cause even when the path is also wrong
    result = lint_url("http://api.thegird.ai/v1/v1/chat/completions")
    assert result.findings[0].code == "url.host_typo"
    result = lint_url("http://api.thegrid.ai/v1/v1")
    assert result.findings[0].code == "url.doubled_v1"


def test_findings_are_catalogued_and_severities_valid() -> None:
    for case in CASES:
        for f in lint_url(case.raw, api=case.api, sdk=case.sdk, endpoint=case.endpoint).findings:
            assert f.code in CATALOGUE
            assert f.severity in ("error", "warning", "info")
            assert f.message.strip() and f.fix.strip()


@pytest.mark.parametrize("sdk", [None, *grid.SDK_NAMES])
def test_default_base_url_is_clean_for_chat_sdks(sdk: str | None) -> None:
    conv = grid.SDKS.get(sdk or "")
    if conv is not None and conv.api == "messages":
        expected = grid.sdk_base(sdk, grid.MESSAGES_ROOT + "/v1")  # type: ignore[arg-type]
        raw = grid.MESSAGES_ROOT
    else:
        expected = raw = grid.DEFAULT_BASE_URL
    result = lint_url(raw, sdk=sdk)
    assert result.findings == []
    assert result.canonical == expected


def test_typo_message_names_the_intended_host_and_refuses_key() -> None:
    result = lint_url("https://api.thegird.ai/v1")
    (typo,) = [f for f in result.findings if f.code == "url.host_typo"]
    assert "api.thegrid.ai" in typo.message
    assert typo.data.get("expected") == "api.thegrid.ai"
    assert result.refuse_key


def test_userinfo_is_not_carried_into_canonical() -> None:
    result = lint_url("https://user:secret-password@api.thegrid.ai/v1")
    assert result.canonical == API
    assert "secret-password" not in (result.canonical or "")


# ----------------------------------------------------------------------------------------------
# Properties: total on any text, and the canonical URL is a fixed point.

APIS = st.sampled_from([("chat", None), ("messages", None), *[("chat", s) for s in grid.SDK_NAMES]])
SCHEMES = st.sampled_from(["https://", "http://", "", "HTTPS://", "ftp://", "https:/", "https:///", "h://"])
HOSTS = st.sampled_from([
    "api.thegrid.ai", "messages-beta.api.thegrid.ai", "trading.api.thegrid.ai", "platform.api.thegrid.ai",
    "app.thegrid.ai", "thegrid.ai", "www.thegrid.ai", "status.thegrid.ai", "api.dev.thegrid.ai",
    "api.thegird.ai", "apii.thegrid.ai", "api.thegrid.io", "api.the-grid.ai", "API.THEGRID.AI", "api.thegrid.ai.",
    "localhost", "127.0.0.1", "[::1]", "gateway.example.com", "api.openai.com", "x", "", "[", "a b", "..",
    "xn--e1afmkfd.xn--p1ai", "b\u00fccher.example", "foo.thegrid.ai",
])
PORTS = st.sampled_from(["", ":443", ":8443", ":80", ":0", ":99999", ":abc", ":", ":8080"])
SEGMENTS = st.lists(st.sampled_from(["v1", "V1", "chat", "completions", "models", "messages", "", "api",
                                     "docs", "%2F", "..", ".", "v1?x=1", "#frag", " ", "embeddings"]), max_size=6)
WRAPS = st.sampled_from(["", " ", "\n", '"', "'", "\u201c", "\u201d", "\t", "\u00a0", "\u200b", "\r\n"])


@st.composite
def urlish(draw: st.DrawFn) -> str:
    path = "/".join(["", *draw(SEGMENTS)]) + draw(st.sampled_from(["", "/", "//"]))
    return draw(WRAPS) + draw(SCHEMES) + draw(HOSTS) + draw(PORTS) + path + draw(WRAPS)


ANY_TEXT = st.one_of(urlish(), st.text(max_size=80))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=ANY_TEXT, api_sdk=APIS, endpoint=st.booleans())
def test_lint_url_is_total(raw: str, api_sdk: tuple[str, str | None], endpoint: bool) -> None:
    api, sdk = api_sdk
    result = lint_url(raw, api=api, sdk=sdk, endpoint=endpoint)
    assert all(f.code in CATALOGUE for f in result.findings)
    assert len({f.code for f in result.findings}) == len(result.findings)
    if result.canonical is None:
        assert any(f.code == "url.invalid" for f in result.findings)
    else:
        assert result.canonical.startswith(("https://", "http://"))
        assert not any(c.isspace() for c in result.canonical)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=ANY_TEXT, api_sdk=APIS)
def test_canonical_is_a_fixed_point(raw: str, api_sdk: tuple[str, str | None]) -> None:
    api, sdk = api_sdk
    result = lint_url(raw, api=api, sdk=sdk)
    if result.canonical is None:
        return
    again = lint_url(result.canonical, api=api, sdk=sdk)
    assert again.canonical == result.canonical
    if again.grid_host:
        # a Grid host's canonical URL lints clean (a non-production host keeps its custom_host note)
        assert {f.code for f in again.findings} <= {"url.custom_host"}, [(f.code, f.message) for f in again.findings]
        assert again.ok


WITH_CANONICAL = [c for c in CASES if c.canonical is not None]


@pytest.mark.parametrize("case", WITH_CANONICAL, ids=[c.id for c in WITH_CANONICAL])
def test_canonical_of_every_table_row_is_clean(case: Case) -> None:
    canonical = lint_url(case.raw, api=case.api, sdk=case.sdk).canonical
    assert canonical is not None
    again = lint_url(canonical, api=case.api, sdk=case.sdk)
    assert again.canonical == canonical
    assert {f.code for f in again.findings} <= {"url.custom_host"}, [(f.code, f.message) for f in again.findings]


@pytest.mark.parametrize(("sdk", "severity", "words"), [
    ("openai", "info", "The OpenAI SDK normalises it"),
    # issue 20: litellm 1.60.6 requested `.../v1//chat/completions`: under LiteLLM the slash is a warning
    ("litellm", "warning", "LiteLLM does not always normalise it"),
    ("curl", "warning", "request `/v1//chat/completions`"),
    (None, "warning", "request `/v1//chat/completions`"),
])
def test_trailing_slash_says_what_happens_per_sdk(sdk: str | None, severity: str, words: str) -> None:
    [f] = lint_url("https://api.thegrid.ai/v1/", sdk=sdk).findings
    assert f.code == "url.trailing_slash" and f.severity == severity and words in f.message
