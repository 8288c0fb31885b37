"""What a request goes to: base URL, key, instrument, API. No httpx here, so `ping --curl` stays light."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridctl import grid

if TYPE_CHECKING:
    from gridctl.settings import Settings

ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True)
class Target:
    base_url: str
    key: str | None
    model: str
    api: str = "chat"  # or "messages"

    @property
    def endpoint(self) -> str:
        # A plain join, like curl and hand-written clients: a doubled /v1 or a trailing slash in the
        # base reaches the server as is, so the server's answer shows the user's real problem.
        base = self.base_url.strip()
        return base + ("/messages" if self.api == "messages" else grid.CHAT_PATH)

    def body(self, stream: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": "ping"}]}
        if self.api == "messages":
            body["max_tokens"] = 16
        if stream:
            body["stream"] = True
        return body

    def headers(self) -> dict[str, str]:
        h = {"content-type": "application/json"}
        if self.api == "messages":
            h["anthropic-version"] = ANTHROPIC_VERSION
        return h

    def auth(self) -> tuple[str, str] | None:
        if not self.key:
            return None
        return ("x-api-key", self.key) if self.api == "messages" else ("authorization", f"Bearer {self.key}")


def base_url_for(settings: Settings) -> str:
    """The base URL in effect; on the messages API the default is the messages-beta host."""
    base = settings.base_url
    if settings.api.value == "messages" and base.source == "default":
        return f"{grid.MESSAGES_ROOT}/v1"
    return base.value or grid.DEFAULT_BASE_URL


def target_for(settings: Settings, model: str | None = None, with_key: bool = True) -> Target:
    """The Target the settings name (the key left out with `with_key=False`)."""
    return Target(base_url=base_url_for(settings), key=settings.key.value if with_key else None,
                  model=model or settings.model.value or grid.DEFAULT_MODEL, api=settings.api.value or "chat")


def curl_command(target: Target, stream: bool = False) -> str:
    """The exact equivalent curl command, with the key as $THEGRID_API_KEY, ready for `sh`."""
    import json

    if target.api == "messages":
        auth = '-H "x-api-key: $THEGRID_API_KEY"'
        extra = f" -H {shlex.quote('anthropic-version: ' + ANTHROPIC_VERSION)}"
    else:
        auth = '-H "Authorization: Bearer $THEGRID_API_KEY"'
        extra = ""
    body = json.dumps(target.body(stream), separators=(",", ":"))
    flags = "-sS -L" + (" -N" if stream else "")
    return (f"curl {flags} {shlex.quote(target.endpoint)} \\\n  {auth} \\\n"
            f"  -H 'Content-Type: application/json'{extra} \\\n  -d {shlex.quote(body)}")
