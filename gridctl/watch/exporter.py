"""`gridctl exporter`: a Prometheus exporter in blackbox_exporter's style.

GET /probe?instrument=text-prime&api=chat runs one probe (streamed by default, so time to
first token is measured) within the scrape's X-Prometheus-Scrape-Timeout-Seconds and answers
with that probe's figures; GET /metrics describes the exporter itself. Request IDs travel as
OpenMetrics exemplars on the counters, never as labels (one series per request would explode).

Metric names: blackbox_exporter's where Prometheus users know them (probe_success,
probe_duration_seconds, probe_http_status_code), OpenTelemetry's GenAI client names where they
exist (gen_ai.client.operation.duration, .time_to_first_chunk, .time_per_output_chunk), in
Prometheus form (dots to underscores, the unit as suffix); gridctl_* for the rest.

prometheus_client is an optional extra (`pip install 'gridctl[exporter]'`), imported inside the
functions that need it, like every heavy import; `available()` says whether it is installed.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gridctl import grid
from gridctl.errors import ConfigProblem, UsageError
from gridctl.loopback import TrackedServer
from gridctl.secrets import scrub
from gridctl.settings import Settings
from gridctl.target import Target
from gridctl.watch.probe import probe_once
from gridctl.watch.stats import Sample

DEFAULT_LISTEN = "127.0.0.1:9464"
SCRAPE_MARGIN_S = 0.5  # blackbox_exporter's default offset: answer before Prometheus gives up
# Probes run at once: each is a call to The Grid with the key (billed) and a thread. Past this, a scrape
# is answered 503 at once instead of queueing behind probes it would time out waiting for.
MAX_PROBES = 4
MAX_CONNECTIONS = 64  # open connections; past it a client gets an immediate 503 (loopback.TrackedServer)
IDLE_S = 15.0  # a connection that sends nothing (between requests, or mid-request) is closed after this
HEAD_S = 10.0  # a request's line and headers (and the wait for them) whole within this, trickled or not
_INSTRUMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
# Instruments come from the scrape URL, so a caller could name new ones without end, each a new series
# kept for the exporter's life. Past this many (instrument, api) pairs a new one is probed, not counted.
MAX_COUNTED = 100


@dataclass
class ExporterState:
    """What outlives one scrape: the counters (with the last request ID as exemplar)."""

    make_target: Callable[[str, str], Target]
    timeout_s: float = 10.0
    transport: Any = None  # tests may hand the probes an httpx transport
    max_probes: int = MAX_PROBES
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: int = 0  # probes under way now (under `lock`)
    probes: dict[tuple[str, str], tuple[int, str | None]] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], tuple[int, str | None]] = field(default_factory=dict)

    def start_probe(self) -> bool:
        """Take a probe slot; False when all are busy (the scrape gets a 503 at once)."""
        with self.lock:
            if self.running >= self.max_probes:
                return False
            self.running += 1
            return True

    def end_probe(self) -> None:
        with self.lock:
            self.running -= 1

    def count(self, sample: Sample, api: str) -> None:
        with self.lock:
            key = (sample.instrument, api)
            if key not in self.probes and len(self.probes) >= MAX_COUNTED:
                return
            n, _ = self.probes.get(key, (0, None))
            self.probes[key] = (n + 1, sample.request_id)
            if not sample.ok:
                fkey = (sample.instrument, api, sample.code or "http.unexpected")
                n, _ = self.failures.get(fkey, (0, None))
                self.failures[fkey] = (n + 1, sample.request_id)


def available() -> bool:
    """Is the optional extra installed?"""
    import importlib.util

    return importlib.util.find_spec("prometheus_client") is not None


def _exemplar(rid: str | None) -> Any:
    from prometheus_client.samples import Exemplar

    # OpenMetrics caps an exemplar's labels at 128 characters.
    return Exemplar({"request_id": rid[:100]}, 1.0) if rid else None


class ProbeCollector:
    """The metrics of one probe, plus the cumulative counters of every probe so far."""

    def __init__(self, sample: Sample, api: str, stream: bool, duration_s: float, state: ExporterState) -> None:
        self.sample, self.api, self.stream, self.duration_s, self.state = sample, api, stream, duration_s, state

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        s, f = self.sample, self.sample.figures

        def gauge(name: str, doc: str, value: float | None, unit: str = "") -> Iterator[Any]:
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value, unit=unit)

        yield from gauge("probe_success", "1 when the probe's call succeeded, else 0.", 1.0 if s.ok else 0.0)
        yield from gauge("probe_duration_seconds", "How long the probe took.", self.duration_s, "seconds")
        yield from gauge("probe_http_status_code", "HTTP status of the final answer (0: none).",
                         float(s.status_code or 0))
        phases = GaugeMetricFamily("gridctl_probe_phase_seconds", "Phase timings of the call: dns, connect, tls "
                                   "(durations) and ttfb (from the request's start to the response headers).",
                                   labels=["phase"], unit="seconds")
        for phase in ("dns", "connect", "tls", "ttfb"):
            value = f.get(f"{phase}_ms")
            if value is not None:
                phases.add_metric([phase], value / 1000)
        yield phases
        yield from gauge("gridctl_probe_time_to_first_byte_seconds", "From the request's start to the response "
                         "headers.", _s(f.get("ttfb_ms")), "seconds")
        if s.ok:  # failed calls stay out of the latency figures
            yield from gauge("gen_ai_client_operation_duration_seconds", "The call, start to end (stream end for "
                             "streams); OpenTelemetry gen_ai.client.operation.duration.", _s(f.get("total_ms")),
                             "seconds")
            yield from gauge("gen_ai_client_operation_time_to_first_chunk_seconds", "Time to first token: the first "
                             "chunk carrying content; OpenTelemetry gen_ai.client.operation.time_to_first_chunk.",
                             _s(f.get("ttft_ms")), "seconds")
            yield from gauge("gen_ai_client_operation_time_per_output_chunk_seconds", "Inter-token latency: "
                             "(total - TTFT) / (tokens - 1).", _s(f.get("itl_ms")), "seconds")
            yield from gauge("gridctl_probe_output_tokens_per_second", "Generation rate after the first token.",
                             f.get("tokens_per_s"))
        # Only this target's counters: Prometheus files every /probe answer under the probed target,
        # so another instrument's counters here would become duplicate series.
        mine = (s.instrument, self.api)
        with self.state.lock:
            probes = {k: v for k, v in self.state.probes.items() if k == mine}
            failures = {k: v for k, v in self.state.failures.items() if k[:2] == mine}
        total = CounterMetricFamily("gridctl_probes", "Probes run by this exporter.", labels=["instrument", "api"])
        for (instrument, api), (n, rid) in probes.items():
            total.add_metric([instrument, api], n, exemplar=_exemplar(rid))
        yield total
        failed = CounterMetricFamily("gridctl_probe_failures", "Failed probes, by gridctl finding code "
                                     "(`gridctl explain CODE`).", labels=["instrument", "api", "code"])
        for (instrument, api, code), (n, rid) in failures.items():
            failed.add_metric([instrument, api, code], n, exemplar=_exemplar(rid))
        yield failed


def _s(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


class ExporterServer(TrackedServer):
    def __init__(self, address: tuple[str, int], state: ExporterState) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram
        from prometheus_client.platform_collector import PlatformCollector
        from prometheus_client.process_collector import ProcessCollector

        self.state = state
        self.own = CollectorRegistry()
        ProcessCollector(registry=self.own)
        PlatformCollector(registry=self.own)
        self.scrapes = Counter("gridctl_exporter_scrapes", "Requests to /probe, by outcome.", ["outcome"],
                               registry=self.own)
        self.probe_time = Histogram("gridctl_exporter_probe_duration_seconds", "How long /probe took.",
                                    registry=self.own)
        super().__init__(address, _Handler, max_connections=MAX_CONNECTIONS)


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_S  # the socket's timeout: an idle or stalled client is dropped, not kept for ever

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would drown stderr

    def handle_one_request(self) -> None:
        # The socket timeout restarts with every byte: a client trickling its headers would hold a
        # connection (and a thread) for ever. The whole head gets HEAD_S, then the connection is cut.
        import socket

        def cut() -> None:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        self._head_timer = threading.Timer(HEAD_S, cut)
        self._head_timer.daemon = True
        self._head_timer.start()
        try:
            super().handle_one_request()
        finally:
            self._head_timer.cancel()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self._head_timer.cancel()  # the head is in: the probe has its own deadline
        return parsed

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/probe":
            return self._probe(parse_qs(url.query))
        if url.path == "/metrics":
            return self._expose(self.server.own)
        if url.path == "/":
            page = ("<html><body><h1>gridctl exporter</h1><p><a href=\"/probe?instrument=text-prime&amp;api=chat\">"
                    "/probe?instrument=text-prime&amp;api=chat</a> | <a href=\"/metrics\">/metrics</a></p>"
                    "</body></html>\n")
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        self._send(404, b"not found: try /probe?instrument=text-prime or /metrics\n", "text/plain")

    def _probe(self, query: dict[str, list[str]]) -> None:
        srv = self.server
        instrument = (query.get("instrument") or query.get("target") or [""])[0]
        api = (query.get("api") or ["chat"])[0]
        stream = (query.get("stream") or ["true"])[0].lower() not in ("0", "false", "no")
        if not _INSTRUMENT.fullmatch(instrument) or api not in ("chat", "messages"):
            srv.scrapes.labels("bad_request").inc()
            return self._send(400, b"usage: /probe?instrument=text-prime&api=chat|messages[&stream=false]\n",
                              "text/plain")
        budget = srv.state.timeout_s
        header = self.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        try:
            if header:
                budget = min(budget, max(0.1, float(header) - SCRAPE_MARGIN_S))
        except ValueError:
            pass
        if not srv.state.start_probe():
            srv.scrapes.labels("busy").inc()
            return self._send(503, f"busy: {srv.state.max_probes} probes already running; try again at the next "
                              "scrape\n".encode(), "text/plain", retry_after="1")
        import time

        t0 = time.perf_counter()
        try:
            sample, _check = probe_once(srv.state.make_target(instrument, api), stream=stream, timeout=budget,
                                        transport=srv.state.transport)
        finally:
            srv.state.end_probe()
        duration = time.perf_counter() - t0
        srv.state.count(sample, api)
        srv.scrapes.labels("success" if sample.ok else "failure").inc()
        srv.probe_time.observe(duration)
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry()
        registry.register(ProbeCollector(sample, api, stream, duration, srv.state))
        self._expose(registry)

    def _expose(self, registry: Any) -> None:
        from prometheus_client.exposition import choose_encoder

        encoder, ctype = choose_encoder(self.headers.get("Accept", ""))
        # The key is never in a metric; scrub() is the last line of defence all the same.
        self._send(200, scrub(encoder(registry).decode()).encode(), ctype)

    def _send(self, code: int, body: bytes, ctype: str, retry_after: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(body)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` (loopback) or `[::1]:PORT` -> (host, port); ValueError when malformed."""
    match = re.fullmatch(r"(?:\[([^\]]+)\]|([^:\[\]]*)):(\d{1,5})", text.strip())
    if not match:
        raise ValueError(f"--listen takes HOST:PORT, not {text!r}")
    host, port = match[1] or match[2] or "127.0.0.1", int(match[3])
    if port > 65535:
        raise ValueError(f"--listen port {port} is out of range")
    return host, port


def make_server(listen: str, state: ExporterState) -> ExporterServer:
    host, port = parse_listen(listen)
    return ExporterServer((host, port), state)


@dataclass
class Listening:
    """A bound exporter: where it listens, and whether that is beyond this machine."""

    server: ExporterServer
    host: str
    url: str
    loopback: bool


def target_maker(settings: Settings) -> Callable[[str, str], Target]:
    """`/probe?instrument=..&api=..` -> the Target to probe: the other API's default host when the
    base URL is the default one, the configured base URL otherwise."""
    from gridctl.target import base_url_for

    def make_target(instrument: str, api: str) -> Target:
        base = base_url_for(settings)
        if api != (settings.api.value or "chat") and settings.base_url.source == "default":
            base = f"{grid.MESSAGES_ROOT}/v1" if api == "messages" else grid.DEFAULT_BASE_URL
        return Target(base_url=base, key=settings.key.value, model=instrument, api=api)

    return make_target


def open_exporter(settings: Settings, listen: str, yes: bool = False) -> Listening:
    """Check the extra, the address and the key, then bind; usage (exit 2) and config (exit 3) errors.

    An address beyond loopback needs `yes` (--yes) or a yes at a terminal, as `trace --listen` does:
    anyone who reaches /probe makes calls to The Grid with the key."""
    from gridctl.findings import finding
    from gridctl.prompts import allow_listen
    from gridctl.render.exporter import listen_question

    if not available():
        raise UsageError("the exporter needs prometheus_client: pip install 'gridctl[exporter]'")
    try:
        host, _port = parse_listen(listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not settings.key.value:
        raise ConfigProblem(finding("config.no_key").message)
    allow_listen(host, yes, listen_question(host))
    try:
        server = make_server(listen, ExporterState(target_maker(settings), timeout_s=settings.timeout))
    except OSError as exc:
        raise UsageError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    return Listening(server, host, f"http://{shown}:{server.server_port}", grid.is_loopback_host(host))


def serve_until_stopped(server: ExporterServer) -> None:
    """Serve until Ctrl-C or SIGTERM (systemd, docker stop), then close cleanly."""
    _stop_on_sigterm()
    try:
        server.serve_forever(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.disconnect_all()  # a scrape parked mid-request does not hold the exit
        server.server_close()


def _stop_on_sigterm() -> None:
    """SIGTERM ends the exporter like Ctrl-C: cleanly, exit 0."""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
