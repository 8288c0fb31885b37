"""secrets: the keyring seam (every backend failure is a KeyringProblem), the 0600 file, redaction."""

from __future__ import annotations

import stat
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.errors import PasswordDeleteError

from gridctl import secrets
from tests.support.keyrings import (
    BrokenInitKeyring,
    DbusErrorKeyring,
    FailingKeyring,
    InitErrorKeyring,
    MemoryKeyring,
    NoKeyring,
)

CANARY = "gk-canary-Zx8Qw2Lm5Np7Rt4Vb1Hc3Jd6Kf9Gs0Ty2"  # 43 characters, like a documented key




def use(backend: keyring.backend.KeyringBackend) -> None:
    keyring.set_keyring(backend)  # the autouse isolation fixture puts the null backend back


def test_canary_is_key_shaped() -> None:
    assert len(CANARY) == 43


# --- the in-memory backend ----------------------------------------------------------------------

def test_memory_keyring_round_trip_per_profile(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keyring_get("default") is None
    secrets.keyring_set("default", CANARY)
    secrets.keyring_set("work", "gk-work-key-000000000000000000000000000000")
    assert secrets.keyring_get("default") == CANARY
    assert secrets.keyring_get("work") == "gk-work-key-000000000000000000000000000000"
    assert memory_keyring.store[(secrets.SERVICE, "default")] == CANARY  # service `gridctl`, user = profile
    assert secrets.keyring_delete("default") is True
    assert secrets.keyring_get("default") is None
    assert secrets.keyring_get("work") is not None
    assert secrets.keyring_delete("default") is False  # nothing left to delete: not an error


def test_keyring_get_registers_the_key_for_scrubbing(memory_keyring: MemoryKeyring) -> None:
    key = "gk-stored-only-in-keyring-AbCdEfGhIjKlMnOpQ"
    memory_keyring.store[(secrets.SERVICE, "default")] = key
    assert secrets.keyring_get("default") == key
    assert key not in secrets.scrub(f"oops: {key}")


def test_keyring_backend_name(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keyring_backend_name() == "tests.support.keyrings.MemoryKeyring"


def test_delete_error_subclass_means_nothing_stored(memory_keyring: MemoryKeyring,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    class ItemNotFound(PasswordDeleteError):
        pass

    memory_keyring.store[(secrets.SERVICE, "default")] = CANARY

    def delete(service: str, username: str) -> None:
        raise ItemNotFound("gone already")

    monkeypatch.setattr(memory_keyring, "delete_password", delete)
    assert secrets.keyring_delete("default") is False


# --- every kind of failing backend ------------------------------------------------------------

FAILING = [FailingKeyring, NoKeyring, InitErrorKeyring, DbusErrorKeyring]


@pytest.mark.parametrize("backend", FAILING, ids=lambda b: b.__name__)
@pytest.mark.parametrize("operation", ["get", "set", "delete"])
def test_every_backend_error_becomes_keyring_problem(backend: type, operation: str) -> None:
    use(backend())
    call = {"get": lambda: secrets.keyring_get("default"),
            "set": lambda: secrets.keyring_set("default", CANARY),
            "delete": lambda: secrets.keyring_delete("default")}[operation]
    with pytest.raises(secrets.KeyringProblem) as info:
        call()
    message = str(info.value)
    assert "\n" not in message  # one line, even from a multi-line dbus error
    assert message.split(":")[0] in ("KeyringLocked", "NoKeyringError", "InitError", "RuntimeError")
    assert CANARY not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_backend_that_cannot_be_built(monkeypatch: pytest.MonkeyPatch) -> None:
    # keyring builds the backend named in PYTHON_KEYRING_BACKEND on first use; its InitError surfaces there
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyrings.BrokenInitKeyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(secrets.KeyringProblem, match="InitError: cannot connect"):
        secrets.keyring_get("default")
    with pytest.raises(secrets.KeyringProblem):
        secrets.keyring_set("default", CANARY)
    assert secrets.keyring_backend_name() == "unavailable"
    with pytest.raises(Exception):  # noqa: B017 - the backend itself really is broken
        BrokenInitKeyring()


def test_keyring_module_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "keyring", None)  # `import keyring` raises ImportError
    with pytest.raises(secrets.KeyringProblem, match="keyring module unavailable"):
        secrets.keyring_get("default")
    assert secrets.keyring_backend_name() == "unavailable"


def test_backend_error_quoting_the_key_is_scrubbed() -> None:
    class Leaky(DbusErrorKeyring):
        def error(self) -> BaseException:
            return RuntimeError(f"cannot store secret {CANARY} in a locked collection")

    use(Leaky())
    with pytest.raises(secrets.KeyringProblem) as info:
        secrets.keyring_set("default", CANARY)
    assert CANARY not in str(info.value)
    assert "…" in str(info.value)


@pytest.mark.parametrize("backend", ["null", "empty-chainer"])
def test_backend_that_discards_the_key_is_not_storage(backend: str) -> None:
    """keyring's null backend (a common CI setting) and a chainer with no backends accept a key and drop it."""
    from keyring.backends.chainer import ChainerBackend
    from keyring.backends.null import Keyring as NullKeyring

    if backend == "null":
        use(NullKeyring())
    else:
        class Empty(ChainerBackend):
            backends = []  # type: ignore[assignment]  # no viable backend found

        use(Empty())
    with pytest.raises(secrets.KeyringProblem, match="did not keep the key"):
        secrets.keyring_set("default", CANARY)
    assert secrets.keyring_delete("default") is False  # and there is nothing to remove


def test_test_backends_are_never_auto_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backend import get_all_keyring

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    found = {type(k).__module__ for k in get_all_keyring.__wrapped__()}  # uncached: keyring memoises it
    assert "tests.support.keyrings" not in found


# --- the plain-text fallback -----------------------------------------------------------------

def test_file_set_is_0600_and_round_trips(tmp_path: Path) -> None:
    path = secrets.file_set(tmp_path, "default", CANARY)
    assert path == tmp_path / "credentials" / "default.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert secrets.file_get(tmp_path, "default") == CANARY
    assert secrets.file_get(tmp_path, "other") is None
    assert not list(path.parent.glob("*.tmp"))
    assert secrets.file_delete(tmp_path, "default") is True
    assert secrets.file_delete(tmp_path, "default") is False
    assert secrets.file_get(tmp_path, "default") is None


def test_file_set_over_a_stale_world_readable_tmp(tmp_path: Path) -> None:
    stale = secrets.credentials_path(tmp_path, "default").with_suffix(".tmp")
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    stale.chmod(0o644)
    path = secrets.file_set(tmp_path, "default", CANARY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_get_strips_and_registers(tmp_path: Path) -> None:
    key = "gk-file-only-key-ZZZZZZZZZZZZZZZZZZZZZZZZZZ"
    path = secrets.credentials_path(tmp_path, "default")
    path.parent.mkdir(parents=True)
    path.write_text(key + "\n")
    assert secrets.file_get(tmp_path, "default") == key
    assert key not in secrets.scrub(key)


# --- fingerprint and scrub ---------------------------------------------------------------------

@pytest.mark.parametrize(("key", "shown"), [
    (None, "(none)"),
    ("", "(none)"),
    ("short-key", "(9 characters)"),
    (CANARY, "…" + CANARY[-4:]),
    (f"  {CANARY}\n", "…" + CANARY[-4:]),
])
def test_fingerprint_shows_at_most_the_last_four(key: str | None, shown: str) -> None:
    assert secrets.fingerprint(key) == shown


def test_scrub_removes_every_registered_form() -> None:
    secrets.register(f'"{CANARY}"')
    text = f"a {CANARY} b '{CANARY}' c Bearer {CANARY}"
    out = secrets.scrub(text)
    assert CANARY not in out
    assert out.count("…" + CANARY[-4:]) == 3


def test_register_ignores_tiny_values() -> None:
    secrets.register("abc")  # would shred ordinary words
    assert secrets.scrub("abc def") == "abc def"


@pytest.mark.parametrize("key", [
    'gk-with"quote-abcdefghijklmnopqrstuvwxyz',
    "gk-with\nnewline-abcdefghijklmnopqrstuvwxyz",
    "gk-with\\backslash-abcdefghijklmnopqrstuvwxyz",
    "gk-with\ttab-abcdefghijklmnopqrstuvwxy\u00e9",
])
def test_scrub_removes_escaped_spellings_of_a_key(key: str) -> None:
    import json

    secrets.register(key)
    for text in (json.dumps({"key": key}), json.dumps({"key": key}, ensure_ascii=False), repr(key),
                 f"Illegal header value b'Bearer {key}'"):
        scrubbed = secrets.scrub(text)
        assert key not in scrubbed
        assert json.dumps(key)[1:-1] not in scrubbed
        assert repr(key)[1:-1] not in scrubbed


@pytest.mark.parametrize("name", ["api-key", "api_key", "X-Api-Key", "access_token", "client_secret", "password"])
def test_redact_url_removes_every_key_named_parameter_not_only_signed_tokens(name: str) -> None:
    """One rule for every command that shows a URL (-v, trace, explain): Azure's `?api-key=` included."""
    from gridctl.secrets import redact_url

    shown = redact_url(f"https://gw.example/v1/chat?api-version=2024-06-01&{name}=Zq8sK2mX9vB4nR7tL1pW")
    assert "Zq8sK2mX9vB4nR7tL1pW" not in shown and f"{name}=REDACTED" in shown and "api-version=2024-06-01" in shown
