"""Which hosts are "this machine", and which URLs are dressed up as The Grid's (issue 22).

Loopback is decided after parsing (an address in 127.0.0.0/8, ::1, or `localhost`), never by a
string prefix; a disguised URL (user information, a #fragment, a Grid host only in the path, a
look-alike name) is linted and never gets the key.
"""

from __future__ import annotations

import pytest

from gridctl import grid
from gridctl.lint.url import lint_url
from gridctl.probe.client import Deadline, Net, may_carry_key
from gridctl.probe.policy import no_contact
from gridctl.target import Target
from tests.support.hostile import Hostile

KEY = "gk-hosts-Qx7vM2pL9sR4tY8wB1cD6fH0jK5nZ3aE"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "localhost", "LocalHost.",
                                  "::ffff:127.0.0.1"])
def test_loopback_is_an_address_or_localhost(host: str) -> None:
    assert grid.is_loopback_host(host)


@pytest.mark.parametrize("host", ["127.0.0.1.thegrid-ai.com", "127.0.0.1.nip.io", "127.evil.com", "localhost.evil.com",
                                  "0.0.0.0", "::", "10.0.0.1", "", "127", "[::1].evil.com"])
def test_a_name_that_starts_like_loopback_is_not(host: str) -> None:
    assert not grid.is_loopback_host(host)


def test_trace_asks_the_same_question() -> None:
    from gridctl.errors import UsageError
    from gridctl.trace.main import listen_address

    assert listen_address("127.0.0.5:0", yes=False) == ("127.0.0.5", 0)
    with pytest.raises(UsageError):  # no terminal here, no --yes: a look-alike name is not loopback
        listen_address("127.0.0.1.thegrid-ai.com:0", yes=False)


def test_plain_http_to_a_127_name_is_not_local() -> None:
    """The audit: `http://127.0.0.1.thegrid-ai.com` got the key in clear text."""
    refused = no_contact("http://127.0.0.1.thegrid-ai.com:8080/v1")
    assert refused is not None and refused.code == "url.host_typo"
    refused = no_contact("http://127.0.0.1.nip.io:8080/v1")
    assert refused is not None and refused.code == "url.insecure_scheme"
    assert no_contact("http://127.0.0.1:8080/v1") is None and no_contact("http://[::1]:8080/v1") is None


# URL -> the code that refuses it
DISGUISED = {
    "https://api.thegrid.ai@evil.example/v1": "url.invalid",
    "https://api.thegrid.ai:443@evil.example/v1": "url.invalid",
    "https://evil.example#api.thegrid.ai/v1": "url.invalid",
    "https://evil.example/api.thegrid.ai/v1": "url.host_typo",
    "https://evil.example?api.thegrid.ai/v1": "url.host_typo",
    "https://grid-ai.com/v1": "url.host_typo",
    "https://gridai.net/v1": "url.host_typo",
    "https://thegrid-ai.com/v1": "url.host_typo",
    "https://api.thegrid.ai.evil.example/v1": "url.host_typo",
    "https://api.grid.ai/v1": "url.host_typo",
}


@pytest.mark.parametrize(("url", "code"), DISGUISED.items())
def test_a_disguised_url_is_linted_and_refused(url: str, code: str) -> None:
    lint = lint_url(url)
    assert code in [f.code for f in lint.findings if f.severity == "error"], lint.findings
    refused = no_contact(url)
    assert refused is not None and refused.code == code


@pytest.mark.parametrize("url", ["https://api.thegrid.ai/v1", "http://localhost:8080/api.thegrid.ai/v1",
                                 "https://my-gateway.example/v1", "http://localhost:4000/v1",
                                 "https://mygridair.example/v1", "https://gateway.example/grid/v1",
                                 "https://gateway.example/providers/api.thegrid.ai/v1"])
def test_honest_urls_are_not_called_disguised(url: str) -> None:
    assert no_contact(url) is None
    assert not any(f.severity == "error" for f in lint_url(url).findings)


def test_the_user_information_message_names_the_real_host() -> None:
    lint = lint_url("https://api.thegrid.ai@evil.example/v1")
    message = next(f.message for f in lint.findings if f.code == "url.invalid")
    assert "evil.example" in message and "user name, not the host" in message


@pytest.mark.parametrize("target", ["https://api.thegrid.ai@evil.example/v1/chat",
                                    "https://user@api.thegrid.ai/v1/chat", "https://evil.example/api.thegrid.ai/"])
def test_a_redirect_to_a_disguised_url_gets_no_key(target: str) -> None:
    assert not may_carry_key("https://api.thegrid.ai/v1/chat/completions", target)


@pytest.mark.parametrize("base", ["http://api.thegrid.ai@127.0.0.1:{port}/v1", "http://127.0.0.1:{port}#api.thegrid.ai/v1"])
def test_nothing_is_sent_to_a_disguised_url(base: str) -> None:
    """Loopback stands in for evil.example: the request itself is refused, so the server sees nothing."""
    from gridctl.probe.ping import ping

    with Hostile("empty") as srv:
        url = base.format(port=srv.port)
        with Net(Deadline(3), retries=0) as net:
            check = ping(net, Target(url, KEY, "text-prime"))
            out = net.send("GET", url + "/models", auth=("authorization", f"Bearer {KEY}"))
        assert srv.hits == 0 and not srv.keys
    assert check.status == "fail" and check.findings[0].code in ("url.invalid", "url.host_typo")
    assert out.status_code is None and out.findings[0].code in ("url.invalid", "url.host_typo")
