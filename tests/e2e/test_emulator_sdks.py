"""The real openai and anthropic SDKs as clients of the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel

from gridctl.emulator.scenarios import DEMO_KEY, INSTRUMENTS
from gridctl.emulator.server import Emulator

if TYPE_CHECKING:
    import openai

# The SDKs are imported in the tests that use them, not at collection: every xdist worker collects
# every file, and importing both SDKs costs about 2.5 s of CPU there (anthropic alone 1.8 s).
pytestmark = pytest.mark.e2e

EmulatorFactory = Callable[..., Emulator]
PING: list[Any] = [{"role": "user", "content": "ping"}]
WEATHER_TOOL: Any = {"type": "function", "function": {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}}


def client(emu: Emulator, retries: int = 0, key: str = DEMO_KEY) -> openai.OpenAI:
    import openai

    return openai.OpenAI(base_url=emu.base_url, api_key=key, max_retries=retries, timeout=10)


def test_openai_completion(healthy_emulator: Emulator) -> None:
    reply = client(healthy_emulator).chat.completions.create(model="text-prime", messages=PING)
    assert reply.choices[0].message.content == "pong"
    assert reply.model == INSTRUMENTS["text-prime"]
    assert reply.usage is not None and reply.usage.total_tokens > 0


def test_openai_stream_with_usage(healthy_emulator: Emulator) -> None:
    stream = client(healthy_emulator).chat.completions.create(
        model="code-prime", messages=PING, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "pong"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and not chunks[-1].choices


def test_openai_lists_models(healthy_emulator: Emulator) -> None:
    ids = [m.id for m in client(healthy_emulator).models.list()]
    assert ids == list(INSTRUMENTS)


def test_openai_tool_call(healthy_emulator: Emulator) -> None:
    reply = client(healthy_emulator).chat.completions.create(
        model="agent-standard", messages=PING, tools=[WEATHER_TOOL])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "pong"}  # type: ignore[union-attr]


def test_openai_streamed_tool_call(healthy_emulator: Emulator) -> None:
    with client(healthy_emulator).chat.completions.stream(
        model="agent-standard", messages=PING, tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert json.loads(calls[0].function.arguments) == {"city": "pong"}


def test_openai_json_mode_and_structured_output(healthy_emulator: Emulator) -> None:
    sdk = client(healthy_emulator)
    reply = sdk.chat.completions.create(
        model="text-standard", messages=PING, response_format={"type": "json_object"})
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)

    class Verdict(BaseModel):
        ok: bool
        reason: str
        score: int

    parsed = sdk.chat.completions.parse(model="text-max", messages=PING, response_format=Verdict)
    assert parsed.choices[0].message.parsed == Verdict(ok=True, reason="pong", score=1)


@pytest.mark.parametrize(("scenario", "model", "error"), [
    ("bad-key", "text-prime", "AuthenticationError"),
    ("healthy", "gpt-5.2", "NotFoundError"),
    ("rate-limited", "text-prime", "RateLimitError"),
    ("server-error", "text-prime", "InternalServerError"),
    ("no-credits", "text-prime", "APIStatusError"),
])
def test_openai_errors(
    emulator: EmulatorFactory, scenario: str, model: str, error: str
) -> None:
    import openai

    with pytest.raises(getattr(openai, error)) as info:
        client(emulator(scenario)).chat.completions.create(model=model, messages=PING)
    assert info.value.response.headers["x-grid-request-id"].startswith("req_")
    assert info.value.body == {"errors": {"detail": info.value.body["errors"]["detail"]}}  # type: ignore[index]


def test_openai_retries_through_replenishing(emulator: EmulatorFactory) -> None:
    emu = emulator("replenishing")
    reply = client(emu, retries=3).chat.completions.create(model="text-prime", messages=PING)
    assert reply.choices[0].message.content == "pong"
    assert len(emu.requests) == 3


def test_openai_follows_a_same_host_redirect(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect")
    reply = client(emu).chat.completions.create(model="text-prime", messages=PING)
    assert reply.choices[0].message.content == "pong"
    assert [r["path"].split("?")[0] for r in emu.requests] == [
        "/v1/chat/completions", "/r/v1/chat/completions"]


def test_openai_follows_a_signed_cross_host_redirect_without_the_key(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect-cross-host")
    reply = client(emu).chat.completions.create(model="text-prime", messages=PING)
    assert reply.choices[0].message.content == "pong"
    second = emu.requests[-1]
    assert second["host"].startswith("localhost:") and "authorization" not in second["headers"]


@pytest.mark.parametrize("scenario", ["redirect", "redirect-cross-host"])
def test_anthropic_follows_the_signed_redirect(emulator: EmulatorFactory, scenario: str) -> None:
    import anthropic

    emu = emulator(scenario)
    sdk = anthropic.Anthropic(base_url=emu.root_url, api_key=DEMO_KEY, max_retries=0, timeout=10)
    msg = sdk.messages.create(model="agent-prime", max_tokens=16, messages=PING)
    assert msg.content[0].type == "text" and msg.content[0].text == "pong"
    assert [r["path"].split("?")[0] for r in emu.requests] == ["/v1/messages", "/r/v1/messages"]


def test_openai_sees_an_expired_redirect_token_as_401(emulator: EmulatorFactory) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError) as info:
        client(emulator("redirect-token-expired")).chat.completions.create(model="text-prime", messages=PING)
    assert "expired" in json.dumps(info.value.body)


def test_anthropic_message(healthy_emulator: Emulator) -> None:
    import anthropic

    sdk = anthropic.Anthropic(base_url=healthy_emulator.root_url, api_key=DEMO_KEY,
                              max_retries=0, timeout=10)
    msg = sdk.messages.create(model="agent-prime", max_tokens=16, messages=PING)
    assert msg.content[0].type == "text" and msg.content[0].text == "pong"
    assert msg.stop_reason == "end_turn"
    assert healthy_emulator.requests[-1]["path"] == "/v1/messages"


def test_anthropic_stream_and_x_api_key(healthy_emulator: Emulator) -> None:
    import anthropic

    sdk = anthropic.Anthropic(base_url=healthy_emulator.root_url, api_key=None,
                              default_headers={"x-api-key": DEMO_KEY}, max_retries=0, timeout=10)
    with sdk.messages.stream(model="agent-prime", max_tokens=16, messages=PING) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "pong" and final.stop_reason == "end_turn"
    assert "authorization" not in healthy_emulator.requests[-1]["headers"]


def test_anthropic_bad_key(emulator: EmulatorFactory) -> None:
    import anthropic

    sdk = anthropic.Anthropic(base_url=emulator("bad-key").root_url, api_key=DEMO_KEY,
                              max_retries=0, timeout=10)
    with pytest.raises(anthropic.AuthenticationError):
        sdk.messages.create(model="agent-prime", max_tokens=16, messages=PING)
