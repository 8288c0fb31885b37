"""settings: precedence and sources, profile selection, the config file (0600, atomic, round trip, errors)."""

from __future__ import annotations

import itertools
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import keyring
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gridctl import grid, secrets
from gridctl.settings import ConfigError, Flags, Settings, dump_config, from_env, load_config, save_profile
from tests.support.cli import clean_env, invoke
from tests.support.keyrings import FailingKeyring, MemoryKeyring

KEYS = {name: f"gk-{name}-" + "x" * (40 - len(name)) for name in
        ("flag", "stdin", "env", "legacy", "keyring", "file")}


@pytest.fixture
def ring(memory_keyring: MemoryKeyring) -> MemoryKeyring:
    return memory_keyring


def write_config(config_dir: Path, text: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def make(config_dir: Path, flags: Flags | None = None, stdin_key: str | None = None, **env: str) -> Settings:
    return from_env(flags or Flags(), env={"GRIDCTL_CONFIG_DIR": str(config_dir), **env}, stdin_key=stdin_key)


# --- base_url, model, status_url: flag > env > profile > default ----------------------------------

FIELDS = {
    # field: (flag attribute and name, env var, default)
    "base_url": ("--base-url", grid.ENV_BASE_URL, grid.DEFAULT_BASE_URL),
    "model": ("--model", grid.ENV_MODEL, grid.DEFAULT_MODEL),
    "status_url": ("--status-url", grid.ENV_STATUS_URL, grid.DEFAULT_STATUS_URL),
}
LAYERS = ("flag", "env", "profile")
CASES = [(f, present) for f in FIELDS for n in range(len(LAYERS) + 1)
         for present in itertools.combinations(LAYERS, n)]


@pytest.mark.parametrize(("field", "present"), CASES, ids=lambda v: v if isinstance(v, str) else "+".join(v) or "none")
def test_value_precedence(isolated_env: Path, ring: MemoryKeyring, field: str, present: tuple[str, ...]) -> None:
    flag_name, env_name, default = FIELDS[field]
    value = {layer: f"http://{layer}.example/v1" if field != "model" else f"{layer}-model" for layer in LAYERS}
    ring.store[(secrets.SERVICE, "work")] = KEYS["keyring"]  # the keyring never supplies these values
    write_config(isolated_env, 'active_profile = "work"\n\n[profiles.work]\n'
                 + (f'{field} = "{value["profile"]}"\n' if "profile" in present else 'api = "chat"\n'))
    flags = Flags(**{field: value["flag"]}) if "flag" in present else Flags()
    env = {env_name: value["env"]} if "env" in present else {}
    got = getattr(make(isolated_env, flags, **env), field)
    expected = {"flag": (value["flag"], f"flag {flag_name}"), "env": (value["env"], f"env {env_name}"),
                "profile": (value["profile"], "profile work")}
    want = next((expected[layer] for layer in LAYERS if layer in present), (default, "default"))
    assert (got.value, got.source) == want


def test_empty_env_var_counts_as_unset(isolated_env: Path) -> None:
    s = make(isolated_env, **{grid.ENV_BASE_URL: "", grid.ENV_API_KEY: ""})
    assert s.base_url.source == "default"
    assert s.key.source == "none"


# --- the key: --api-key > --api-key-stdin > THEGRID_API_KEY > THEGRIDAI_API_KEY > keyring > file -----

KEY_LAYERS = ("flag", "stdin", "env", "legacy", "keyring", "file")


def key_settings(config_dir: Path, ring: MemoryKeyring, present: tuple[str, ...], profile: str = "default") -> Settings:
    if "keyring" in present:
        ring.store[(secrets.SERVICE, profile)] = KEYS["keyring"]
    if "file" in present:
        secrets.file_set(config_dir, profile, KEYS["file"])
    flags = Flags(api_key=KEYS["flag"] if "flag" in present else None, api_key_stdin="stdin" in present)
    env = {}
    if "env" in present:
        env[grid.ENV_API_KEY] = KEYS["env"]
    if "legacy" in present:
        env[grid.ENV_LEGACY_KEY] = KEYS["legacy"]
    return make(config_dir, flags, stdin_key=KEYS["stdin"] if "stdin" in present else None, **env)


def key_source(config_dir: Path, layer: str, profile: str = "default") -> str:
    return {"flag": "flag --api-key", "stdin": "stdin --api-key-stdin", "env": "env THEGRID_API_KEY",
            "legacy": "env THEGRIDAI_API_KEY", "keyring": f"keyring (gridctl/{profile})",
            "file": f"file {config_dir / 'credentials' / f'{profile}.key'} (plain text)"}[layer]


@pytest.mark.parametrize("top", range(len(KEY_LAYERS)), ids=lambda i: KEY_LAYERS[i])
def test_key_precedence_all_lower_layers_present(isolated_env: Path, ring: MemoryKeyring, top: int) -> None:
    layer = KEY_LAYERS[top]
    key = key_settings(isolated_env, ring, KEY_LAYERS[top:]).key
    assert (key.value, key.source) == (KEYS[layer], key_source(isolated_env, layer))


@pytest.mark.parametrize("layer", KEY_LAYERS)
def test_key_each_source_alone(isolated_env: Path, ring: MemoryKeyring, layer: str) -> None:
    s = key_settings(isolated_env, ring, (layer,))
    assert (s.key.value, s.key.source) == (KEYS[layer], key_source(isolated_env, layer))
    assert s.target()["key"] == f"…{KEYS[layer][-4:]} ({key_source(isolated_env, layer)})"
    assert KEYS[layer] not in repr(s.target())


def test_no_key_anywhere(isolated_env: Path, ring: MemoryKeyring) -> None:
    s = make(isolated_env)
    assert (s.key.value, s.key.source) == (None, "none")
    assert s.target()["key"] is None
    assert s.keyring_problem is None


def test_env_key_outranks_stored_key_and_keyring_is_not_asked(isolated_env: Path, ring: MemoryKeyring,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ring.store[(secrets.SERVICE, "default")] = KEYS["keyring"]
    asked: list[str] = []
    monkeypatch.setattr(ring, "get_password", lambda service, user: asked.append(user))
    s = make(isolated_env, **{grid.ENV_API_KEY: KEYS["env"]})
    assert s.key.source == "env THEGRID_API_KEY"
    assert asked == []  # resolved lazily and stops at the first source that has a key


def test_key_lookup_is_lazy(isolated_env: Path, ring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(ring, "get_password", lambda service, user: asked.append(user))
    s = make(isolated_env)
    assert s.base_url.value == grid.DEFAULT_BASE_URL and s.model.value == grid.DEFAULT_MODEL
    assert asked == []  # offline commands never touch the keyring
    assert s.key.source == "none" and asked == ["default"]


def test_failing_keyring_falls_through_to_file(isolated_env: Path) -> None:
    keyring.set_keyring(FailingKeyring())
    secrets.file_set(isolated_env, "default", KEYS["file"])
    s = make(isolated_env)
    assert s.key.value == KEYS["file"] and s.key.source.startswith("file ")
    assert s.keyring_problem == "KeyringLocked: the collection is locked"


def test_key_is_never_read_from_config(isolated_env: Path, ring: MemoryKeyring) -> None:
    secret = "gk-in-config-file-QQQQQQQQQQQQQQQQQQQQQQQQQQ"
    write_config(isolated_env, f'api_key = "{secret}"\nkey = "{secret}"\n\n[profiles.default]\n'
                 f'api_key = "{secret}"\nkey = "{secret}"\n{grid.ENV_API_KEY} = "{secret}"\nmodel = "text-max"\n')
    s = make(isolated_env)
    assert s.model.value == "text-max"  # the profile was read...
    assert (s.key.value, s.key.source) == (None, "none")  # ...but never for a key
    assert "api_key" not in s.profile_values() and "key" not in s.profile_values()


def test_from_env_registers_every_key_it_sees(isolated_env: Path) -> None:
    keys = {name: f"gk-reg-{name}-{'r' * 30}" for name in
            (grid.ENV_API_KEY, grid.ENV_LEGACY_KEY, "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    flag_key, stdin_key = "gk-reg-flag-" + "f" * 31, "gk-reg-stdin-" + "s" * 30
    make(isolated_env, Flags(api_key=flag_key), stdin_key=stdin_key, **keys)
    for key in [*keys.values(), flag_key, stdin_key]:
        assert key not in secrets.scrub(f"x {key} y")


# --- profiles: --profile > THEGRID_PROFILE > active_profile > "default" ---------------------------

PROFILE_CASES = [
    ({"flag": "f", "env": "e", "active": "a"}, "f", "flag --profile"),
    ({"env": "e", "active": "a"}, "e", "env THEGRID_PROFILE"),
    ({"active": "a"}, "a", "config active_profile"),
    ({}, "default", "default"),
    ({"flag": "f", "active": "a"}, "f", "flag --profile"),
]


@pytest.mark.parametrize(("given", "name", "source"), PROFILE_CASES)
def test_profile_selection(isolated_env: Path, ring: MemoryKeyring, given: dict[str, str], name: str,
                           source: str) -> None:
    text = f'active_profile = "{given["active"]}"\n' if "active" in given else ""
    for p in ("f", "e", "a", "default"):
        text += f'\n[profiles.{p}]\nbase_url = "http://{p}.example/v1"\n'
        ring.store[(secrets.SERVICE, p)] = KEYS["keyring"][:-1] + p
    write_config(isolated_env, text)
    env = {grid.ENV_PROFILE: given["env"]} if "env" in given else {}
    s = make(isolated_env, Flags(profile=given.get("flag")), **env)
    assert (s.profile.value, s.profile.source) == (name, source)
    # the selected profile picks both the profile's values and the keyring entry
    assert (s.base_url.value, s.base_url.source) == (f"http://{name}.example/v1", f"profile {name}")
    assert s.key.value == KEYS["keyring"][:-1] + name and s.key.source == f"keyring (gridctl/{name})"


def test_unknown_profile_means_defaults(isolated_env: Path) -> None:
    write_config(isolated_env, '[profiles.work]\nmodel = "code-max"\n')
    s = make(isolated_env, Flags(profile="home"))
    assert (s.model.value, s.model.source) == (grid.DEFAULT_MODEL, "default")


@pytest.mark.parametrize("name", ["../../escape", "a/b", ".hidden", "-x", "a b", "x" * 65, "é"])
def test_bad_profile_names_are_config_errors(isolated_env: Path, name: str) -> None:
    # a profile name becomes a file name (credentials/NAME.key): no way out of the config dir
    with pytest.raises(ConfigError, match="bad profile name"):
        _ = make(isolated_env, Flags(profile=name)).profile
    with pytest.raises(ConfigError, match=grid.ENV_PROFILE):
        _ = make(isolated_env, **{grid.ENV_PROFILE: name}).profile
    with pytest.raises(ConfigError, match="bad profile name"):
        save_profile(make(isolated_env), name, {"model": "text-max"})
    assert not (isolated_env.parent / "escape.key").exists()


def test_good_profile_names(isolated_env: Path) -> None:
    for name in ("default", "work", "ci_2", "team.prod", "A-1"):
        assert make(isolated_env, Flags(profile=name)).profile.value == name


# --- save_profile: atomic, 0600, round trip, never a key ------------------------------------------

def test_save_profile_writes_0600_and_round_trips(isolated_env: Path) -> None:
    s = make(isolated_env)
    path = save_profile(s, "work", {"base_url": "http://127.0.0.1:8080/v1", "model": "code-prime"})
    assert path == isolated_env / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(isolated_env.stat().st_mode) == 0o700
    assert load_config(path)["profiles"]["work"] == {"base_url": "http://127.0.0.1:8080/v1", "model": "code-prime"}
    # merge, then remove a value with None; other profiles untouched
    save_profile(s, "home", {"status_url": "http://status.example"})
    save_profile(s, "work", {"model": None, "api": "messages"})
    fresh = make(isolated_env, Flags(profile="work"))
    assert fresh.config["profiles"] == {"work": {"base_url": "http://127.0.0.1:8080/v1", "api": "messages"},
                                        "home": {"status_url": "http://status.example"}}
    assert fresh.base_url.source == "profile work" and fresh.api.value == "messages"
    assert [p.name for p in isolated_env.iterdir()] == ["config.toml"]  # no temp files left behind


def test_save_profile_tightens_an_existing_world_readable_file(isolated_env: Path) -> None:
    path = write_config(isolated_env, '[profiles.default]\nmodel = "text-max"\n')
    path.chmod(0o644)
    save_profile(make(isolated_env), "default", {"base_url": "http://gw.example/v1"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_profile_keeps_what_it_does_not_own(isolated_env: Path) -> None:
    text = ('active_profile = "work"\ntelemetry = false\nretries = 3\nratio = 0.5\ntags = ["a", "b"]\n'
            'when = 2026-01-02T03:04:05Z\n\n[ui]\ntheme = "dark"\n[ui.colors]\nok = "green"\n\n'
            '[profiles.work]\nmodel = "text-max"\nnote = "team key in 1Password"\nlimit = 5\n'
            '[profiles."my gateway"]\nbase_url = "http://gw.example/v1"\n')
    path = write_config(isolated_env, text)
    before = tomllib.loads(text)
    save_profile(make(isolated_env), "work", {"status_url": "http://status.example"})
    after = load_config(path)
    before["profiles"]["work"]["status_url"] = "http://status.example"
    assert after == before


def test_save_profile_is_atomic_when_writing_fails(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(isolated_env, '[profiles.default]\nmodel = "text-max"\n')
    import gridctl.settings as mod

    def boom(data: dict[str, Any]) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(mod, "dump_config", boom)
    with pytest.raises(OSError, match="disk full"):
        save_profile(make(isolated_env), "default", {"model": "code-max"})
    assert path.read_text() == '[profiles.default]\nmodel = "text-max"\n'
    assert [p.name for p in isolated_env.iterdir()] == ["config.toml"]


def test_save_profile_refuses_a_key(isolated_env: Path) -> None:
    with pytest.raises(ValueError, match="not a profile setting"):
        save_profile(make(isolated_env), "default", {"api_key": "gk-nope"})
    assert not (isolated_env / "config.toml").exists()


def test_save_profile_on_corrupt_config_refuses_and_keeps_it(isolated_env: Path) -> None:
    path = write_config(isolated_env, "[profiles.default\n")
    with pytest.raises(ConfigError):
        save_profile(make(isolated_env), "default", {"model": "text-max"})
    assert path.read_text() == "[profiles.default\n"


toml_keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
toml_scalars = (st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
                | st.integers(-(2 ** 63), 2 ** 63 - 1) | st.booleans()
                | st.floats(allow_nan=False) | st.lists(st.integers(0, 9), max_size=3))
toml_tables = st.recursive(st.dictionaries(toml_keys, toml_scalars, max_size=4),
                           lambda inner: st.dictionaries(toml_keys, toml_scalars | inner, max_size=3), max_leaves=12)


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml_tables)
def test_dump_config_round_trips_any_table(data: dict[str, Any]) -> None:
    assert tomllib.loads(dump_config(data)) == data


# --- a corrupt config: ConfigError naming the file and the line; the CLI exits 3 in one line ------

CORRUPT = [
    ('active_profile = "x"\n[profiles.default\nbase_url = "u"\n', 2),  # unclosed table header
    ('# gridctl\nmodel = \n', 2),                                       # missing value
    ('[profiles.a]\nbase_url = "x"\n\n[profiles.a]\nmodel = "y"\n', 4),  # table defined twice
    ('[profiles.work]\nbase_url = "http://x"\nmodel = 3\n', 3),          # wrong type
    ('[profiles]\nwork = "http://x"\n', 2),                              # not a table
    ('\n\nactive_profile = 5\n', 3),                                     # not a string
    ('[profiles.one]\nmodel = "a"\n[profiles."two"]\nstatus_url = ["x"]\n', 4),
]


@pytest.mark.parametrize(("text", "line"), CORRUPT)
def test_corrupt_config_names_file_and_line(isolated_env: Path, text: str, line: int) -> None:
    path = write_config(isolated_env, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}" in message
    assert "\n" not in message


def test_config_not_utf8_names_the_line(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True)
    path = isolated_env / "config.toml"
    path.write_bytes(b'[profiles.default]\nmodel = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"line 2: not UTF-8"):
        load_config(path)


def test_missing_config_is_empty_and_unreadable_is_an_error(isolated_env: Path) -> None:
    assert load_config(isolated_env / "config.toml") == {}
    isolated_env.mkdir(parents=True)
    (isolated_env / "config.toml").mkdir()  # a directory where the file should be
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(isolated_env / "config.toml")


@pytest.mark.parametrize("args", [["auth", "status", "--offline"], ["auth", "status", "--json"],
                                  ["auth", "logout"], ["onboard", "--no-input"], ["ping"]])
def test_cli_exits_3_on_corrupt_config_in_one_line(isolated_env: Path, args: list[str]) -> None:
    path = write_config(isolated_env, '[profiles.default]\nbase_url = "http://x/v1"\nmodel = = 1\n')
    result = invoke(*args)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output + result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "line 3" in err[0]
    if "--json" in args:
        import json

        doc = json.loads(result.stdout)
        assert doc["exit_code"] == 3 and str(path) in doc["error"]
    else:
        assert result.stdout == ""


def test_cli_bad_profile_name_exits_3_in_one_line(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # from the environment it is a configuration problem (3); as a flag, a usage error (2)
    result = invoke("auth", "status", "--offline", env=clean_env(THEGRID_PROFILE="../../etc/x"))
    assert result.exit_code == 3
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "bad profile name" in result.stderr
    result = invoke("auth", "status", "--offline", "--profile", "../../etc/x")
    assert result.exit_code == 2
    assert "bad profile name" in result.stderr


def test_env_does_not_leak_from_os_environ(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # from_env(env=...) reads only the mapping it is given
    monkeypatch.setenv(grid.ENV_MODEL, "text-max")
    assert make(isolated_env).model.source == "default"
    assert from_env(Flags()).model.source == f"env {grid.ENV_MODEL}"
    assert os.environ["GRIDCTL_CONFIG_DIR"] == str(isolated_env)
