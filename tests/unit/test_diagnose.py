"""doctor's reasoning: the evidence of every step -> one root cause and its exit code.

Pure: checks are built by hand, so each rule of diagnose()/interpret() is pinned on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gridctl.doctor import evidence, flow
from gridctl.doctor.config import sdk_env_findings
from gridctl.doctor.diagnose import diagnose
from gridctl.doctor.support import closing_lines, expected_vs_got, support_message, write_report
from gridctl.findings import ExitCode, Finding, finding
from gridctl.probe.balance import check_balance
from gridctl.probe.ping import Target
from gridctl.result import CheckResult, PingEvidence, Report
from tests.support.contract import ENVELOPE_KEYS

BASE = "https://api.thegrid.ai/v1"
KEY = "gk-diag-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5Aa0o"


def check(cid: str, *found: str | Finding, **data: Any) -> CheckResult:
    findings = [f if isinstance(f, Finding) else finding(f) for f in found]
    return CheckResult(cid, cid.title(), findings, data=dict(data))


def ping(status: int | None, *found: str | Finding, model: str = "text-prime", **data: Any) -> CheckResult:
    c = check("ping", *found, status_code=status, model=model, **data)
    ids = data.get("request_ids") or ([data["request_id"]] if data.get("request_id") else [])
    c.evidence = PingEvidence(status_code=status, model=model, request_ids=tuple(ids),
                              statuses=tuple(data.get("statuses", ())), redirects=tuple(data.get("redirects", ())),
                              key_sent_to=tuple(data.get("key_sent_to", ())))
    return c


def checks(*items: CheckResult) -> dict[str, CheckResult]:
    base = {c: check(c) for c in ("config", "status", "network", "auth", "url", "model")}
    base["ping"] = ping(200)
    base.update({c.id: c for c in items})
    return base


def code_of(found: tuple[Finding | None, ExitCode | None]) -> tuple[str | None, ExitCode | None]:
    cause, override = found
    return (cause.code if cause else None), override


def exit_of(found: tuple[Finding | None, ExitCode | None]) -> int:
    cause, override = found
    report = Report("doctor", [], diagnosis=cause, exit_override=override)
    return int(report.exit_code)


# ---------------------------------------------------------------- diagnose()


def test_all_good_is_no_diagnosis() -> None:
    found = diagnose(checks(check("status", "status.operational")))
    assert found == (None, None) and exit_of(found) == 0


@pytest.mark.parametrize(("items", "code", "exit_code"), [
    # the request works: what is left is the user's own setup, in flow order
    ([check("config", finding("config.env_conflict", severity="error"))], "config.env_conflict", 3),
    ([check("stream", "stream.cut")], "stream.cut", 9),
    ([check("body", "body.invalid_json")], "body.invalid_json", 10),
    ([check("stream", "stream.ok", "stream.idle_gap")], None, 0),
    # offline refusals beat everything
    ([ping(None, "url.host_typo"), check("config", "config.no_key")], "url.host_typo", 3),
    ([ping(None, "config.no_key"), check("config", "config.no_key")], "config.no_key", 3),
    # 401/403: the header lint explains it when it can
    ([ping(401, "auth.rejected"), check("auth", "auth.missing_bearer")], "auth.missing_bearer", 4),
    ([ping(401, "auth.rejected"), check("auth", "auth.placeholder_key")], "auth.placeholder_key", 4),
    ([ping(401, "auth.rejected")], "auth.rejected", 4),
    ([ping(403, "auth.forbidden")], "auth.forbidden", 4),
    # 404: the URL lint first, then the instrument lint, then the raw answer
    ([ping(404, "http.not_found_path"), check("url", "url.doubled_v1")], "url.doubled_v1", 6),
    ([ping(404, "http.not_found_path"), check("url", "url.missing_v1")], "url.missing_v1", 6),
    ([ping(404, "model.not_found"), check("model", "model.foreign_name")], "model.foreign_name", 6),
    ([ping(404, "model.not_found"), check("model", "model.unknown")], "model.unknown", 6),
    ([ping(404, "http.not_found_path")], "http.not_found_path", 6),
    # 402: the balance probe explains it
    ([ping(402, "balance.credits_empty"), check("balance", "balance.credits_empty")], "balance.credits_empty", 5),
    ([ping(402, "balance.credits_empty")], "balance.credits_empty", 5),
    # 400/422: the body lint explains it
    ([ping(400, "http.bad_request"), check("body", "body.missing_field")], "body.missing_field", 10),
    ([ping(422, "http.unprocessable")], "http.unprocessable", 10),
    ([ping(400, "http.bad_request")], "http.bad_request", 10),
    # The Grid's side
    ([ping(429, "http.rate_limited")], "http.rate_limited", 7),
    ([ping(500, "http.server_error")], "http.server_error", 8),
    ([ping(503, "http.replenishing")], "http.replenishing", 8),
    ([ping(200, "http.unexpected")], "http.unexpected", 8),
    ([ping(500, "http.server_error"), check("status", "status.incident")], "status.incident", 8),
    ([ping(None, "net.no_response"), check("status", "status.incident")], "status.incident", 8),
    # network, and a URL lint that explains it
    ([ping(None, "net.no_response")], "net.no_response", 9),
    ([ping(None, "net.reset")], "net.reset", 9),
    ([ping(307, "http.redirect", "http.redirect_loop")], "http.redirect_loop", 9),
    ([ping(None, "net.refused"), check("url", "url.nonstandard_port")], "url.nonstandard_port", 9),
    ([ping(None, "net.dns"), check("url", "url.insecure_scheme")], "url.insecure_scheme", 9),
    ([ping(None, "net.refused")], "net.refused", 9),
])
def test_rules(items: list[CheckResult], code: str | None, exit_code: int) -> None:
    found = diagnose(checks(*items))
    assert code_of(found)[0] == code
    assert exit_of(found) == exit_code


def test_402_names_the_instrument_the_user_asked_for() -> None:
    bal = check("balance", finding("balance.instrument_unavailable", "text-max answers 402", model="text-max"),
                finding("balance.instrument_unavailable", "code-max answers 402", model="code-max"))
    cause, _ = diagnose(checks(ping(402, "balance.instrument_unavailable", model="code-max"), bal))
    assert cause is not None and cause.data["model"] == "code-max"


def test_warnings_alone_are_never_the_cause() -> None:
    found = diagnose(checks(check("status", "status.degraded"), check("url", "url.trailing_slash"),
                            check("model", "model.not_listed")))
    assert found == (None, None)


# ---------------------------------------------------------------- interpret(): reading the ping into the steps


def target(base: str = BASE, model: str = "text-prime", key: str | None = KEY) -> Target:
    return Target(base_url=base, key=key, model=model)


def interpreted(items: list[CheckResult], tgt: Target | None = None) -> dict[str, CheckResult]:
    tgt = tgt or target()
    all_checks = checks(*items)
    flow.interpret(all_checks, tgt)
    return all_checks


def test_401_after_a_cross_host_redirect_explains_the_stripped_key() -> None:
    p = ping(401, "http.redirect", "auth.rejected", redirects=["http://localhost:8080/r/v1/chat/completions?t=1"],
             key_sent_to=["127.0.0.1"])
    out = interpreted([p], target("http://127.0.0.1:8080/v1"))
    [reading] = out["auth"].findings
    assert reading.code == "auth.rejected" and "localhost" in reading.message
    assert "not sent" in reading.message and out["auth"].status == "fail"
    assert code_of(diagnose(out))[0] == "auth.rejected" and exit_of(diagnose(out)) == ExitCode.AUTH


def test_401_on_a_signed_second_hop_blames_the_token_even_with_header_lints() -> None:
    p = ping(401, "http.redirect", "http.redirect_rejected", redirects=["https://synapse.thegrid.ai/v1?token=1.a"],
             key_sent_to=["api.thegrid.ai"])
    out = interpreted([p, check("auth", "auth.placeholder_key")])
    assert [f.code for f in out["auth"].findings] == ["auth.placeholder_key"]  # no "key rejected" reading added
    assert "signed redirect" in out["auth"].data["summary"]
    assert code_of(diagnose(out)) == ("http.redirect_rejected", None)
    assert exit_of(diagnose(out)) == 4


def test_403_block_page_is_not_read_as_a_key_problem() -> None:
    out = interpreted([ping(403, "http.blocked"), check("auth", "auth.placeholder_key")])
    assert [f.code for f in out["auth"].findings] == ["auth.placeholder_key"]
    assert "block page" in out["auth"].data["summary"]
    assert code_of(diagnose(out)) == ("http.blocked", None) and exit_of(diagnose(out)) == 9


def test_401_with_a_clean_header_blames_the_key() -> None:
    out = interpreted([ping(401, "auth.rejected")])
    assert "well-formed header" in out["auth"].findings[0].message


def test_403_is_forbidden() -> None:
    out = interpreted([ping(403, "auth.forbidden")])
    assert [f.code for f in out["auth"].findings] == ["auth.forbidden"]


def test_200_marks_the_key_accepted() -> None:
    out = interpreted([ping(200)])
    assert out["auth"].data["summary"] == "accepted by the server" and out["auth"].findings == []


def test_404_with_the_live_list_missing_the_model() -> None:
    models = check("models", live=["text-prime", "text-max"], status_code=200)
    out = interpreted([ping(404, "model.not_found"), models], target(model="text-mega"))
    assert out["model"].status == "fail" and out["model"].data["live"] is True
    assert code_of(diagnose(out))[1] == ExitCode.NOT_FOUND


def test_404_on_a_known_model_with_the_list_readable_is_model_not_found() -> None:
    models = check("models", live=["text-standard"], status_code=200)
    out = interpreted([ping(404, "model.not_found"), models], target(model="text-prime"))
    assert "model.not_found" in [f.code for f in out["model"].findings]


def test_404_where_the_model_list_404s_too_and_no_v1_is_missing_v1() -> None:
    models = check("models", finding("model.not_listed", severity="warning"), live=None, status_code=404)
    out = interpreted([ping(404, "http.not_found_path"), models], target("http://127.0.0.1:8080"))
    assert [f.code for f in out["url"].findings] == ["url.missing_v1"]
    assert "model.not_found" not in [f.code for f in out["model"].findings]
    assert code_of(diagnose(out)) == ("url.missing_v1", ExitCode.NOT_FOUND)


def test_404_where_the_model_list_404s_too_under_v1_is_the_path() -> None:
    models = check("models", live=None, status_code=404)
    out = interpreted([ping(404, "http.not_found_path"), models], target("http://gw.example.com/api/v1"))
    assert out["url"].findings == [] and out["model"].findings == []
    assert code_of(diagnose(out))[0] == "http.not_found_path"


def test_network_probe_failure_does_not_outvote_a_request_that_went_through() -> None:
    out = interpreted([ping(200), check("network", "net.tls")])
    [f] = out["network"].findings
    assert f.severity == "warning" and "went through" in f.message and out["network"].status == "warn"
    assert diagnose(out) == (None, None)
    assert Report("doctor", list(out.values())).exit_code == 0


def test_network_probe_failure_stays_an_error_when_nothing_answered() -> None:
    out = interpreted([ping(None, "net.tls"), check("network", "net.tls")])
    assert out["network"].findings[0].severity == "error" and out["network"].status == "fail"


@pytest.mark.parametrize(("base", "has"), [
    ("https://api.thegrid.ai/v1", True), ("http://127.0.0.1:1/V1/", True), ("http://127.0.0.1:1", False),
    ("https://api.thegrid.ai/v10", False), ("http://[::1", False),
])
def test_has_v1(base: str, has: bool) -> None:
    assert evidence._has_v1(base) is has


@pytest.mark.parametrize(("base", "refused"), [
    ("https://api.thegird.ai/v1", True), ("not a url", True), ("https://api.thegrid.ai/v1", False),
    ("http://127.0.0.1:8080/v1", False),
])
def test_no_contact_for_lookalike_or_hostless_urls(base: str, refused: bool) -> None:
    assert flow._no_contact(target(base)) is refused


# ---------------------------------------------------------------- the balance reading


def probe(model: str, status: int | None, *found: str, statuses: list[int] | None = None) -> CheckResult:
    return ping(status, *found, statuses=statuses or ([status] if status else []), model=model,
                request_id=f"req_{model}")


def balance_of(names: list[str], pings: list[CheckResult]) -> CheckResult:
    """The balance reading of pings already made: no network, so no Net."""
    return check_balance(None, target(), names, pings)  # type: ignore[arg-type]


def test_every_instrument_402_is_credits() -> None:
    names = ["text-prime", "code-prime"]
    bal = balance_of(names, [probe(n, 402, "balance.credits_empty") for n in names])
    assert [f.code for f in bal.findings] == ["balance.credits_empty"]


def test_some_instruments_402_is_tokens_with_an_alternative() -> None:
    names = ["text-prime", "text-max", "code-max"]
    pings = [probe("text-prime", 200), probe("text-max", 402, "balance.instrument_unavailable"),
             probe("code-max", 402, "balance.instrument_unavailable")]
    bal = balance_of(names, pings)
    assert [(f.code, f.data["model"]) for f in bal.findings] == [("balance.instrument_unavailable", "text-max"),
                                                               ("balance.instrument_unavailable", "code-max")]
    assert "Meanwhile text-prime works" in bal.findings[0].message
    assert bal.data["paid"] == ["text-prime"] and bal.data["unpaid"] == ["text-max", "code-max"]


@pytest.mark.parametrize(("detail_code", "expected"), [
    ("balance.instrument_unavailable", "balance.instrument_unavailable"),
    ("balance.credits_empty", "balance.credits_empty"),
])
def test_a_single_instrument_402_trusts_the_servers_words(detail_code: str, expected: str) -> None:
    bal = balance_of(["text-max"], [probe("text-max", 402, detail_code)])
    assert [f.code for f in bal.findings] == [expected]


def test_402_that_clears_is_recovered_not_unpaid() -> None:
    pings = [probe("text-prime", 200, statuses=[402, 200]), probe("text-max", 200)]
    bal = balance_of(["text-prime", "text-max"], pings)
    assert [(f.code, f.severity) for f in bal.findings] == [("balance.recovered_after_retry", "warning")]


def test_402s_with_the_rest_unreachable_is_still_credits() -> None:
    pings = [probe("text-prime", 402, "balance.credits_empty"), probe("text-max", None, "net.no_response")]
    bal = balance_of(["text-prime", "text-max"], pings)
    assert [f.code for f in bal.findings] == ["balance.credits_empty"]
    assert "no usable answer" in bal.findings[0].message


# ---------------------------------------------------------------- the SDK environment (config step)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, []),
    ({"OPENAI_BASE_URL": "https://api.openai.com/v1"}, ["config.env_conflict"]),
    ({"OPENAI_API_BASE": "https://openrouter.ai/api/v1"}, ["config.env_conflict"]),
    ({"OPENAI_BASE_URL": "https://api.thegrid.ai/v1"}, []),
    ({"OPENAI_BASE_URL": "https://api.thegrid.ai/v1/v1"}, ["config.env_conflict"]),
    ({"OPENAI_BASE_URL": "https://api.thegrid.ai/v1", "OPENAI_API_BASE": "https://api.openai.com/v1"},
     ["config.env_conflict", "config.env_conflict"]),
    ({"ANTHROPIC_BASE_URL": "https://messages-beta.api.thegrid.ai"}, []),
    ({"ANTHROPIC_BASE_URL": "https://api.anthropic.com"}, ["config.env_conflict"]),
])
def test_sdk_base_urls(env: dict[str, str], expected: list[str]) -> None:
    found = sdk_env_findings(env, KEY, BASE)
    assert [f.code for f in found] == expected
    assert all(f.severity == "error" for f in found)


def test_sdk_base_url_equal_to_the_tested_base_is_fine() -> None:
    assert sdk_env_findings({"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, KEY, "http://127.0.0.1:8080/v1") == []


def test_a_different_openai_key_aimed_at_the_grid_is_a_conflict_shown_by_fingerprint() -> None:
    other = "gk-other-AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHHIIII"
    found = sdk_env_findings({"OPENAI_BASE_URL": BASE, "OPENAI_API_KEY": other}, KEY, BASE)
    assert [f.code for f in found] == ["config.env_conflict"]
    text = found[0].message + found[0].fix
    assert other not in text and KEY not in text and "…IIII" in text


def test_differing_anthropic_key_and_token_is_a_warning() -> None:
    found = sdk_env_findings({"ANTHROPIC_API_KEY": "a" * 20, "ANTHROPIC_AUTH_TOKEN": "b" * 20}, None, BASE)
    assert [(f.code, f.severity) for f in found] == [("config.env_conflict", "warning")]


# ---------------------------------------------------------------- the support report


def failing_report() -> Report:
    p = ping(429, "http.rate_limited", request_id="req_abc123", request_ids=["req_abc123"])
    report = Report("doctor", [p], target={"base_url": BASE, "model": "text-prime", "api": "chat", "key": "…Aa0o"},
                    diagnosis=p.findings[0])
    report.add_request_id("req_abc123")
    return report


def test_support_message_has_what_support_asks_for() -> None:
    text = support_message(failing_report())
    for needle in ("support@thegrid.ai", "req_abc123", "text-prime", "http.rate_limited", "HTTP 429",
                   "Expected: HTTP 200"):
        assert needle in text
    expected, got = expected_vs_got(failing_report())
    assert "text-prime" in expected and got.startswith("HTTP 429 (http.rate_limited")


def test_closing_lines_offer_support_only_for_the_grids_side() -> None:
    assert any("Still stuck" in ln for ln in closing_lines(failing_report()))
    url_report = Report("doctor", [], diagnosis=finding("url.doubled_v1"))
    assert not any("Still stuck" in ln for ln in closing_lines(url_report))
    assert any("No problem found" in ln for ln in closing_lines(Report("doctor", [])))


def test_support_message_says_attached_only_when_a_report_was_written(tmp_path: Path) -> None:
    bare = support_message(failing_report())
    assert "attached" not in bare.replace("to attach", "") and "gridctl doctor --report" in bare
    with_file = support_message(failing_report(), tmp_path / "r.md")
    assert "report attached: r.md" in with_file
    assert any("gridctl doctor --report" in ln for ln in closing_lines(failing_report()))
    assert any("attached: r.md" in ln for ln in closing_lines(failing_report(), tmp_path / "r.md"))
    write_report(failing_report(), tmp_path / "r.json", {})
    assert "attached: r.json" in json.loads((tmp_path / "r.json").read_text())["support_message"]


def test_closing_line_with_warnings_says_the_call_works_and_what_the_warning_means() -> None:
    report = Report("doctor", [ping(200), check("status", finding("status.degraded", "Consumption API: degraded"))])
    lines = closing_lines(report)
    assert not any("No problem found" in ln for ln in lines)
    assert any(ln.startswith("The call works now, with 1 warning") for ln in lines)
    assert any("status.degraded" in ln and "some requests may be slow" in ln for ln in lines)


def test_closing_line_names_what_was_not_checked() -> None:
    skipped = [CheckResult(c, c, [], status="skip") for c in ("stream", "body", "balance")]
    report = Report("doctor", [ping(200), *skipped], target={"model": "text-prime"})
    [unchecked] = [ln for ln in closing_lines(report) if ln.startswith("Not checked:")]
    assert "streaming (add --stream)" in unchecked and "--body FILE" in unchecked
    assert "instruments other than text-prime (`gridctl ping --all`)" in unchecked
    ran = Report("doctor", [ping(200), check("stream", "stream.ok"), check("body"), check("balance")])
    assert not any(ln.startswith("Not checked:") for ln in closing_lines(ran))


@pytest.mark.parametrize("name", ["r.md", "r.json"])
def test_write_report(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_report(failing_report(), path, {"base_url": f"{BASE} (default)"})
    text = path.read_text(encoding="utf-8")
    assert "req_abc123" in text and "http.rate_limited" in text
    if name.endswith(".json"):
        doc = json.loads(text)
        assert set(ENVELOPE_KEYS) <= set(doc)
        assert doc["diagnosis"]["code"] == "http.rate_limited" and doc["exit_code"] == 7
        assert doc["request_ids"] == ["req_abc123"]
    else:
        assert text.startswith("# gridctl doctor report") and "exit code: 7" in text


# ---------------------------------------------------------------- no duplicate lines in the human report


def rendered(report: Report) -> str:
    import io

    from gridctl.report import Output, render_human

    buf = io.StringIO()
    render_human(report, Output(no_color=True, stdout=buf))
    return buf.getvalue()


def test_a_summary_is_not_repeated_as_an_info_line() -> None:
    status = CheckResult("status", "Status page", [finding("status.operational", "All Systems Operational")],
                         data={"summary": "All Systems Operational"})
    text = rendered(Report("status", [status]))
    assert text.count("All Systems Operational") == 1


def test_one_finding_is_shown_in_full_once_across_steps() -> None:
    p = ping(401, finding("auth.rejected", "HTTP 401. The server said: Invalid API key"))
    auth = check("auth", finding("auth.rejected", "HTTP 401 with a well-formed header."))
    text = rendered(Report("doctor", [p, auth]))
    assert text.count(CATALOGUE_TITLE_401) == 1 and text.count("fix:") == 1
    assert "HTTP 401 with a well-formed header. (auth.rejected, as above)" in text
    assert "Invalid API key" in text


CATALOGUE_TITLE_401 = "The Grid rejected the key (401)"


# ---------------------------------------------------------------- The Grid's own CLI configuration


def test_grid_cli_profile_file_on_the_dev_default_is_flagged(tmp_path: Path) -> None:
    from gridctl.doctor.config import grid_cli_findings

    other = "gk-gridcli-AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH1234"
    (tmp_path / ".grid-cli").mkdir()
    (tmp_path / ".grid-cli" / "credentials.json").write_text(json.dumps({"default": {"api_key": other}}))
    found, seen = grid_cli_findings({"HOME": str(tmp_path)}, KEY, BASE)
    assert [f.code for f in found] == ["config.env_conflict", "config.env_conflict"]
    assert all(f.severity == "warning" for f in found)
    text = " ".join(f.message + f.fix for f in found) + json.dumps(seen)
    assert other not in text and "…1234" in text and "api.dev.thegrid.ai" in text and "dev host" in text
    assert seen["file"].endswith("credentials.json (profile default)")


def test_grid_cli_env_agreeing_with_gridctl_is_quiet() -> None:
    from gridctl.doctor.config import grid_cli_findings

    env = {"GRID_CLI_CONSUMPTION_KEY": KEY, "CONSUMPTION_API_URL": "https://api.thegrid.ai", "HOME": "/nonexistent"}
    found, seen = grid_cli_findings(env, KEY, BASE)
    assert found == [] and seen["key"].endswith("(env GRID_CLI_CONSUMPTION_KEY)")


def test_grid_cli_key_without_a_gridctl_key_says_how_to_share_it() -> None:
    from gridctl.doctor.config import grid_cli_findings

    found, _ = grid_cli_findings({"API_KEY": KEY, "CONSUMPTION_API_URL": "https://api.thegrid.ai/v1"}, None, BASE)
    assert [f.code for f in found] == ["config.env_conflict"] and "THEGRID_API_KEY" in found[0].fix


def test_grid_cli_profile_selected_by_grid_profile(tmp_path: Path) -> None:
    from gridctl.doctor.config import grid_cli_config

    (tmp_path / ".grid-cli").mkdir()
    (tmp_path / ".grid-cli" / "credentials.json").write_text(json.dumps({"profiles": {
        "default": {"api_key": "a" * 40}, "prod": {"api_key": KEY, "consumption_api_url": "https://api.thegrid.ai"}}}))
    values, where = grid_cli_config({"HOME": str(tmp_path), "GRID_PROFILE": "prod"})
    assert values == {"key": KEY, "url": "https://api.thegrid.ai"} and "profile prod" in where["key"]
