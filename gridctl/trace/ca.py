"""The per-session certificate authority of trace's forward proxy (made with `cryptography`).

One CA per run, for the hosts trace may intercept and nothing else:
- X.509 Name Constraints (critical): the permitted DNS subtrees are exactly those hosts, and every IP
  address is excluded, so even a copied CA key cannot vouch for any other site;
- basicConstraints CA, path length 0 (it signs leaves only); validity one day, leaves one hour, both
  starting a few minutes back so a client whose clock runs slightly behind still accepts them;
- EC P-256 keys (fast to make); one leaf per host, cached for the session (and re-made before it expires);
- the CA key stays in memory. The private directory (mkdtemp, 0700) holds the CA certificate and the
  trust bundle (the usual trust store plus the CA, no key); each leaf key is written there 0600 only for
  `load_cert_chain` and deleted at once. `close()` removes the directory: the session calls it on every
  way out, and an atexit hook covers the rest.

`cryptography` is imported only inside these functions: no other command pays for it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CA_LIFETIME_S = 24 * 3600
LEAF_LIFETIME_S = 3600
BACKDATE_S = 300            # notBefore this far back: clock skew between trace and the client
RENEW_BEFORE_S = 600        # a cached leaf this close to its end is made again
# Where the usual trust store lives when certifi is not importable (Debian/Ubuntu/Alpine, Fedora/RHEL, SUSE, macOS brew).
SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                  "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")
# The variables that make the child's TLS stacks trust the bundle (Python ssl/httpx, requests, curl, Node).
BUNDLE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
INSTALL_HINT = "pip install cryptography"


class CryptoMissing(Exception):
    """`cryptography` cannot be imported: no CA, the forward proxy stays off."""


def trust_store(env: Mapping[str, str]) -> bytes:
    """The CA certificates the child trusts today, so its other TLS keeps working: the bundles its own
    SSL_CERT_FILE / REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / NODE_EXTRA_CA_CERTS name when any is set (a
    corporate root stays trusted), else the system's bundle (OpenSSL, curl, urllib) and certifi's (httpx,
    requests) together."""
    paths = [env[v] for v in BUNDLE_VARS if env.get(v)]
    if not paths:
        paths = [p for p in SYSTEM_BUNDLES if os.path.isfile(p)][:1]
        try:
            import certifi

            paths.append(certifi.where())
        except ImportError:
            pass
    out, seen = bytearray(), set()
    for path in paths:
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        with contextlib.suppress(OSError):
            data = Path(path).read_bytes()
            if b"BEGIN CERTIFICATE" in data:
                out += data if data.endswith(b"\n") else data + b"\n"
    return bytes(out)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


class SessionCA:
    """The CA for one run. Use as a context manager, or call close(); both are idempotent."""

    def __init__(self, hosts: Iterable[str], env: Mapping[str, str] | None = None) -> None:
        try:
            from cryptography import x509  # noqa: F401
        except ImportError as exc:
            raise CryptoMissing(f"cryptography is not installed ({INSTALL_HINT})") from exc
        self.hosts = tuple(sorted({h.lower().rstrip(".") for h in hosts}))
        self._lock = threading.Lock()
        self._contexts: dict[str, tuple[ssl.SSLContext, float]] = {}
        self._closed = False
        self.dir = Path(tempfile.mkdtemp(prefix="gridctl-trace-"))  # mode 0700
        atexit.register(self.close)
        try:
            self._make(env if env is not None else os.environ)
        except BaseException:
            self.close()
            raise

    def _make(self, env: Mapping[str, str]) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())  # one key for every leaf of this session
        self.cert = self._ca_cert()
        pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_pem = pem
        self.cert_path = self.dir / "session-ca.pem"
        self.bundle_path = self.dir / "trust-bundle.pem"
        _write_private(self.cert_path, pem)
        store = trust_store(env)
        _write_private(self.bundle_path, store + pem)

    def _ca_cert(self) -> Any:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gridctl trace session CA"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gridctl (one run, for The Grid's hosts)")])
        public = self._key.public_key()
        constraints = x509.NameConstraints(
            permitted_subtrees=[x509.DNSName(h) for h in self.hosts],
            excluded_subtrees=[x509.IPAddress(ipaddress.ip_network("0.0.0.0/0")),
                               x509.IPAddress(ipaddress.ip_network("::/0"))])
        return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(seconds=BACKDATE_S))
                .not_valid_after(now + datetime.timedelta(seconds=CA_LIFETIME_S))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(constraints, critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .sign(self._key, hashes.SHA256()))

    def leaf_pem(self, host: str) -> tuple[bytes, float]:
        """(certificate PEM, expiry as time.time()) for `host`, signed by this CA."""
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.UTC)
        end = now + datetime.timedelta(seconds=LEAF_LIFETIME_S)
        public = self._leaf_key.public_key()
        ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(self.cert.subject).public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(seconds=BACKDATE_S)).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
                .sign(self._key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM), end.timestamp()

    def context(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting `host`'s leaf (made once per host, re-made near its end)."""
        host = host.lower().rstrip(".")
        if host not in self.hosts:
            raise ValueError(f"{host} is outside this CA's name constraints")
        with self._lock:
            cached = self._contexts.get(host)
            if cached is not None and cached[1] - time.time() > RENEW_BEFORE_S:
                return cached[0]
            if self._closed:
                raise RuntimeError("the session CA is closed")
            ctx = self._server_context(host)
            return ctx

    def _server_context(self, host: str) -> ssl.SSLContext:
        from cryptography.hazmat.primitives import serialization

        leaf, expires = self.leaf_pem(host)
        key = self._leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])  # the handler speaks HTTP/1.1 only: no h2 offered
        path = self.dir / f"leaf-{len(self._contexts)}-{os.getpid()}.pem"
        try:
            _write_private(path, key + leaf)  # load_cert_chain reads files only; gone again at once
            ctx.load_cert_chain(path)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        self._contexts[host] = (ctx, expires)
        return ctx

    def env(self) -> dict[str, str]:
        """The child's variables naming the bundle (the trust store plus this CA; no key)."""
        return {name: str(self.bundle_path) for name in BUNDLE_VARS}

    def remove_files(self) -> None:
        """The directory and all in it, gone; takes no lock (safe from a signal handler or a hard exit)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._contexts.clear()
        self.remove_files()
        atexit.unregister(self.close)

    def __enter__(self) -> SessionCA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
