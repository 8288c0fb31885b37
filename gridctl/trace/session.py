"""One trace run: the upstreams from the user's settings, the proxy, the child, the report.

Environment design: each base-URL variable the user had set (all four when none is set)
becomes `http://127.0.0.1:PORT/_g/<slot><the user's own path>`; the proxy strips `/_g/<slot>`
and forwards to the origin of the user's original value, so a doubled /v1 or a pasted
/chat/completions reaches the upstream, and the lints, exactly as the SDK built it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

from gridctl import grid
from gridctl.trace.proxy import CLIENT_LEFT, Proxy, Upstream, origin_of
from gridctl.trace.record import Call
from gridctl.trace.terminal import Terminal, is_terminal

# slot -> (variable, default when unset)
SLOTS: dict[str, tuple[str, str]] = {
    "o": ("OPENAI_BASE_URL", grid.DEFAULT_BASE_URL),
    "oa": ("OPENAI_API_BASE", grid.DEFAULT_BASE_URL),
    "a": ("ANTHROPIC_BASE_URL", grid.MESSAGES_ROOT),
    "g": (grid.ENV_BASE_URL, grid.DEFAULT_BASE_URL),
}
LOOPBACK_NAMES = "127.0.0.1,localhost,::1"
POSIX = os.name == "posix"  # process groups, a pty, select() on a pipe


@dataclass
class Plan:
    argv: list[str]
    env: Mapping[str, str]
    emulate_root: str | None = None  # forward here instead of the user's upstreams
    host: str = "127.0.0.1"
    port: int = 0
    timeout: float = 300.0
    stdout: IO[str] | None = None    # where the child's stdout goes (None: inherited)
    stdout_to_stderr: bool = False   # --json: the child's stdout joins its stderr, so stdout holds the document
    terminal: Terminal | None = None  # owns the child's stderr (None: inherited)
    on_call: Callable[[Call], None] | None = None
    on_ready: Callable[[Proxy, dict[str, str]], None] | None = None
    extra_upstreams: list[Upstream] = field(default_factory=list)
    # intercept hook: the forward proxy and its session CA (gridctl.trace.intercept); with a command only
    intercept: bool = False
    say: Callable[[str], None] | None = None


def upstreams(env: Mapping[str, str], emulate_root: str | None) -> list[Upstream]:
    """One upstream per variable the user set (every variable when none is set)."""
    from gridctl.probe.policy import no_contact

    chosen = [s for s, (var, _) in SLOTS.items() if env.get(var, "").strip()] or list(SLOTS)
    if emulate_root is not None:  # no real upstream to protect: every SDK's variable points at the emulator
        chosen = list(SLOTS)
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


@dataclass
class Outcome:
    """What one run left: the calls, the child's exit code, whether Ctrl-C ended it, the calls still open."""

    calls: list[Call]
    code: int | None
    interrupted: bool = False
    in_flight: list[int] = field(default_factory=list)


GROUP_GRACE_S = 0.4   # each of SIGINT and SIGTERM gets this long before the next signal (the group's whole stop < 1.3 s)
STOP_BUDGET_S = 0.6   # after Ctrl-C: the proxy's own stop may take no longer (its calls are recorded as they stand)
INTERRUPT_GRACE_S = 1.0
IN_FLIGHT = "unfinished: in flight when trace was interrupted (Ctrl-C); nothing after that point is recorded"


def run(plan: Plan) -> Outcome:
    """Serve, run the child to its end (or Ctrl-C), stop everything, the child's whole process group too."""
    ups = upstreams(plan.env, plan.emulate_root) + plan.extra_upstreams
    try:
        proxy = Proxy(ups, host=plan.host, port=plan.port, timeout=plan.timeout, on_call=plan.on_call,
                      trust_env=plan.emulate_root is None)
    except OSError as exc:
        raise ProxyError(exc.strerror or str(exc)) from None
    code: int | None = None
    interrupted = False
    seen: float | None = None  # when trace saw the Ctrl-C (the child's own, on a terminal: when the child ended)
    from gridctl.trace.intercept import forward_proxy

    forward = forward_proxy(proxy, plan.env, plan.emulate_root, plan.intercept and bool(plan.argv), plan.say)
    proxy.start()
    try:
        with forward as forward_vars:  # intercept hook: the session CA is gone when this block ends
            if plan.on_ready is not None:
                plan.on_ready(proxy, exports(proxy))
            if not plan.argv:
                interrupted = _serve_until_interrupt()
            else:
                code, seen = _run_child(plan, proxy, forward_vars)
                interrupted = seen is not None
    except KeyboardInterrupt:  # Ctrl-C before the child started, or while it was being stopped
        interrupted = True
    finally:
        in_flight = _mark_in_flight(proxy, seen or time.time()) if interrupted else []
        _stop_proxy(proxy, STOP_BUDGET_S if interrupted else None)
    return Outcome(list(proxy.calls), _shell_code(code), interrupted, in_flight)


def _run_child(plan: Plan, proxy: Proxy, forward_vars: dict[str, str] | None) -> tuple[int | None, float | None]:
    """The child in its own process group, its stderr through `plan.terminal`; (exit code, when a Ctrl-C was seen
    or None)."""
    env = child_env(plan.env, proxy, plan.emulate_root is not None, forward_vars)
    err_fd = plan.terminal.child_stderr(tty=is_terminal(sys.stderr)) if plan.terminal is not None and POSIX else None
    out: int | IO[str] | None = plan.stdout
    if plan.stdout_to_stderr:
        out = err_fd if err_fd is not None else subprocess.DEVNULL
    try:
        # its own process group (POSIX): Ctrl-C's stop reaches whatever it starts, grandchildren too
        group: dict[str, Any] = {"process_group": 0} if POSIX else {}
        child = subprocess.Popen(plan.argv, env=env, stdout=out, stderr=err_fd, **group)
    except OSError as exc:
        raise ChildError(f"cannot run {plan.argv[0]}: {exc.strerror or exc}") from None
    finally:
        if err_fd is not None:
            os.close(err_fd)
    give_back = _hand_terminal(child.pid) if POSIX else None
    interrupted = False
    try:
        code: int | None = _wait(child, give_back)
        # On a terminal the child's group has the keyboard: its Ctrl-C is the user's Ctrl-C.
        interrupted = give_back is not None and code == -signal.SIGINT
    except KeyboardInterrupt:
        interrupted = True
    finally:
        seen = time.time() if interrupted else None
        if give_back is not None:
            give_back()
        _stop_group(child, first=signal.SIGINT if interrupted else signal.SIGTERM)
        if plan.terminal is not None:
            plan.terminal.finish(0.3 if interrupted else 1.0)
    return child.returncode, seen


class ChildError(Exception):
    """The command could not be started."""


class ProxyError(Exception):
    """The proxy could not listen (the address is taken, not ours, or not allowed)."""


def _serve_until_interrupt() -> bool:
    stop = threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        return True
    return False


def _mark_in_flight(proxy: Proxy, seen: float) -> list[int]:
    """Ctrl-C: every call still waiting for (or reading) its answer says so in its record; so does a call whose
    client left as the Ctrl-C ended the program (from INTERRUPT_GRACE_S before trace saw it: on a terminal the
    program gets the Ctrl-C first), which trace had already closed."""
    ids = []
    for call in proxy.recent(1 << 30):
        left = [n for n in call.notes if n.endswith(CLIENT_LEFT)]
        if left and call.ended >= seen - INTERRUPT_GRACE_S:
            call.notes = [n for n in call.notes if n not in left]
        elif call.done.is_set() or call.handled:
            continue
        call.notes.append(IN_FLIGHT)
        ids.append(call.id)
    return ids


def _stop_proxy(proxy: Proxy, budget: float | None) -> None:
    """proxy.stop(), bounded after Ctrl-C: the calls stand as recorded when the budget runs out."""
    if budget is None:
        proxy.stop()
        return
    stopper = threading.Thread(target=proxy.stop, name="gridctl-trace-stop", daemon=True)
    stopper.start()
    stopper.join(budget)


def _stop_group(child: subprocess.Popen[bytes], first: signal.Signals = signal.SIGINT) -> None:
    """Stop the child's whole process group (grandchildren too): `first`, then SIGTERM, then SIGKILL,
    each after GROUP_GRACE_S. After a normal exit this only ends what the program left running."""
    if not POSIX:
        if child.poll() is None:
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(GROUP_GRACE_S * 2)
            child.kill()
        return
    pgid = child.pid
    sigs = [first] + [s for s in (signal.SIGTERM, signal.SIGKILL) if s != first]
    for sig in sigs:
        if not _group_alive(child, pgid):
            return
        with contextlib.suppress(OSError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + (GROUP_GRACE_S if sig != signal.SIGKILL else 1.0)
        while time.monotonic() < deadline and _group_alive(child, pgid):
            time.sleep(0.01)


def _group_alive(child: subprocess.Popen[bytes], pgid: int) -> bool:
    child.poll()  # reap the child itself: a zombie still counts as a member of its group
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return child.returncode is None
    return True


def _wait(child: subprocess.Popen[bytes], give_back: Callable[[], None] | None) -> int:
    """child.wait(); on a terminal, Ctrl-Z stops the child's group and then gridctl, as a shell would."""
    if give_back is None:
        return child.wait()
    while True:
        _, status = os.waitpid(child.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode
        give_back()
        os.kill(os.getpid(), signal.SIGSTOP)  # the shell sees the job stop; `fg` continues here
        _foreground(child.pid)
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGCONT)


def _hand_terminal(pgid: int) -> Callable[[], None] | None:
    """When gridctl has the terminal's keyboard, the child's group gets it (Ctrl-C, Ctrl-Z, reading
    stdin all behave as without trace); the returned function takes it back."""
    try:
        fd = sys.stdin.fileno()
        if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
            return None
    except (AttributeError, OSError, ValueError):
        return None
    if not _foreground(pgid):
        return None
    # gridctl now writes from a background group: with the terminal's `tostop` set, that would stop it.
    # Ignored after the child started, so the program itself keeps the default.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN) if _main_thread() else None

    def give_back() -> None:
        _foreground(os.getpgrp())
        if previous is not None:
            signal.signal(signal.SIGTTOU, previous)

    return give_back


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _foreground(pgid: int) -> bool:
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})  # a background group may not otherwise
    try:
        os.tcsetpgrp(sys.stdin.fileno(), pgid)
        return True
    except (AttributeError, OSError, ValueError):
        return False
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _shell_code(code: int | None) -> int | None:
    """A child killed by a signal exits like a shell reports it: 128 + the signal."""
    if code is not None and code < 0 and sys.platform != "win32":
        return 128 - code
    return code


def default_env() -> dict[str, str]:
    return dict(os.environ)


def argv_of(cmd: Sequence[str]) -> list[str]:
    return list(cmd)
