"""`gridctl trace`'s output and end: the program's stderr stays the program's, Ctrl-C keeps the results,
and a run with no call says what the program itself said.

Real subprocesses where the process is the point (signals, process groups, the port); in-process
(`invoke`) otherwise. Programs under tests/e2e/trace_clients/.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO, clean_env, gridctl, invoke, listen_exports

pytestmark = pytest.mark.e2e

CLIENTS = Path(__file__).parent / "trace_clients"
CANARY = "gk-canary-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(33))
TRACE_LINE = re.compile(r"trace[: ]")


def _popen(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gridctl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(REPO))


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie waiting for its (re)parent to reap it has ended too
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


# --- Ctrl-C ---------------------------------------------------------------------------------------

def test_ctrl_c_mid_call_writes_everything_and_leaves_nothing(tmp_path: Path) -> None:
    har, pidfile = tmp_path / "run.har", tmp_path / "grandchild.pid"
    env = clean_env(OPENAI_API_KEY=CANARY)
    proc = _popen("trace", "--emulate", "hang", "--har", str(har), "--json", "--",
                  sys.executable, str(CLIENTS / "hang_grandchild.py"), str(pidfile), env=env)
    assert proc.stderr is not None
    for line in proc.stderr:  # the call is in flight once trace has said it waits
        if "waiting for the first byte" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    (call,) = doc["calls"]
    assert doc["interrupted"] is True and doc["in_flight"] == [call["id"]] and doc["exit_code"] == 130
    assert any("in flight when trace was interrupted" in n for n in call["notes"]), call
    entries = json.loads(har.read_text("utf-8"))["log"]["entries"]
    assert len(entries) == 1 and any("in flight" in n for n in entries[0]["_gridctl"]["notes"])
    assert "interrupted (Ctrl-C)" in err and CANARY not in out + err + har.read_text("utf-8")
    _wait_for(lambda: _gone(int(pidfile.read_text())), timeout=5)  # the grandchild went with the child
    port = int(call["url"].split(":")[2].split("/")[0])
    assert _port_closed(port)
    assert not list(tmp_path.glob(".*.tmp"))  # the HAR was renamed into place, nothing left beside it


def test_ctrl_c_ends_listen_with_130_and_whole_files(tmp_path: Path) -> None:
    import httpx

    har = tmp_path / "listen.har"
    proc = _popen("trace", "--listen", "127.0.0.1:0", "--emulate", "healthy", "--har", str(har), "--json",
                  env=clean_env())
    assert proc.stderr is not None
    exports = listen_exports(proc.stderr)
    with httpx.Client(timeout=5) as client:
        for _ in range(30):
            client.post(exports["THEGRID_BASE_URL"] + "/chat/completions", headers={"Authorization": f"Bearer {CANARY}"},
                        json={"model": "text-prime", "messages": [{"role": "user", "content": "hi"}]})
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert len(doc["calls"]) == 30 and doc["interrupted"] and doc["in_flight"] == []
    assert len(json.loads(har.read_text("utf-8"))["log"]["entries"]) == 30
    assert CANARY not in out + err + har.read_text("utf-8")


def test_har_in_an_unwritable_place_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = invoke("trace", "--emulate", "healthy", "--har", str(tmp_path / "no-such-dir" / "x.har"), "--",
                 sys.executable, "-c", "print('never run')", env=clean_env())
    assert run.code == 2 and "never run" not in run.out
    assert run.err.count("\n") == 1 and "--har" in run.err and "cannot write there" in run.err, run
    assert "cannot start the proxy" not in run.err


# --- the program's stderr stays the program's ------------------------------------------------------

def test_trace_lines_never_land_inside_the_programs_lines(tmp_path: Path) -> None:
    """100 iterations of partial lines and failing calls, stalls mid-line included: every trace line starts a line,
    and the program's bytes reach the user unchanged (only newlines trace added between them)."""
    copy = tmp_path / "written.txt"
    run = invoke("trace", "--emulate", "bad-key", "--", sys.executable, str(CLIENTS / "partial_lines.py"), str(copy),
                 env=clean_env(OPENAI_API_KEY=CANARY))
    assert run.code == 0, run
    starts = [m.start() for m in re.finditer(r"trace #\d+ ", run.err)]
    assert len(starts) == 100, run
    assert all(i == 0 or run.err[i - 1] == "\n" for i in starts), run.err
    program = "".join(line for line in run.err.splitlines(keepends=True) if not TRACE_LINE.match(line))
    assert program.replace("\n", "") == copy.read_text("utf-8").replace("\n", "")
    # A program line is split only where the program stalled mid-line longer than trace holds its line back (the
    # rule in gridctl/trace/terminal.py): then trace's line comes after a newline trace added, and the program's
    # line goes on after it. Those stalls are the program's own every 25 iterations, and any a busy machine adds.
    lines = run.err.splitlines()
    for before, line in zip(["\n"] + lines, lines, strict=False):
        assert line.startswith("progress ") or TRACE_LINE.match(line) or TRACE_LINE.match(before), (before, line)


def test_a_call_held_without_an_answer_gets_a_waiting_line() -> None:
    run = invoke("trace", "--emulate", "hang", "--", sys.executable, str(CLIENTS / "hang_grandchild.py"), os.devnull,
                 env=clean_env(CLIENT_TIMEOUT="1.6"))
    waiting = re.search(r"^trace #1 POST /v1/chat/completions waiting for the first byte, (\d+\.\d) s$", run.err, re.M)
    assert waiting and 1.0 <= float(waiting.group(1)) < 2.0, run.err  # a generous bound: "within 2 s"
    final = re.search(r"^trace #1 POST /v1/chat/completions --- ", run.err, re.M)
    assert final and final.start() > waiting.start(), run.err  # and its final line when the client gave up


def test_a_call_the_program_gives_up_on_gets_its_final_line_at_once() -> None:
    """Issue 23 section 3: a held call's final line comes when the client gives up, not at the end of the run."""
    script = ("import os, sys, time, httpx\ntry:\n    httpx.post(os.environ['OPENAI_BASE_URL'] + '/chat/completions', "
              "timeout=1, headers={'Authorization': 'Bearer ' + os.environ['OPENAI_API_KEY']}, "
              "json={'model': 'text-prime', 'messages': [{'role': 'user', 'content': 'hi'}]})\n"
              "except httpx.TimeoutException:\n    print('program: gave up', file=sys.stderr, flush=True)\n"
              "time.sleep(1.5)\nprint('program: done', file=sys.stderr, flush=True)\n")
    run = invoke("trace", "--emulate", "hang", "--", sys.executable, "-c", script, env=clean_env())
    final = re.search(r"^trace #1 POST /v1/chat/completions --- .*\[unfinished: the client closed the connection "
                      r"after 1\.\d s, before the first byte; gridctl trace closed the upstream\]", run.err, re.M)
    done = run.err.find("program: done")
    assert final and "program: gave up" in run.err and 0 <= final.start() < done, run.err
    assert len(re.findall(r"^trace #1 POST .* --- ", run.err, re.M)) == 1, run.err  # one final line, not two


def test_the_key_the_program_prints_itself_is_redacted() -> None:
    """A key with a newline: the SDK's own traceback quotes it (`Illegal header value b'Bearer KEY\\n'`)."""
    script = ("import openai\nc = openai.OpenAI(max_retries=0, timeout=5)\n"
              "c.chat.completions.create(model='text-prime', messages=[{'role': 'user', 'content': 'hi'}])\n")
    run = gridctl("trace", "--json", "--emulate", "healthy", "--", sys.executable, "-c", script,
                  env=clean_env(OPENAI_API_KEY=CANARY + "\n"))
    assert "Illegal header value" in run.err and "Traceback" in run.err, run
    assert CANARY not in run.out + run.err and CANARY[-20:] not in run.err
    assert "Illegal header value b'Bearer …" in run.err  # the program's line, a fingerprint where the key was
    doc = run.json()
    assert doc["calls"] == [] and doc["diagnosis"]["code"] == "auth.key_whitespace", doc
    assert "the program's own error output says" in doc["diagnosis"]["message"]


def test_verbose_shows_each_exchange() -> None:
    script = ("import os, httpx; httpx.post(os.environ['THEGRID_BASE_URL'] + '/chat/completions', timeout=5, "
              "headers={'Authorization': 'Bearer ' + os.environ['THEGRID_API_KEY']}, "
              "json={'model': 'text-prime', 'messages': [{'role': 'user', 'content': 'hi'}]})")
    run = invoke("trace", "-v", "--emulate", "healthy", "--", sys.executable, "-c", script,
                 env=clean_env(THEGRID_API_KEY=CANARY))
    lines = run.err.splitlines()
    sent = lines.index(next(x for x in lines if x.startswith("> POST ")))
    assert lines[sent].endswith("/v1/chat/completions HTTP/1.1") and f"> Authorization: Bearer …{CANARY[-4:]}" in lines
    assert "< HTTP/1.1 200" in lines and lines.index("< HTTP/1.1 200") > sent
    assert next(i for i, x in enumerate(lines) if x.startswith("trace #1 ")) > lines.index("< HTTP/1.1 200")
    assert CANARY not in run.err


def test_redirect_hops_are_numbered_and_a_loop_is_one_line() -> None:
    script = ("import os, httpx\ntry:\n    httpx.post(os.environ['THEGRID_BASE_URL'] + '/chat/completions', timeout=5, "
              "follow_redirects=True, headers={'Authorization': 'Bearer ' + os.environ['THEGRID_API_KEY']}, "
              "json={'model': 'text-prime', 'messages': [{'role': 'user', 'content': 'hi'}]})\n"
              "except httpx.TooManyRedirects:\n    print('gave up')\n")
    run = invoke("trace", "--emulate", "redirect-loop", "--", sys.executable, "-c", script,
                 env=clean_env(THEGRID_API_KEY=CANARY))
    hops = [int(h) for h in re.findall(r"\(hop (\d+) of #\d+\)", run.err)]
    assert hops == [2, 3, 4, 5], run.err
    folded = re.findall(r"^trace #6-#(\d+) POST \S+ 307 \(hops 6-(\d+) of #1\) http.redirect_loop", run.err, re.M)
    assert len(folded) == 1 and folded[0][0] == folded[0][1], run.err  # the rest of the loop, once
    assert len([x for x in run.err.splitlines() if x.startswith("trace #") and "http.redirect_loop" in x]) == 1


def test_render_does_not_import_the_trace_core() -> None:
    source = (REPO / "gridctl" / "render" / "trace.py").read_text("utf-8")
    imported = [n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.module] + \
               [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith("gridctl.trace")], imported


# --- before the first call -------------------------------------------------------------------------

def _no_call_run(program: str, *args: str, **env: str | None) -> dict[str, Any]:
    run = invoke("trace", "--json", *args, "--", sys.executable, str(CLIENTS / program), env=clean_env(**env))
    doc: dict[str, Any] = json.loads(run.out)
    assert doc["calls"] == [], run
    return doc


def test_an_import_error_is_said_first() -> None:
    doc = _no_call_run("import_error.py", "--emulate", "healthy")
    assert doc["diagnosis"]["code"] == "trace.no_calls"
    assert "import error" in doc["diagnosis"]["message"] and "gridctl_no_such_module_for_trace" in \
        doc["diagnosis"]["message"] and "hard-coded" not in doc["diagnosis"]["message"]


def test_a_program_with_no_key_is_told_so() -> None:
    """No --emulate (nothing stands in for the key), and the program never gets as far as a call."""
    script = "import openai; openai.OpenAI(max_retries=0).models.list()"
    run = invoke("trace", "--json", "--", sys.executable, "-c", script,
                 env=clean_env(OPENAI_BASE_URL="http://127.0.0.1:9/v1"))
    doc = json.loads(run.out)
    assert doc["calls"] == [] and doc["diagnosis"]["code"] == "config.no_key", doc
    assert "the program's own error output says" in doc["diagnosis"]["message"]
    assert "OPENAI_API_KEY" in doc["diagnosis"]["message"]  # the SDK's own words, quoted


def test_a_url_in_the_source_is_named_only_where_a_client_gets_it() -> None:
    doc = _no_call_run("base_url_in_source.py", "--emulate", "healthy")
    message = doc["diagnosis"]["message"]
    assert doc["diagnosis"]["code"] == "trace.no_calls" and "hard-coded URL (http://127.0.0.1:9/v1)" in message, message
    assert "example.invalid" not in message and "OpenAI(base_url=...)" in message
    doc = _no_call_run("url_in_docstring_only.py", "--emulate", "healthy")
    message = doc["diagnosis"]["message"]
    assert "hard-coded" not in message and "exited with code 4" in message, message


def test_an_anthropic_program_reaches_the_emulator_whatever_is_set() -> None:
    """Under --emulate every base-URL variable points at the emulator, set or not: only OPENAI_BASE_URL is set
    here, and the anthropic SDK (which reads ANTHROPIC_BASE_URL) must not reach api.anthropic.com."""
    run = invoke("trace", "--json", "--emulate", "healthy", "--", sys.executable, str(CLIENTS / "anthropic_only.py"),
                 env=clean_env(OPENAI_BASE_URL="https://api.thegrid.ai/v1"))
    doc = json.loads(run.out)
    assert [(c["status"], c["sdk_url"]) for c in doc["calls"]] == [(200, "https://messages-beta.api.thegrid.ai/v1/messages")], run
    assert "reply " in run.err


def test_on_a_terminal_the_program_keeps_its_terminal_and_ctrl_c_reaches_it() -> None:
    """gridctl on a pseudo-terminal: the program's stderr is a terminal too (isatty, colours, progress bars), and the
    keyboard's Ctrl-C reaches the program's process group as it would without trace; trace then exits 130."""
    import pty
    import select

    script = ("import sys, time; print('stderr tty', sys.stderr.isatty(), flush=True, file=sys.stderr); "
              "sys.stderr.write('one\\ntwo\\n'); sys.stderr.flush(); time.sleep(30)")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes gridctl at once
        os.execve(sys.executable, [sys.executable, "-m", "gridctl", "trace", "--emulate", "healthy", "--",
                                   sys.executable, "-c", script], clean_env())
    out, sent, deadline = b"", False, time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if b"two" in out and not sent:
                os.write(fd, b"\x03")  # the terminal's Ctrl-C
                sent = True
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    assert "stderr tty True\none\ntwo\n" in text, text
    assert os.waitstatus_to_exitcode(status) == 130 and "interrupted (Ctrl-C)" in text, text


def test_the_no_calls_reading_of_texts_and_sources(tmp_path: Path) -> None:
    """In-process: what each kind of program output and source leads to."""
    from gridctl.trace.nocalls import hard_coded, reading

    dns = ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='llm-gateway.corp.example', port=443): Max "
           "retries exceeded (Caused by NameResolutionError(\"Failed to resolve 'llm-gateway.corp.example' ([Errno -2] "
           "Name or service not known)\"))\n")
    cause, fact = reading(["prog"], 1, dns)
    assert cause.code == "net.dns" and "called llm-gateway.corp.example itself" in cause.message
    assert fact.code == "trace.no_calls" and fact.severity == "info"
    (node,) = reading(["node", "app.mjs"], 1, "node:internal/modules/cjs/loader:1147\nError: Cannot find module 'openai'\n")
    assert node.code == "trace.no_calls" and "Cannot find module 'openai'" in node.message
    js = tmp_path / "app.mjs"
    js.write_text("// see https://docs.example.invalid/v1\n/* https://block.example.invalid */\n"
                  "const client = new OpenAI({ baseURL: 'http://127.0.0.1:9/v1' });\n", "utf-8")
    assert hard_coded(["node", str(js)]) == (str(js), "http://127.0.0.1:9/v1", "its client")
    py = tmp_path / "app.py"
    py.write_text('"""https://docs.example.invalid/v1"""\nprint("https://printed.example.invalid")\n'
                  'URL = f"{\'http://127.0.0.1:9\'}/v1"\n', "utf-8")
    assert hard_coded([sys.executable, str(py)]) is None  # printed and documented URLs are not a client's
    (plain,) = reading([sys.executable, str(py)], 0, "")
    assert plain.code == "trace.no_calls" and "hard-coded" not in plain.message


def test_the_terminal_rule_step_by_step() -> None:
    """trace/terminal.py's rule on a real pipe: a trace line goes before a partial line still held, waits for a
    partial line already out to end, or after HOLD_S of silence starts on a fresh line; its own controls go."""
    import io

    from gridctl.trace.terminal import HOLD_S, Terminal

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    term = Terminal(out)
    fd = term.child_stderr(tty=False)

    def shown() -> str:
        return raw.getvalue().decode("utf-8")

    os.write(fd, b"abc")
    term.say("trace A \x1b[2J")  # the program's partial line is still held: trace's line goes first
    _wait_for(lambda: shown() == "trace A \nabc", timeout=5)
    term.say("trace B")  # the program is mid-line: trace waits for its line to end
    os.write(fd, b"def\n")
    _wait_for(lambda: shown() == "trace A \nabcdef\ntrace B\n", timeout=5)
    os.write(fd, b"ghi")
    time.sleep(HOLD_S * 2)  # relayed as it is after HOLD_S
    term.say("trace C")  # and after HOLD_S more of silence, trace's line starts on a fresh one
    _wait_for(lambda: shown().endswith("ghi\ntrace C\n"), timeout=5)
    os.write(fd, b"jkl\n")
    os.close(fd)
    term.finish(2.0)
    assert shown() == "trace A \nabcdef\ntrace B\nghi\ntrace C\njkl\n"


def test_the_har_is_whole_or_untouched_at_any_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 calls make a whole HAR; a write that fails half-way leaves the previous file as
    it was and nothing beside it."""
    from gridctl.secrets import register
    from gridctl.trace import har as har_mod
    from gridctl.trace.files import write_har
    from gridctl.trace.record import CAPTURE_CAP, Call

    register(CANARY)
    body = json.dumps({"model": "text-prime", "messages": [{"role": "user", "content": "x" * (CAPTURE_CAP // 8)}]})
    calls = [Call(id=i, slot="g", method="POST", url="http://127.0.0.1:1/_g/g/v1/chat/completions",
                  upstream_url="https://api.thegrid.ai/v1/chat/completions",
                  sdk_url="https://api.thegrid.ai/v1/chat/completions", started=time.time(), request_body=body,
                  request_bytes=len(body), status=200, response_body=body, total_ms=5.0) for i in range(1, 1001)]
    target = tmp_path / "big.har"
    write_har(calls, target)
    assert len(json.loads(target.read_text("utf-8"))["log"]["entries"]) == 1000
    before = target.read_bytes()
    real = har_mod.entry

    def failing(call: Call) -> dict[str, Any]:
        if call.id == 500:
            raise OSError(28, "No space left on device")
        return real(call)

    monkeypatch.setattr(har_mod, "entry", failing)
    with pytest.raises(OSError):
        write_har(calls, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["big.har"]
