"""From resolved settings to what the network steps need: the target, the deadline, the client.

A convenience for the core modules above probe/ (auth, onboard, doctor, watch). probe/ itself never
imports this module: what it needs lives below it (target.py, probe/deadline.py, probe/client.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridctl.settings import Settings
from gridctl.target import base_url_for as base_url_for
from gridctl.target import target_for

if TYPE_CHECKING:
    from gridctl.probe.client import Net
    from gridctl.probe.deadline import Deadline
    from gridctl.target import Target


def target(settings: Settings, model: str | None = None, with_key: bool = True) -> Target:
    return target_for(settings, model, with_key)


def net(settings: Settings, retries: int = 2, deadline: Deadline | None = None) -> Net:
    from gridctl.probe.client import net_for

    return net_for(settings, retries, deadline)
