"""GET /v1/diagnostics: The Grid's own checks, folded into doctor's ping step; anything odd is a quiet skip."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from gridctl.probe.client import Deadline, Net
from gridctl.probe.diagnostics import fetch_diagnostics, fold, parse
from gridctl.result import CheckResult
from gridctl.target import Target

BASE = "https://api.thegrid.ai/v1"
KEY = "gk-diag-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5Aa0o"
DOC: dict[str, Any] = {"data": {"status": "warn", "service": "consumption-api", "server_time": "2026-11-27T06:00:00Z",
                                "summary": "2/3 checks ok", "checks": [
                                    {"name": "api_key", "status": "ok", "code": "key_valid", "detail": "fine"},
                                    {"name": "balance", "status": "warn", "code": "low", "detail": "USD 0.40 left",
                                     "next_action": "Enable Auto-Reload"}]}}


def fetch(httpx_mock: HTTPXMock, **response: Any) -> CheckResult:
    httpx_mock.add_response(url=BASE + "/diagnostics", **response)
    with Net(Deadline(5), retries=0) as net:
        return fetch_diagnostics(net, Target(base_url=BASE, key=KEY, model="text-prime"))


def test_a_200_is_folded_with_the_servers_words(httpx_mock: HTTPXMock) -> None:
    diag = fetch(httpx_mock, json=DOC)
    sent = httpx_mock.get_requests()[0]
    assert sent.method == "GET" and sent.headers["authorization"] == f"Bearer {KEY}"
    [f] = diag.findings
    assert f.code == "status.diagnostics" and f.severity == "warning"
    assert "'balance' says warn: USD 0.40 left" in f.message and f.fix == "Enable Auto-Reload"
    ping = CheckResult("ping", "Ping", [], data={"status_code": 200})
    checks = {"ping": ping, "diagnostics": diag}
    fold(checks)
    assert "diagnostics" not in checks and ping.data["server_diagnostics"]["status"] == "warn"
    assert [x.code for x in ping.findings] == ["status.diagnostics"] and ping.status == "warn"


@pytest.mark.parametrize("response", [
    {"status_code": 404, "json": {"errors": {"detail": "Not found"}}},
    {"status_code": 401, "json": {"errors": {"detail": "Invalid API key"}}},
    {"status_code": 200, "html": "<html><title>Docs</title></html>"},
    {"status_code": 200, "json": {"data": {"status": "weird"}}},
    {"status_code": 500, "text": "oops"},
])
def test_anything_else_is_a_quiet_skip(httpx_mock: HTTPXMock, response: dict[str, Any]) -> None:
    diag = fetch(httpx_mock, **response)
    assert diag.findings == [] and "diagnostics" not in diag.data
    ping = CheckResult("ping", "Ping", [], data={"status_code": 200})
    checks = {"ping": ping, "diagnostics": diag}
    fold(checks)
    assert ping.findings == [] and "server_diagnostics" not in ping.data and "diagnostics" not in checks


def test_parse_is_bounded_and_tolerant() -> None:
    doc = {"data": {"status": "ok", "checks": [{"name": "x" * 500, "status": "ok"}, "junk", {"status": "ok"}] * 40}}
    parsed = parse(doc)
    assert parsed is not None and len(parsed["checks"]) == 40 and len(parsed["checks"][0]["name"]) == 200
    assert parse(None) is None and parse({"data": []}) is None
