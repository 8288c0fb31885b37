"""The injected latency truth shared by the watch and exporter tests, and what a probe's figures must satisfy.

Tests check that figures are ordered and no less than what was injected (a sleep never ends early;
load only ever adds), never that a measured duration lies within a few milliseconds of the truth:
on a busy machine that is a wall-clock assertion, and it went red with nothing wrong (issue 22).
How exactly gridctl measures is a benchmark: bench/p7_latency.py.
"""

from __future__ import annotations

# Seconds: small, so a batch of probes takes well under a second.
FIRST_BYTE, FIRST_TOKEN, TOKEN_GAP, TOKENS = 0.05, 0.05, 0.005, 5
FLOOR = 0.001  # the floor emulator's shapes: it sleeps and wakes like the shaped one, briefly
CEILING_MS = 5000.0  # the probes' time budget: no figure can be larger


def implausible(ms: dict[str, float | None], tokens: int = TOKENS) -> list[str]:
    """What is wrong with one streamed probe's figures (milliseconds) against the injected delays.

    - each phase no shorter than what the emulator waited before it: TTFB >= the first-byte delay,
      TTFT >= first byte + first token, total >= every delay and every gap between tokens;
    - in order: TTFB <= TTFT <= total, and all under the budget;
    - the inter-token figure consistent with the others: (total - TTFT) / (tokens - 1), >= 0.
    The gap between tokens as the client saw it may be shorter than the one injected (a client that
    woke late reads several tokens at once), so it is checked for consistency, not against TOKEN_GAP.
    """
    ttfb, ttft, total, itl = (ms.get(k) for k in ("ttfb_ms", "ttft_ms", "total_ms", "itl_ms"))
    if ttfb is None or ttft is None or total is None or itl is None:
        return [f"a figure is missing: {ms}"]
    wrong = []
    first_byte, first_token = FIRST_BYTE * 1000, (FIRST_BYTE + FIRST_TOKEN) * 1000
    last_token = first_token + (tokens - 1) * TOKEN_GAP * 1000
    for name, value, least in (("ttfb_ms", ttfb, first_byte), ("ttft_ms", ttft, first_token),
                               ("total_ms", total, last_token)):
        if value < least - 0.5:  # 0.5: the figures are rounded; never a tolerance on time itself
            wrong.append(f"{name} {value:.1f} is less than the {least:.0f} ms injected")
    if not ttfb <= ttft <= total <= CEILING_MS:
        wrong.append(f"out of order or over the budget: ttfb {ttfb}, ttft {ttft}, total {total}")
    if itl < 0 or abs(itl - (total - ttft) / (tokens - 1)) > 0.01:
        wrong.append(f"itl_ms {itl} is not (total - ttft) / (tokens - 1)")
    return wrong
