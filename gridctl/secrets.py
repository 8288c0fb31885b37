"""Keys: fingerprints, redaction, and the OS keyring (imported only when a key is looked up).

Every key gridctl learns is registered here, and every byte gridctl writes passes `scrub()`,
so a key cannot leak even through a message that quoted it by accident.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

SERVICE = "gridctl"
_SECRETS: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a secret so that scrub() removes it from anything written."""
    if not secret:
        return
    import json

    for form in {secret, secret.strip(), secret.strip().strip("'\"").strip()}:
        if len(form) < 6:
            continue
        # also the escaped spellings a key takes inside JSON, reprs and exception texts
        # (a key with a newline or quote would otherwise slip through as `\n` or `\"`)
        _SECRETS.update((form, json.dumps(form, ensure_ascii=False)[1:-1], json.dumps(form)[1:-1], repr(form)[1:-1]))


def fingerprint(key: str | None) -> str:
    """A short handle for a key that does not reveal it: the last 4 characters at most."""
    if not key:
        return "(none)"
    key = key.strip()
    if len(key) < 16:
        return f"({len(key)} characters)"
    return f"…{key[-4:]}"


def scrub(text: str) -> str:
    """Replace every registered secret in `text` with its fingerprint."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, fingerprint(secret))
    return text


class KeyringProblem(Exception):
    """The keyring could not be used; the message says why in one line."""


def _keyring() -> Any:
    try:
        import keyring
    except Exception as exc:  # noqa: BLE001 - any import failure means "no keyring"
        raise KeyringProblem(f"keyring module unavailable: {exc.__class__.__name__}") from None
    return keyring


def keyring_get(profile: str) -> str | None:
    """The key stored for `profile`, None when there is none; KeyringProblem when it can't be asked."""
    kr = _keyring()
    try:
        value = kr.get_password(SERVICE, profile)
    except Exception as exc:  # noqa: BLE001 - backends raise anything (dbus, locked, init errors)
        raise KeyringProblem(_describe(exc)) from None
    if value:
        register(value)
    return value or None


def keyring_set(profile: str, key: str) -> None:
    """Store the key and read it back: a backend that silently discards it (keyring's null backend,
    a chainer with no backends) must not let `auth login` claim the key is stored."""
    kr = _keyring()
    register(key)
    try:
        kr.set_password(SERVICE, profile, key)
        kept = kr.get_password(SERVICE, profile)
    except Exception as exc:  # noqa: BLE001
        raise KeyringProblem(_describe(exc)) from None
    if kept != key:
        raise KeyringProblem(f"the keyring backend {keyring_backend_name()} did not keep the key")


def keyring_delete(profile: str) -> bool:
    """Delete the stored key; False when there was none."""
    kr = _keyring()
    try:
        if kr.get_password(SERVICE, profile) is None:
            return False  # a backend that stores nothing (null) "deletes" without complaint
        kr.delete_password(SERVICE, profile)
    except Exception as exc:  # noqa: BLE001
        if any(cls.__name__ == "PasswordDeleteError" for cls in type(exc).__mro__):
            return False  # nothing stored (subclasses included: backends specialise it)
        raise KeyringProblem(_describe(exc)) from None
    return True


def keyring_backend_name() -> str:
    try:
        kr = _keyring()
        backend = kr.get_keyring()
        return f"{backend.__class__.__module__}.{backend.__class__.__name__}"
    except Exception:  # noqa: BLE001
        return "unavailable"


def _describe(exc: BaseException) -> str:
    # The message of a keyring error never contains the secret, but scrub anyway.
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(msg) > 100 and ". " in msg:  # keyring's NoKeyringError is a paragraph: its first sentence says it
        msg = msg.split(". ", 1)[0]
    msg = msg.rstrip(".")
    return scrub(f"{exc.__class__.__name__}: {msg}" if msg else exc.__class__.__name__)


# The plain-text fallback (`auth login --insecure-storage`), like gh's: one 0600 file per profile.
def credentials_path(config_dir: Path, profile: str) -> Path:
    return config_dir / "credentials" / f"{profile}.key"


def file_get(config_dir: Path, profile: str) -> str | None:
    path = credentials_path(config_dir, profile)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None
    register(value)
    return value or None


def file_set(config_dir: Path, profile: str, key: str) -> Path:
    path = credentials_path(config_dir, profile)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    os.fchmod(fd, 0o600)  # a stale .tmp keeps its old mode through O_CREAT: fix it before writing
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    return path


def file_delete(config_dir: Path, profile: str) -> bool:
    try:
        credentials_path(config_dir, profile).unlink()
    except FileNotFoundError:
        return False
    return True


# Is there a keyring that can hold a key? Asked before `auth login` reads the key, like gh: on most
# Linux servers, containers and CI runners there is no Secret Service, and the user should learn that
# before pasting a key, not after.
_DISCARDING = ("keyring.backends.null.Keyring", "keyring.backends.fail.Keyring")


def keyring_unusable(timeout: float = 3.0) -> str | None:
    """Why the OS keyring cannot hold a key on this machine, in one line; None when it can.

    Bounded: a Secret Service that never answers on D-Bus must not hang `auth login`, so the
    probe runs in a daemon thread and gives up after `timeout` seconds.
    """
    import threading

    answer: list[str | None] = []

    def probe() -> None:
        try:
            kr = _keyring()
            backend = kr.get_keyring()
            name = f"{backend.__class__.__module__}.{backend.__class__.__name__}"
            if name in _DISCARDING or (name.endswith("ChainerBackend") and not getattr(backend, "backends", [])):
                answer.append(f"no keyring backend: {name} keeps nothing")
                return
            backend.get_password(SERVICE, "gridctl-probe")  # a locked or absent service fails here
            answer.append(None)
        except KeyringProblem as exc:
            answer.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - backends raise anything (dbus, locked, init errors)
            answer.append(_describe(exc))

    thread = threading.Thread(target=probe, name="gridctl-keyring-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not answer:
        return f"the keyring did not answer within {timeout:g} s"
    return answer[0]


def keyring_fix(key_source: str, config_dir: Path, profile: str) -> str:
    """The fix for config.keyring_unavailable: none needed once the key in effect comes from the file."""
    if key_source.startswith("file"):
        return (f"Nothing to do: the key in effect is in {credentials_path(config_dir, profile)} (plain text, "
                "0600). A keyring would keep it encrypted; THEGRID_API_KEY suits CI best.")
    return ("Set THEGRID_API_KEY in the environment (the way for CI), or `gridctl auth login --insecure-storage` "
            "to keep the key in a 0600 plain-text file.")
