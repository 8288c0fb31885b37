"""The only module that prints: the rich checklist, the JSON envelope, one-line errors.

Everything written passes secrets.scrub(), the last line of defence for the key.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any

from gridctl.findings import ERROR, WARNING, Finding
from gridctl.result import FAIL, PASS, SKIP, WARN, CheckResult, Report
from gridctl.secrets import scrub, scrub_json
from gridctl.textsafe import clean, json_safe

SCHEMA = "gridctl/1"
ENVELOPE_KEYS = ("schema", "command", "ok", "exit_code", "diagnosis", "checks", "request_ids", "target",
                 "started_at", "duration_ms")


@dataclass
class Output:
    json: bool = False
    no_color: bool = False
    quiet: bool = False
    verbose: bool = False
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    @property
    def color(self) -> bool:
        if self.no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
            return False
        return bool(getattr(self.stdout, "isatty", lambda: False)())

    @property
    def interactive_stderr(self) -> bool:
        return bool(getattr(self.stderr, "isatty", lambda: False)()) and not self.json and not self.quiet


def envelope(report: Report) -> dict[str, Any]:
    cause = report.root_cause()
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "command": report.command,
        "ok": report.ok,
        "exit_code": int(report.exit_code),
        "diagnosis": None if cause is None else _diagnosis(report, cause),
        "checks": [c.as_json() for c in report.checks],
        "request_ids": list(report.request_ids),
        "target": report.target,
        "started_at": report.started_at,
        "duration_ms": round(report.duration_ms, 1),
    }
    doc.update(report.extra)
    return doc


def _diagnosis(report: Report, cause: Finding) -> dict[str, Any]:
    """The root cause; additively (gridctl/1), how sure it is and what would settle it."""
    doc: dict[str, Any] = {"code": cause.code, "title": cause.entry.title, "message": cause.message, "fix": cause.fix}
    if report.certain is not None:
        doc["certain"] = report.certain
    if report.candidates:
        doc["candidates"] = [{"code": f.code, "title": f.entry.title} for f in report.candidates]
    if report.next_step:
        doc["next"] = report.next_step
    return doc


def simple_envelope(command: str, **extra: Any) -> dict[str, Any]:
    """The envelope of a command that reports data, not checks (explain, emulator list)."""
    return envelope(Report(command, extra=extra))


def error_envelope(command: str, exit_code: int, message: str) -> dict[str, Any]:
    """The envelope of a command that could not run (bad input): no checks, the error in one line."""
    return simple_envelope(command, error=message) | {"ok": False, "exit_code": exit_code}


def write_json(doc: dict[str, Any], out: Output) -> None:
    # Scrub the values, not the serialised text (a key containing `": "` would cut through the quoting);
    # then the text once more, kept only if it is still the same JSON document shape.
    text = json_safe(json.dumps(scrub_json(doc), indent=2, ensure_ascii=False))
    again = scrub(text)
    if again != text:
        try:
            json.loads(again)
            text = again
        except ValueError:
            pass
    _write(out.stdout, text + "\n")


def _ascii(out: Output) -> bool:
    enc = (getattr(out.stdout, "encoding", None) or "").lower().replace("-", "")
    return enc not in ("utf8", "utf16", "utf32")


SYMBOLS: dict[str, tuple[str, str, str]] = {PASS: ("✓", "[ok]", "green"), WARN: ("!", "[!]", "yellow"), FAIL: ("✗", "[x]", "red"),
           SKIP: ("-", "[-]", "dim")}
SEV = {ERROR: ("✗", "x", "red"), WARNING: ("!", "!", "yellow"), "info": ("i", "i", "blue")}


def console(out: Output, stderr: bool = False) -> Any:
    from rich.console import Console

    con = Console(file=out.stderr if stderr else out.stdout, no_color=not out.color,
                  color_system="auto" if out.color else None, highlight=False, emoji=False,
                  soft_wrap=not out.color, width=None if out.color else 100)
    # rich's default turns a closed pipe into exit 1 ("gridctl itself failed"); the command's guard
    # turns a BrokenPipeError into a quiet exit instead.
    con.on_broken_pipe = _broken_pipe  # type: ignore[method-assign]
    return con


def _broken_pipe() -> None:
    raise BrokenPipeError


def esc(text: str) -> str:
    """Text for rich markup: the key scrubbed, escape sequences and controls removed, markup escaped."""
    from rich.markup import escape

    return escape(clean(scrub(str(text))))


def finding_lines(f: Finding, plain: bool, indent: str = "    ") -> list[str]:
    sym, asc, style = SEV.get(f.severity, SEV["info"])
    mark = asc if plain else sym
    if f.severity == "info":
        return [f"{indent}[{style}]{mark}[/] {esc(f.message)} [dim]({f.code})[/]"]
    lines = [f"{indent}[{style}]{mark}[/] [bold]{esc(f.entry.title)}[/] [dim]({f.code})[/]"]
    lines.append(f"{indent}  {esc(f.message)}")
    lines.append(f"{indent}  [cyan]fix:[/] {esc(f.fix)}")
    return lines


def _same_words(a: str, b: str) -> bool:
    return a.strip().rstrip(".").casefold() == b.strip().rstrip(".").casefold()


def check_lines(check: CheckResult, plain: bool, show_info: bool = True, shown: set[str] | None = None) -> list[str]:
    """`shown`: codes whose title and fix an earlier step already printed; a repeat is one line of evidence."""
    sym, asc, style = SYMBOLS[check.status]
    timing = f" [dim]{check.duration_ms:.0f} ms[/]" if check.duration_ms >= 1 else ""
    note = check.data.get("summary")
    head = f"[{style}]{asc if plain else '[' + sym + ']'}[/] {esc(check.title)}"
    if note:
        head += f" [dim]-[/] {esc(str(note))}"
    lines = [head + timing]
    for f in check.findings:
        if f.severity == "info" and (not show_info or (note and _same_words(str(note), f.message))):
            continue  # an info that only repeats the step's summary line
        if shown is not None and f.severity != "info" and f.code in shown:
            mark = SEV[f.severity][1] if plain else SEV[f.severity][0]
            lines.append(f"    [{SEV[f.severity][2]}]{mark}[/] {esc(f.message)} [dim]({f.code}, as above)[/]")
            continue
        if shown is not None:
            shown.add(f.code)
        lines.extend(finding_lines(f, plain))
    return lines


def render_human(report: Report, out: Output, header: str | None = None, footer: list[str] | None = None,
                 show_info: bool = True) -> None:
    """The checklist: one block per check in flow order, then the command's closing lines."""
    con = console(out)
    plain = _ascii(out)
    if header:
        con.print(f"[bold]{esc(header)}[/]")
    shown: set[str] = set()
    for check in report.checks:
        for line in check_lines(check, plain, show_info, shown):
            con.print(line)
    for line in footer or []:
        con.print(esc(line))


def print_line(text: str, out: Output, markup: bool = False) -> None:
    """One line on stdout (ping's line, a canonical URL): plain unless markup is asked for."""
    if markup:
        console(out).print(clean(scrub(text)))
    else:
        _write(out.stdout, clean(scrub(text)) + "\n")


def print_markup(lines: list[str], out: Output) -> None:
    """Lines a render module composed in rich markup (escaped there), on stdout."""
    con = console(out)
    for line in lines:
        con.print(line)


def error_line(message: str, out: Output) -> None:
    """gh-style one-line error on stderr."""
    _write(out.stderr, clean(scrub(f"gridctl: {message}".rstrip()), newlines=False) + "\n")


def _write(stream: IO[str], text: str) -> None:
    """Write, replacing what the stream's encoding cannot hold (PYTHONIOENCODING=ascii, LANG=C):
    a diagnostic tool must not crash on its own output."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        enc = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(enc, "replace").decode(enc, "replace"))
    stream.flush()


def emit_lines(report: Report, lines: list[str], out: Output) -> int:
    """A command whose human output is a few plain lines (ping): those, or the envelope; the exit code."""
    if out.json:
        write_json(envelope(report), out)
    elif not out.quiet:
        for line in lines:
            print_line(line, out)
    return int(report.exit_code)


def emit_data(doc: dict[str, Any], lines: list[str], out: Output) -> None:
    """A command that reports data, not checks (emulator list/serve): the document, or its lines."""
    if out.json:
        write_json(doc, out)
    else:
        for line in lines:
            print_line(line, out)


def emit(report: Report, out: Output, header: str | None = None, footer: list[str] | None = None,
         show_info: bool = True) -> int:
    """Write the report in the chosen form and return its exit code."""
    if out.json:
        write_json(envelope(report), out)
    elif not out.quiet:
        render_human(report, out, header, footer, show_info)
    return int(report.exit_code)


def flush_stdout() -> None:
    """Flush stdout now: a closed pipe shows up here for buffered output, not inside the command."""
    sys.stdout.flush()


def closed_pipe() -> int:
    """The reader of stdout went away (`gridctl explain --list | head -1`): stop quietly, exit 0.

    stdout is pointed at /dev/null so the interpreter's last flush cannot raise again at exit.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout file descriptor (a test runner's buffer)
        pass
    return 0


def harden_streams() -> None:
    """PYTHONIOENCODING=ascii, LANG=C, and argv bytes that are not UTF-8 (surrogate escapes):
    replace what cannot be written instead of dying in the middle of a report."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a closed or detached stream: nothing to protect
                pass


def flush_all() -> None:
    """Flush both streams before a hard exit (os._exit skips it); a closed one is nothing to save."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (ValueError, OSError):
            pass


def print_key(key: str, out: Output) -> None:
    """`gridctl auth token`: the one place the key is written, on purpose and unscrubbed, for
    `export THEGRID_API_KEY="$(gridctl auth token)"`; the command refuses a terminal and --json."""
    out.stdout.write(key + "\n")
    out.stdout.flush()
