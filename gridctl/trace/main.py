"""`gridctl trace` as a function: options in, a Report (and the child's exit code) out."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gridctl import grid
from gridctl.errors import UsageError
from gridctl.result import Report
from gridctl.trace import diagnose as diag
from gridctl.trace.proxy import Proxy
from gridctl.trace.record import Call
from gridctl.trace.session import Plan, run
from gridctl.trace.terminal import Terminal

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
    intercept: bool = True  # the forward proxy (HTTPS_PROXY + session CA); --no-intercept turns it off


def trace_options(argv: list[str], env: Mapping[str, str], *, emulate: str | None, har: Path | None,
                  listen: str | None, yes: bool, timeout: float, idle_warn_s: float, json: bool,
                  exit_code: ExitMode, intercept: bool = True) -> TraceOptions:
    """The options of `gridctl trace`, checked (usage errors, exit 2), with the address to listen on."""
    if not argv and listen is None:
        raise UsageError("give a command after `--`, or --listen [HOST:]PORT to run the proxy alone")
    if emulate is not None:
        from gridctl.emulator.scenarios import SCENARIOS

        if emulate not in SCENARIOS:
            raise UsageError(f"unknown scenario {emulate!r}; `gridctl emulator list` shows them")
    host, port = listen_address(listen, yes)
    if har is not None:
        from gridctl.trace.files import check_writable

        check_writable(har)
    return TraceOptions(argv=argv, env=env, emulate=emulate, har=har, host=host, port=port, timeout=timeout,
                        idle_warn_s=idle_warn_s, json=json, exit_code=exit_code, intercept=intercept)


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


@dataclass
class Traced:
    """One trace run's result: the report, the program's exit code, the calls, and whether Ctrl-C ended it."""

    report: Report
    child_code: int | None
    calls: list[Call]
    interrupted: bool = False


INTERRUPT_GRACE_S = 3.0  # the Ctrl-C watchdog's grace for trace; its own stop-and-write is bounded well within it
PER_CALL_S = 0.01  # and this much more per call kept (a 1,000-call --listen session's files take ~0.3 s on a quiet machine)


def run_trace(opts: TraceOptions, verbose: bool = False) -> Traced:
    """trace() with its lines and closing summary on stderr (between the program's own lines, see
    trace/terminal.py); under --json the program's stdout joins its stderr, so stdout holds only the JSON
    document. A program that cannot start is a usage error."""
    from gridctl import interrupt
    from gridctl.trace.session import ChildError, ProxyError
    from gridctl.trace.terminal import Terminal

    interrupt.set_grace(INTERRUPT_GRACE_S)
    term = Terminal(sys.stderr)
    try:
        result = trace(opts, term, verbose=verbose)
    except ChildError as exc:
        raise UsageError(str(exc)) from None
    except ProxyError as exc:
        raise UsageError(f"cannot start the proxy on {opts.host}:{opts.port}: {exc}") from None
    finally:
        term.close()
    if not opts.json:
        from gridctl.render.trace import summary_lines

        for line in summary_lines(result.report, result.calls, result.child_code):
            stderr_say(line)
    return result


def exit_status(opts: TraceOptions, diagnosis: int, child: int | None, interrupted: bool = False) -> int:
    """The program's own exit code (like `time`), or gridctl's diagnosis with --exit-code diagnosis; 130
    after Ctrl-C whatever the mode (the files and the summary are written first)."""
    if interrupted:
        from gridctl.interrupt import EXIT

        return EXIT
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


def trace(opts: TraceOptions, term: Terminal, verbose: bool = False) -> Traced:
    from gridctl.render.trace import exchange_lines, export_lines, interrupted_line
    from gridctl.trace.live import Live

    say = term.say
    _register_keys(opts.env)
    lock = threading.Lock()
    holder: list[Proxy] = []
    live = Live(say, lambda: holder[0].recent(1 << 30) if holder else [])

    def on_call(call: Call) -> None:
        # A live line reads the calls just before it (retries, redirect hops); diagnosing the whole session
        # for each one grew with its length (260 ms of CPU per call after 2,000 calls).
        lines = [f"trace #{call.id} {call.method} {call.path}"]
        try:
            with lock:
                window = [c for c in (holder[0].recent(LIVE_WINDOW) if holder else []) if c.done.is_set() and c is not call]
                diag.diagnose(sorted([*window, call], key=lambda c: c.id), final=False,
                              idle_warn_ms=opts.idle_warn_s * 1000)
                lines = live.line(call, exchange_lines(call) if verbose else ())
        finally:
            live.ended(call.id, lines)  # always: a later call's line never waits on this one

    def on_ready(proxy: Proxy, exports: dict[str, str]) -> None:
        holder.append(proxy)
        live.start()
        if not opts.argv:
            for line in export_lines(exports):
                say(line)
            say(f"trace: listening on {proxy.root}; Ctrl-C to stop")

    emu = None
    if opts.emulate is not None:
        from gridctl.emulator.server import start

        emu = start(scenario=opts.emulate)
    if verbose:
        from gridctl.probe import httplog

        httplog.enable(say)  # trace's own requests (the status page) too, between the program's lines
    try:
        plan = Plan(argv=list(opts.argv), env=opts.env, emulate_root=emu.root_url if emu else None,
                    host=opts.host, port=opts.port, timeout=opts.timeout, on_call=on_call, on_ready=on_ready,
                    stdout_to_stderr=opts.json, terminal=term, intercept=opts.intercept, say=say)
        outcome = run(plan)
        if outcome.interrupted:  # the files of a long session take longer to write: the watchdog waits for them
            from gridctl import interrupt

            interrupt.set_grace(INTERRUPT_GRACE_S + PER_CALL_S * len(outcome.calls))
        calls, code = outcome.calls, outcome.code
        with lock:
            rep = diag.report(calls, _target(opts), idle_warn_ms=opts.idle_warn_s * 1000)
        live.stop([c for c in calls if not c.done.is_set()])
        if not calls and opts.argv and not outcome.interrupted:
            _no_calls(rep, opts.argv, code, term.program_text())
        if outcome.interrupted:  # no status-page question after Ctrl-C: the files come first
            _interrupted(rep, outcome.in_flight)
            say(interrupted_line(outcome.in_flight, program=bool(opts.argv)))
        else:
            _incident(rep, emu.root_url if emu else (opts.env.get(grid.ENV_STATUS_URL) or grid.DEFAULT_STATUS_URL))
    finally:
        live.stop()
        if emu is not None:
            emu.stop()
    if opts.emulate:
        rep.extra["emulated"] = opts.emulate
    rep.extra["child_exit_code"] = code
    if holder and holder[0].intercept is not None:  # intercept hook: what the forward side did
        rep.extra.update(holder[0].intercept.report())
    if holder and holder[0].forgotten:
        rep.extra["calls_not_kept"] = holder[0].forgotten  # the oldest, beyond MAX_KEPT
    if opts.har is not None:
        from gridctl.trace.files import write_har

        write_har(calls, opts.har)
    return Traced(rep, code, calls, outcome.interrupted)


def _register_keys(env: Mapping[str, str]) -> None:
    """The keys the program will read: redacted wherever they show, its own output (a traceback) included."""
    from gridctl.secrets import register

    for name in grid.KEY_ENV_VARS:
        register(env.get(name))


def _no_calls(rep: Report, argv: Sequence[str], code: int | None, program_err: str) -> None:
    """No call reached trace: what the program said first (explain's reader), then its source, then its exit."""
    from gridctl.result import CheckResult
    from gridctl.trace.nocalls import reading

    rep.checks.append(CheckResult("traffic", "Traffic", reading(argv, code, program_err)))


def _interrupted(rep: Report, in_flight: list[int]) -> None:
    from gridctl.findings import finding
    from gridctl.result import CheckResult

    message = "trace was stopped (Ctrl-C); every call recorded until then is here"
    if in_flight:
        message += "; still in flight: " + ", ".join(f"#{n}" for n in in_flight)
    rep.checks.append(CheckResult("interrupted", "Interrupted", [finding("run.interrupted", message + ".")]))
    from gridctl.findings import ExitCode

    rep.exit_override = ExitCode.INTERRUPTED  # the document says what the process exits with
    rep.extra["interrupted"] = True
    rep.extra["in_flight"] = list(in_flight)


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
