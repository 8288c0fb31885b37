"""`-v` shows the HTTP exchange on stderr like `curl -v`, every secret redacted; without -v, nothing."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from gridctl.emulator.server import Emulator
from gridctl.probe import httplog
from gridctl.secrets import redact_header, redact_url
from tests.support.cli import emu_env, invoke

pytestmark = pytest.mark.e2e

KEY = "gk-verbose-7Qm2Xv9LpR4tYc8NwK3sZb6HfJ1dGe5A"
EmulatorFactory = Callable[..., Emulator]


def test_the_exchange_with_a_signed_redirect_is_shown_and_redacted(emulator: EmulatorFactory) -> None:
    emu = emulator("redirect")
    run = invoke("ping", "-v", env=emu_env(emu, KEY))
    assert run.code == 0, run
    assert run.out.startswith("ok ")  # stdout keeps its one line; the log is on stderr
    err = run.err
    assert f"> POST {emu.base_url}/chat/completions" in err
    assert "< HTTP/1.1 307 Temporary Redirect" in err and "< HTTP/1.1 200 OK" in err
    assert "* redirect 307 to " in err and "token=REDACTED" in err
    assert "> authorization: Bearer …" + KEY[-4:] in err
    assert "< x-grid-request-id: req_" in err and "* timing: connect " in err and "ttfb" in err
    tokens = [v for r in emu.requests for v in parse_qs(urlsplit(r["path"]).query).get("token", [])]
    assert tokens and not any(t in err for t in tokens)  # the signed URL's credential never shows
    assert KEY not in err and KEY[4:-4] not in err
    assert not httplog.enabled()  # switched off again when the command ends


def test_retry_decisions_are_shown(emulator: EmulatorFactory) -> None:
    run = invoke("ping", "-v", "--retries", "1", "--timeout", "5", env=emu_env(emulator("server-error"), KEY))
    assert run.code == 8, run
    assert "* retrying in " in run.err and "(HTTP 500; attempt 2 of 2" in run.err


def test_without_v_nothing_is_logged(healthy_emulator: Emulator) -> None:
    run = invoke("ping", env=emu_env(healthy_emulator, KEY))
    assert run.code == 0 and run.err == ""


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("Authorization", f"Bearer {KEY}", f"Bearer …{KEY[-4:]}"),
    ("x-api-key", KEY, f"…{KEY[-4:]}"),
    ("Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA==", "Basic …ZA=="),
    ("content-type", "application/json", "application/json"),
])
def test_redact_header(name: str, value: str, shown: str) -> None:
    assert redact_header(name, value) == shown


def test_redact_url_keeps_everything_but_the_credential() -> None:
    url = "https://grid-files.example/r/v1/x?token=s3cr3t-abcdef&expires=99&Signature=zz"
    red = redact_url(url)
    assert "s3cr3t" not in red and "zz" not in red and "expires=99" in red and red.startswith("https://grid-files")
