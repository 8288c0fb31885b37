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
    findings: list[Finding] = []
    key = settings.key
    if key.value:
        findings.append(finding("config.key_source", f"Key {fingerprint(key.value)} from {key.source}."))
    else:
        findings.append(finding("config.no_key", "No key in --api-key, THEGRID_API_KEY, the keyring or a "
                                "credentials file."))
    if settings.keyring_problem:
        profile = settings.profile.value or "default"
        findings.append(finding("config.keyring_unavailable", f"The OS keyring could not be read: "
                                f"{settings.keyring_problem}.", fix=keyring_fix(key.source, settings.config_dir, profile),
                                severity="info" if key.source.startswith("file") else None))
    findings.extend(sdk_env_findings(settings.env, key.value, base_url))
    data = {
        "key": f"{fingerprint(key.value)} ({key.source})" if key.value else None,
        "base_url": {"value": base_url, "source": settings.base_url.source},
        "model": {"value": settings.model.value, "source": settings.model.source},
        "status_url": {"value": settings.status_url.value, "source": settings.status_url.source},
        "profile": {"value": settings.profile.value, "source": settings.profile.source},
        "sdk_env": sorted(n for n in grid.SDK_ENV_VARS if settings.env.get(n)),
        "summary": f"key {fingerprint(key.value)} from {key.source}" if key.value else "no key",
    }
    return CheckResult("config", "Configuration", findings, data=data, duration_ms=timer.ms())


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


def _foreign(key: str) -> str | None:
    for prefix, vendor in grid.FOREIGN_KEY_PREFIXES.items():
        if key.startswith(prefix) and prefix != "sk-":
            return vendor
    return None


def _show(value: str) -> str:
    return value.strip()[:80]
