"""The hardening mechanisms on their own: sanitiser, scrubber, bounded reads, look-alike hosts, proxies, lints."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridctl import grid, secrets
from gridctl.probe import bounded
from gridctl.probe.proxyenv import why_unusable
from gridctl.textsafe import clean, json_safe
from tests.support.hostile import ESCAPES, HEADER_ESCAPES, controls_in, leaks

KEY = "gk-units-Pq8Wm3Zx7Lc2Vb9Nr4Ty6Ju1Ik5Ol0Ha"


@pytest.fixture(autouse=True)
def forget_secrets() -> None:
    secrets._SECRETS.clear()
    secrets._FORMS.clear()
    secrets._PATTERN[0] = None


# ---------------------------------------------------------------- sanitiser


@pytest.mark.parametrize("nasty", [*ESCAPES, HEADER_ESCAPES, "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
                                   "\x1bP+q\x1b\\", "\x1b]52;c;" + "A" * 1000, "\x1b", "\x1b[", "\x9b"])
def test_clean_removes_every_escape_sequence_and_control(nasty: str) -> None:
    out = clean(f"before{nasty}after")
    assert not controls_in(out)
    assert out.startswith("before") and "pwned" not in out


@given(st.text())
@settings(max_examples=200)
def test_clean_is_total_and_idempotent(text: str) -> None:
    once = clean(text)
    assert clean(once) == once
    assert not controls_in(once)


def test_clean_keeps_text_and_newlines_unless_one_line() -> None:
    assert clean("a\tb\nc") == "a\tb\nc"
    assert clean("a\tb\nc", newlines=False) == "a b c"
    assert clean("ok — ✓ 日本") == "ok — ✓ 日本"


def test_json_safe_escapes_c1_and_stays_the_same_document() -> None:
    doc = {"m": "x\x9b31m\x85y\u202e"}
    text = json_safe(json.dumps(doc, ensure_ascii=False))
    assert json.loads(text) == doc and not controls_in(text)


# ---------------------------------------------------------------- scrubber


@pytest.mark.parametrize("form", [
    KEY, KEY.lower(), KEY.upper(), KEY[:20], KEY[-20:], KEY[5:13], KEY.swapcase(), json.dumps(KEY),
    base64.b64encode(KEY.encode()).decode(), base64.b64encode(f"user:{KEY}".encode()).decode(),
    base64.b64encode(f"Bearer {KEY}".encode()).decode(), base64.urlsafe_b64encode(b"xy" + KEY.encode()).decode(),
    "x" * 290 + KEY[:20], KEY[:10] + " " + KEY[10:],
])
def test_scrub_catches_partial_cased_and_encoded_forms(form: str) -> None:
    secrets.register(KEY)
    assert not leaks(secrets.scrub(f"the server said: {form}!"), KEY)


def test_scrub_keeps_the_fingerprint_and_ordinary_text() -> None:
    secrets.register(KEY)
    assert secrets.scrub(f"key {KEY} in use") == f"key …{KEY[-4:]} in use"
    text = "auth.double_bearer: Authorization: Bearer text-prime https://api.thegrid.ai/v1 req-abc123"
    assert secrets.scrub(text) == text


def test_scrub_json_scrubs_values_and_keys() -> None:
    weird = 'gk-a": "b9XyZ8wV7uT6sR5qP4oN3'
    secrets.register(weird)
    doc = secrets.scrub_json({"k": [f"x {weird}"], weird: 1})
    text = json.dumps(doc)
    assert weird not in text and json.loads(text) == doc


@pytest.mark.parametrize(("token", "shaped"), [("sk-Other9KeyAbcdEfgh12345678", True), (KEY, True),
                                               ("0f6d3c1e-9b2a-4c2e-8f7a-1d2e3f4a5b6c", False),
                                               ("chat-completions-endpoint-name", False),
                                               ("3f2a9c7d1e5b4a6c8d0e2f4a6b8c0d1e", False), ("short1A", False)])
def test_key_shaped_arguments(token: str, shaped: bool) -> None:
    assert secrets.looks_like_key(token) is shaped


# ---------------------------------------------------------------- bounded reads


class _Response:
    def __init__(self, parts: list[bytes], encoding: str = "") -> None:
        self.parts, self.headers, self.is_stream_consumed = parts, {"content-encoding": encoding}, False

    def iter_raw(self) -> Any:
        yield from self.parts


def test_lines_split_every_ending_and_cap_a_line() -> None:
    resp = _Response([b"data: a\r\n\r\nda", b"ta: b\n\nx\ry\r", b"\nz"])
    assert list(bounded.lines(resp, lambda: False)) == ["data: a", "", "data: b", "", "x", "y", "z"]
    with pytest.raises(bounded.Oversized):
        list(bounded.lines(_Response([b"data: " + b"A" * 70_000]), lambda: False))


def test_a_gzip_bomb_inflates_only_to_the_cap() -> None:
    from tests.support.hostile import _bomb

    got = 0
    with pytest.raises(bounded.Oversized):
        for chunk in bounded.chunks(_Response([_bomb(256 * 1024)], "gzip"), bounded.MAX_BODY, lambda: False):
            got += len(chunk)
            assert len(chunk) <= 4 * bounded.RAW_CHUNK
    assert got <= bounded.MAX_BODY


def test_the_deadline_is_checked_on_every_chunk() -> None:
    ticks = iter([False, True])
    with pytest.raises(bounded.Expired):
        list(bounded.lines(_Response([b"d", b"a", b"t"]), lambda: next(ticks)))


# ---------------------------------------------------------------- hosts and proxies


@pytest.mark.parametrize(("host", "alike"), [
    ("thegridai.com", True), ("api-thegrid.com", True), ("api.grid.ai", True), ("xn--thegrd-8ve.ai", True),
    ("api.thegrid.ai.evil.com", True), ("api.th\u0435grid.ai", True), ("thegrid.co", True),
    ("api.thegrid.ai", False), ("thegrid.ai", False), ("localhost", False), ("127.0.0.1", False),
    ("openrouter.ai", False), ("api.openai.com", False), ("gateway.corp.example", False), ("gridiron.com", False),
])
def test_look_alike_hosts(host: str, alike: bool) -> None:
    assert grid.looks_alike(host) is alike


@pytest.mark.parametrize(("value", "bad"), [("socks5://127.0.0.1:1080", "socks"), ("http://127.0.0.1:99999", "port"),
                                            ("http://[::1", "URL"), ("ftp://proxy:21", "scheme"),
                                            ("http://proxy.example:3128", None), ("proxy.example:3128", None)])
def test_proxy_values(value: str, bad: str | None) -> None:
    why = why_unusable(value)
    assert (why is None) if bad is None else (why is not None and bad.lower() in why.lower()), why


# ---------------------------------------------------------------- lints are bounded


@pytest.mark.parametrize("args", [
    ("url", "https://" + "a" * 1_000_000 + "/v1"), ("url", "https://" + "a." * 500_000 + "ai/v1"),
    ("models", "--offline", "m" * 1_000_000), ("auth", "lint", "Authorization: Bearer " + "k" * 1_000_000),
    ("lint-curl", "curl https://" + "a" * 1_000_000), ("explain", "http " * 200_000),
])
def test_offline_lints_of_a_megabyte_are_quick(args: tuple[str, ...]) -> None:
    from tests.support.cli import invoke

    run = invoke(*args, "--json")
    assert run.code in (0, 2, 3), run.err[:300]
    if run.code != 2:
        assert json.loads(run.out)["duration_ms"] < 1000  # its own clock: a 1 MB host took 110 s before


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


@settings(max_examples=150, deadline=None)
@given(key=st.text(_ALNUM, min_size=20, max_size=64), data=st.data())
def test_scrub_leaves_no_window_of_any_key(key: str, data: Any) -> None:
    """Fragments of the key (8+ characters, any case, any place, glued together or to other text)
    never survive scrub()."""
    secrets._SECRETS.clear()
    secrets._FORMS.clear()
    secrets._PATTERN[0] = None
    secrets.register(key)
    pieces = []
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(key) - 8))
        end = data.draw(st.integers(start + 8, len(key)))
        frag = key[start:end]
        frag = data.draw(st.sampled_from([frag, frag.upper(), frag.lower(), frag.swapcase()]))
        pieces.append(data.draw(st.text(_ALNUM + " :\"'", max_size=6)) + frag)
    text = "".join(pieces)
    assert not leaks(secrets.scrub(text), key), (key, text, secrets.scrub(text))
