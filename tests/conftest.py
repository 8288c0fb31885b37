"""Shared fixtures for every test.

Section 1 isolates each test from the machine it runs on (config dir, environment, keyring).
Add new shared fixtures in section 2 below; keep section 1 minimal and general.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gridctl import grid

# --- 1. isolation from the user's machine (autouse) ------------------------------------------

# Variables gridctl (or the SDKs and httpx underneath it) read; none may leak in from the shell.
ISOLATED_ENV = (
    grid.ENV_API_KEY,
    grid.ENV_LEGACY_KEY,
    grid.ENV_BASE_URL,
    grid.ENV_MODEL,
    grid.ENV_STATUS_URL,
    grid.ENV_PROFILE,
    *grid.SDK_ENV_VARS,
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test gets an empty config dir, no Grid/SDK/proxy variables, no colour, no real keyring.

    Returns the config dir (GRIDCTL_CONFIG_DIR), which does not exist until something writes it.
    """
    config = tmp_path / "config"
    monkeypatch.setenv("GRIDCTL_CONFIG_DIR", str(config))
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    # The null backend stores nothing and finds nothing: no test reads or writes a real keyring,
    # neither in a subprocess (the variable) nor in this process (set again for each test, in case
    # an earlier test installed another backend).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring
    from keyring.backends.null import Keyring as NullKeyring

    keyring.set_keyring(NullKeyring())
    return config


# --- 2. shared fixtures (add below) -----------------------------------------------------------


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """An in-memory keyring for in-process tests; the isolation fixture's null keyring comes back after."""
    import keyring

    from tests.support.keyrings import MemoryKeyring

    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)
