"""The injected latency truth shared by the watch and exporter tests, and how close is close enough."""

from __future__ import annotations

# Seconds: small, so 20 probes take about 3 s.
FIRST_BYTE, FIRST_TOKEN, TOKEN_GAP, TOKENS = 0.05, 0.05, 0.005, 5
TOLERANCE_MS = 5.0
FLOOR = 0.001  # the floor emulator's shapes: it sleeps and wakes like the shaped one, briefly


def least(samples: list[float]) -> float:
    """The figure compared with the truth: the least of a batch, in milliseconds.

    Noise on a shared machine only ever adds (a sleep never ends early; a busy CPU only delays a
    wake-up), so the least of 20 probes is the one with the least noise in it, as `timeit` takes the
    minimum. A median moved with the machine's load: on 2 cores running three test workers, more than
    half of a batch could be late by 10 ms. A measuring error of gridctl's own is in every probe, the
    least included, so it still shows.
    """
    return min(samples) * 1000


def off_target(shaped_ms: dict[str, float], floor_ms: dict[str, float]) -> list[str]:
    """What is further than TOLERANCE_MS from the injected truth, after the floor is subtracted."""
    misses = []
    for metric, injected, floor_injected in (("ttfb_ms", FIRST_BYTE, FLOOR),
                                             ("ttft_ms", FIRST_BYTE + FIRST_TOKEN, 2 * FLOOR)):
        assert shaped_ms[metric] >= injected * 1000 - 0.5, (metric, shaped_ms)  # never less than the truth
        added = shaped_ms[metric] - floor_ms[metric] + floor_injected * 1000
        if abs(added - injected * 1000) > TOLERANCE_MS:
            misses.append(f"{metric}: {shaped_ms[metric]:.1f} - floor {floor_ms[metric]:.1f} vs {injected * 1000:.0f}")
    if abs(shaped_ms["itl_ms"] - TOKEN_GAP * 1000) > TOLERANCE_MS:
        misses.append(f"itl_ms: {shaped_ms['itl_ms']:.1f} vs {TOKEN_GAP * 1000:.0f}")
    return misses
