"""The key, like gh's: lint the header, store the key in the OS keyring, show and remove it.

Each function returns a Report; gridctl/cli/auth.py only parses options and
gridctl/render/auth.py writes the human lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gridctl import context, grid, secrets
from gridctl.doctor.config import key_findings
from gridctl.errors import ConfigProblem, UsageError
from gridctl.findings import Finding, finding
from gridctl.lint.header import HeaderSyntaxError, header_for, lint_header, lint_key_shape
from gridctl.lint.url import lint_url
from gridctl.result import CheckResult, Report, Timer
from gridctl.settings import Settings, save_profile


def lint(settings: Settings, header: str | None) -> Report:
    """Lint HEADER, or the header gridctl would send with the key in effect on the profile's API."""
    api = settings.api.value or "chat"
    timer = Timer()
    if header is None:
        key = settings.key
        if not key.value:
            check = CheckResult("auth", "Auth header", [finding("config.no_key")], duration_ms=timer.ms())
            return Report("auth lint", [check], target=settings.target())
        header, source = header_for(key.value, api), key.source
    else:
        source = "argument"
    try:
        result = lint_header(header, api=api)
    except HeaderSyntaxError as exc:
        raise UsageError(str(exc)) from None
    # the header as given, with the key itself replaced by its fingerprint
    shown = header.strip()
    if result.key:
        shown = shown.replace(result.key, secrets.fingerprint(result.key))
    check = CheckResult("auth", "Auth header", result.findings, duration_ms=timer.ms(),
                        data={"header": result.name, "key": secrets.fingerprint(result.key), "source": source,
                              "api": api})
    report = Report("auth lint", [check], target={"api": api, "key": f"{secrets.fingerprint(result.key)} ({source})"})
    report.human["shown"] = shown
    return report


def read_key(from_stdin: bool) -> str:
    """The key to store: one line of standard input, or a hidden prompt on a terminal."""
    import sys

    if from_stdin:
        if sys.stdin is None:  # closed (`<&-`)
            raise UsageError("--api-key-stdin: standard input is closed")
        try:
            key = sys.stdin.readline(64 * 1024)
        except (UnicodeDecodeError, ValueError) as exc:  # bytes the input encoding cannot decode (LC_ALL=C)
            raise ConfigProblem(f"--api-key-stdin: the key is not text in the input's encoding ({exc.__class__.__name__}); "
                                "a key is plain ASCII") from None
    elif sys.stdin is not None and sys.stdin.isatty():
        import getpass

        try:
            key = getpass.getpass("Paste your Grid consumption key (input hidden): ")
        except EOFError:  # Ctrl-D at the prompt
            key = ""
    else:
        raise UsageError("no terminal to prompt on: pipe the key in with --api-key-stdin")
    key = key.strip()
    if not key:
        raise UsageError("no key given")
    secrets.register(key)
    return key


def unusable(key: str) -> str | None:
    """Why a key cannot be sent as it is, in words that never quote it."""
    if key[0] in "\"'`" or key[-1] in "\"'`":
        return "it is wrapped in quote characters; paste the key alone"
    if any(c.isspace() for c in key):
        return "it has whitespace inside it (a line break from copying?)"
    if not key.isascii() or not key.isprintable():
        return "it has non-ASCII or control characters, which an HTTP header cannot carry"
    return None


def _refuse_to_store(key: str) -> None:
    shape: list[Finding] = []
    lint_key_shape(key, shape.append)
    errors = [f for f in shape if f.severity == "error"]
    if errors:
        raise ConfigProblem(f"not storing that key: {errors[0].message}")
    why = unusable(key)
    if why:
        raise ConfigProblem(f"not storing that key: {why}")


@dataclass(frozen=True)
class FilePlan:
    """No usable keyring: where the key would go instead, and whether to ask first."""

    why: str
    path: Path
    ask: bool


def file_fallback(settings: Settings, insecure: bool, interactive: bool) -> FilePlan | None:
    """Before the key is asked for, like gh: None when a keyring works, else the 0600 file plan.

    Without a terminal to ask on (or with --no-input) the file needs --insecure-storage explicitly.
    """
    why = secrets.keyring_unusable()
    if why is None:
        return None
    path = secrets.credentials_path(settings.config_dir, settings.profile.value or "default")
    if not insecure and not interactive:
        raise ConfigProblem(f"no OS keyring on this machine ({why}): export {grid.ENV_API_KEY} instead, or pass "
                            f"--insecure-storage to keep the key in {path} (plain text, 0600)")
    return FilePlan(why, path, ask=not insecure)


def login_flow(settings: Settings, *, from_stdin: bool, no_input: bool, json: bool, insecure_storage: bool,
               base_url: str | None, verify: bool, timeout: float, agree: Callable[[FilePlan], bool]) -> Report:
    """`auth login` from the top: without a keyring, the plain-text file plan (`agree` announces it
    and, when it may, asks) before the key is read; then login()."""
    import sys

    interactive = not (from_stdin or no_input or json) and sys.stdin is not None and sys.stdin.isatty()
    plan = file_fallback(settings, insecure_storage, interactive)
    if plan is not None and not agree(plan):
        raise ConfigProblem(f"nothing stored; export {grid.ENV_API_KEY} in your environment instead")
    key = read_key(from_stdin)
    return login(settings, key, base_url=base_url, verify=verify, insecure_storage=insecure_storage,
                 timeout=timeout, to_file=plan is not None)


def login(settings: Settings, key: str, *, base_url: str | None, verify: bool, insecure_storage: bool,
          timeout: float, to_file: bool = False) -> Report:
    """Check KEY (with a ping unless told not to), then store it for the profile (`to_file`: the
    announced plain-text fallback, chosen before the key was read)."""
    timer = Timer()
    profile = settings.profile.value or "default"
    _refuse_to_store(key)
    if base_url is not None:
        settings.config  # noqa: B018 - a corrupt config fails now, before the key is stored
        url = lint_url(base_url)
        bad = [f for f in url.findings if f.severity == "error"]
        if bad:
            raise ConfigProblem(f"--base-url: {bad[0].message} (canonical: {url.canonical})")
    checks: list[CheckResult] = []
    if verify:
        from gridctl.probe.client import Deadline
        from gridctl.probe.ping import ping

        tgt = replace(context.target(settings), key=key, base_url=base_url or context.base_url_for(settings))
        with context.net(settings, deadline=Deadline(timeout)) as net:
            check = ping(net, tgt)
        checks.append(check)
        if check.status == "fail":
            report = Report("auth login", checks, target={"profile": profile}, duration_ms=timer.ms())
            report.extra["stored"] = None
            return report
    where = _store(settings, profile, key, insecure_storage, to_file)
    saved = f"; base URL {base_url} saved in profile {profile}" if base_url else ""
    if base_url is not None:
        save_profile(settings, profile, {"base_url": base_url})
    notes = [finding("config.key_source", f"Key {secrets.fingerprint(key)} stored in {where} for profile "
                     f"{profile}{saved}.")]
    shadow = next((name for name in (grid.ENV_API_KEY, grid.ENV_LEGACY_KEY) if settings.env.get(name)), None)
    if shadow:  # like gh with GH_TOKEN: the stored key is not the one commands will use
        notes.append(finding("config.key_source", f"{shadow} is set in this environment and outranks the "
                             f"stored key; unset it to use the stored one.", severity="warning"))
    checks.append(CheckResult("store", "Stored", notes))
    report = Report("auth login", checks, target={"profile": profile}, duration_ms=timer.ms())
    report.extra["stored"] = where
    report.human["announced"] = to_file  # the plain-text warning is said only when it was not announced
    return report


def _store(settings: Settings, profile: str, key: str, insecure: bool, to_file: bool = False) -> str:
    try:
        if to_file:
            raise secrets.KeyringProblem("no usable keyring")
        secrets.keyring_set(profile, key)
        return f"the OS keyring ({secrets.keyring_backend_name()})"
    except secrets.KeyringProblem as exc:
        if not (insecure or to_file):
            raise ConfigProblem(f"no working keyring ({exc}); set {grid.ENV_API_KEY} in your environment "
                                "instead, or use --insecure-storage for a 0600 plain-text file") from None
    path = secrets.file_set(settings.config_dir, profile, key)
    return f"file {path} (plain text)"


def status(settings: Settings, *, offline: bool) -> Report:
    """Which key is in effect and where it came from (doctor's key findings); a ping unless offline."""
    timer = Timer()
    key = settings.key
    profile = settings.profile.value or "default"
    base = settings.base_url
    data = {"profile": f"{profile} ({settings.profile.source})", "base_url": f"{context.base_url_for(settings)} "
            f"({base.source})", "key": f"{secrets.fingerprint(key.value)} ({key.source})" if key.value else None,
            "keyring": secrets.keyring_backend_name(), "config_file": str(settings.config_path)}
    findings = key_findings(settings, profile)
    in_keyring = _keyring_value(settings, profile)
    if key.value:
        shadowed = _shadowed(settings, profile, key.source, in_keyring)
        if shadowed:
            findings.insert(1, finding("config.key_source", f"A stored key ({shadowed}) is shadowed by {key.source}."))
            data["shadowed"] = shadowed
    data["stored"] = _stored_where(settings, profile, in_keyring)
    checks = [CheckResult("auth", "Key", findings, data=data, duration_ms=timer.ms())]
    if key.value and not offline:
        from gridctl.probe.ping import ping

        with context.net(settings, retries=0) as net:
            checks.append(ping(net, context.target(settings)))
    return Report("auth status", checks, target=settings.target(), duration_ms=timer.ms())


def _keyring_value(settings: Settings, profile: str) -> str | None:
    """The profile's keyring entry, asked at most once per command (a hanging keyring costs one
    --timeout, not one per question), and not at all when resolving the key already failed."""
    key = settings.key
    if key.source.startswith("keyring"):
        return key.value
    if settings.keyring_problem:
        return None
    try:
        return secrets.keyring_get(profile, timeout=settings.timeout)
    except secrets.KeyringProblem:
        return None


def _stored_where(settings: Settings, profile: str, in_keyring: str | None) -> str:
    """Where `auth login` keeps this profile's key: the keyring, the plain-text file, or nowhere."""
    if in_keyring:
        return f"the OS keyring ({secrets.keyring_backend_name()}, {secrets.SERVICE}/{profile})"
    path = secrets.credentials_path(settings.config_dir, profile)
    if secrets.file_get(settings.config_dir, profile):
        return f"file {path} (plain text, 0600)"
    return "nothing stored (auth login)"


def token(settings: Settings) -> str:
    """The key in effect, for `gridctl auth token` (like `gh auth token`); no key is a config problem."""
    key = settings.key
    if not key.value:
        raise ConfigProblem(f"no key: run `gridctl auth login` or export {grid.ENV_API_KEY}")
    return key.value


def _shadowed(settings: Settings, profile: str, source: str, in_keyring: str | None) -> str | None:
    """A stored key that a flag or env var outranks: users forget which one is in effect."""
    if source.startswith(("keyring", "file")):
        return None
    if in_keyring:
        return f"keyring {secrets.fingerprint(in_keyring)}"
    stored = secrets.file_get(settings.config_dir, profile)
    return f"file {secrets.fingerprint(stored)}" if stored else None


def logout(settings: Settings) -> Report:
    """Remove the profile's stored key from the keyring and the plain-text file."""
    profile = settings.profile.value or "default"
    removed: list[str] = []
    problem = None
    try:
        if secrets.keyring_delete(profile):
            removed.append("keyring")
    except secrets.KeyringProblem as exc:
        problem = str(exc)
    if secrets.file_delete(settings.config_dir, profile):
        removed.append("plain-text file")
    if problem and not removed:
        raise ConfigProblem(f"could not reach the keyring to remove the key: {problem}")
    msg = f"removed the key of profile {profile} from the {' and '.join(removed)}" if removed else \
        f"nothing to remove: no key stored for profile {profile} (keyring and plain-text file checked)"
    check = CheckResult("auth", "Logout", [], data={"profile": profile, "removed": removed, "summary": msg})
    return Report("auth logout", [check], target={"profile": profile})
