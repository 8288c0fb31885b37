"""The `network` step: DNS, TCP connect and TLS to the API host, each timed, no request sent."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from gridctl.findings import finding
from gridctl.probe.deadline import Deadline
from gridctl.probe.proxyenv import proxy_for
from gridctl.result import CheckResult, Timer


def resolve(host: str, port: int, deadline: Deadline) -> tuple[float, list[str], str | None]:
    """getaddrinfo bounded by the deadline (it cannot be cancelled, so it runs in a daemon thread)."""
    box: dict[str, object] = {}
    try:
        ipaddress.ip_address(host.strip("[]"))
        return 0.0, [host.strip("[]")], None  # a literal address: nothing to look up
    except ValueError:
        pass

    def work() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            box["addrs"] = sorted({str(i[4][0]) for i in infos})
        except (OSError, UnicodeError, ValueError) as exc:  # a label over 63 characters fails IDNA encoding
            box["error"] = str(exc) or exc.__class__.__name__

    t0 = time.perf_counter()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(deadline.remaining())
    ms = (time.perf_counter() - t0) * 1000
    if "addrs" in box:
        return ms, box["addrs"], None  # type: ignore[return-value]
    return ms, [], str(box.get("error", "timed out"))


def check_network(base_url: str, deadline: Deadline) -> CheckResult:
    timer = Timer()
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443
    data: dict[str, object] = {"host": host, "port": port}
    proxy = proxy_for(base_url.strip())
    if proxy:
        data["proxy"] = proxy
        from gridctl.probe.proxyenv import proxy_problem

        bad = proxy_problem()
        if bad is not None:
            return CheckResult("network", "Network", [bad], data={**data, "summary": "proxy setting unusable"},
                               duration_ms=timer.ms())
        note = finding("net.proxy", f"Requests go through the proxy {proxy} (from the environment); DNS and "
                       "TLS to the API happen there.", severity="info")
        return CheckResult("network", "Network", [note], data={**data, "summary": f"via proxy {proxy}"},
                           duration_ms=timer.ms())
    dns_ms, addrs, error = resolve(host, port, deadline)
    timings = {"dns": round(dns_ms, 1)}
    data.update(addresses=addrs, timings_ms=timings)
    if error:
        msg = (f"Resolving {host} did not finish within the time budget." if error == "timed out"
               else f"{host} did not resolve: {error}.")
        return CheckResult("network", "Network", [finding("net.dns", msg)], data=data, duration_ms=timer.ms())
    t0 = time.perf_counter()
    try:
        sock = socket.create_connection((host, port), timeout=max(0.05, deadline.remaining()))
    except TimeoutError:
        return CheckResult("network", "Network", [finding("net.connect_timeout", f"TCP to {host}:{port} timed out.")],
                           data=data, duration_ms=timer.ms())
    except OSError as exc:
        code = "net.refused" if isinstance(exc, ConnectionRefusedError) else "net.reset"
        return CheckResult("network", "Network", [finding(code, f"TCP to {host}:{port}: {exc.strerror or exc}.")],
                           data=data, duration_ms=timer.ms())
    timings["connect"] = round((time.perf_counter() - t0) * 1000, 1)
    findings = []
    try:
        if parts.scheme == "https":
            t1 = time.perf_counter()
            ctx = _tls_context()
            sock.settimeout(max(0.05, deadline.remaining()))
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                timings["tls"] = round((time.perf_counter() - t1) * 1000, 1)
                data["tls_version"] = tls.version()
    except ssl.SSLCertVerificationError as exc:
        findings.append(finding("net.tls", f"The certificate of {host} could not be verified: {exc.verify_message}."))
    except (ssl.SSLError, OSError) as exc:
        findings.append(finding("net.tls", f"The TLS handshake with {host} failed: {exc}."))
    finally:
        sock.close()
    data["summary"] = f"{host}:{port} " + " ".join(f"{k} {v:.0f}ms" for k, v in timings.items())
    return CheckResult("network", "Network", findings, data=data, duration_ms=timer.ms())


def _tls_context() -> ssl.SSLContext:
    """The trust store the ping itself uses (httpx: certifi, or SSL_CERT_FILE / SSL_CERT_DIR).

    With the system store instead, a machine without ca-certificates (a slim container) or with a
    corporate CA in only one of the two would get a TLS verdict here that contradicts the ping.
    """
    import httpx

    return httpx.create_ssl_context(trust_env=True)
