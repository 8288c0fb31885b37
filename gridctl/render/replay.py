"""replay's human text: the recorded answer beside the new one, the minimized request, the diff."""

from __future__ import annotations

from typing import Any

from gridctl.render import Text
from gridctl.result import Report


def _answer(status: Any, codes: Any, rid: Any) -> str:
    shown = f"HTTP {status}" if status else "no answer"
    if codes:
        shown += f" {' '.join(codes) if isinstance(codes, list) else codes}"
    return shown + (f" req={rid}" if rid else "")


def header(report: Report) -> str:
    rec = report.extra.get("recorded") or {}
    return (f"gridctl replay: call {rec.get('call')} of {report.extra.get('har')}: {rec.get('method')} "
            f"{rec.get('url')}")


def replay_text(report: Report) -> Text:
    rec = report.extra.get("recorded") or {}
    new = report.extra.get("replayed")
    footer = [f"recorded: {_answer(rec.get('status'), rec.get('codes'), rec.get('request_id'))}"]
    if new:
        footer.append(f"replayed: {_answer(new.get('status'), new.get('code'), new.get('request_id'))} "
                      f"({new.get('url')})")
    return Text(header(report), footer)


def minimize_text(report: Report) -> Text:
    m = report.extra.get("minimize") or {}
    rec = report.extra.get("recorded") or {}
    footer = [f"recorded: {_answer(rec.get('status'), rec.get('codes'), rec.get('request_id'))}"]
    fail = m.get("failure")
    footer.append(f"requests: {m.get('requests')} sent (at most {m.get('max_requests')})"
                  + ("" if m.get("complete") else "; the search did not finish"))
    if fail:
        footer.append(f"still failing with: HTTP {fail.get('status')} {fail.get('code') or ''}".rstrip())
    if m.get("sentence"):
        footer.append(f"result: {m['sentence']}")
    if m.get("field") is not None:
        import json

        footer.append(f"value: {m['field']} = {json.dumps(m.get('value'), ensure_ascii=False)[:200]}")
    if fail:
        footer += ["", "smallest failing request:", m.get("minimal_curl") or ""]
    if m.get("passing_curl"):
        footer += ["", "the same without it (succeeds):", m["passing_curl"]]
    return Text(header(report), footer)


def diff_text(report: Report) -> Text:
    d = report.extra.get("diff") or {}
    footer: list[str] = []
    for row in d.get("url") or []:
        footer.append(f"url {row['part']}: recorded {row['recorded']!r}, ping {row['ping']!r}")
    for row in d.get("headers") or []:
        footer.append(f"header {row['header']}: recorded {row['recorded']!r}, ping {row['ping']!r}")
    for row in d.get("body") or []:
        footer.append(f"body {row['field']}: recorded {row['recorded']!r}, ping {row['ping']!r}")
    if not footer:
        footer.append("no difference in URL, headers or body fields")
    return Text(header(report), footer)
