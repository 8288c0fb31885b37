"""`gridctl explain` lookup (gridctl.explain) and the findings catalogue against the contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridctl.explain import lookup
from gridctl.findings import CATALOGUE, ExitCode, exit_code_for, finding

CONTRACT_PREFIXES = ("config", "url", "auth", "model", "status", "net", "http", "balance", "stream", "body")
_HERE = Path(__file__).resolve()
CONTRACT = next((p for p in (_HERE.parents[3] / "shared" / "CONTRACT.md", Path("/work/shared/CONTRACT.md"))
                 if p.exists()), _HERE.parents[3] / "shared" / "CONTRACT.md")


def codes_of(query: str) -> list[str]:
    return [e.code for e in lookup(query)]


# --- the troubleshooting table, row by row -----------------------------------------------------

def test_404_gives_both_the_path_row_and_the_model_row() -> None:
    found = codes_of("404")
    assert "model.not_found" in found
    assert "http.not_found_path" in found and "url.doubled_v1" in found
    # what the server's 404 means comes before the offline cause behind it
    assert found.index("http.not_found_path") < found.index("url.doubled_v1")


@pytest.mark.parametrize(("query", "expected"), [
    ("401", {"auth.rejected", "auth.missing_bearer"}),
    ("402", {"balance.credits_empty", "balance.instrument_unavailable"}),
    ("403", {"auth.forbidden"}),
    ("429", {"http.rate_limited"}),
    ("500", {"http.server_error"}),
    ("502", {"http.server_error"}),
    ("503", {"http.replenishing"}),
    ("400", {"http.bad_request"}),
    ("422", {"http.unprocessable"}),
    ("307", {"http.redirect"}),
    ("HTTP 429", {"http.rate_limited"}),
    ("404 Not Found", {"model.not_found", "http.not_found_path", "url.doubled_v1"}),
    ("HTTP/1.1 401 Unauthorized", {"auth.rejected", "auth.missing_bearer"}),
    ("Error code: 404 - {'errors': {'detail': 'Not Found'}}", {"model.not_found", "http.not_found_path",
                                                               "url.doubled_v1"}),
    ("5xx", {"http.server_error", "http.replenishing"}),
    ("501", {"http.server_error", "http.replenishing"}),
    ("301", {"http.redirect"}),
])
def test_statuses(query: str, expected: set[str]) -> None:
    assert set(codes_of(query)) == expected


def test_401_puts_the_server_answer_first() -> None:
    assert codes_of("401")[0] == "auth.rejected"


@pytest.mark.parametrize(("query", "code"), [
    ("connection refused", "net.refused"),
    ("Connection refused", "net.refused"),
    ("[Errno 111] Connection refused", "net.refused"),
    ("ECONNREFUSED", "net.refused"),
    ("hangs", "net.no_response"),
    ("Hangs or no response", "net.no_response"),
    ("read timeout", "net.no_response"),
    ("streaming cuts off", "stream.cut"),
    ("Streaming cuts off mid-response", "stream.cut"),
    ("307 Temporary Redirect not followed", "http.redirect"),
    ("you are being redirected", "http.redirect"),
    ("/v1/v1", "url.doubled_v1"),
    ("gpt-5.2", "model.foreign_name"),
    ("certificate verify failed", "net.tls"),
    ("getaddrinfo failed", "net.dns"),
    ("dns", "net.dns"),
    ("Payment Required", "balance.credits_empty"),
    ("too many requests", "http.rate_limited"),
    ("<!DOCTYPE html>", "http.html_body"),
])
def test_phrases(query: str, code: str) -> None:
    found = codes_of(query)
    assert found and found[0] == code, found


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_finds_itself(code: str) -> None:
    assert codes_of(code) == [code]
    assert codes_of(code.upper()) == [code]
    assert codes_of(f"  {code}  ") == [code]


@pytest.mark.parametrize("prefix", CONTRACT_PREFIXES)
def test_prefix_lists_the_family(prefix: str) -> None:
    expected = sorted(c for c in CATALOGUE if c.startswith(prefix + "."))
    assert sorted(codes_of(prefix)) == expected
    assert sorted(codes_of(prefix + ".")) == expected


@pytest.mark.parametrize("query", ["zzzz-nonsense", "", "   ", "x", "a", "no", "the", "200", "418", "999",
                                   "qwertyuiop asdfgh"])
def test_nonsense_returns_nothing(query: str) -> None:
    assert lookup(query) == []


# --- the catalogue against CONTRACT.md ----------------------------------------------------------

def _contract_codes() -> set[str]:
    text = CONTRACT.read_text(encoding="utf-8")
    pattern = r"`((?:" + "|".join(CONTRACT_PREFIXES) + r")\.[a-z0-9_]+)`"
    return set(re.findall(pattern, text))


def _contract_exit_codes() -> dict[int | str, int]:
    """HTTP status (or '5xx') -> exit code, from the contract's exit-code table."""
    text = CONTRACT.read_text(encoding="utf-8")
    table = text[text.index("## Exit codes"):]
    table = table[: table.index("\n## ", 3)] if "\n## " in table[3:] else table
    out: dict[int | str, int] = {}
    for code, meaning in re.findall(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*$", table, flags=re.MULTILINE):
        for status in re.findall(r"\b([1-5]\d\d|5xx)\b", meaning):
            out[status if status == "5xx" else int(status)] = int(code)
    return out


def test_contract_is_readable() -> None:
    assert CONTRACT.exists(), CONTRACT
    assert len(_contract_codes()) > 60


def test_contract_exit_code_table_parses_as_expected() -> None:
    assert _contract_exit_codes() == {401: 4, 403: 4, 402: 5, 404: 6, 429: 7, "5xx": 8, 400: 10, 422: 10}


def test_every_contract_code_is_catalogued() -> None:
    missing = sorted(_contract_codes() - set(CATALOGUE))
    assert missing == []


def test_no_code_is_catalogued_twice() -> None:
    from collections import Counter

    from gridctl.findings import _ENTRIES

    twice = sorted(code for code, n in Counter(e.code for e in _ENTRIES).items() if n > 1)
    assert twice == []  # a second entry would silently replace the first in CATALOGUE


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_catalogue_entry_is_complete(code: str) -> None:
    entry = CATALOGUE[code]
    assert entry.code == code
    assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", code)
    assert entry.title.strip() and entry.cause.strip() and entry.fix.strip()
    assert entry.severity in ("error", "warning", "info")
    assert isinstance(entry.exit_code, ExitCode)
    # only errors fail a command: an error has a failing exit code (never usage/bug, which are not
    # findings), and a warning or an info at its own severity leaves the exit code at 0
    if entry.severity == "error":
        assert entry.exit_code not in (ExitCode.OK, ExitCode.USAGE, ExitCode.BUG)
    else:
        assert exit_code_for(finding(code)) == ExitCode.OK
    assert all(100 <= s <= 599 for s in entry.statuses)
    assert all(p == p.lower() for p in entry.phrases)


# Statuses the contract's table does not name, placed by layer: 408 = the request did not arrive in time
# (the path: network, 9); 409 and 413 = change the request itself (bad request, 10).
BY_LAYER = {408: 9, 409: 10, 413: 10}


def _expected_exit(status: int, table: dict[int | str, int]) -> int:
    return table["5xx"] if 500 <= status <= 599 else (table | BY_LAYER)[status]


@pytest.mark.parametrize("code", sorted(c for c in CATALOGUE if c.startswith("http.")
                                        and CATALOGUE[c].severity == "error" and CATALOGUE[c].statuses))
def test_http_error_entries_follow_the_exit_code_table(code: str) -> None:
    table = _contract_exit_codes()
    entry = CATALOGUE[code]
    for status in entry.statuses:
        assert int(entry.exit_code) == _expected_exit(status, table), (code, status)


@pytest.mark.parametrize(("code", "status"), [
    ("auth.rejected", 401), ("auth.forbidden", 403), ("balance.credits_empty", 402),
    ("balance.instrument_unavailable", 402), ("model.not_found", 404), ("http.not_found_path", 404),
    ("http.rate_limited", 429), ("http.server_error", 500), ("http.replenishing", 503),
    ("http.bad_request", 400), ("http.unprocessable", 422),
])
def test_server_answer_entries_follow_the_exit_code_table(code: str, status: int) -> None:
    assert int(CATALOGUE[code].exit_code) == _expected_exit(status, _contract_exit_codes())


@pytest.mark.parametrize("code", ["url.doubled_v1", "url.host_typo", "auth.missing_bearer", "model.unknown",
                                  "config.no_key", "url.invalid", "auth.placeholder_key"])
def test_offline_configuration_problems_exit_3(code: str) -> None:
    assert CATALOGUE[code].exit_code == ExitCode.CONFIG == 3


def test_exit_code_values_match_the_contract() -> None:
    # 0-10 from the contract, plus 130 for Ctrl-C (the shell's 128 + SIGINT)
    assert [int(x) for x in ExitCode] == [*range(11), 130]
    assert ExitCode.USAGE == 2 and ExitCode.NETWORK == 9 and ExitCode.BAD_REQUEST == 10
