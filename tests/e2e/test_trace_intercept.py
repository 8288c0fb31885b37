"""`gridctl trace` sees programs that hard-code The Grid's URL, without editing them (issue 23, section 1).

Each program below writes `https://api.thegrid.ai/v1` (or the Messages host root) into its own source.
Traced under --emulate, its calls go through HTTPS_PROXY to trace's forward side, which terminates TLS
with the session CA and records them. Each run has a twin where the same calls take their base URL from
the variables trace sets (the reverse side): the two must record the same calls with the same diagnosis.
A call to another HTTPS host (a loopback TLS server named `other.test`, mapped to 127.0.0.1 by the proxy's
test-only resolver) must work untouched and unrecorded. No CA file may outlive the run, however it ends.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO, Run, clean_env, gridctl, in_parallel
from tests.support.tls import self_signed

pytestmark = pytest.mark.e2e

CLIENT = [sys.executable, str(Path(__file__).parent / "trace_clients" / "hardcoded_sdk.py")]
KEY = "gk-hc0123456789abcdefghijklmnopqrstuvwxyz01"
CURL = ('B=https://api.thegrid.ai/v1; [ -n "$USE_ENV" ] && B=$THEGRID_BASE_URL; curl -sS -o /dev/null -w "curl %{{http_code}}\\n" --max-time 3 {L} -X POST "$B/chat/completions" '
        '-H "Authorization: Bearer $CLIENT_KEY" -H "Content-Type: application/json" '
        '-d \'{{"model":"text-prime","messages":[{{"role":"user","content":"ping"}}]}}\'')


def curl(follow: bool = False) -> str:
    return CURL.format(L="-L" if follow else "")


def sh(*steps: str, shell: str = "") -> list[str]:
    """One program: the Python client's steps, then an optional shell line (curl)."""
    py = " ".join([*map(_quote, CLIENT), *steps]) if steps else ""
    return ["sh", "-c", "; ".join(x for x in (py, shell) if x)]


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


# name -> (scenario, program, the diagnosis code of each call in order: as test_trace.py's reverse-proxied runs of
# these scenarios are diagnosed)
CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "bad-key": ("bad-key", sh("openai", "anthropic", shell=curl()), ["auth.rejected"] * 3),
    "doubled-and-model": ("healthy", sh("openai-doubled", "openai-model", "other-host"),
                          ["url.doubled_v1", "model.foreign_name"]),
    # plain httpx and the stdlib's urllib with the URL in the code: the README's clients table
    "no-credits": ("no-credits", sh("openai", "anthropic", "urllib", "httpx"), ["balance.credits_empty"] * 4),
    "stream-cut": ("stream-cut", sh("openai-stream", "anthropic-stream"), ["stream.cut"] * 2),
    "redirect": ("redirect", sh("openai", shell=curl(follow=True)), ["http.redirect", "ok"] * 2),
    "redirect-cross-host": ("redirect-cross-host", sh("openai"), ["http.redirect", "ok"]),
}
# Cases also run as the reverse-proxied twin (USE_ENV=1), compared call by call. One: each run costs seconds
# of CPU (the SDKs' imports), and tests/e2e/test_trace.py pins the reverse side's codes for every scenario.
TWINS = ("doubled-and-model",)


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from other.test"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def other_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    cert, key = self_signed(tmp_path_factory.mktemp("other"), "other.test")  # any host trace must not decrypt
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def _env(other: tuple[int, Path], **extra: str) -> dict[str, str]:
    port, cert = other
    return clean_env(CLIENT_KEY=KEY, OTHER_PORT=str(port), OTHER_CERT=str(cert),
                     GRIDCTL_TRACE_RESOLVE="other.test=127.0.0.1", **extra)


@pytest.fixture(scope="module")
def runs(other_host: tuple[int, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future[Run]]:
    har_dir = tmp_path_factory.mktemp("har")
    jobs: dict[str, Any] = {}
    for name, (scenario, argv, _) in CASES.items():
        for twin, extra in (("forward", {}), ("reverse", {"USE_ENV": "1"}))[:2 if name in TWINS else 1]:
            env = _env(other_host, **extra)
            har = str(har_dir / f"{name}-{twin}.har")
            jobs[f"{name}:{twin}"] = (lambda argv=argv, env=env, s=scenario, har=har:
                                      (gridctl("trace", "--json", "--emulate", s, "--har", har, "--", *argv, env=env,
                                               timeout=180), Path(har)))
    return in_parallel(jobs, workers=4)


def _calls(runs: dict[str, Future[Any]], key: str) -> tuple[Run, dict[str, Any]]:
    run, _ = runs[key].result(timeout=300)
    return run, run.json()


def _shape(doc: dict[str, Any]) -> list[tuple[str, int | None, str, bool]]:
    return [(c["method"], c["status"], (c["findings"] or [{"code": "ok"}])[0]["code"], c["hop_of"] is not None)
            for c in doc["calls"]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_hard_coded_calls_are_recorded_once_and_diagnosed_as_reverse_ones(runs: dict[str, Future[Any]],
                                                                          name: str) -> None:
    _, _, codes = CASES[name]
    run, doc = _calls(runs, f"{name}:forward")
    assert [(c["findings"] or [{"code": "ok"}])[0]["code"] for c in doc["calls"]] == codes, run
    if name in TWINS:
        twin_run, twin = _calls(runs, f"{name}:reverse")
        assert _shape(doc) == _shape(twin), f"{run}\n--- reverse twin ---\n{twin_run}"
        assert (doc["diagnosis"] or {}).get("code") == (twin["diagnosis"] or {}).get("code")
        assert doc["exit_code"] == twin["exit_code"]
        assert all(c["url"].startswith("http://127.0.0.1:") for c in twin["calls"]), twin_run
    # the forward side saw the program's own URL, and TLS came through the session CA (no certificate error)
    first = [c for c in doc["calls"] if c["hop_of"] is None]
    assert all(c["url"].startswith(("https://api.thegrid.ai/", "https://messages-beta.api.thegrid.ai/"))
               for c in first), run
    assert doc["intercept"]["tls_terminated"] >= 1 and doc["intercept"]["tls_refused"] == 0, run
    assert "CERTIFICATE_VERIFY_FAILED" not in run.err and "SSL" not in run.err
    # the same HAR entries as a reverse-proxied call, and the key nowhere in what trace wrote
    _, har = runs[f"{name}:forward"].result()
    entries = json.loads(har.read_text("utf-8"))["log"]["entries"]
    assert [e["request"]["url"] for e in entries] == [c["url"] for c in doc["calls"]]
    for text in (run.out, run.err, har.read_text("utf-8")):
        assert KEY not in text and KEY[-20:] not in text


def test_the_signed_307_comes_back_through_the_intercepted_host(runs: dict[str, Future[Any]]) -> None:
    for name in ("redirect", "redirect-cross-host"):
        run, doc = _calls(runs, f"{name}:forward")
        hops = [c for c in doc["calls"] if c["hop_of"] is not None]
        assert hops and all(c["url"].startswith("https://api.thegrid.ai/_g/r/") and c["status"] == 200
                            for c in hops), run
        assert "pong" in run.err and doc["ok"], run  # the program got its answer (its stdout is on stderr here)
    run, _ = _calls(runs, "redirect:forward")
    assert "curl 200" in run.err, run


def test_other_hosts_are_tunnelled_blind(runs: dict[str, Future[Any]]) -> None:
    run, doc = _calls(runs, "doubled-and-model:forward")
    # the program trusted only other.test's own certificate: the answer proves nobody decrypted it
    assert "other 200 hello from other.test" in run.err, run
    assert doc["tunnels_blind"] == 1 and len(doc["calls"]) == 2, run
    assert not [c for c in doc["calls"] if "other.test" in c["url"]]
    assert "other.test" not in doc["intercept"]["hosts"]


PRINT_ENV = ("import os, sys; print(os.environ.get('SSL_CERT_FILE', '-'), os.environ.get('HTTPS_PROXY', '-'), "
             "os.getpid(), flush=True); {after}")


def _started(after: str, *flags: str) -> tuple[subprocess.Popen[str], Path, str, int]:
    """gridctl trace running a child that prints its bundle and proxy, then does `after`."""
    proc = subprocess.Popen([sys.executable, "-m", "gridctl", "trace", *flags, "--emulate", "healthy", "--",
                             sys.executable, "-c", PRINT_ENV.format(after=after)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=REPO)
    assert proc.stdout is not None
    bundle, proxy, child = proc.stdout.readline().split()
    return proc, Path(bundle), proxy, int(child)


def _gone(bundle: Path, proxy: str) -> None:
    assert not bundle.parent.exists(), f"{bundle.parent} outlived the run"
    port = int(proxy.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


@pytest.mark.parametrize("how", ["exit", "ctrl-c", "sigterm", "child-killed"])
def test_no_ca_file_or_listener_outlives_the_run(how: str) -> None:
    after = "sys.exit(3)" if how == "exit" else "import time; time.sleep(30)"
    proc, bundle, proxy, child = _started(after)
    assert bundle.is_file() and "BEGIN CERTIFICATE" in bundle.read_text() and "PRIVATE KEY" not in bundle.read_text()
    assert oct(bundle.parent.stat().st_mode & 0o777) == "0o700" and oct(bundle.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in bundle.parent.iterdir() if "key" in p.name.lower()] == []
    if how in ("ctrl-c", "sigterm"):
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGTERM)
    elif how == "child-killed":
        os.kill(child, signal.SIGKILL)
    code = proc.wait(timeout=20)
    _gone(bundle, proxy)
    assert code == {"exit": 3, "ctrl-c": 130, "sigterm": 143, "child-killed": 137}[how], proc.stderr


def test_no_intercept_sets_no_proxy_and_no_ca() -> None:
    proc, bundle, proxy, _ = _started("pass", "--no-intercept")
    assert proc.wait(timeout=20) == 0
    assert (str(bundle), proxy) == ("-", "-")


def test_child_env_keeps_loopback_direct_and_names_the_bundle_everywhere() -> None:
    script = ("import os; names = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'SSL_CERT_FILE', "
              "'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'NODE_USE_ENV_PROXY', 'NO_PROXY']; "
              "print('|'.join(os.environ.get(n, '-') for n in names))")
    run = gridctl("trace", "--emulate", "healthy", "--", sys.executable, "-c", script, env=clean_env(), timeout=60)
    values = run.out.strip().split("|")
    proxies, bundles, (node, no_proxy) = values[:4], values[4:8], values[8:]
    assert len(set(proxies)) == 1 and proxies[0].startswith("http://127.0.0.1:"), run
    assert len(set(bundles)) == 1 and bundles[0].endswith(".pem") and node == "1"
    assert {"127.0.0.1", "localhost", "::1"} <= set(no_proxy.split(","))
    assert not os.path.exists(bundles[0])


NODE = shutil.which("node")
CURL_BIN = shutil.which("curl")
# Which clients honour HTTPS_PROXY/HTTP_PROXY (the README's table): each fetches a plain-http page on 127.0.0.2,
# a loopback address NO_PROXY does not list, so a client that honours the proxy variables goes through trace
# (forwarded blind and counted), and one that ignores them goes straight there. Either way nothing leaves loopback.
REACH: dict[str, tuple[list[str], bool]] = {
    "python-urllib": ([sys.executable, "-c", "import os, urllib.request as u; "
                       "print(u.urlopen(os.environ['U'], timeout=5).read().decode())"], True),
    "python-httpx": ([sys.executable, "-c", "import os, httpx; print(httpx.get(os.environ['U'], timeout=5).text)"], True),
}
if CURL_BIN:
    REACH["curl"] = ([CURL_BIN, "-sS", "--max-time", "5", "$U"], True)
if NODE:
    _major = int(subprocess.run([NODE, "-p", "process.versions.node.split('.')[0]"], capture_output=True,
                                text=True, timeout=30).stdout.strip() or 0)
    # NODE_USE_ENV_PROXY (set by trace) is honoured from Node 24 (and late 22.x); older Node ignores the variables
    REACH["node-fetch"] = ([NODE, "-e", "fetch(process.env.U).then(r => r.text()).then(t => console.log(t))"],
                           _major >= 24)


@pytest.fixture(scope="module")
def page_on_127_0_0_2() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("client", sorted(REACH))
def test_which_clients_reach_the_forward_side(client: str, page_on_127_0_0_2: str) -> None:
    argv, reaches = REACH[client]
    argv = [a.replace("$U", page_on_127_0_0_2) for a in argv]
    run = gridctl("trace", "--json", "--", *argv, env=clean_env(U=page_on_127_0_0_2), timeout=60)
    doc = run.json()
    assert "hello from other.test" in run.err, run  # the page arrived either way (the program's stdout, on stderr)
    assert doc["tunnels_blind"] == (1 if reaches else 0), run
    assert doc["calls"] == []  # another host: forwarded, never recorded


def test_a_client_that_does_not_trust_the_session_ca_is_counted_not_recorded(other_host: tuple[int, Path]) -> None:
    """A pinned or private trust store refuses trace's leaf: the call fails as it would against a wrong
    certificate, and trace says so instead of pretending it saw nothing."""
    _, foreign_ca = other_host
    run = gridctl("trace", "--json", "--emulate", "healthy", "--", "curl", "-sS", "--max-time", "5",
                  "--cacert", str(foreign_ca), "https://api.thegrid.ai/v1/models", env=clean_env(), timeout=60)
    doc = run.json()
    assert doc["intercept"]["tls_refused"] == 1 and doc["calls"] == [], run
    assert doc["child_exit_code"] == 60  # curl: peer certificate cannot be authenticated
