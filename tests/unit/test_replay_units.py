"""replay's pure parts: ddmin, the HAR parser, the request's changes and clamps, the emulator's body checks."""

from __future__ import annotations

import json
import shlex
from itertools import combinations
from typing import Any

import pytest

from gridctl.emulator import validate
from gridctl.errors import UsageError
from gridctl.probe.classify import classify_status
from gridctl.replay import har
from gridctl.replay.minimize import Exhausted, ddmin, split
from gridctl.replay.request import changes, clamp, clampable, from_call, without
from gridctl.replay.send import destination

# --- ddmin ---------------------------------------------------------------------------------------


def _counting(culprits: set[int]) -> tuple[list[tuple[int, ...]], Any]:
    tried: list[tuple[int, ...]] = []

    def fails(kept: tuple[int, ...]) -> bool:
        tried.append(kept)
        return culprits <= set(kept)

    return tried, fails


@pytest.mark.parametrize("n", [1, 2, 3, 7, 14, 25, 40])
def test_ddmin_finds_a_single_culprit_in_few_tests(n: int) -> None:
    for culprit in {0, n // 2, n - 1}:
        tried, fails = _counting({culprit})
        search = ddmin(n, fails)
        assert search.kept == (culprit,) and search.complete
        assert len(tried) == len(set(tried))  # every subset once
        assert len(tried) <= 2 * n.bit_length() + 4, (n, culprit, len(tried))
        assert search.passes_without(culprit) is True


def test_ddmin_finds_a_pair_that_fails_only_together() -> None:
    tried, fails = _counting({3, 11})
    search = ddmin(16, fails)
    assert set(search.kept) == {3, 11} and search.complete
    assert search.passes_without(3) and search.passes_without(11)


def test_ddmin_result_is_one_minimal_for_every_pair_of_20() -> None:
    for pair in combinations(range(0, 20, 3), 2):
        _, fails = _counting(set(pair))
        search = ddmin(20, fails)
        assert set(search.kept) == set(pair)


def test_ddmin_with_nothing_needed_tests_once() -> None:
    tried, _ = _counting(set())
    search = ddmin(10, lambda kept: tried.append(kept) is None)
    assert search.kept == () and search.complete and tried == [()]


def test_ddmin_stops_when_the_budget_runs_out() -> None:
    calls = []

    def fails(kept: tuple[int, ...]) -> bool:
        if len(calls) == 3:
            raise Exhausted
        calls.append(kept)
        return 5 in kept

    search = ddmin(32, fails)
    assert not search.complete and len(calls) == 3
    assert 5 in search.kept  # what it holds still fails


def test_split_is_even_and_complete() -> None:
    assert split(tuple(range(7)), 3) == [(0, 1, 2), (3, 4), (5, 6)]
    assert split((1, 2), 5) == [(1,), (2,)]


# --- the HAR parser --------------------------------------------------------------------------------

def _entry(body: str | None = '{"model":"text-prime","messages":[]}', status: int = 400, size: int | None = None,
           url: str = "https://api.thegrid.ai/v1/chat/completions", **ext: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"method": "POST", "url": "http://127.0.0.1:9/v1/chat/completions",
                           "headers": [{"name": "authorization", "value": "Bearer …Wq9f"},
                                       {"name": "content-type", "value": "application/json"},
                                       {"name": "Host", "value": "127.0.0.1:9"}],
                           "bodySize": len(body.encode()) if size is None and body else (size or 0)}
    if body is not None:
        req["postData"] = {"mimeType": "application/json", "text": body}
    return {"request": req, "response": {"status": status, "headers": [{"name": "x-request-id", "value": "r1"}],
                                         "content": {"text": "{}"}},
            "_gridctl": {"sdk_url": url, "findings": [{"code": "http.bad_request"}], **ext}}


def _har(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": list(entries)}}).encode()


def test_parse_reads_the_program_url_and_the_answer() -> None:
    calls = har.parse(_har(_entry(status=200), _entry()))
    assert [c.index for c in calls] == [1, 2]
    chosen = har.pick(calls, None)
    assert chosen.index == 2 and chosen.url == "https://api.thegrid.ai/v1/chat/completions"
    assert chosen.status == 400 and chosen.request_id == "r1" and chosen.codes == ("http.bad_request",)
    assert chosen.model == "text-prime" and chosen.api == "chat"


@pytest.mark.parametrize(("raw", "words"), [
    (b"not json", "not a HAR file"),
    (b'{"log": {}}', "not a HAR file"),
    (b'[1, 2]', "not a HAR file"),
    (b'{"log": {"entries": []}}', "holds no calls"),
    (b'{"log": {"entries": [{"request": {}}]}}', "holds no calls"),
    (b"\xff\xfe", "not a HAR file"),
])
def test_bad_files_are_one_line(raw: bytes, words: str) -> None:
    with pytest.raises(UsageError, match=words) as info:
        har.parse(raw, "f.har")
    assert "\n" not in str(info.value)


def test_cut_and_streamed_bodies_are_refused_when_picked() -> None:
    cut = _entry('{"model":"text-prime","messages":[{"role":"user","content":"aaa', size=40000)
    streamed = _entry(None, size=500)
    calls = har.parse(_har(_entry(status=200), cut, streamed))
    assert har.pick(calls, 1).index == 1  # the good call still replays
    with pytest.raises(UsageError, match="cut body"):
        har.pick(calls, 2)
    with pytest.raises(UsageError, match="streamed body"):
        har.pick(calls, 3)
    with pytest.raises(UsageError, match="has no call 9"):
        har.pick(calls, 9)


def test_a_redirect_counts_as_its_second_hop() -> None:
    first = _entry(status=307)
    second = _entry(status=401, hop_of=1)
    calls = har.parse(_har(first, second))
    assert calls[0].status == 401 and har.pick(calls, None).index == 1
    with pytest.raises(UsageError, match="second hop"):
        har.pick(calls, 2)


# --- the request ---------------------------------------------------------------------------------

BODY = {"model": "text-prime", "messages": [{"role": "user", "content": "hi"}], "temperature": 5,
        "max_tokens": 500, "stream": True, "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}]}


def _call(body: dict[str, Any] = BODY, url: str = "https://api.thegrid.ai/v1/chat/completions") -> har.RecordedCall:
    return har.parse(_har(_entry(json.dumps(body), url=url)))[0]


def test_request_drops_credentials_and_transport_headers() -> None:
    req = from_call(_call(), "http://127.0.0.1:1/v1/chat/completions")
    assert req.auth_name == "authorization" and req.auth_scheme == "Bearer"
    assert [k for k, _ in req.headers] == ["content-type"]
    assert req.auth_value("K") == "Bearer K"


def test_changes_and_without() -> None:
    req = from_call(_call(), "u")
    labels = [c.label for c in changes(req)]
    assert labels == ["`temperature`", "`max_tokens`", "`stream`", "`stream_options`", "the tool `a`", "the tool `b`"]
    parts = changes(req)
    smaller = without(req, [parts[0], parts[4], parts[5]])
    assert "temperature" not in smaller.body and "tools" not in smaller.body
    assert without(req, [parts[4]]).body["tools"] == [BODY["tools"][1]]
    assert req.body == BODY  # the original stays as it was


def test_clamp_keeps_costs_down_except_the_field_under_test() -> None:
    req = from_call(_call(), "u")
    assert clampable(req) == ["max_tokens", "stream"]
    cheap = clamp(req)
    assert cheap.body["max_tokens"] == 1 and cheap.body["stream"] is False and "stream_options" not in cheap.body
    assert clamp(req, "max_tokens").body["max_tokens"] == 500


def test_curl_never_holds_the_key_and_parses_as_shell() -> None:
    req = from_call(_call(), "http://127.0.0.1:1/v1/chat/completions")
    text = req.curl()
    assert '"authorization: Bearer $THEGRID_API_KEY"' in text
    words = shlex.split(text.replace("\\\n", " "))
    assert words[0] == "curl" and json.loads(words[words.index("--data-binary") + 1]) == BODY


def test_destination_never_the_lookalike_host() -> None:
    lookalike = _call(url="https://api.thegrld.ai/v1/chat/completions")
    dest = destination(lookalike, None, "https://api.thegrid.ai/v1")
    assert dest.url == "https://api.thegrid.ai/v1/chat/completions"
    assert [f.code for f in dest.notes] == ["url.host_typo", "replay.rehosted"]
    other = _call(url="https://gateway.example.com/openai/v1/chat/completions")
    assert destination(other, None, "https://api.thegrid.ai/v1").url.startswith("https://api.thegrid.ai/")
    assert destination(other, "http://127.0.0.1:5/v1", "x").url == \
        "http://127.0.0.1:5/openai/v1/chat/completions"
    assert destination(_call(), None, "x").url == "https://api.thegrid.ai/v1/chat/completions"


# --- the emulator's validation, read back by classify ---------------------------------------------

OK_BODY = {"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(("extra", "status", "code"), [
    ({"temperature": 2.5}, 422, "body.out_of_range"),
    ({"reasoning_effort": "extreme"}, 422, "body.out_of_range"),
    ({"safe_mode": True}, 400, "body.unknown_param"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "dict"}}}]}, 400,
     "body.tool_schema"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": []}}}]}, 400,
     "body.tool_schema"),
    ({"response_format": {"type": "xml"}}, 400, "body.response_format"),
    ({"max_tokens": 200000}, 400, "body.context_length"),
])
def test_validation_rejects_as_the_grid(extra: dict[str, Any], status: int, code: str) -> None:
    found = validate.problem({**OK_BODY, **extra}, messages_api=False)
    assert found is not None and found.status == status
    body = json.dumps(found.body()).encode()
    assert set(found.body()["errors"]) >= {"detail"}
    assert classify_status(status, body, "application/json", "u")[0].code == code


@pytest.mark.parametrize("extra", [
    {}, {"stream": True, "stream_options": {"include_usage": True}}, {"n": 2, "user": "u", "max_tokens": 16},
    {"tools": [{"type": "function", "function": {"name": "get_weather", "strict": True, "parameters": {
        "type": "object", "properties": {"city": {"type": ["string", "null"]}}, "required": ["city"],
        "additionalProperties": False}}}], "tool_choice": "auto", "parallel_tool_calls": False},
    {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}},
    {"reasoning_effort": "low", "seed": 1, "metadata": {"a": "b"}, "store": False},
])
def test_validation_lets_real_sdk_fields_through(extra: dict[str, Any]) -> None:
    assert validate.problem({**OK_BODY, **extra}, messages_api=False) is None


# --- the search with a server in the test: 429s pause it, the budget bounds it ----------------------

def _server(rate_limited: int) -> tuple[list[dict[str, Any]], Any]:
    """A Grid in a function: the emulator's validation, and `rate_limited` 429s before anything else."""
    import httpx

    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        if len(seen) <= rate_limited:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"errors": {"detail": "slow down"}})
        found = validate.problem(body, messages_api=False)
        if found is not None:
            return httpx.Response(found.status, json=found.body())
        return httpx.Response(200, json={"choices": [{"message": {"content": "pong"}}]})

    return seen, handle


def _search(rate_limited: int, limit: int) -> tuple[Any, list[dict[str, Any]], list[float]]:
    import httpx

    from gridctl.probe.client import Deadline, Net
    from gridctl.replay.main import Budget, _Minimize

    body = {**OK_BODY, "temperature": 0.5, "top_p": 3, "seed": 1, "user": "u", "max_tokens": 900, "n": 1}
    req = from_call(_call(body), "https://api.thegrid.ai/v1/chat/completions")
    seen, handle = _server(rate_limited)
    waits: list[float] = []
    with Net(Deadline(30), retries=0, transport=httpx.MockTransport(handle)) as net:
        search = _Minimize(req, Budget(limit, net, "k", sleep=waits.append))
        search.run()
    return search, seen, waits


def test_a_429_pauses_the_search_and_is_not_a_kept_failure() -> None:
    search, seen, waits = _search(rate_limited=2, limit=32)
    summary = search.summary()
    assert waits == [2.0, 2.0]  # Retry-After, twice, then the same request again
    assert summary["field"] == "top_p" and summary["complete"] and summary["failure"]["code"] == "body.out_of_range"
    assert summary["requests"] == len(seen) <= 32
    assert all(b.get("max_tokens", 1) == 1 for b in seen)  # clamped in every request sent


def test_the_budget_bounds_the_requests() -> None:
    search, seen, _ = _search(rate_limited=0, limit=3)
    assert len(seen) == 3 and search.budget.sent == 3
    assert [f.code for f in search.notes()] == ["replay.budget"]
    assert not search.summary()["complete"]


def test_a_browser_har_key_is_registered_so_nothing_prints_it() -> None:
    from gridctl.secrets import scrub

    key = "sk-live-" + "Q7vX2mL9nR4tY8wB1cD6fH0jK5sA3eG9"
    entry = _entry()
    entry["request"]["headers"][0]["value"] = f"Bearer {key}"
    call = har.parse(_har(entry))[0]
    req = from_call(call, "https://api.thegrid.ai/v1/chat/completions")
    assert key not in req.curl() and key not in scrub(f"x {key} y") and "Bearer" in scrub("Bearer x")


# --- diff, offline -------------------------------------------------------------------------------

def test_compare_names_path_header_and_scheme() -> None:
    from gridctl.replay.diff import canonical, compare

    doubled = _call(OK_BODY, url="https://api.thegrid.ai/v1/v1/chat/completions")
    result = compare(doubled, canonical(doubled, "text-prime"))
    assert [d["part"] for d in result.data["url"]] == ["path"]
    assert [f.code for f in result.findings] == ["url.doubled_v1"]
    # a failing call's body fields are linted too: BODY's temperature 5
    bad = _call(url="https://api.thegrid.ai/v1/chat/completions")
    assert [f.code for f in compare(bad, canonical(bad, "text-prime")).findings] == ["body.out_of_range"]
    entry = _entry()
    entry["request"]["headers"][0] = {"name": "x-api-key", "value": "…Wq9f"}
    wrong = har.parse(_har(entry))[0]
    result = compare(wrong, canonical(wrong, "text-prime"))
    assert result.data["url"] == [] and [f.code for f in result.findings] == ["auth.wrong_header"]
    entry["request"]["headers"][0] = {"name": "Authorization", "value": "…Wq9f"}
    bare = har.parse(_har(entry))[0]
    assert [f.code for f in compare(bare, canonical(bare, "text-prime")).findings] == ["auth.missing_bearer"]


@pytest.mark.parametrize(("status", "body", "code"), [
    (400, {"error": {"message": "This model's maximum context length is 8192 tokens.",
                     "code": "context_length_exceeded"}}, "body.context_length"),
    (400, {"errors": {"detail": "Unrecognized request argument supplied: foo", "code": "unknown_parameter"}},
     "body.unknown_param"),
    (400, {"errors": {"detail": "Required field 'messages' is missing"}}, "http.bad_request"),  # no code: as before
    (422, {"errors": {"detail": "x", "code": "something_else"}}, "http.unprocessable"),
])
def test_classify_reads_the_error_body_code(status: int, body: dict[str, Any], code: str) -> None:
    found = classify_status(status, json.dumps(body).encode(), "application/json", "u")
    assert [f.code for f in found] == [code] and found[0].severity == "error"
