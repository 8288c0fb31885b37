"""Keyring backends for tests: file-backed (works across subprocesses), in-memory, and failing ones.

Selected with PYTHON_KEYRING_BACKEND=tests.support.keyrings.FileKeyring (the file lives at
$GRIDCTL_TEST_KEYRING) or ...FailingKeyring; tests put the repo root on PYTHONPATH. In-process,
`keyring.set_keyring(MemoryKeyring())`. None of them is ever picked by keyring's auto-detection
(importing this module must not change which backend a later `keyring.core.init_backend()` finds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordDeleteError


class _TestBackend(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:  # type: ignore[override]
        if os.environ.get("PYTHON_KEYRING_BACKEND", "").rsplit(".", 1)[-1] == cls.__name__:
            return 1
        raise RuntimeError("a test backend: used only when named in PYTHON_KEYRING_BACKEND")


class FileKeyring(_TestBackend):

    def _path(self) -> Path:
        return Path(os.environ["GRIDCTL_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path().read_text()))
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._path().write_text(json.dumps(data))


class FailingKeyring(_TestBackend):
    """Like a locked or absent desktop keyring on a headless machine."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the collection is locked")


class MemoryKeyring(_TestBackend):
    """An in-process keyring for in-process tests: `keyring.set_keyring(MemoryKeyring())`."""

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class _Raising(_TestBackend):
    """Every operation raises `self.error()`: the ways real backends fail on headless machines."""

    def error(self) -> BaseException:
        raise NotImplementedError

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error()

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error()

    def delete_password(self, service: str, username: str) -> None:
        raise self.error()


class NoKeyring(_Raising):
    """keyring's own `fail.Keyring`: no recommended backend installed."""

    def error(self) -> BaseException:
        return NoKeyringError("No recommended backend was available.")


class InitErrorKeyring(_Raising):
    def error(self) -> BaseException:
        return InitError("Failed to create the collection: Prompt dismissed.")


class DbusErrorKeyring(_Raising):
    """SecretService without a session bus: a plain RuntimeError-like error, several lines long."""

    def error(self) -> BaseException:
        return RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets\n"
                            "was not provided by any .service files")


class BrokenInitKeyring(_TestBackend):
    """A backend that cannot even be constructed (keyring raises from get_keyring())."""

    def __init__(self) -> None:
        raise InitError("cannot connect to the keyring daemon")

    def get_password(self, service: str, username: str) -> str | None:  # pragma: no cover - never built
        raise AssertionError

    def set_password(self, service: str, username: str, password: str) -> None:  # pragma: no cover
        raise AssertionError

    def delete_password(self, service: str, username: str) -> None:  # pragma: no cover
        raise AssertionError


HANG_RELEASE = __import__("threading").Event()  # tests set it at teardown to free the parked thread


class HangingKeyring(_TestBackend):
    """A desktop keyring waiting on an unlock prompt nobody answers: every call blocks."""

    def get_password(self, service: str, username: str) -> str | None:
        HANG_RELEASE.wait(120)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        HANG_RELEASE.wait(120)

    def delete_password(self, service: str, username: str) -> None:
        HANG_RELEASE.wait(120)
