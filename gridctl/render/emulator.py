"""emulator serve / list: what the user reads and the JSON documents, composed from plain data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridctl import grid
from gridctl.report import simple_envelope


def serve(scenario: str, base_url: str, root_url: str, demo_key: str) -> tuple[dict[str, Any], list[str]]:
    doc = simple_envelope("emulator serve", scenario=scenario, base_url=base_url, status_url=root_url,
                          demo_key=demo_key)
    lines = [f"gridctl emulator: scenario {scenario} on {base_url} (Ctrl-C stops)",
             f"  export {grid.ENV_BASE_URL}={base_url} {grid.ENV_STATUS_URL}={root_url} "
             f"{grid.ENV_API_KEY}={demo_key}"]
    return doc, lines


def scenario_list(descriptions: Mapping[str, str], validation: str = "") -> tuple[dict[str, Any], list[str]]:
    doc = simple_envelope("emulator list", scenarios=[{"name": n, "description": d} for n, d in descriptions.items()],
                          **({"validation": validation} if validation else {}))
    lines = [f"{name:22} {d}" for name, d in descriptions.items()]
    return doc, lines + ([f"Request validation: {validation}."] if validation else [])
