"""trace's session CA: what a client trusting it will and will not accept, and what it leaves on disk."""

from __future__ import annotations

import datetime
import socket
import ssl
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gridctl.trace.ca import BUNDLE_VARS, SessionCA, trust_store
from gridctl.trace.intercept import GRID_HOSTS, interceptable, resolver, split_target
from gridctl.trace.proxy import Upstream

HOSTS = ["api.thegrid.ai", "messages-beta.api.thegrid.ai"]


@pytest.fixture(scope="module")
def ca() -> Iterator[SessionCA]:
    with SessionCA(HOSTS, {}) as made:
        yield made


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, name: str) -> str:
    """'' when a client trusting `client_ctx` accepts the server for `name`, else the error."""
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)

    def serve() -> None:
        try:
            with server_ctx.wrap_socket(a, server_side=True) as s:
                s.sendall(b"ok")
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with client_ctx.wrap_socket(b, server_hostname=name) as c:
            return "" if c.recv(2) == b"ok" else "no data"
    except ssl.SSLError as exc:
        return str(exc)
    finally:
        a.close()
        thread.join(5)


def _client(ca: SessionCA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def _server_for(ca: SessionCA, pem: bytes) -> ssl.SSLContext:
    """A server context presenting `pem` (a leaf minted by the CA) with the session's leaf key."""
    from cryptography.hazmat.primitives import serialization

    path = ca.dir / "test-leaf.pem"
    key = ca._leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    path.write_bytes(key + pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(path)
    path.unlink()
    return ctx


def test_a_client_trusting_the_ca_accepts_a_grid_host_leaf(ca: SessionCA) -> None:
    assert _handshake(ca.context("api.thegrid.ai"), _client(ca), "api.thegrid.ai") == ""
    assert _handshake(ca.context("messages-beta.api.thegrid.ai"), _client(ca), "messages-beta.api.thegrid.ai") == ""


def test_name_constraints_stop_the_ca_vouching_for_any_other_site(ca: SessionCA) -> None:
    """Even a leaf the CA's key signed for another name (a stolen key) fails verification in the client."""
    for name in ("example.com", "thegrid.ai.evil.com", "app.thegrid.ai"):
        pem, _ = ca.leaf_pem(name)
        assert "permitted subtree violation" in _handshake(_server_for(ca, pem), _client(ca), name), name
    with pytest.raises(ValueError):
        ca.context("example.com")  # and trace itself never mints one


def test_ca_and_leaf_carry_the_expected_extensions_and_short_lives(ca: SessionCA) -> None:
    cert = ca.cert
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    nc = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    assert nc.critical and sorted(d.value for d in nc.value.permitted_subtrees or []) == sorted(HOSTS)
    assert {str(e.value) for e in nc.value.excluded_subtrees or []} == {"0.0.0.0/0", "::/0"}
    now = datetime.datetime.now(datetime.UTC)
    assert cert.not_valid_before_utc < now - datetime.timedelta(minutes=2)  # backdated for clock skew
    assert cert.not_valid_after_utc - now <= datetime.timedelta(days=1)
    leaf = x509.load_pem_x509_certificate(ca.leaf_pem("api.thegrid.ai")[0])
    assert leaf.not_valid_after_utc - now <= datetime.timedelta(hours=1)
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["api.thegrid.ai"]
    assert ExtendedKeyUsageOID.SERVER_AUTH in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_private_dir_holds_no_key_and_goes_on_close() -> None:
    made = SessionCA(HOSTS, {})
    made.context("api.thegrid.ai")
    assert stat.S_IMODE(made.dir.stat().st_mode) == 0o700
    files = sorted(p.name for p in made.dir.iterdir())
    assert files == ["session-ca.pem", "trust-bundle.pem"]  # leaf keys are deleted right after loading
    assert all(stat.S_IMODE((made.dir / f).stat().st_mode) == 0o600 for f in files)
    bundle = made.bundle_path.read_bytes()
    assert b"PRIVATE KEY" not in bundle and bundle.endswith(made.cert_pem)
    assert set(made.env()) == set(BUNDLE_VARS) and set(made.env().values()) == {str(made.bundle_path)}
    made.close()
    made.close()  # idempotent
    assert not made.dir.exists()


def test_the_bundle_starts_from_the_users_own_trust_store(tmp_path: Path) -> None:
    own = tmp_path / "corp.pem"
    own.write_text("-----BEGIN CERTIFICATE-----\nMIIcorp\n-----END CERTIFICATE-----\n")
    assert trust_store({"SSL_CERT_FILE": str(own)}) == own.read_bytes()
    extra = tmp_path / "node-extra.pem"
    extra.write_text("-----BEGIN CERTIFICATE-----\nMIIextra\n-----END CERTIFICATE-----")
    both = trust_store({"SSL_CERT_FILE": str(own), "NODE_EXTRA_CA_CERTS": str(extra), "CURL_CA_BUNDLE": str(own)})
    assert both == own.read_bytes() + extra.read_bytes() + b"\n"  # each named bundle once
    import certifi

    default = trust_store({})  # the system's bundle and certifi's together
    assert certifi.contents().strip().encode()[:200] in default and default.count(b"BEGIN CERTIFICATE") > 100


def test_interceptable_hosts_are_grids_and_the_users_own_never_loopback_or_ips() -> None:
    ups = [Upstream("o", "OPENAI_BASE_URL", "https://gw.example.org/v1", "https://gw.example.org",
                    "https://gw.example.org"),
           Upstream("g", "THEGRID_BASE_URL", "http://127.0.0.1:9/v1", "http://127.0.0.1:9", "http://127.0.0.1:9"),
           Upstream("a", "ANTHROPIC_BASE_URL", "http://localhost:9", "http://localhost:9", "http://localhost:9")]
    assert interceptable(ups) == sorted({*GRID_HOSTS, "gw.example.org"})


def test_connect_targets_and_the_test_resolver() -> None:
    assert split_target("api.thegrid.ai:443") == ("api.thegrid.ai", 443)
    assert split_target("[::1]:8443") == ("::1", 8443)
    for bad in ("api.thegrid.ai", "host:0", "host:99999", ":443", "a/b:443", "user@host:443"):
        assert split_target(bad) is None, bad
    # only loopback targets are honoured: the hook can never send a tunnel anywhere else
    assert resolver({"GRIDCTL_TRACE_RESOLVE": "other.test=127.0.0.1, evil.test=93.184.216.34,x=::1"}) == \
        {"other.test": "127.0.0.1", "x": "::1"}


def _proxy(host: str = "127.0.0.1") -> Any:
    from gridctl.trace.proxy import Proxy

    return Proxy([Upstream("g", "THEGRID_BASE_URL", "https://api.thegrid.ai/v1", "http://127.0.0.1:9",
                           "https://api.thegrid.ai")], host=host)


def test_without_cryptography_trace_says_how_to_install_it_and_keeps_the_variables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gridctl.trace.intercept import forward_proxy

    monkeypatch.setitem(sys.modules, "cryptography", None)  # import cryptography -> ImportError
    said: list[str] = []
    with _proxy() as proxy, forward_proxy(proxy, {}, None, True, said.append) as env:
        assert env == {} and proxy.intercept is None
    assert len(said) == 1 and "pip install cryptography" in said[0]


def test_forward_proxy_variables_and_cleanup_in_process() -> None:
    from gridctl.trace.intercept import PROXY_VARS, forward_proxy

    with _proxy() as proxy:
        with forward_proxy(proxy, {}, None, True) as env:
            assert {env[v] for v in PROXY_VARS} == {proxy.root} and env["NODE_USE_ENV_PROXY"] == "1"
            bundle = Path(env["SSL_CERT_FILE"])
            assert bundle.is_file() and proxy.intercept is not None
        assert not bundle.parent.exists()
        with forward_proxy(proxy, {}, None, False) as env:  # --no-intercept
            assert env == {}


def test_no_forward_proxy_on_a_non_loopback_listener() -> None:
    from gridctl.trace.intercept import forward_proxy

    said: list[str] = []
    proxy = _proxy()
    proxy.host = "0.0.0.0"  # as `--listen 0.0.0.0:PORT --yes` would bind (not bound here: only the check is the point)
    with proxy, forward_proxy(proxy, {}, None, True, said.append) as env:
        assert env == {} and proxy.intercept is None
    assert "loopback only" in said[0]


def test_the_summary_counts_blind_tunnels_and_refused_handshakes() -> None:
    from gridctl.render.trace import summary_lines
    from gridctl.result import Report

    rep = Report("trace", extra={"tunnels_blind": 2, "intercept": {"tls_refused": 1}})
    line = summary_lines(rep, [], 0)[0]
    assert "2 connection(s) to other hosts tunnelled blind" in line and "1 TLS connection(s) to The Grid" in line
    assert "tunnelled" not in summary_lines(Report("trace"), [], 0)[0]


def test_no_proxy_entries_that_would_bypass_trace_for_grid_hosts_are_dropped() -> None:
    from gridctl.trace.intercept import no_proxy_for

    hosts = ["api.thegrid.ai", "messages-beta.api.thegrid.ai"]
    env = {"NO_PROXY": "*,.thegrid.ai,internal.corp,api.thegrid.ai:443,10.0.0.0/8", "no_proxy": "thegrid.ai"}
    assert no_proxy_for(env, hosts) == {"NO_PROXY": "internal.corp,10.0.0.0/8", "no_proxy": ""}
    assert no_proxy_for({}, hosts) == {}
    assert no_proxy_for({"NO_PROXY": "grid.ai,otherthegrid.ai"}, hosts) == {"NO_PROXY": "grid.ai,otherthegrid.ai"}
