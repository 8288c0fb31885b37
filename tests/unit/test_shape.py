"""The shape issue 10 set: typed results, request IDs collected by the Report, text from render/."""

from __future__ import annotations

import io
import json

from gridctl.findings import ERROR, Severity, finding
from gridctl.render.ping import one_line, ping_lines, stream_line
from gridctl.render.progress import progress
from gridctl.report import Output, envelope
from gridctl.result import CheckResult, PingEvidence, Report, Status, request_ids_of


def sent(model: str, status: int, *codes: str, ids: tuple[str, ...] = ("req_1",)) -> CheckResult:
    data = {"model": model, "status_code": status, "request_id": ids[-1] if ids else None,
            "request_ids": list(ids), "attempts": 1, "timings_ms": {"total": 12.0}}
    return CheckResult("ping", "Ping", [finding(c) for c in codes], data=data,
                       evidence=PingEvidence(status_code=status, model=model, request_ids=ids, attempts=1))


def test_severity_and_status_are_the_strings_they_were() -> None:
    f = finding("http.rate_limited")
    assert f.severity == "error" and f.severity is Severity.ERROR and ERROR == "error"
    check = CheckResult("ping", "Ping", [f])
    assert check.status == "fail" and check.status is Status.FAIL
    assert CheckResult("x", "X", status="skip").status is Status.SKIP
    doc = json.loads(json.dumps(envelope(Report("ping", [check]))))
    assert doc["checks"][0]["status"] == "fail" and doc["checks"][0]["findings"][0]["severity"] == "error"


def test_report_collects_request_ids_from_its_checks_in_order_once() -> None:
    balance = CheckResult("balance", "Balance", data={"instruments": [{"request_id": "req_b"}, {"request_id": None},
                                                                     {"request_id": "req_1"}]})
    models = CheckResult("model", "Instruments", data={"instruments": ["text-prime", "code-prime"]})
    report = Report("x", [sent("text-prime", 429, "http.rate_limited", ids=("req_0", "req_1")), balance, models])
    assert report.request_ids == ["req_0", "req_1", "req_b"]
    # explicit ones (a step not shown as a check) come first
    assert Report("x", [balance], request_ids=["req_z"]).request_ids == ["req_z", "req_b", "req_1"]
    assert request_ids_of([None, balance]) == ["req_b", "req_1"]


def test_evidence_is_not_in_the_json() -> None:
    doc = envelope(Report("ping", [sent("text-prime", 200)]))
    assert "evidence" not in doc["checks"][0] and doc["checks"][0]["data"]["status_code"] == 200
    assert doc["request_ids"] == ["req_1"]


def test_ping_one_liners() -> None:
    assert one_line(sent("text-prime", 200)) == "ok text-prime 200 12ms req=req_1"
    assert one_line(sent("text-max", 429, "http.rate_limited"), show_model=True) == \
        "fail http.rate_limited 429 12ms req=req_1 model=text-max"
    stream = CheckResult("stream", "Streaming", [finding("stream.cut")], data={"events": 3, "request_id": "r"},
                         duration_ms=40)
    assert stream_line(stream) == "fail stream.cut 3 events 40ms req=r"
    curl = Report("ping", [], extra={"curl": "curl https://x"})
    assert ping_lines(curl) == ["curl https://x"]
    assert ping_lines(Report("ping", [sent("a", 200), sent("b", 200)]))[1].startswith("ok b 200")


def test_progress_names_the_steps_it_is_handed_and_stays_off_a_pipe() -> None:
    with progress(Output(stderr=io.StringIO()), "doctor", ("status", "ping")) as on_step:
        assert on_step is None  # not a terminal: nothing drawn, nothing to call

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    with progress(Output(stderr=err, no_color=True), "doctor", ("status", "ping")) as on_step:
        assert on_step is not None
        on_step("status")
    assert "doctor: ping…" in err.getvalue()  # what is still running, from the steps handed in
