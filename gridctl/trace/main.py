"""`gridctl trace` as a function: options in, a Report (and the child's exit code) out."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from gridctl import grid
from gridctl.errors import UsageError
from gridctl.result import Report
from gridctl.trace import diagnose as diag
from gridctl.trace.proxy import Proxy
from gridctl.trace.record import Call
from gridctl.trace.session import Plan, run

LIVE_WINDOW = 64  # the calls before a live line that its diagnosis reads

ExitMode = Literal["child", "diagnosis"]


@dataclass
class TraceOptions:
    argv: list[str]
    env: Mapping[str, str]
    emulate: str | None = None
    har: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    timeout: float = 300.0
    idle_warn_s: float = 5.0
    json: bool = False
    exit_code: ExitMode = "child"


def trace_options(argv: list[str], env: Mapping[str, str], *, emulate: str | None, har: Path | None,
                  listen: str | None, yes: bool, timeout: float, idle_warn_s: float, json: bool,
                  exit_code: ExitMode) -> TraceOptions:
    """The options of `gridctl trace`, checked (usage errors, exit 2), with the address to listen on."""
    if not argv and listen is None:
        raise UsageError("give a command after `--`, or --listen [HOST:]PORT to run the proxy alone")
    if emulate is not None:
        from gridctl.emulator.scenarios import SCENARIOS

        if emulate not in SCENARIOS:
            raise UsageError(f"unknown scenario {emulate!r}; `gridctl emulator list` shows them")
    host, port = listen_address(listen, yes)
    return TraceOptions(argv=argv, env=env, emulate=emulate, har=har, host=host, port=port, timeout=timeout,
                        idle_warn_s=idle_warn_s, json=json, exit_code=exit_code)


def listen_address(listen: str | None, yes: bool) -> tuple[str, int]:
    """--listen as (host, port); a non-loopback host needs --yes or a yes on a terminal."""
    if listen is None:
        return "127.0.0.1", 0
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from gridctl.prompts import allow_listen
    from gridctl.render.trace import listen_question

    allow_listen(host, yes, listen_question(host))  # the exporter's rule too
    return host, port


def run_trace(opts: TraceOptions) -> tuple[Report, int | None, list[Call]]:
    """trace() with its lines and closing summary on stderr; under --json the program's stdout goes to stderr too, so
    stdout holds only the JSON document. A program that cannot start is a usage error."""
    from gridctl.trace.session import ChildError

    child_stdout: int | None = None
    if opts.json:
        try:
            child_stdout = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # a captured stderr (tests): the child's output is dropped
            child_stdout = subprocess.DEVNULL
    try:
        report, code, calls = trace(opts, stderr_say, child_stdout)
    except ChildError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot start the proxy on {opts.host}:{opts.port}: {exc.strerror or exc}") from None
    if not opts.json:
        from gridctl.render.trace import summary_lines

        for line in summary_lines(report, calls, code):
            stderr_say(line)
    return report, code, calls


def exit_status(opts: TraceOptions, diagnosis: int, child: int | None) -> int:
    """The program's own exit code (like `time`), or gridctl's diagnosis with --exit-code diagnosis."""
    if opts.exit_code == "diagnosis" or child is None:
        return diagnosis
    return child


def parse_listen(value: str) -> tuple[str, int]:
    """`[HOST:]PORT` -> (host, port); ValueError with the reason."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {value!r}: expected [HOST:]PORT with PORT 0-65535")
    return host, int(port)


def is_loopback(host: str) -> bool:
    return grid.is_loopback_host(host)


def trace(opts: TraceOptions, say: Callable[[str], None], child_stdout: IO[str] | int | None = None
          ) -> tuple[Report, int | None, list[Call]]:
    from gridctl.render.trace import call_line, export_lines

    lock = threading.Lock()
    holder: list[Proxy] = []

    def on_call(call: Call) -> None:
        # A live line reads the calls just before it (retries, redirect hops); diagnosing the whole session
        # for each one grew with its length (260 ms of CPU per call after 2,000 calls).
        with lock:
            window = [c for c in (holder[0].recent(LIVE_WINDOW) if holder else []) if c.done.is_set() and c is not call]
            diag.diagnose(sorted([*window, call], key=lambda c: c.id), final=False,
                          idle_warn_ms=opts.idle_warn_s * 1000)
            say(call_line(call))

    def on_ready(proxy: Proxy, exports: dict[str, str]) -> None:
        holder.append(proxy)
        if not opts.argv:
            for line in export_lines(exports):
                say(line)
            say(f"trace: listening on {proxy.root}; Ctrl-C to stop")

    emu = None
    if opts.emulate is not None:
        from gridctl.emulator.server import start

        emu = start(scenario=opts.emulate)
    try:
        plan = Plan(argv=list(opts.argv), env=opts.env, emulate_root=emu.root_url if emu else None,
                    host=opts.host, port=opts.port, timeout=opts.timeout, on_call=on_call, on_ready=on_ready,
                    stdout=child_stdout)  # type: ignore[arg-type]
        calls, code = run(plan)
        with lock:
            rep = diag.report(calls, opts.argv, code, _target(opts), idle_warn_ms=opts.idle_warn_s * 1000,
                              expect_calls=bool(opts.argv))
        status_url = emu.root_url if emu else (opts.env.get(grid.ENV_STATUS_URL) or grid.DEFAULT_STATUS_URL)
        _incident(rep, status_url)
    finally:
        if emu is not None:
            emu.stop()
    if opts.emulate:
        rep.extra["emulated"] = opts.emulate
    rep.extra["child_exit_code"] = code
    if holder and holder[0].forgotten:
        rep.extra["calls_not_kept"] = holder[0].forgotten  # the oldest, beyond MAX_KEPT
    if opts.har is not None:
        from gridctl.trace.har import write

        write(calls, opts.har)
    return rep, code, calls


def _incident(rep: Report, status_url: str) -> None:
    """doctor's rule: a 5xx or a network failure during an active incident is the incident (exit 8).

    Asked only when the root cause is one The Grid could be causing; no credentials are sent.
    """
    from gridctl.findings import ExitCode

    cause = rep.root_cause()
    if cause is None or not (cause.code in GRID_SIDE or cause.code.startswith("net.")):
        return
    from gridctl.probe.client import Deadline, Net
    from gridctl.probe.status import check_status

    with Net(Deadline(3.0), retries=0) as net:
        status = check_status(net, status_url)
    rep.checks.insert(0, status)
    incident = next((f for f in status.findings if f.code == "status.incident"), None)
    if incident is not None:
        rep.diagnosis, rep.exit_override = incident, ExitCode.GRID_FAILING


GRID_SIDE = ("http.server_error", "http.replenishing", "http.unexpected", "http.html_body")


def _target(opts: TraceOptions) -> dict[str, object]:
    from gridctl.trace.record import redact_argv

    return {"command": redact_argv(list(opts.argv)), "emulate": opts.emulate}


def stderr_say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def shown(argv: Sequence[str]) -> str:
    return " ".join(argv)
