"""Settings: flag > environment > profile > keyring > default, remembering each value's source.

The key is resolved lazily: offline commands that never need it never touch the keyring.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridctl import grid, secrets

ENV_CONFIG_DIR = "GRIDCTL_CONFIG_DIR"  # overrides the platformdirs location (tests, portable installs)
PROFILE_KEYS = ("base_url", "model", "status_url", "api")
# A profile name is also a keyring entry and a file name (credentials/NAME.key): no paths, no dots first.
PROFILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def check_profile_name(name: str, source: str = "profile") -> str:
    if not PROFILE_NAME.fullmatch(name):
        raise ConfigError(f"{source}: bad profile name {name!r}: use up to 64 letters, digits, '_', '-' and '.'"
                          ", not starting with '.' or '-'")
    return name


class ConfigError(Exception):
    """The config file is unreadable; the message names the file and the line."""


@dataclass(frozen=True)
class Sourced:
    value: str | None
    source: str  # "flag --base-url", "env THEGRID_BASE_URL", "profile work", "keyring", "default"


@dataclass
class Flags:
    api_key: str | None = None
    api_key_stdin: bool = False
    base_url: str | None = None
    model: str | None = None
    status_url: str | None = None
    api: str | None = None
    timeout: float | None = None
    profile: str | None = None


def config_dir(env: Mapping[str, str]) -> Path:
    override = env.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("gridctl", appauthor=False))


def load_config(path: Path) -> dict[str, Any]:
    """Parse the TOML config; a missing file is an empty config."""
    from gridctl.localfile import LocalFileError, read_limited

    try:
        raw = read_limited(path)  # bounded: a FIFO, a device or a huge file is an error, not a hang
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except LocalFileError as exc:
        raise ConfigError(str(exc)) from None
    import tomllib  # only when there is a file: most runs have none (bench P2)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends "(at line N, column M)"
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    active = data.get("active_profile")
    if active is not None and not isinstance(active, str):
        raise ConfigError(f"{path}:{_where(text, None, 'active_profile')} active_profile must be a string")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}:{_where(text, None, 'profiles')} [profiles.NAME] tables expected")
    for name, prof in profiles.items():
        if not isinstance(prof, dict):
            raise ConfigError(f"{path}:{_where(text, 'profiles', name)} profiles.{name} must be a "
                              f"[profiles.{name}] table")
        for k, v in prof.items():
            if k in PROFILE_KEYS and not isinstance(v, str):
                raise ConfigError(f"{path}:{_where(text, name, k)} profiles.{name}.{k} must be a string")
    return data


def _where(text: str, table: str | None, key: str) -> str:
    """' line N:' for the line that sets `key` (inside [profiles.TABLE] when given); '' when not found.

    tomllib reports only syntax errors with a line; type errors are found again in the text.
    """
    lines = text.splitlines()
    start = 0
    if table is not None and table != "profiles":
        header = re.compile(r"\s*\[\s*profiles\s*\.\s*([\"']?)" + re.escape(table) + r"\1\s*\]")
        start = next((i + 1 for i, line in enumerate(lines) if header.match(line)), 0)
    setter = re.compile(r"\s*(?:[\w.\"' -]*\.\s*)?([\"']?)" + re.escape(key) + r"\1\s*=")
    for i in range(start, len(lines)):
        if setter.match(lines[i]):
            return f" line {i + 1}:"
    return ""


@dataclass
class Settings:
    flags: Flags
    env: Mapping[str, str]
    stdin_key: str | None = None
    _config: dict[str, Any] | None = field(default=None, repr=False)
    _key: Sourced | None = field(default=None, repr=False)
    keyring_problem: str | None = None

    @property
    def config_dir(self) -> Path:
        return config_dir(self.env)

    @property
    def config_path(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def profile(self) -> Sourced:
        if self.flags.profile:
            return Sourced(check_profile_name(self.flags.profile, "--profile"), "flag --profile")
        if self.env.get(grid.ENV_PROFILE):
            return Sourced(check_profile_name(self.env[grid.ENV_PROFILE], grid.ENV_PROFILE), f"env {grid.ENV_PROFILE}")
        active = self.config.get("active_profile")
        if isinstance(active, str) and active:
            return Sourced(check_profile_name(active, f"{self.config_path}: active_profile"), "config active_profile")
        return Sourced("default", "default")

    def profile_values(self) -> dict[str, str]:
        name = self.profile.value or "default"
        prof = self.config.get("profiles", {}).get(name, {})
        return {k: v for k, v in prof.items() if k in PROFILE_KEYS}

    def _pick(self, flag: str | None, flag_name: str, env_name: str | None, prof_key: str,
              default: str) -> Sourced:
        if flag is not None:
            return Sourced(flag, f"flag {flag_name}")
        if env_name and self.env.get(env_name):
            return Sourced(self.env[env_name], f"env {env_name}")
        prof = self.profile_values()
        if prof.get(prof_key):
            return Sourced(prof[prof_key], f"profile {self.profile.value}")
        return Sourced(default, "default")

    @property
    def base_url(self) -> Sourced:
        return self._pick(self.flags.base_url, "--base-url", grid.ENV_BASE_URL, "base_url", grid.DEFAULT_BASE_URL)

    @property
    def model(self) -> Sourced:
        return self._pick(self.flags.model, "--model", grid.ENV_MODEL, "model", grid.DEFAULT_MODEL)

    @property
    def status_url(self) -> Sourced:
        return self._pick(self.flags.status_url, "--status-url", grid.ENV_STATUS_URL, "status_url",
                          grid.DEFAULT_STATUS_URL)

    @property
    def api(self) -> Sourced:
        return self._pick(self.flags.api, "--api", None, "api", "chat")

    @property
    def timeout(self) -> float:
        return self.flags.timeout if self.flags.timeout is not None else grid.DEFAULT_TIMEOUT

    @property
    def key(self) -> Sourced:
        if self._key is None:
            self._key = self._resolve_key()
            secrets.register(self._key.value)
        return self._key

    def _resolve_key(self) -> Sourced:
        if self.flags.api_key is not None:
            return Sourced(self.flags.api_key, "flag --api-key")
        if self.flags.api_key_stdin:
            return Sourced(self.stdin_key, "stdin --api-key-stdin")
        for name in (grid.ENV_API_KEY, grid.ENV_LEGACY_KEY):
            if self.env.get(name):
                return Sourced(self.env[name], f"env {name}")
        profile = self.profile.value or "default"
        try:
            # bounded by the command's budget: a hanging keyring must not hang the run
            stored = secrets.keyring_get(profile, timeout=self.timeout)
        except secrets.KeyringProblem as exc:
            self.keyring_problem = str(exc)
            stored = None
        if stored:
            return Sourced(stored, f"keyring ({secrets.SERVICE}/{profile})")
        try:
            stored = secrets.file_get(self.config_dir, profile)
        except secrets.CredentialsUnreadable as exc:
            raise ConfigError(f"the credentials file is unreadable: {exc}") from None
        if stored:
            return Sourced(stored, f"file {secrets.credentials_path(self.config_dir, profile)} (plain text)")
        return Sourced(None, "none")

    def target(self, *, with_key: bool = True) -> dict[str, Any]:
        """The envelope's `target`: never the key, only its fingerprint and source."""
        out: dict[str, Any] = {"base_url": self.base_url.value, "api": self.api.value, "model": self.model.value}
        if with_key:
            key = self.key
            out["key"] = f"{secrets.fingerprint(key.value)} ({key.source})" if key.value else None
        return out


def from_env(flags: Flags, env: Mapping[str, str] | None = None, stdin_key: str | None = None) -> Settings:
    environ = os.environ if env is None else env
    if flags.api_key:
        secrets.register(flags.api_key)
    if stdin_key:
        secrets.register(stdin_key)
    for name in grid.KEY_ENV_VARS:
        secrets.register(environ.get(name))
    return Settings(flags=flags, env=environ, stdin_key=stdin_key)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_str(value: str) -> str:
    # TOML basic strings take JSON's escapes; JSON leaves DEL raw, which TOML forbids.
    import json

    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_str(key)


def _toml_value(value: Any) -> str:
    import datetime
    import math

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _dump_table(lines: list[str], path: list[str], table: dict[str, Any]) -> None:
    values = [(k, v) for k, v in table.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    if path and (values or not tables):
        lines += ["", f"[{'.'.join(_toml_key(p) for p in path)}]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values]
    for k, v in tables:
        _dump_table(lines, [*path, k], v)


def dump_config(data: dict[str, Any]) -> str:
    """The config as TOML, everything in it kept (a user's other keys and tables too); comments are not.

    A few lines instead of a dependency (tomli-w); arrays of tables come out as inline tables.
    """
    lines = ["# gridctl configuration: profiles hold base URL, model and status URL, never a key."]
    _dump_table(lines, [], data)
    return "\n".join(lines) + "\n"


def save_profile(settings: Settings, profile: str, values: Mapping[str, str | None]) -> Path:
    """Merge `values` into [profiles.PROFILE] and write the file atomically with mode 0600."""
    import tempfile

    check_profile_name(profile)
    data = dict(settings.config)
    profiles = {k: dict(v) for k, v in (data.get("profiles") or {}).items()}
    prof = profiles.setdefault(profile, {})
    for k, v in values.items():
        if k not in PROFILE_KEYS:
            raise ValueError(f"not a profile setting: {k}")
        if v is None:
            prof.pop(k, None)
        else:
            prof[k] = v
    data["profiles"] = profiles
    path = settings.config_path
    secrets.private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dump_config(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    settings._config = data
    return path
