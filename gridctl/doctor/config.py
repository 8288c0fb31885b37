"""The `config` step: where the key, base URL and model came from; what the SDK environment breaks."""

from __future__ import annotations

from collections.abc import Mapping

from gridctl import grid
from gridctl.findings import Finding, finding
from gridctl.lint.url import lint_url
from gridctl.result import CheckResult, Timer
from gridctl.secrets import fingerprint, keyring_fix
from gridctl.settings import Settings


def check_config(settings: Settings, base_url: str) -> CheckResult:
    timer = Timer()
    key = settings.key
    findings = key_findings(settings)
    findings.extend(sdk_env_findings(settings.env, key.value, base_url))
    grid_cli, grid_cli_seen = grid_cli_findings(settings.env, key.value, base_url)
    findings.extend(grid_cli)
    data = {
        "key": f"{fingerprint(key.value)} ({key.source})" if key.value else None,
        "base_url": {"value": base_url, "source": settings.base_url.source},
        "model": {"value": settings.model.value, "source": settings.model.source},
        "status_url": {"value": settings.status_url.value, "source": settings.status_url.source},
        "profile": {"value": settings.profile.value, "source": settings.profile.source},
        "sdk_env": sorted(n for n in grid.SDK_ENV_VARS if settings.env.get(n)),
        "grid_cli": grid_cli_seen,
        "summary": f"key {fingerprint(key.value)} from {key.source}" if key.value else "no key",
    }
    return CheckResult("config", "Configuration", findings, data=data, duration_ms=timer.ms())


def key_findings(settings: Settings, profile: str | None = None) -> list[Finding]:
    """Which key is in effect and from where, or that there is none; a keyring that failed.

    Shared by doctor's `config` step and `auth status` (which names the profile it looked in).
    """
    key = settings.key
    out: list[Finding] = []
    if key.value:
        out.append(finding("config.key_source", f"Key {fingerprint(key.value)} in effect, from {key.source}."))
    else:
        where = f"the keyring (profile {profile})" if profile else "the keyring"
        out.append(finding("config.no_key", f"No key: not in --api-key, {grid.ENV_API_KEY}, {where} or a "
                           "credentials file."))
    if settings.keyring_problem:
        # Once the key in use is the announced plain-text file, the missing keyring is a note, and the
        # fix no longer recommends the flag that was already used.
        out.append(finding("config.keyring_unavailable", f"The OS keyring could not be read: "
                           f"{settings.keyring_problem}.",
                           fix=keyring_fix(key.source, settings.config_dir, profile or settings.profile.value or
                                           "default"),
                           severity="info" if key.source.startswith("file") else None))
    return out


def sdk_env_findings(env: Mapping[str, str], grid_key: str | None, base_url: str) -> list[Finding]:
    """What in the OPENAI_* / ANTHROPIC_* environment would break a harness pointed at The Grid."""
    out: list[Finding] = []
    openai_bases = {n: env[n] for n in ("OPENAI_BASE_URL", "OPENAI_API_BASE") if env.get(n)}
    if len({v.strip() for v in openai_bases.values()}) > 1:
        out.append(finding("config.env_conflict", "OPENAI_BASE_URL and OPENAI_API_BASE are both set and disagree; "
                           "the OpenAI SDK reads the first, LiteLLM and LangChain the second.", severity="error"))
    for name, value in openai_bases.items():
        out.extend(_base_findings(name, value, "openai", base_url))
    if env.get("ANTHROPIC_BASE_URL"):
        out.extend(_base_findings("ANTHROPIC_BASE_URL", env["ANTHROPIC_BASE_URL"], "anthropic", base_url))
    out.extend(_key_findings(env, grid_key, bool(openai_bases), bool(env.get("ANTHROPIC_BASE_URL"))))
    return out


def _base_findings(name: str, value: str, sdk: str, base_url: str) -> list[Finding]:
    lint = lint_url(value, sdk=sdk)
    mine = lint_url(base_url, sdk=sdk)
    if lint.canonical is not None and lint.canonical == mine.canonical and not lint.grid_host:
        return []  # the same gateway or emulator gridctl itself tests
    if not lint.grid_host and not lint.refuse_key:
        return [finding("config.env_conflict", f"{name}={_show(value)} is not The Grid: an SDK that reads it "
                        "sends your requests (and key) there.", severity="error",
                        fix=f"export {name}={lint_url(grid.DEFAULT_BASE_URL, sdk=sdk).canonical}")]
    errors = [f for f in lint.findings if f.severity == "error"]
    if errors:
        return [finding("config.env_conflict", f"{name}={_show(value)}: {errors[0].message}", severity="error",
                        fix=f"export {name}={lint.canonical}")]
    return []


def _key_findings(env: Mapping[str, str], grid_key: str | None, openai_to_grid: bool,
                  anthropic_to_grid: bool) -> list[Finding]:
    out: list[Finding] = []
    pairs = [("OPENAI_API_KEY", openai_to_grid), ("ANTHROPIC_API_KEY", anthropic_to_grid),
             ("ANTHROPIC_AUTH_TOKEN", anthropic_to_grid)]
    for name, used_for_grid in pairs:
        value = (env.get(name) or "").strip()
        if not value or not grid_key or value == grid_key.strip():
            continue
        if used_for_grid or _foreign(value) is None:
            out.append(finding("config.env_conflict", f"{name} ({fingerprint(value)}) holds a different key from "
                               f"the Grid key in effect ({fingerprint(grid_key)}).", severity="error",
                               fix=f'export {name}="$THEGRID_API_KEY"'))
    a, t = (env.get("ANTHROPIC_API_KEY") or "").strip(), (env.get("ANTHROPIC_AUTH_TOKEN") or "").strip()
    if a and t and a != t:
        out.append(finding("config.env_conflict", "ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN are both set and "
                           "differ; Claude Code and the Anthropic SDK prefer different ones.", severity="warning",
                           fix="Unset one of them."))
    return out


GRID_CLI_KEY_VARS = ("GRID_CLI_CONSUMPTION_KEY", "API_KEY")  # The Grid's own CLI, in its order of precedence
GRID_CLI_DEFAULT_URL = "https://api.dev.thegrid.ai"  # grid-cli's default when unconfigured: a dev host


def grid_cli_config(env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The Grid CLI's settings as (values, where each came from): its env vars, then its profile file.

    Read locally only: none of these values is ever sent anywhere.
    """
    import json
    from pathlib import Path

    values: dict[str, str] = {}
    where: dict[str, str] = {}
    for name in GRID_CLI_KEY_VARS:
        if env.get(name) and "key" not in values:
            values["key"], where["key"] = env[name].strip(), f"env {name}"
    if env.get("CONSUMPTION_API_URL"):
        values["url"], where["url"] = env["CONSUMPTION_API_URL"].strip(), "env CONSUMPTION_API_URL"
    home = env.get("HOME") or env.get("USERPROFILE")
    path = Path(home) / ".grid-cli" / "credentials.json" if home else None
    profile_name = env.get("GRID_PROFILE") or "default"
    try:
        doc = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else None
    except (OSError, ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict):
        profiles = doc.get("profiles") if isinstance(doc.get("profiles"), dict) else doc
        profile = profiles.get(profile_name) if isinstance(profiles, dict) else None
        profile = profile if isinstance(profile, dict) else (doc if "api_key" in doc else None)
        if isinstance(profile, dict):
            where["file"] = f"{path} (profile {profile_name})"
            if isinstance(profile.get("api_key"), str) and "key" not in values:
                values["key"], where["key"] = profile["api_key"].strip(), where["file"]
            if isinstance(profile.get("consumption_api_url"), str) and "url" not in values:
                values["url"], where["url"] = profile["consumption_api_url"].strip(), where["file"]
    return values, where


def grid_cli_findings(env: Mapping[str, str], grid_key: str | None,
                      base_url: str) -> tuple[list[Finding], dict[str, str]]:
    """Where The Grid's own CLI is configured differently from gridctl (keys by fingerprint only)."""
    values, where = grid_cli_config(env)
    seen = {k: (f"{fingerprint(v)} ({where[k]})" if k == "key" else f"{v} ({where[k]})") for k, v in values.items()}
    if "file" in where:
        seen["file"] = where["file"]
    out: list[Finding] = []
    if not values:
        return out, seen
    cli_key = values.get("key")
    if cli_key:
        from gridctl.secrets import register

        register(cli_key)  # shown by fingerprint only, and never sent anywhere
    if cli_key and grid_key and cli_key != grid_key.strip():
        out.append(finding("config.env_conflict", f"The Grid's CLI uses the key {fingerprint(cli_key)} from "
                           f"{where['key']}, gridctl the key {fingerprint(grid_key)}: they test different keys.",
                           severity="warning", fix="Use the same consumption key for both: THEGRID_API_KEY for "
                           "gridctl, GRID_CLI_CONSUMPTION_KEY (or the grid-cli profile's api_key) for grid-cli."))
    elif cli_key and not grid_key:
        out.append(finding("config.env_conflict", f"The Grid's CLI has a key ({fingerprint(cli_key)}, "
                           f"{where['key']}) but gridctl reads THEGRID_API_KEY, which is not set.",
                           severity="warning", fix="export THEGRID_API_KEY=<that consumption key>, or "
                           "`gridctl auth login`."))
    url = values.get("url") or (GRID_CLI_DEFAULT_URL if cli_key else None)
    if url is None:
        return out, seen
    origin = where.get("url", "grid-cli's default, a dev host (no CONSUMPTION_API_URL or consumption_api_url)")
    theirs, mine = lint_url(url).canonical, lint_url(base_url).canonical
    if theirs != mine:
        dev = " (a non-production host)" if any(h in url for h in grid.NON_PROD_HOSTS) else ""
        out.append(finding("config.env_conflict", f"The Grid's CLI talks to {_show(url)}{dev} ({origin}); gridctl "
                           f"tests {base_url}: a call that works in one may fail in the other.", severity="warning",
                           fix=f"export CONSUMPTION_API_URL={grid.DEFAULT_BASE_URL.removesuffix('/v1')} for grid-cli, "
                           "or point gridctl at the same host with --base-url."))
    return out, seen


def _foreign(key: str) -> str | None:
    for prefix, vendor in grid.FOREIGN_KEY_PREFIXES.items():
        if key.startswith(prefix) and prefix != "sk-":
            return vendor
    return None


def _show(value: str) -> str:
    return value.strip()[:80]
