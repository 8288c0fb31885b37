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
from gridctl.findings import ExitCode
from gridctl.report import Output, emit, error_envelope, error_line, write_json
from gridctl.result import Report
from gridctl.settings import ConfigError, Flags, Settings, from_env


class UsageError(Exception):
    """Bad input from the user: one line, exit 2."""


class ConfigProblem(Exception):
    """A configuration problem found offline: one line, exit 3."""


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
                stdin_key = sys.stdin.readline().strip() if not sys.stdin.isatty() else None
                if not stdin_key:
                    raise UsageError("--api-key-stdin: no key on standard input")
            self._settings = from_env(self.flags, stdin_key=stdin_key)
        return self._settings

    def finish(self, report: Report, header: str | None = None, footer: list[str] | None = None,
               show_info: bool = True) -> int:
        if not report.duration_ms:
            report.duration_ms = (time.perf_counter() - self.started) * 1000
        return emit(report, self.out, header, footer, show_info)


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
    ("api", str | None, typer.Option("--api", help="chat (Chat Completions) or messages (Anthropic "
                                     "beta).", show_default=False)),
    ("timeout", float | None, typer.Option("--timeout", help="Whole-command time budget in seconds "
                                           f"(default {grid.DEFAULT_TIMEOUT:g}).", show_default=False)),
    ("profile", str | None, typer.Option("--profile", help=f"Config profile (env {grid.ENV_PROFILE}).",
                                         show_default=False)),
]
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
    except UsageError as exc:
        return _fail(opts, ExitCode.USAGE, str(exc))
    except (ConfigProblem, ConfigError) as exc:
        return _fail(opts, ExitCode.CONFIG, str(exc))
    except KeyboardInterrupt:
        error_line("interrupted", opts.out)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line before a traceback reaches the user
        if opts.out.verbose:
            from gridctl.secrets import scrub

            sys.stderr.write(scrub(traceback.format_exc()))
        return _fail(opts, ExitCode.BUG, f"internal error: {exc.__class__.__name__}: {exc} "
                     "(run with -v for details; please report it)")


def _fail(opts: Opts, code: ExitCode, message: str) -> int:
    first = message.strip().splitlines()[0] if message.strip() else code.name.lower()
    if opts.out.json:
        write_json(error_envelope(opts.name, int(code), first), opts.out)
    error_line(first, opts.out)
    return int(code)


def _validate(flags: Flags) -> None:
    if flags.api is not None and flags.api not in ("chat", "messages"):
        raise UsageError(f"--api must be chat or messages, not {flags.api!r}")
    if flags.timeout is not None and not (0 < flags.timeout <= 3600):
        raise UsageError("--timeout must be between 0 and 3600 seconds")
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


def api_of(value: str | None) -> str:
    if value not in (None, "chat", "messages"):
        raise UsageError(f"--api must be chat or messages, not {value!r}")
    return value or "chat"


def sdk_of(value: str | None) -> str | None:
    if value is not None and value not in grid.SDK_NAMES:
        raise UsageError(f"--sdk must be one of {', '.join(grid.SDK_NAMES)}, not {value!r}")
    return value
