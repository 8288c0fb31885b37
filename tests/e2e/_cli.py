"""Run the real CLI (`python -m gridctl`) as a subprocess, with an environment that is ours alone.

The user's own THEGRID_*, OPENAI_*, ANTHROPIC_* and proxy variables never reach the child: each run
gets a private config dir, the null keyring and NO_COLOR, plus exactly the variables a test passes.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gridctl.emulator.server import Emulator

_DROP_PREFIXES = ("THEGRID", "OPENAI_", "ANTHROPIC_", "GRIDCTL_", "PYTHON_KEYRING")
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
CONFIG_DIR = tempfile.mkdtemp(prefix="gridctl-e2e-")
atexit.register(shutil.rmtree, CONFIG_DIR, True)

# The contract's envelope and flow, spelled out here so that a rename in the code fails a test.
ENVELOPE_KEYS = {"schema", "command", "ok", "exit_code", "diagnosis", "checks", "request_ids", "target",
                 "started_at", "duration_ms"}
FLOW = ["config", "status", "network", "ping", "auth", "url", "model", "balance", "stream", "body"]


def clean_env(**extra: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(_DROP_PREFIXES) and k.lower() not in _PROXY_VARS}
    env.update(GRIDCTL_CONFIG_DIR=CONFIG_DIR, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
               NO_COLOR="1", PYTHONIOENCODING="utf-8")
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
    wall: float

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:  # what pytest shows when an assertion about a run fails
        return f"gridctl {' '.join(self.args)} -> {self.code} in {self.wall:.1f}s\n{self.out}\n{self.err}"


def gridctl(*args: str, env: Mapping[str, str] | None = None, stdin: str | None = None,
            cwd: str | None = None, timeout: float = 60.0) -> Run:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gridctl", *args], env=dict(env or clean_env()),
                          input=stdin if stdin is not None else "", capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=timeout, cwd=cwd)
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - t0)


def invoke(*args: str, env: Mapping[str, str] | None = None, stdin: str | None = None) -> Run:
    """The same program in this process (typer's CliRunner): the environment is replaced, not merged."""
    from typer.testing import CliRunner

    from gridctl.cli import app

    wanted = dict(env or clean_env())
    # CliRunner overlays its env on os.environ: unset everything the child would not have seen.
    overlay: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    overlay.update(wanted)
    t0 = time.monotonic()
    result = CliRunner().invoke(app, list(args), env=overlay, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(tuple(args), result.exit_code, result.stdout, result.stderr, time.monotonic() - t0)


def in_parallel(jobs: Mapping[str, Callable[[], Any]], workers: int = 4) -> dict[str, Future[Any]]:
    """Start every job now (two cores: the children mostly wait on sockets and timeouts)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gridctl-e2e")
    futures = {name: pool.submit(job) for name, job in jobs.items()}
    pool.shutdown(wait=False)
    return futures
