"""One probe for watch and the exporter: ping (or the stream check), reduced to a Sample.

The checks are the same ones `ping` and `doctor` run, so a failure is counted under the very
finding code `doctor` would give it. A probe does not retry by default: a monitor must see
each 429 or 5xx, not what a retry hid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gridctl.findings import ERROR
from gridctl.result import CheckResult
from gridctl.target import Target
from gridctl.watch.stats import Sample

PHASES = ("dns", "connect", "tls", "ttfb")


def probe_once(target: Target, *, stream: bool, timeout: float, retries: int = 0,
               transport: Any = None) -> tuple[Sample, CheckResult]:
    """Run one probe within `timeout` seconds; never raises for an expected failure."""
    from gridctl.probe.client import Deadline, Net
    from gridctl.probe.ping import ping
    from gridctl.probe.stream import check_stream

    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    with Net(Deadline(timeout), retries=retries, transport=transport) as net:
        check = check_stream(net, target) if stream else ping(net, target, retry=retries > 0)
    return sample_of(check, target.model, at), check


def sample_of(check: CheckResult, instrument: str, at: str = "") -> Sample:
    d = check.data
    errors = [f for f in check.findings if f.severity == ERROR]
    timings = d.get("timings_ms") or {}
    figures: dict[str, float | None] = {f"{p}_ms": timings.get(p) for p in PHASES}
    if "ttft_ms" in d:  # a stream probe: the total runs to the stream's end
        figures.update(ttft_ms=d.get("ttft_ms"), total_ms=d.get("stream_total_ms") or round(check.duration_ms, 2),
                       itl_ms=d.get("itl_ms"), tokens_per_s=d.get("tokens_per_s"))
    else:
        figures.update(ttft_ms=None, total_ms=timings.get("total") or round(check.duration_ms, 2),
                       itl_ms=None, tokens_per_s=None)
    return Sample(instrument=instrument, ok=not errors, code=errors[0].code if errors else None,
                  message=errors[0].message if errors else "", status_code=d.get("status_code"),
                  request_id=d.get("request_id"), at=at, figures=figures,
                  tokens=d.get("tokens") if "tokens" in d else None)
