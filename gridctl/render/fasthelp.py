"""`gridctl --help` (and a bare `gridctl`) without importing typer or any command module.

The top-level help is the most-run command of a CLI one is learning, and building it through typer
means importing and introspecting every command (bench: ~3x `import typer`). This prints the same
content as plain text from a table; tests/unit/test_startup.py checks the table against what the
commands register, and a command missing from it falls back to typer's own help.
"""

from __future__ import annotations

import sys

DESCRIPTION = "Tells you in seconds why your calls to The Grid fail, and what to change."
# command -> its registered one-line help (checked by a test: the two cannot drift apart)
SUMMARIES = {
    "doctor": "Walk The Grid's troubleshooting flow; end with the root cause, the fix and the request ID for support.",
    "status": "Check The Grid's status page for incidents (no credentials sent).",
    "ping": "Send the troubleshooting page's curl request (\"ping\" to text-prime); one line out.",
    "url": "Lint a base URL and print the canonical one for your SDK (offline).",
    "models": "List the instruments, or validate NAME and suggest the right one.",
    "balance": "Probe instruments for 402s and explain them (credits vs tokens).",
    "explain": "Explain a finding code, an HTTP status, or any pasted error text, traceback, response body or "
               "log (TEXT, `-` for stdin, or --file LOG): cause, fix, exit code.",
    "lint-curl": "Paste a failing curl command; lints its URL, headers and body, offline.",
    "onboard": "The onboarding checklist: key, base URL, ping, instrument, streaming, tools and JSON mode, "
               "balance; ends with a config snippet for your SDK.",
    "watch": "Probe repeatedly: p50/p95/p99 of TTFB, time to first token and total; failures by code. "
             "--timeout bounds each probe.",
    "exporter": "Serve Prometheus metrics: /probe?instrument=text-prime&api=chat runs one probe per scrape.",
    "usage": "Show the usage receipt of a request (GET /v1/usage/{id}); fails soft.",
    "trace": "Run your own program through a loopback recording proxy and diagnose every call it makes.",
    "replay": "Re-send a call recorded by `trace --har`; shrink a failing one to the field that breaks it "
              "(--minimize), or diff it against gridctl's own ping (--diff).",
    "auth": "Check the auth header; store, show and remove the key.",
    "emulator": "A local emulator of The Grid with named fault scenarios.",
}
GROUPS = ("auth", "emulator")  # typer lists command groups after the plain commands
OPTIONS = (
    ("--version, -V", "Print the version and exit."),
    ("--install-completion", "Install completion for the current shell."),
    ("--show-completion", "Show completion for the current shell, to copy it or customize the installation."),
    ("--help, -h", "Show this message and exit."),
)


def render(commands: list[str]) -> str | None:
    """The help text, or None when a command has no summary here (then typer's help is shown)."""
    if any(name not in SUMMARIES for name in commands):
        return None
    import textwrap

    def table(rows: list[tuple[str, str]]) -> list[str]:
        width = max(len(a) for a, _ in rows) + 2
        lines = []
        for left, text in rows:
            wrapped = textwrap.wrap(text, 78 - width, break_on_hyphens=False) or [""]
            lines.append(f"  {left.ljust(width)}{wrapped[0]}")
            lines += [f"  {'':{width}}{more}" for more in wrapped[1:]]
        return lines

    out = ["Usage: gridctl [OPTIONS] COMMAND [ARGS]...", "", DESCRIPTION, "", "Options:", *table(list(OPTIONS)),
           "", "Commands:", *table([(c, SUMMARIES[c]) for c in sorted(commands, key=lambda c: c in GROUPS)]), "",
           "Run `gridctl COMMAND --help` for a command's options; `gridctl explain --list` for every finding code."]
    return "\n".join(out) + "\n"


def show(commands: list[str]) -> bool:
    """Print the help if this module can; False means: let typer do it."""
    text = render(commands)
    if text is None:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True
