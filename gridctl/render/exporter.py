"""What `gridctl exporter` says: where it serves, and a warning when that is beyond this machine."""

from __future__ import annotations

from typing import Any

from gridctl.report import simple_envelope


def beyond_loopback(host: str) -> str:
    return f"warning: listening on {host}, beyond this machine; the metrics name your instruments (never your key)"


def listen_question(host: str) -> str:
    return (f"Serve the exporter on {host}, reachable from other machines? Anyone who reaches /probe makes "
            "calls to The Grid with your key")


def ready(url: str, instrument: str | None) -> tuple[dict[str, Any], list[str]]:
    """The document (--json) and the line announcing the exporter's URLs."""
    probe_url = f"{url}/probe?instrument={instrument}&api=chat"
    doc = simple_envelope("exporter", listen=url, probe_url=probe_url, metrics_url=f"{url}/metrics")
    return doc, [f"gridctl exporter on {url}: {probe_url}, {url}/metrics (Ctrl-C stops)"]
