"""ONE way to run gridctl in a test: `gridctl()` (a real `python -m gridctl` subprocess) or `invoke()`
(the same `gridctl.cli.main()` in this process, about a tenth of the cost). Both return a `Run`.

Prefer `invoke()`; use `gridctl()` only where the process is the point (exit status of the real
interpreter, signals, stdin as a pipe, nothing imported by the test leaking in).

The user's own THEGRID_*, OPENAI_*, ANTHROPIC_* and proxy variables never reach gridctl: each run
gets exactly `clean_env()` (a private config dir, the null keyring, NO_COLOR) plus what a test passes.
A test keyring backend named in PYTHON_KEYRING_BACKEND (tests.support.keyrings.*, keyring's
`fail.Keyring`) is used in-process too; without one, `invoke()` keeps the keyring the test installed
(the `memory_keyring` fixture).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridctl.emulator.server import Emulator
from tests.support.contract import ENVELOPE_KEYS, FLOW

__all__ = ["ENVELOPE_KEYS", "FLOW", "REPO", "Run", "clean_env", "emu_env", "gridctl", "in_parallel", "invoke",
           "listen_exports"]

REPO = Path(__file__).resolve().parents[2]
NULL_KEYRING = "keyring.backends.null.Keyring"
_DROP_PREFIXES = ("THEGRID", "OPENAI_", "ANTHROPIC_", "GRIDCTL_", "PYTHON_KEYRING")
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
CONFIG_DIR = tempfile.mkdtemp(prefix="gridctl-e2e-")
atexit.register(shutil.rmtree, CONFIG_DIR, True)


def clean_env(**extra: str | None) -> dict[str, str]:
    """This process's environment minus everything gridctl reads, plus `extra` (None = leave unset)."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(_DROP_PREFIXES) and k.lower() not in _PROXY_VARS}
    # the repo root on PYTHONPATH: a child can load the test keyrings (tests.support.keyrings)
    # the test's own config dir (the autouse isolation fixture names it), else one for the session
    config_dir = os.environ.get("GRIDCTL_TEST_CONFIG_DIR", CONFIG_DIR)
    env.update(GRIDCTL_CONFIG_DIR=config_dir, PYTHON_KEYRING_BACKEND=NULL_KEYRING, NO_COLOR="1",
               PYTHONIOENCODING="utf-8", PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def emu_env(emu: Emulator, key: str | None, **extra: str | None) -> dict[str, str]:
    """The environment that points gridctl at a running emulator."""
    return clean_env(THEGRID_API_KEY=key, THEGRID_BASE_URL=emu.base_url, THEGRID_STATUS_URL=emu.root_url, **extra)


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    # the names of subprocess.CompletedProcess and of CliRunner's Result, for tests written against those
    @property
    def returncode(self) -> int:
        return self.code

    @property
    def exit_code(self) -> int:
        return self.code

    @property
    def stdout(self) -> str:
        return self.out

    @property
    def stderr(self) -> str:
        return self.err

    @property
    def output(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:  # what pytest shows when an assertion about a run fails
        return f"gridctl {' '.join(self.args)} -> {self.code}\n{self.out}\n{self.err}"


def gridctl(*args: str, env: Mapping[str, str] | None = None, stdin: str | None = None,
            cwd: str | None = None, timeout: float = 60.0) -> Run:
    """`python -m gridctl ARGS` as a real subprocess (stdin: the given text, else empty)."""
    proc = subprocess.run([sys.executable, "-m", "gridctl", *args], env=dict(env or clean_env()),
                          input=stdin if stdin is not None else "", capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=timeout, cwd=cwd or str(REPO))
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def invoke(*args: str, env: Mapping[str, str] | None = None, stdin: str | None = None) -> Run:
    """The same program, `gridctl.cli.main(args)`, in this process: the environment is replaced, not merged."""
    import keyring.core
    from typer.testing import CliRunner

    from gridctl.cli import main

    wanted = dict(env or clean_env())
    # the isolation overlays its env on os.environ: unset everything a child would not have seen
    overlay: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    overlay.update(wanted)
    backend = wanted.get("PYTHON_KEYRING_BACKEND", NULL_KEYRING)
    previous = keyring.core.get_keyring()
    code = 0
    with CliRunner().isolation(input=stdin, env=overlay) as (out, err, _):
        if backend != NULL_KEYRING:  # as a child would: keyring builds the named backend on first use
            keyring.core._keyring_backend = None  # type: ignore[attr-defined]
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            keyring.core.set_keyring(previous)
        stdout, stderr = out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")
    return Run(tuple(args), code, stdout, stderr)


def listen_exports(stderr: Iterable[str]) -> dict[str, str]:
    """`trace --listen`'s `export NAME=VALUE` lines, read from its stderr up to "listening on"."""
    exports: dict[str, str] = {}
    for line in stderr:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value
        if "listening on" in line:
            break
    return exports


def in_parallel(jobs: Mapping[str, Callable[[], Any]], workers: int = 4) -> dict[str, Future[Any]]:
    """Start every job now (two cores: the children mostly wait on sockets and timeouts)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gridctl-e2e")
    futures = {name: pool.submit(job) for name, job in jobs.items()}
    pool.shutdown(wait=False)
    return futures
