"""From resolved settings to what the network steps need: the target, the deadline, the client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridctl import grid
from gridctl.settings import Settings

if TYPE_CHECKING:
    from gridctl.probe.client import Deadline, Net
    from gridctl.target import Target


def base_url_for(settings: Settings) -> str:
    """The base URL in effect; on the messages API the default is the messages-beta host."""
    base = settings.base_url
    if settings.api.value == "messages" and base.source == "default":
        return f"{grid.MESSAGES_ROOT}/v1"
    return base.value or grid.DEFAULT_BASE_URL


def target(settings: Settings, model: str | None = None, with_key: bool = True) -> Target:
    from gridctl.target import Target

    return Target(base_url=base_url_for(settings), key=settings.key.value if with_key else None,
                  model=model or settings.model.value or grid.DEFAULT_MODEL, api=settings.api.value or "chat")


def net(settings: Settings, retries: int = 2, deadline: Deadline | None = None) -> Net:
    from gridctl.probe.client import Deadline, Net

    return Net(deadline or Deadline(settings.timeout), retries=retries)
