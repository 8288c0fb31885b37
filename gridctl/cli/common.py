"""What every command shares: the contract's flags, the error guard, exit codes.

`@command(app, "name", target=True)` adds the common options to a function's signature and
hands the function an `Opts`; the function returns a Report or an exit code.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from gridctl import grid
from gridctl.errors import ConfigProblem, NetworkProblem, UsageError
from gridctl.findings import ExitCode
from gridctl.render import Text
from gridctl.report import Output, closed_pipe, emit, emit_lines, envelope, error_envelope, error_line, write_json
from gridctl.result import Report
from gridctl.secrets import CredentialsUnreadable
from gridctl.settings import ConfigError, Flags, Settings, from_env


@dataclass
class Opts:
    name: str
    out: Output
    flags: Flags = field(default_factory=Flags)
    _settings: Settings | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            stdin_key = None
            if self.flags.api_key_stdin:
                stdin = sys.stdin  # None when stdin is closed (`<&-`)
                try:
                    stdin_key = stdin.readline(64 * 1024).strip() if stdin is not None and not stdin.isatty() else None
                except (OSError, ValueError, UnicodeDecodeError):
                    stdin_key = None
                if not stdin_key:
                    raise UsageError("--api-key-stdin: no key on standard input")
            self._settings = from_env(self.flags, stdin_key=stdin_key)
        return self._settings

    def finish(self, report: Report, header: str | None = None, footer: list[str] | None = None,
               show_info: bool = True) -> int:
        if not report.duration_ms:
            report.duration_ms = (time.perf_counter() - self.started) * 1000
        try:
            return emit(report, self.out, header, footer, show_info)
        except BrokenPipeError:  # the reader left: its verdict still stands (`doctor | head -3` keeps the code)
            closed_pipe()
            return int(report.exit_code)

    def lines(self, report: Report, lines: list[str]) -> int:
        """A command whose human output is a few plain lines (ping): those, or the envelope."""
        if not report.duration_ms:
            report.duration_ms = (time.perf_counter() - self.started) * 1000
        return emit_lines(report, lines, self.out)

    def show(self, report: Report, text: Text, show_info: bool = True) -> int:
        """finish() with the heading and closing lines a render module composed."""
        return self.finish(report, text.header, list(text.footer), show_info)


_OUTPUT: list[tuple[str, Any, Any]] = [
    ("json_out", bool, typer.Option("--json", help="Print exactly one JSON document (schema gridctl/1).")),
    ("no_color", bool, typer.Option("--no-color", help="Plain text, no colour (also NO_COLOR).")),
    ("verbose", bool, typer.Option("--verbose", "-v", help="Show the HTTP exchange on stderr like curl -v "
                                   "(secrets redacted), and tracebacks of internal errors.")),
]
_TARGET: list[tuple[str, Any, Any]] = [
    ("api_key", str | None, typer.Option("--api-key", help=f"Consumption key (env {grid.ENV_API_KEY}). "
                                         "Prefer --api-key-stdin: flags show in `ps`.", show_default=False)),
    ("api_key_stdin", bool, typer.Option("--api-key-stdin", help="Read the key from standard input.")),
    ("base_url", str | None, typer.Option("--base-url", help=f"(env {grid.ENV_BASE_URL}) default "
                                          f"{grid.DEFAULT_BASE_URL}", show_default=False)),
    ("model", str | None, typer.Option("--model", "-m", help=f"Instrument (env {grid.ENV_MODEL}) "
                                       f"default {grid.DEFAULT_MODEL}", show_default=False)),
    ("status_url", str | None, typer.Option("--status-url", help=f"(env {grid.ENV_STATUS_URL}) default "
                                            f"{grid.DEFAULT_STATUS_URL}", show_default=False)),
    ("api", grid.ApiName | None, typer.Option("--api", help="chat (Chat Completions) or messages (Anthropic "
                                     "beta).", show_default=False)),
    ("timeout", float | None, typer.Option("--timeout", help="Whole-command time budget in seconds "
                                           f"(default {grid.DEFAULT_TIMEOUT:g}).", show_default=False,
                                           min=0.001, max=3600)),
    ("profile", str | None, typer.Option("--profile", help=f"Config profile (env {grid.ENV_PROFILE}).",
                                         show_default=False)),
]
def retries_option(help: str) -> Any:
    return typer.Option("--retries", help=help, min=0, max=10)


RETRIES = retries_option("Retries for 402/429/5xx/connection errors.")


def complete_scenario(incomplete: str) -> list[str]:
    """Shell completion for --emulate / --scenario: the emulator's scenario names."""
    from gridctl.emulator.scenarios import SCENARIOS

    return [name for name in SCENARIOS if name.startswith(incomplete)]


_PROFILE_ONLY = [p for p in _TARGET if p[0] == "profile"]


def command(app: typer.Typer, name: str, *, target: bool = False, profile: bool = False,
            quiet: bool = False, **typer_kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn(opts, **own_params)` as `gridctl <name>` with the common options added."""
    extra = list(_OUTPUT)
    if quiet:
        extra.append(("quiet", bool, typer.Option("--quiet", "-q", help="Print nothing; use the exit code.")))
    if target:
        extra += _TARGET
    elif profile:
        extra += _PROFILE_ONLY
    names = [e[0] for e in extra]
    shown_name = typer_kwargs.pop("cmd_name", name)  # "auth lint", not "lint", in envelopes and errors

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != "opts"]
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[t, o],
                                   default=False if t is bool else None) for n, t, o in extra]

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            common = {n: kwargs.pop(n) for n in names}
            out = Output(json=common["json_out"], no_color=common["no_color"], verbose=common["verbose"],
                         quiet=common.get("quiet", False))
            flags = Flags(**{k: common[k] for k in ("api_key", "api_key_stdin", "base_url", "model",
                                                     "status_url", "api", "timeout", "profile") if k in common})
            opts = Opts(name=shown_name, out=out, flags=flags)
            if out.verbose:  # -v: the HTTP exchange on stderr (probe/httplog.py), for this command only
                from gridctl.probe import httplog

                httplog.enable()
            try:
                raise typer.Exit(guard(opts, lambda: fn(opts, **kwargs)))
            finally:
                if out.verbose:
                    httplog.disable()

        wrapper.__signature__ = sig.replace(parameters=own + added)  # type: ignore[attr-defined]
        app.command(name, **typer_kwargs)(wrapper)
        return fn

    return decorate


def guard(opts: Opts, body: Callable[[], Any]) -> int:
    """Run a command body: expected failures become one line and an exit code, never a traceback."""
    try:
        _validate(opts.flags)
        result = body()
        if isinstance(result, Report):
            return opts.finish(result)
        return int(result or 0)
    except typer.Exit:
        raise
    except BrokenPipeError:
        return closed_pipe()
    except UsageError as exc:
        return _fail(opts, ExitCode.USAGE, str(exc))
    except (ConfigProblem, ConfigError, CredentialsUnreadable) as exc:
        return _fail(opts, ExitCode.CONFIG, str(exc))
    except NetworkProblem as exc:
        return _fail(opts, ExitCode.NETWORK, str(exc))
    except OSError as exc:
        if exc.filename is None:
            return _bug(opts, exc)
        # local state: a read-only home, a full disk, a path that is a directory
        return _fail(opts, ExitCode.CONFIG, f"{exc.filename}: {exc.strerror or exc.__class__.__name__}")
    except KeyboardInterrupt:
        return _interrupted(opts)
    except Exception as exc:  # noqa: BLE001 - the last line before a traceback reaches the user
        return _bug(opts, exc)


def _bug(opts: Opts, exc: BaseException) -> int:
    if opts.out.verbose:
        from gridctl.secrets import scrub
        from gridctl.textsafe import clean

        sys.stderr.write(clean(scrub(traceback.format_exc())))
    from gridctl.render.errors import internal_error

    return _fail(opts, ExitCode.BUG, internal_error(exc, report=True))


def _interrupted(opts: Opts) -> int:
    """Ctrl-C outside a step that reports it itself: a valid document with the interruption as a finding."""
    from gridctl.findings import finding
    from gridctl.result import CheckResult

    stop = finding("run.interrupted")
    report = Report(opts.name, [CheckResult("interrupted", "Interrupted", [stop])])
    report.duration_ms = (time.perf_counter() - opts.started) * 1000
    if opts.out.json:
        write_json(envelope(report), opts.out)
    error_line(f"interrupted after {report.duration_ms / 1000:.1f} s", opts.out)
    return int(ExitCode.INTERRUPTED)


def _fail(opts: Opts, code: ExitCode, message: str) -> int:
    first = message.strip().splitlines()[0] if message.strip() else code.name.lower()
    if opts.out.json:
        write_json(error_envelope(opts.name, int(code), first), opts.out)
    error_line(first, opts.out)
    return int(code)


def _validate(flags: Flags) -> None:
    if flags.profile is not None:
        from gridctl.settings import check_profile_name

        try:
            check_profile_name(flags.profile, "--profile")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    if flags.api_key is not None and flags.api_key_stdin:
        raise UsageError("--api-key and --api-key-stdin exclude each other")
    for value, name in ((flags.base_url, "--base-url"), (flags.status_url, "--status-url"), (flags.model, "--model")):
        if value is not None and any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            raise UsageError(f"{name} has control characters")
