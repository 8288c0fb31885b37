"""One trace run: the upstreams from the user's settings, the proxy, the child, the report.

Environment design: each base-URL variable the user had set (all four when none is set)
becomes `http://127.0.0.1:PORT/_g/<slot><the user's own path>`; the proxy strips `/_g/<slot>`
and forwards to the origin of the user's original value, so a doubled /v1 or a pasted
/chat/completions reaches the upstream, and the lints, exactly as the SDK built it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import urlsplit

from gridctl import grid
from gridctl.trace.proxy import Proxy, Upstream, origin_of
from gridctl.trace.record import Call

# slot -> (variable, default when unset)
SLOTS: dict[str, tuple[str, str]] = {
    "o": ("OPENAI_BASE_URL", grid.DEFAULT_BASE_URL),
    "oa": ("OPENAI_API_BASE", grid.DEFAULT_BASE_URL),
    "a": ("ANTHROPIC_BASE_URL", grid.MESSAGES_ROOT),
    "g": (grid.ENV_BASE_URL, grid.DEFAULT_BASE_URL),
}
LOOPBACK_NAMES = "127.0.0.1,localhost,::1"


@dataclass
class Plan:
    argv: list[str]
    env: Mapping[str, str]
    emulate_root: str | None = None  # forward here instead of the user's upstreams
    host: str = "127.0.0.1"
    port: int = 0
    timeout: float = 300.0
    stdout: IO[str] | None = None    # where the child's stdout goes (None: inherited)
    on_call: Callable[[Call], None] | None = None
    on_ready: Callable[[Proxy, dict[str, str]], None] | None = None
    extra_upstreams: list[Upstream] = field(default_factory=list)
    # intercept hook: the forward proxy and its session CA (gridctl.trace.intercept); with a command only
    intercept: bool = False
    say: Callable[[str], None] | None = None


def upstreams(env: Mapping[str, str], emulate_root: str | None) -> list[Upstream]:
    """One upstream per variable the user set (every variable when none is set)."""
    from gridctl.probe.ping import no_contact

    chosen = [s for s, (var, _) in SLOTS.items() if env.get(var, "").strip()] or list(SLOTS)
    out: list[Upstream] = []
    for slot in sorted(chosen, key=lambda s: s != "g"):  # THEGRID first: it serves unprefixed paths
        var, default = SLOTS[slot]
        original = env.get(var, "").strip() or default
        try:
            shown = origin_of(original)
            ok_scheme = urlsplit(original).scheme in ("http", "https")
        except ValueError:
            shown, ok_scheme = "", False
        api = "messages" if slot == "a" else "chat"
        refused = no_contact(original, api) if ok_scheme else no_contact("not a url", api)
        origin = emulate_root if emulate_root is not None else shown
        out.append(Upstream(slot, var, original, origin, shown or original, refused))
    return out


# Keys an SDK refuses to start without. Under --emulate a program with none set would fail before
# its first call (trace.no_calls for the wrong reason): the emulator's demo key stands in.
DEMO_KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "THEGRID_API_KEY")


def child_env(env: Mapping[str, str], proxy: Proxy, emulated: bool = False,
              forward: Mapping[str, str] | None = None) -> dict[str, str]:
    new = dict(env)
    new.update(forward or {})  # intercept hook: HTTPS_PROXY/HTTP_PROXY and the trust bundle (intercept.child_vars)
    if emulated:
        from gridctl.emulator.scenarios import DEMO_KEY

        for name in DEMO_KEY_VARS:
            if not new.get(name):
                new[name] = DEMO_KEY
    for up in proxy.upstreams.values():
        if up.env in (v for v, _ in SLOTS.values()):
            new[up.env] = proxy.base_for(up.slot)
    # A proxy in the user's environment must not carry the loopback calls away from us.
    for name in ("NO_PROXY", "no_proxy"):
        new[name] = ",".join(x for x in (new.get(name, ""), LOOPBACK_NAMES) if x)
    return new


def exports(proxy: Proxy) -> dict[str, str]:
    return {up.env: proxy.base_for(up.slot) for up in proxy.upstreams.values()}


def run(plan: Plan) -> tuple[list[Call], int | None]:
    """Serve, run the child to its end (or Ctrl-C), stop everything; (calls, child exit code)."""
    ups = upstreams(plan.env, plan.emulate_root) + plan.extra_upstreams
    proxy = Proxy(ups, host=plan.host, port=plan.port, timeout=plan.timeout, on_call=plan.on_call,
                  trust_env=plan.emulate_root is None)
    code: int | None = None
    from gridctl.trace.intercept import forward_proxy

    forward = forward_proxy(proxy, plan.env, plan.emulate_root, plan.intercept and bool(plan.argv), plan.say)
    with proxy.start(), forward as forward_vars:  # intercept hook: the CA is gone when this block ends
        if plan.on_ready is not None:
            plan.on_ready(proxy, exports(proxy))
        if not plan.argv:
            _serve_until_interrupt()
            return list(proxy.calls), None
        try:
            child = subprocess.Popen(plan.argv, env=child_env(plan.env, proxy, plan.emulate_root is not None, forward_vars),
                                     stdout=plan.stdout)
        except OSError as exc:
            raise ChildError(f"cannot run {plan.argv[0]}: {exc.strerror or exc}") from None
        try:
            code = child.wait()
        except KeyboardInterrupt:
            code = _stop_child(child)
            raise
        finally:
            if child.poll() is None:
                _stop_child(child)
    return list(proxy.calls), _shell_code(code)


class ChildError(Exception):
    """The command could not be started."""


def _serve_until_interrupt() -> None:
    stop = threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        return


def _stop_child(child: subprocess.Popen[bytes]) -> int:
    """SIGINT (it may have had its own already), then SIGTERM, then SIGKILL: no orphan survives."""
    for sig, wait in ((signal.SIGINT, 2.0), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        if child.poll() is not None:
            break
        try:
            child.send_signal(sig)
            child.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        except OSError:
            break
    return child.returncode if child.returncode is not None else 1


def _shell_code(code: int | None) -> int | None:
    """A child killed by a signal exits like a shell reports it: 128 + the signal."""
    if code is not None and code < 0 and sys.platform != "win32":
        return 128 - code
    return code


def default_env() -> dict[str, str]:
    return dict(os.environ)


def argv_of(cmd: Sequence[str]) -> list[str]:
    return list(cmd)
