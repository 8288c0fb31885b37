"""The emulator's fault scenarios, as data.

A scenario only says *what* goes wrong; server.py decides *where* in request handling it bites.
Adding a scenario is one `_add(Scenario(...))` call. Stdlib only: `gridctl emulator list`
imports this module and must start fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Clearly a demo, but shaped like a documented key (43 base64-ish characters) so the
# lead's key lints treat it as plausible.
DEMO_KEY = "gk-demo-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5Aa0o"

# The nine tier instruments and the lab-market ones, each with the model that "serves" it:
# the response's `model` field names that model, never the instrument (as The Grid does).
INSTRUMENTS: dict[str, str] = {
    "text-standard": "meta-llama/llama-3.3-70b-instruct",
    "text-prime": "openai/gpt-oss-120b",
    "text-max": "deepseek/deepseek-v3.2",
    "code-standard": "qwen/qwen3-coder-30b-a3b-instruct",
    "code-prime": "qwen/qwen3-coder-480b-a35b-instruct",
    "code-max": "moonshotai/kimi-k2-thinking",
    "agent-standard": "z-ai/glm-4.6",
    "agent-prime": "openai/gpt-oss-120b",
    "agent-max": "deepseek/deepseek-v3.2-speciale",
    "claude-opus-latest": "anthropic/claude-opus-4-5",
    "gpt-sol-latest": "openai/gpt-5.2",
    "gemini-pro-latest": "google/gemini-3-pro",
    "deepseek-pro-latest": "deepseek/deepseek-v3.2",
    "kimi-latest": "moonshotai/kimi-k2-thinking",
    "glm-latest": "z-ai/glm-4.6",
    "minimax-latest": "minimax/minimax-m2",
    "bytedance-pro-latest": "bytedance/seed-1.6",
}
MAX_INSTRUMENTS = frozenset(name for name in INSTRUMENTS if name.endswith("-max"))

# Keys copied verbatim from docs or an unexpanded shell variable: the real API rejects them,
# and gridctl's doctor must be able to show what that looks like end to end.
PLACEHOLDER_KEYS = frozenset(
    {"YOUR_GRID_API_KEY", "YOUR_KEY", "YOUR_API_KEY", "<key>", "<YOUR_KEY>", "$THEGRID_API_KEY"}
)

STATUS_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Partially Degraded Service",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
COMPONENTS = ("Consumption API", "Messages API (beta)", "Trading API", "Dashboard")


@dataclass(frozen=True)
class StatusPage:
    """What status.thegrid.ai says during the scenario (Atlassian Statuspage shape)."""

    indicator: str = "none"
    # component name -> Statuspage component status; unlisted components are operational
    components: tuple[tuple[str, str], ...] = ()
    # (name, status, impact) of unresolved incidents
    incidents: tuple[tuple[str, str, str], ...] = ()
    # (name, status) of scheduled maintenances
    maintenances: tuple[tuple[str, str], ...] = ()

    @property
    def description(self) -> str:
        return STATUS_DESCRIPTIONS[self.indicator]


@dataclass(frozen=True)
class Scenario:
    """One way The Grid can behave. Defaults describe a healthy server."""

    name: str
    description: str
    # Every key is rejected (Trading key, revoked key...).
    reject_all_keys: bool = False
    # Inference failure after auth and validation: status, `{"errors":{"detail"}}` text
    # (`{instrument}` is filled in), which instruments (None = all; it narrows `hang` too), and
    # only for the first N inference requests of the emulator instance (None = always).
    fail_status: int | None = None
    fail_detail: str = ""
    fail_instruments: frozenset[str] | None = None
    fail_first: int | None = None
    retry_after: int | None = None
    # A proxy in front of the API answers with an HTML page instead of the API.
    html_status: int | None = None
    # "same-host", "cross-host", "token-expired" or "loop": inference answers 307 to /r/<path>?token=...
    # Except in "loop", the token is signed and is the second hop's credential (The Grid's own CLI sends
    # no Authorization there): a valid one is accepted with or without a bearer; missing, altered or
    # expired -> 401. "token-expired" issues tokens that are already expired.
    redirect: str | None = None
    # API paths (not the status page): seconds before answering, never answer, or RST.
    delay: float = 0.0
    hang: bool = False
    reset: bool = False
    # Non-streaming inference bodies are cut in half (Content-Length matches the half).
    truncate_body: bool = False
    # Non-streaming inference bodies announce their full Content-Length, send half, and close.
    cut_body: bool = False
    # Streams stop dead after this many data events (no finish, no [DONE], no last chunk).
    stream_cut_after: int | None = None
    # One silent pause, in seconds, in the middle of every stream.
    stream_gap: float = 0.0
    models_status: int | None = None
    # Latency shapes (seconds), so watch/exporter numbers can be checked against a known truth:
    # before the response headers of an inference answer, before the first chunk that carries
    # content, and between content chunks (1 / token rate). `stream_tokens` > 0 streams that
    # many content chunks instead of the two-chunk reply.
    first_byte_delay: float = 0.0
    first_token_delay: float = 0.0
    token_gap: float = 0.0
    stream_tokens: int = 0
    # GET /v1/usage/{id} exists (The Grid's public docs do not list it: it may answer 404).
    usage_endpoint: bool = True
    status: StatusPage = field(default_factory=StatusPage)


SCENARIOS: dict[str, Scenario] = {}


def _add(scenario: Scenario) -> None:
    SCENARIOS[scenario.name] = scenario


_add(Scenario("healthy", "Everything works."))
_add(Scenario("bad-key", "Every key is rejected with 401 Invalid API key.", reject_all_keys=True))
_add(Scenario(
    "no-credits", "Every instrument answers 402 Insufficient credits.",
    fail_status=402, fail_detail="Insufficient credits",
))
_add(Scenario(
    "instrument-no-tokens", "The three *-max instruments answer 402; the others work.",
    fail_status=402, fail_detail="No available consumption tokens for instrument {instrument}",
    fail_instruments=MAX_INSTRUMENTS,
))
_add(Scenario(
    "rate-limited", "Inference answers 429 with Retry-After: 1.",
    fail_status=429, fail_detail="Rate limit exceeded for {instrument}; retry later",
    retry_after=1,
))
_add(Scenario(
    "server-error", "Inference answers 500 Internal Server Error.",
    fail_status=500, fail_detail="Internal server error; the request was not billed",
))
_add(Scenario(
    "replenishing", "The first 2 inference requests answer 503 (Auto Top Up), then 200.",
    fail_status=503, fail_detail="Balance replenishment in progress", fail_first=2,
))
_add(Scenario("redirect", "Inference answers 307 to /r/...?token=<signed> on the same host; the token is "
                          "the second hop's credential.", redirect="same-host"))
_add(Scenario(
    "redirect-cross-host", "Inference answers 307 to a signed URL on the same port under another host name "
    "(the key is not needed there).", redirect="cross-host",
))
_add(Scenario(
    "redirect-token-expired", "Inference answers 307 to a signed URL whose token has already expired; "
    "the second hop answers 401.", redirect="token-expired",
))
_add(Scenario("redirect-loop", "Inference answers 307 to itself, forever.", redirect="loop"))
_add(Scenario("hang", "API requests are read and never answered.", hang=True))
_add(Scenario("slow", "API requests are answered correctly after 2 s.", delay=2.0))
_add(Scenario("reset", "API connections are reset without an answer.", reset=True))
_add(Scenario("stream-cut", "Streams stop after 2 events without finishing.", stream_cut_after=2))
_add(Scenario("stream-idle", "Streams pause 1.5 s mid-way, then finish normally.", stream_gap=1.5))
_add(Scenario(
    "truncated-json", "Non-streaming answers are 200 with a cut-off JSON body.",
    truncate_body=True,
))
_add(Scenario(
    "cut-body", "Non-streaming answers stop half-way through the announced Content-Length (connection closed).",
    cut_body=True,
))
_add(Scenario(
    "incident", "The status page shows a major incident and inference answers 500.",
    fail_status=500, fail_detail="Internal server error; the request was not billed",
    status=StatusPage(
        indicator="major",
        components=(("Consumption API", "major_outage"),),
        incidents=(("Elevated error rates on text instruments", "investigating", "major"),),
    ),
))
_add(Scenario(
    "html-error", "A proxy answers 502 Bad Gateway with an HTML page.", html_status=502,
))
_add(Scenario(
    "maintenance", "The status page shows maintenance in progress; the API works.",
    status=StatusPage(
        indicator="maintenance",
        components=(("Dashboard", "under_maintenance"),),
        maintenances=(("Dashboard database upgrade", "in_progress"),),
    ),
))
_add(Scenario(
    "degraded", "The status page shows degraded performance; the API works.",
    status=StatusPage(indicator="minor", components=(("Consumption API", "degraded_performance"),)),
))
_add(Scenario(
    "slow-tokens", "First byte after 0.3 s, first token 0.5 s later, then 20 tokens/s (streams of 20).",
    first_byte_delay=0.3, first_token_delay=0.5, token_gap=0.05, stream_tokens=20,
))
_add(Scenario("usage-missing", "GET /v1/usage/{id} answers 404, as a deployment without it.",
              usage_endpoint=False))
_add(Scenario(
    "models-unavailable", "GET /v1/models answers 500; inference works.", models_status=500,
))
