"""auth login / status / logout, like gh's: the key in the OS keyring, never in the config file."""

from __future__ import annotations

import sys

from gridctl import grid, secrets
from gridctl.cli.common import ConfigProblem, Opts, UsageError
from gridctl.findings import Finding, finding
from gridctl.report import error_line
from gridctl.result import CheckResult, Report, Timer


def _read_key(from_stdin: bool) -> str:
    if from_stdin:
        key = sys.stdin.readline()
    elif sys.stdin.isatty():
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


def _unusable(key: str) -> str | None:
    """Why a key cannot be sent as it is, in words that never quote it."""
    if key[0] in "\"'`" or key[-1] in "\"'`":
        return "it is wrapped in quote characters; paste the key alone"
    if any(c.isspace() for c in key):
        return "it has whitespace inside it (a line break from copying?)"
    if not key.isascii() or not key.isprintable():
        return "it has non-ASCII or control characters, which an HTTP header cannot carry"
    return None


def _no_keyring_plan(opts: Opts, profile: str, insecure: bool, interactive: bool) -> bool:
    """Before the key is asked for, like gh: True when it must go to the 0600 file (no usable keyring).

    Said in one line; on a terminal the file is offered, with --no-input (or no terminal) the flag is required.
    """
    why = secrets.keyring_unusable()
    if why is None:
        return False
    path = secrets.credentials_path(opts.settings.config_dir, profile)
    if not insecure and not interactive:
        raise ConfigProblem(f"no OS keyring on this machine ({why}): export {grid.ENV_API_KEY} instead, or pass "
                            f"--insecure-storage to keep the key in {path} (plain text, 0600)")
    error_line(f"no OS keyring on this machine ({why})", opts.out)
    if not insecure:
        from gridctl.cli.prompts import confirm

        if not confirm(f"Store the key in {path} instead (plain text, mode 0600)?", opts.out):
            raise ConfigProblem(f"nothing stored; export {grid.ENV_API_KEY} in your environment instead")
    error_line(f"the key will be stored in {path} (plain text, mode 0600)", opts.out)
    return True


def login(opts: Opts, *, api_key_stdin: bool, base_url: str | None, verify: bool, insecure_storage: bool,
          timeout: float, no_input: bool = False) -> int:
    from dataclasses import replace

    from gridctl.lint.header import lint_key_shape
    from gridctl.lint.url import lint_url
    from gridctl.settings import save_profile

    timer = Timer()
    settings = opts.settings
    profile = settings.profile.value or "default"
    interactive = not (api_key_stdin or no_input or opts.out.json) and sys.stdin.isatty()
    to_file = _no_keyring_plan(opts, profile, insecure_storage, interactive)
    key = _read_key(api_key_stdin)
    shape: list[Finding] = []
    lint_key_shape(key, shape.append)
    errors = [f for f in shape if f.severity == "error"]
    if errors:
        raise ConfigProblem(f"not storing that key: {errors[0].message}")
    why = _unusable(key)
    if why:
        raise ConfigProblem(f"not storing that key: {why}")
    if base_url is not None:
        settings.config  # noqa: B018 - a corrupt config fails now, before the key is stored
        url = lint_url(base_url)
        bad = [f for f in url.findings if f.severity == "error"]
        if bad:
            raise ConfigProblem(f"--base-url: {bad[0].message} (canonical: {url.canonical})")
    checks: list[CheckResult] = []
    if verify:
        from gridctl import context
        from gridctl.probe.client import Deadline
        from gridctl.probe.ping import ping

        tgt = replace(context.target(settings), key=key, base_url=base_url or context.base_url_for(settings))
        with context.net(settings, deadline=Deadline(timeout)) as net:
            check = ping(net, tgt)
        checks.append(check)
        if check.status == "fail":
            report = Report("auth login", checks, target={"profile": profile}, duration_ms=timer.ms())
            report.extra["stored"] = None
            return opts.finish(report, header="gridctl auth login: the key did not work; nothing stored "
                               "(--no-verify stores it anyway)")
    where = _store(settings, profile, key, insecure_storage, to_file)
    saved = f"; base URL {base_url} saved in profile {profile}" if base_url else ""
    if base_url is not None:
        save_profile(settings, profile, {"base_url": base_url})
    note = finding("config.key_source", f"Key {secrets.fingerprint(key)} stored in {where} for profile "
                   f"{profile}{saved}.")
    stored_notes = [note]
    shadow = next((name for name in (grid.ENV_API_KEY, grid.ENV_LEGACY_KEY) if settings.env.get(name)), None)
    if shadow:  # like gh with GH_TOKEN: the stored key is not the one commands will use
        stored_notes.append(finding("config.key_source", f"{shadow} is set in this environment and outranks the "
                                    f"stored key; unset it to use the stored one.", severity="warning"))
    checks.append(CheckResult("store", "Stored", stored_notes))
    report = Report("auth login", checks, target={"profile": profile}, duration_ms=timer.ms())
    report.extra["stored"] = where
    if where.startswith("file") and not to_file:  # a fallback not announced before the key was read
        error_line("warning: the key is stored in PLAIN TEXT (a 0600 file); prefer a keyring or "
                   f"{grid.ENV_API_KEY}", opts.out)
    return opts.finish(report, header="gridctl auth login")


def _store(settings: object, profile: str, key: str, insecure: bool, to_file: bool = False) -> str:
    from gridctl.settings import Settings

    assert isinstance(settings, Settings)
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


def status(opts: Opts, *, offline: bool) -> int:
    from gridctl import context

    timer = Timer()
    settings = opts.settings
    key = settings.key
    profile = settings.profile.value or "default"
    base = settings.base_url
    findings: list[Finding] = []
    data = {"profile": f"{profile} ({settings.profile.source})", "base_url": f"{context.base_url_for(settings)} "
            f"({base.source})", "key": f"{secrets.fingerprint(key.value)} ({key.source})" if key.value else None,
            "keyring": secrets.keyring_backend_name(), "config_file": str(settings.config_path)}
    if key.value:
        findings.append(finding("config.key_source", f"Key {secrets.fingerprint(key.value)} in effect, from "
                                f"{key.source}."))
        shadowed = _shadowed(settings, profile, key.source)
        if shadowed:
            findings.append(finding("config.key_source", f"A stored key ({shadowed}) is shadowed by {key.source}."))
            data["shadowed"] = shadowed
    else:
        findings.append(finding("config.no_key", f"No key: not in --api-key, {grid.ENV_API_KEY}, the keyring "
                                f"(profile {profile}) or a credentials file.",
                                fix=f"Run `gridctl auth login` or export {grid.ENV_API_KEY}."))
    if settings.keyring_problem:
        findings.append(finding("config.keyring_unavailable", f"The keyring could not be read: "
                                f"{settings.keyring_problem}.", fix=secrets.keyring_fix(key.source, settings.config_dir,
                                                                                        profile),
                                severity="info" if key.source.startswith("file") else None))
    data["stored"] = _stored_where(settings, profile)
    checks = [CheckResult("auth", "Key", findings, data=data, duration_ms=timer.ms())]
    if key.value and not offline:
        from gridctl.probe.ping import ping

        with context.net(settings, retries=0) as net:
            checks.append(ping(net, context.target(settings)))
    report = Report("auth status", checks, target=settings.target(), duration_ms=timer.ms())
    for c in checks:
        report.add_request_id(c.data.get("request_id"))
    footer = [f"{k}: {v}" for k, v in data.items() if v]
    return opts.finish(report, header="gridctl auth status", footer=footer)


def _stored_where(settings: object, profile: str) -> str:
    """Where `auth login` keeps this profile's key: the keyring, the plain-text file, or nowhere."""
    from gridctl.settings import Settings

    assert isinstance(settings, Settings)
    try:
        if secrets.keyring_get(profile):
            return f"the OS keyring ({secrets.keyring_backend_name()}, {secrets.SERVICE}/{profile})"
    except secrets.KeyringProblem:
        pass
    path = secrets.credentials_path(settings.config_dir, profile)
    if secrets.file_get(settings.config_dir, profile):
        return f"file {path} (plain text, 0600)"
    return "nothing stored (auth login)"


def token(opts: Opts, *, on_terminal: bool) -> int:
    """The key in effect, on stdout and nothing else, like `gh auth token`: for `$(gridctl auth token)`."""
    if opts.out.json:
        raise UsageError("auth token prints the bare key for a variable; --json does not apply "
                         "(`auth status --json` describes the key)")
    key = opts.settings.key
    if not key.value:
        raise ConfigProblem(f"no key: run `gridctl auth login` or export {grid.ENV_API_KEY}")
    if sys.stdout.isatty() and not on_terminal:
        raise UsageError('refusing to print the key on a terminal; use it in a variable, '
                         'export THEGRID_API_KEY="$(gridctl auth token)", or pass --show')
    sys.stdout.write(key.value + "\n")  # the one place the key is written, on purpose: not scrubbed
    sys.stdout.flush()
    return 0


def _shadowed(settings: object, profile: str, source: str) -> str | None:
    """A stored key that a flag or env var outranks: users forget which one is in effect."""
    from gridctl.settings import Settings

    assert isinstance(settings, Settings)
    if source.startswith(("keyring", "file")):
        return None
    try:
        stored = secrets.keyring_get(profile)
    except secrets.KeyringProblem:
        stored = None
    if stored:
        return f"keyring {secrets.fingerprint(stored)}"
    stored = secrets.file_get(settings.config_dir, profile)
    return f"file {secrets.fingerprint(stored)}" if stored else None


def logout(opts: Opts) -> int:
    settings = opts.settings
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
        f"no stored key for profile {profile}"
    check = CheckResult("auth", "Logout", [], data={"profile": profile, "removed": removed, "summary": msg})
    return opts.finish(Report("auth logout", [check], target={"profile": profile}), header="gridctl auth logout")
