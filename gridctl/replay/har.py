"""A HAR file (gridctl trace's, or a browser's) -> the calls in it, pure and offline.

Every way a file can be unusable is a UsageError with one line (exit 2): not a HAR, no calls, a
request body the HAR does not hold (streamed), or one it holds only in part (cut at trace's capture cap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gridctl.errors import UsageError

MAX_HAR = 64 * 1024 * 1024
CAPTURE_CAP = 16 * 1024  # trace/record.py's cap on each recorded body (kept here: no trace import)


@dataclass(frozen=True)
class RecordedCall:
    """One request of the HAR and what it got. Auth header values are as recorded (redacted)."""

    index: int                      # 1-based position among the HAR's entries (--call N)
    method: str
    url: str                        # the URL the program meant (trace: its own setting's), not the proxy's
    headers: tuple[tuple[str, str], ...]
    body_text: str | None           # None: no body
    status: int | None              # the final answer's (a redirect's second hop counts for its first)
    response_body: str = ""
    request_id: str | None = None
    codes: tuple[str, ...] = ()     # trace's finding codes for the call, when the HAR is gridctl's
    hop_of: int | None = None       # this entry is the second hop of that entry's redirect
    problem: str | None = None      # why it cannot be re-sent (a streamed or cut body): exit 2 when picked

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def api(self) -> str:
        return "messages" if urlsplit(self.url).path.rstrip("/").endswith("/messages") else "chat"

    @property
    def failing(self) -> bool:
        return self.status is None or self.status == 0 or self.status >= 400

    def json_body(self) -> Any:
        if self.body_text is None:
            return None
        try:
            return json.loads(self.body_text)
        except (ValueError, RecursionError):
            return None

    @property
    def model(self) -> str | None:
        body = self.json_body()
        return str(body["model"]) if isinstance(body, dict) and isinstance(body.get("model"), str) else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def load(path: Path) -> list[RecordedCall]:
    """Every call of the HAR at `path`, in order; UsageError when the file is not a usable HAR."""
    from gridctl.localfile import LocalFileError, read_limited

    try:
        raw = read_limited(path, MAX_HAR)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except LocalFileError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    return parse(raw, str(path))


def parse(raw: bytes, name: str = "the HAR") -> list[RecordedCall]:
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{name} is not a HAR file (not JSON)") from None
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{name} is not a HAR file (no log.entries)")
    calls = [c for c in (_call(i, e) for i, e in enumerate(entries, 1)) if c is not None]
    if not calls:
        raise UsageError(f"{name} holds no calls")
    # A redirect's second hop answers for the first: the call "failed" when its last hop did.
    finals = {c.hop_of: c for c in calls if c.hop_of is not None}
    out = []
    for call in calls:
        hop = finals.get(call.index)
        while hop is not None and hop.index in finals:
            hop = finals[hop.index]
        if hop is not None and call.status is not None and 300 <= call.status < 400:
            call = replace(call, status=hop.status, response_body=hop.response_body,
                           request_id=hop.request_id or call.request_id, codes=call.codes + hop.codes)
        out.append(call)
    return out


def _call(index: int, entry: Any) -> RecordedCall | None:
    req = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(req, dict) or not isinstance(req.get("method"), str) or not isinstance(req.get("url"), str):
        return None
    resp: dict[str, Any] = entry["response"] if isinstance(entry.get("response"), dict) else {}
    ext: dict[str, Any] = entry["_gridctl"] if isinstance(entry.get("_gridctl"), dict) else {}
    sdk_url = ext.get("sdk_url")
    url = sdk_url if isinstance(sdk_url, str) and sdk_url else str(req["url"])
    headers = tuple((str(h.get("name", "")), str(h.get("value", ""))) for h in req.get("headers") or []
                    if isinstance(h, dict))
    _register(url, headers)
    status = resp.get("status")
    content: dict[str, Any] = resp["content"] if isinstance(resp.get("content"), dict) else {}
    rid = next((v for k, v in _headers(resp) if k.lower() in ("x-grid-request-id", "x-request-id")), None)
    codes = tuple(str(f.get("code")) for f in ext.get("findings") or [] if isinstance(f, dict) and f.get("code"))
    hop_of = ext.get("hop_of")
    body, problem = _body(index, req)
    return RecordedCall(index=index, method=req["method"].upper(), url=url, headers=headers, problem=problem,
                        body_text=body, status=status if isinstance(status, int) else None,
                        response_body=str(content.get("text") or ""), request_id=rid, codes=codes,
                        hop_of=hop_of if isinstance(hop_of, int) else None)


def _register(url: str, headers: tuple[tuple[str, str], ...]) -> None:
    """A HAR not written by gridctl (a browser's) may hold a real key: every credential in it is registered, so
    whatever replay writes (the URL, a curl, an error) has it scrubbed. gridctl's own HAR holds fingerprints."""
    from gridctl.secrets import SECRET_HEADERS, redact_url, register

    redact_url(url)  # registers signed tokens and keys in the query
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and "…" not in value:
            scheme, _, rest = value.strip().partition(" ")
            register(rest.strip() if rest and scheme.lower() in ("bearer", "basic", "token") else value.strip())


def _headers(part: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(h.get("name", "")), str(h.get("value", ""))) for h in part.get("headers") or [] if isinstance(h, dict)]


def _body(index: int, req: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the request body as recorded, why it cannot be re-sent: the HAR does not hold all of it)."""
    size = req.get("bodySize")
    size = size if isinstance(size, int) else -1
    post = req.get("postData")
    text = post.get("text") if isinstance(post, dict) else None
    if not isinstance(text, str):
        if size > 0 or (isinstance(post, dict) and post.get("params")):
            return None, (f"call {index}: streamed body: the request body is not in the HAR; replay re-sends "
                          "only bodies recorded whole")
        return None, None
    held = len(text.encode("utf-8"))
    if size > CAPTURE_CAP or (size > held and not _is_json(text)):
        return None, (f"call {index}: cut body: the HAR kept {held} of its {size} bytes, so it cannot be "
                      "re-sent as it was")
    return text, None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def pick(calls: list[RecordedCall], n: int | None, name: str = "the HAR") -> RecordedCall:
    """--call N (1-based), else the first failing call, else the first call."""
    if n is not None:
        found = next((c for c in calls if c.index == n), None)
        if found is None:
            shown = ", ".join(str(c.index) for c in calls[:10]) + (", ..." if len(calls) > 10 else "")
            raise UsageError(f"--call {n}: {name} has no call {n} (its calls: {shown})")
        if found.hop_of is not None:
            raise UsageError(f"--call {n}: call {n} is the second hop of call {found.hop_of}'s redirect; "
                             f"replay call {found.hop_of}")
    else:
        firsts = [c for c in calls if c.hop_of is None] or calls
        found = next((c for c in firsts if c.failing), firsts[0])
    if found.problem:
        raise UsageError(found.problem)
    return found
