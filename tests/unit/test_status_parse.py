"""status.py: every status-page provider's JSON to a verdict; the fallbacks; no credentials, ever."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpx import HTTPXMock

from gridctl.emulator import payloads
from gridctl.emulator.scenarios import SCENARIOS
from gridctl.findings import CATALOGUE
from gridctl.probe.client import Deadline, Net
from gridctl.probe.status import ENDPOINTS, check_status, parse

ROOT = "https://status.thegrid.ai"


def verdict(provider: str, doc: dict[str, Any]) -> list[str]:
    parsed = parse(provider, doc)
    assert parsed is not None
    return [f.code for f in parsed[0]]


def run(budget: float = 10.0) -> Any:
    with Net(Deadline(budget), retries=2) as net:
        return check_status(net, ROOT + "/")


# ---------------------------------------------------------------- Atlassian Statuspage (what the emulator serves)


@pytest.mark.parametrize(("scenario", "code"), [
    ("healthy", "status.operational"),
    ("incident", "status.incident"),
    ("maintenance", "status.maintenance"),
    ("degraded", "status.degraded"),
])
@pytest.mark.parametrize("summary", [True, False])
def test_statuspage_documents_of_each_scenario(scenario: str, code: str, summary: bool) -> None:
    doc = payloads.status(SCENARIOS[scenario].status, summary)
    assert verdict("statuspage", doc) == [code]


def test_incident_names_the_incident_and_the_component() -> None:
    parsed = parse("statuspage", payloads.status(SCENARIOS["incident"].status, True))
    assert parsed is not None
    [f], data = parsed
    assert "Elevated error rates on text instruments" in f.message
    assert "Consumption API: major outage" in f.message and "It's not you" in f.message
    assert "major_outage" not in f.message and "(investigating)" in f.message  # enums in words
    assert data["affected_components"] == ["Consumption API: major outage"]


@pytest.mark.parametrize(("doc", "code"), [
    ({"status": {"indicator": "none", "description": "All Systems Operational"}}, "status.operational"),
    ({"status": {"indicator": "minor", "description": "Minor"}}, "status.degraded"),
    ({"status": {"indicator": "major", "description": "Major"}}, "status.incident"),
    ({"status": {"indicator": "critical", "description": "Critical"}}, "status.incident"),
    ({"status": {"indicator": "maintenance", "description": "Maint"}}, "status.maintenance"),
    # an unresolved incident counts even while the indicator still says minor
    ({"status": {"indicator": "minor"}, "incidents": [{"name": "API errors", "status": "identified"}]},
     "status.incident"),
    # resolved incidents and postmortems are history, not news
    ({"status": {"indicator": "none"}, "incidents": [{"name": "old", "status": "resolved"},
                                                     {"name": "older", "status": "postmortem"}]},
     "status.operational"),
    ({"status": {"indicator": "none"}, "scheduled_maintenances": [{"name": "db", "status": "in_progress"}]},
     "status.maintenance"),
    ({"status": {"indicator": "none"}, "scheduled_maintenances": [{"name": "db", "status": "scheduled"}]},
     "status.operational"),
    ({"status": {"indicator": "none"}, "incidents": "not a list", "components": [None, 3, "x"]},
     "status.operational"),
])
def test_statuspage_variants(doc: dict[str, Any], code: str) -> None:
    assert verdict("statuspage", doc) == [code]


# ---------------------------------------------------------------- the other providers


@pytest.mark.parametrize(("doc", "code"), [
    ({"page": {"name": "The Grid", "status": "UP"}}, "status.operational"),
    ({"page": {"status": "HASISSUES"}, "activeIncidents": [{"name": "Latency"}]}, "status.incident"),
    ({"page": {"status": "UNDERMAINTENANCE"}, "activeMaintenances": [{"name": "db"}]}, "status.maintenance"),
    ({"page": {"status": "UP"}, "activeMaintenances": [{"name": "db"}]}, "status.maintenance"),
    ({"page": {"status": "SOMETHINGNEW"}}, "status.degraded"),
])
def test_instatus(doc: dict[str, Any], code: str) -> None:
    assert verdict("instatus", doc) == [code]


@pytest.mark.parametrize(("doc", "code"), [
    ({"summary": {"ongoing_incidents": [], "in_progress_maintenances": []}}, "status.operational"),
    ({"summary": {"ongoing_incidents": [{"name": "API down"}]}}, "status.incident"),
    ({"ongoing_incidents": [], "in_progress_maintenances": [{"name": "db"}]}, "status.maintenance"),
])
def test_incident_io(doc: dict[str, Any], code: str) -> None:
    assert verdict("incident.io", doc) == [code]


@pytest.mark.parametrize(("state", "code"), [
    ("operational", "status.operational"), ("degraded", "status.degraded"), ("downtime", "status.incident"),
    ("maintenance", "status.maintenance"), ("unknown-state", "status.degraded"),
])
def test_betterstack(state: str, code: str) -> None:
    assert verdict("betterstack", {"data": {"attributes": {"aggregate_state": state}}}) == [code]


@pytest.mark.parametrize("provider", ["statuspage", "instatus", "incident.io", "betterstack"])
@pytest.mark.parametrize("doc", [{}, {"status": "up"}, {"page": []}, {"data": []}, {"summary": 3},
                                 {"data": {"attributes": {}}}, {"status": {"description": "no indicator"}}])
def test_unknown_shapes_are_not_guessed(provider: str, doc: dict[str, Any]) -> None:
    assert parse(provider, doc) is None


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3),
                     max_leaves=10)
_keys = st.sampled_from(["status", "incidents", "components", "scheduled_maintenances", "page", "activeIncidents",
                         "summary", "ongoing_incidents", "data", "indicator", "name"])


@settings(max_examples=200, deadline=None)
@given(provider=st.sampled_from(["statuspage", "instatus", "incident.io", "betterstack"]),
       doc=st.dictionaries(_keys, _json, max_size=4))
def test_any_document_parses_or_is_none_without_raising(provider: str, doc: dict[str, Any]) -> None:
    parsed = parse(provider, doc)
    assert parsed is None or all(f.code in CATALOGUE for f in parsed[0])


# ---------------------------------------------------------------- check_status over the seam


def test_summary_json_first_and_no_credentials(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=ROOT + "/api/v2/summary.json",
                            json=payloads.status(SCENARIOS["degraded"].status, True))
    check = run()
    assert [f.code for f in check.findings] == ["status.degraded"]
    assert check.status == "warn"
    assert check.data["provider"] == "statuspage" and check.data["url"] == ROOT + "/api/v2/summary.json"
    [request] = httpx_mock.get_requests()
    assert "authorization" not in request.headers and "x-api-key" not in request.headers


def test_falls_back_through_the_providers(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=ROOT + "/api/v2/summary.json", status_code=404, text="nope")
    httpx_mock.add_response(url=ROOT + "/api/v2/status.json", status_code=404, text="nope")
    httpx_mock.add_response(url=ROOT + "/summary.json", json={"page": {"status": "HASISSUES"},
                                                             "activeIncidents": [{"name": "Latency"}]})
    check = run()
    assert [f.code for f in check.findings] == ["status.incident"]
    assert check.data["provider"] == "instatus"


def test_html_everywhere_is_unreachable_warning(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(html="<html><title>The Grid status</title></html>", is_reusable=True)
    check = run()
    assert [(f.code, f.severity) for f in check.findings] == [("status.unreachable", "warning")]
    assert check.data["tried"] == [path for _, path in ENDPOINTS]
    assert len(httpx_mock.get_requests()) == len(ENDPOINTS)


def test_host_down_stops_after_one_try(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("[Errno 111] Connection refused"))
    check = run()
    assert [(f.code, f.severity) for f in check.findings] == [("status.unreachable", "warning")]
    assert "Nothing accepts connections" in check.findings[0].message
    assert len(httpx_mock.get_requests()) == 1  # no retries, no guessing other paths


def test_status_page_errors_are_not_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503, text="down", is_reusable=True)
    check = run()
    assert check.findings[0].code == "status.unreachable"
    assert len(httpx_mock.get_requests()) == len(ENDPOINTS)


@pytest.mark.httpx_mock(assert_all_responses_were_requested=False)
def test_no_budget_left_means_no_request(httpx_mock: HTTPXMock) -> None:
    with Net(Deadline(0.0)) as net:
        check = check_status(net, ROOT)
    assert check.findings[0].code == "status.unreachable"
    assert httpx_mock.get_requests() == []


def test_truncated_status_json_is_skipped(httpx_mock: HTTPXMock) -> None:
    good = json.dumps(payloads.status(SCENARIOS["healthy"].status, False)).encode()
    httpx_mock.add_response(url=ROOT + "/api/v2/summary.json", content=good[:30])
    httpx_mock.add_response(url=ROOT + "/api/v2/status.json", content=good)
    assert [f.code for f in run().findings] == ["status.operational"]
