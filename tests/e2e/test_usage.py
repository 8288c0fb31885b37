"""gridctl usage and ping --receipt against the emulator's usage endpoint, and its absence."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gridctl.emulator.scenarios import DEMO_KEY
from gridctl.emulator.server import Emulator, start
from tests.support.cli import emu_env, invoke

pytestmark = pytest.mark.e2e

FIRST_BYTE, FIRST_TOKEN = 0.03, 0.04


@pytest.fixture(scope="module")
def shaped() -> Iterator[Emulator]:
    with start("healthy", first_byte_delay=FIRST_BYTE, first_token_delay=FIRST_TOKEN, token_gap=0.002,
               stream_tokens=4) as emu:
        yield emu


@pytest.fixture(scope="module")
def missing() -> Iterator[Emulator]:
    with start("usage-missing") as emu:
        yield emu


def test_the_emulator_serves_receipts_only_for_its_own_requests(shaped: Emulator) -> None:
    auth = {"authorization": f"Bearer {DEMO_KEY}"}
    answer = httpx.post(f"{shaped.base_url}/chat/completions", headers=auth, timeout=5,
                        json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]})
    rid = answer.headers["x-grid-request-id"]
    doc = httpx.get(f"{shaped.base_url}/usage/{rid}", headers=auth, timeout=5).json()
    assert {"request_id", "status", "requested_model", "serving_model", "endpoint", "created_at", "usage", "cost",
            "timing"} <= set(doc)
    assert doc["request_id"] == rid and doc["requested_model"] == "text-prime"
    assert doc["serving_model"] == answer.json()["model"] and doc["usage"]["output_tokens"] == 2
    assert doc["cost"]["currency"] == "USD" and isinstance(doc["cost"]["amount"], str)
    assert doc["timing"]["ttft_ms"] >= FIRST_BYTE * 1000
    assert httpx.get(f"{shaped.base_url}/usage/req_unknown", headers=auth, timeout=5).status_code == 404
    assert httpx.get(f"{shaped.base_url}/usage/{rid}", timeout=5).status_code == 401


def test_usage_shows_the_receipt(shaped: Emulator) -> None:
    ping = invoke("ping", "--json", env=emu_env(shaped, DEMO_KEY)).json()
    rid = ping["request_ids"][0]
    run = invoke("usage", rid, "--json", env=emu_env(shaped, DEMO_KEY))
    doc = run.json()
    assert run.code == 0 and doc["command"] == "usage" and doc["receipt"]["request_id"] == rid
    assert [f["code"] for f in doc["checks"][0]["findings"]] == ["usage.receipt"]
    human = invoke("usage", rid, env=emu_env(shaped, DEMO_KEY))
    assert human.code == 0 and "served by openai/gpt-oss-120b" in human.out and DEMO_KEY not in human.out


@pytest.mark.parametrize("key, rid", [(DEMO_KEY, "req_never_served"), ("wrong-but-plausible-key", "req_x")])
def test_no_receipt_is_a_quiet_warning(shaped: Emulator, key: str, rid: str) -> None:
    run = invoke("usage", rid, "--json", env=emu_env(shaped, key))
    doc = run.json()
    assert run.code == 0 and doc["ok"] is True, run
    finding = doc["checks"][0]["findings"][0]
    assert finding["code"] == "usage.unavailable" and finding["severity"] == "warning"


def test_usage_rejects_a_malformed_id(shaped: Emulator) -> None:
    run = invoke("usage", "two words", env=emu_env(shaped, DEMO_KEY))
    assert run.code == 2 and "REQUEST_ID" in run.err


def test_ping_receipt_names_the_time_added_on_the_way(shaped: Emulator) -> None:
    run = invoke("ping", "--stream", "--receipt", "--json", env=emu_env(shaped, DEMO_KEY))
    doc = run.json()
    assert run.code == 0, run
    stream, usage = doc["checks"]
    assert usage["id"] == "usage" and usage["data"]["receipt"]["request_id"] == stream["data"]["request_id"]
    d = usage["data"]
    assert d["client_ttft_ms"] == stream["data"]["ttft_ms"]
    assert d["added_ms"] == pytest.approx(d["client_ttft_ms"] - d["server_ttft_ms"], abs=0.11)
    assert d["server_ttft_ms"] >= (FIRST_BYTE + FIRST_TOKEN) * 1000 - 0.5
    assert d["added_ms"] >= 0
    assert "usage.added_latency" in [f["code"] for f in usage["findings"]]
    line = invoke("ping", "--receipt", env=emu_env(shaped, DEMO_KEY))
    assert line.code == 0 and "receipt:" in line.out and "added between you and The Grid" in line.out


def test_ping_receipt_degrades_quietly_without_the_endpoint(missing: Emulator) -> None:
    run = invoke("ping", "--receipt", env=emu_env(missing, DEMO_KEY))
    assert run.code == 0, run
    assert run.out.splitlines()[0].startswith("ok text-prime 200")
    assert "receipt: no receipt available" in run.out


@pytest.mark.parametrize("flag, value", [("--token-rate", "0"), ("--first-byte-delay", "-1"), ("--tokens", "0")])
def test_serve_rejects_bad_shapes(flag: str, value: str) -> None:
    run = invoke("emulator", "serve", flag, value)
    assert run.code == 2 and flag in run.err


def test_start_takes_the_shapes_as_keywords() -> None:
    with start("healthy", token_gap=0.01, stream_tokens=3) as emu:
        assert emu.scenario.token_gap == 0.01 and emu.scenario.stream_tokens == 3
        assert emu.scenario.first_byte_delay == 0.0
    with pytest.raises(TypeError):
        start("healthy", first_bite=1.0)
