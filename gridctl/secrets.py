"""Keys: fingerprints, redaction, and the OS keyring (imported only when a key is looked up).

Every key gridctl learns is registered here, and every byte gridctl writes passes `scrub()`,
so a key cannot leak even through a message that quoted it by accident.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

SERVICE = "gridctl"
_SECRETS: set[str] = set()  # every secret registered, as given and stripped
_FORMS: set[str] = set()  # whole-key spellings scrubbed exactly: escaped, URL-encoded, base64
_PATTERN: list[re.Pattern[str] | None] = [None]  # compiled lazily from the above; reset by register()
# the same pieces, lower-cased, when all are ASCII: scrub() first looks for any of them with `in` (C speed)
# and skips the regex scan, whose alternation costs ~1 us a character, for text that holds none
_PARTS: list[list[str] | None] = [None]
# A run of this many characters of a key, anywhere and in any case, is a leak: a server error quoting
# the key and cut at 300 characters, a lower-cased URL, half a key split at a stray space. Longer than
# the 4 characters fingerprint() shows, so the fingerprint never counts as a leak.
WINDOW = 8
MAX_KEY = 1024  # real keys are under 200 characters
PARTIAL_MIN = 12  # shorter secrets are matched whole and exactly only: their windows would hit words
# Key-shaped text given as an argument: long, one token, mixed case and digits (or a key prefix).
_KEY_SHAPED = re.compile(r"[A-Za-z0-9_\-]{20,}")
_KEY_PREFIX = re.compile(r"(?:sk|gk|pk|rk|tg|grid|key)[-_]", re.IGNORECASE)


_VARIABLE_REFERENCE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")


def register(secret: str | None) -> None:
    """Remember a secret so that scrub() removes it, and its partial and encoded forms, from anything written."""
    if not secret or _VARIABLE_REFERENCE.fullmatch(secret.strip().strip("'\"")):
        return  # `$THEGRID_API_KEY` pasted where the key goes is a variable's name, not a secret
    import json

    added = False
    # the key as given, stripped, unquoted, and each long word of it ("Bearer KEY" pasted as the key)
    words = [w for w in secret.split() if len(w) >= PARTIAL_MIN]
    for form in {secret, secret.strip(), secret.strip().strip("'\"").strip(), *words}:
        if len(form) < 6 or form in _SECRETS:
            continue
        _SECRETS.add(form)
        added = True
        if len(form) > MAX_KEY:
            continue  # not a key but a pasted blob: matched exactly, not in every spelling (bounded work)
        # the escaped spellings a key takes inside JSON, reprs and exception texts (a key with a newline
        # or quote would otherwise slip through as `\n` or `\"`), URL-encoded, and base64 at each alignment
        _FORMS.update((form, json.dumps(form, ensure_ascii=False)[1:-1], json.dumps(form)[1:-1], repr(form)[1:-1]))
        _FORMS.update(_encoded(form))
    if added:
        _PATTERN[0] = None
        _PARTS[0] = None


def register_argv(args: list[str]) -> None:
    """Register anything key-shaped in the command line: a key given where it does not belong
    (`ping KEY`, `--timeout KEY`, a pasted curl's header or query string) must not be echoed back."""
    for arg in args:
        # ...and the key split by a space (`--api-key "gk-abc def"`): the URL lint joins the halves back
        # (whitespace out, host lower-cased), so the joined form is the one to scrub, in any case
        joined = "".join(arg.split())
        for text in {arg, joined}:
            for token in _KEY_SHAPED.findall(text):
                if looks_like_key(token):
                    register(token)


def looks_like_key(token: str) -> bool:
    """Random-looking enough to be a key: a known prefix, or upper, lower and digits mixed.

    Hex request IDs and UUIDs (one case) and words joined by dashes are not."""
    if len(token) < 20:
        return False
    if _KEY_PREFIX.match(token) and any(c.isdigit() for c in token) and any(c.isalpha() for c in token[3:]):
        return True
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


def _encoded(form: str) -> set[str]:
    import base64
    from urllib.parse import quote, quote_plus

    out = {quote(form, safe="", errors="surrogateescape"), quote_plus(form, errors="surrogateescape"),
           quote(form, errors="surrogateescape")}
    raw = form.encode("utf-8", "surrogateescape")
    for offset in (0, 1, 2):
        # Only the base64 groups made of key bytes alone are fixed whatever surrounds the key
        # ("Bearer KEY", "user:KEY" in Basic auth): those characters are the stable part.
        enc = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        first = (offset + 2) // 3
        last = (offset + len(raw)) // 3
        stable = enc[4 * first: 4 * last]
        if len(stable) >= 12:
            out.update((stable, stable.replace("+", "-").replace("/", "_")))
    return {o for o in out if len(o) >= 6}


def fingerprint(key: str | None) -> str:
    """A short handle for a key that does not reveal it: the last 4 characters at most."""
    if not key:
        return "(none)"
    key = key.strip()
    if len(key) < 16:
        return f"({len(key)} characters)"
    return f"…{key[-4:]}"


def _pattern() -> re.Pattern[str] | None:
    if _PATTERN[0] is None and _SECRETS:
        parts: set[str] = {f for f in _FORMS if len(f) >= PARTIAL_MIN}
        for secret in _SECRETS:
            s = secret.strip()
            if PARTIAL_MIN <= len(s) <= MAX_KEY:
                parts.update(s[i:i + WINDOW] for i in range(len(s) - WINDOW + 1))
        if not parts:
            return None
        alternation = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
        _PATTERN[0] = re.compile(alternation, re.IGNORECASE)
        _PARTS[0] = _anchors(parts)
    return _PATTERN[0]


def _anchors(parts: set[str]) -> list[str] | None:
    """Pieces at least one of which is in any text the pattern matches (lower-cased): of each secret, the
    4-character blocks at every 4th position (an 8-character window always holds one whole), and the first
    8 characters of each whole spelling. None when a piece is not ASCII (case folding is then re's alone)."""
    if not all(p.isascii() for p in parts):
        return None
    out = {f[:WINDOW].lower() for f in _FORMS if len(f) >= PARTIAL_MIN}
    for secret in _SECRETS:
        s = secret.strip()
        if PARTIAL_MIN <= len(s) <= MAX_KEY:
            out.update(s[i:i + 4].lower() for i in range(0, len(s) - 3, 4))
    return sorted(out)


def scrub(text: str) -> str:
    """Replace every registered secret in `text`, in any case, whole or in part, escaped or encoded.

    A whole key becomes its fingerprint; a run of key characters that is not a whole key (cut,
    split, or glued to other key-like text) becomes `[redacted]`."""
    if not _SECRETS or not text:
        return text
    for secret in sorted(_SECRETS | _FORMS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, fingerprint(secret))
    pattern = _pattern()
    if pattern is None:
        return text
    parts = _PARTS[0]
    if parts is not None:
        low = text.lower()
        if not text.isascii():  # the two letters re.IGNORECASE folds that lower() does not
            low = low.replace("\u017f", "s").replace("\u0131", "i")
        if not any(p in low for p in parts):
            return text
    spans: list[list[int]] = []
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if m is None:
            break
        start, end = m.span()
        # a longer run of key characters: extend by whole windows while one follows at once, then by
        # overlapping windows one character on (bounded: at most WINDOW tries per extension)
        while end < len(text):
            nxt = pattern.match(text, end)
            if nxt is None or nxt.end() <= end:
                nxt = next((m for i in range(max(start + 1, end - WINDOW + 1), end)
                            if (m := pattern.match(text, i)) is not None and m.end() > end), None)
            if nxt is None:
                break
            end = nxt.end()
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
        pos = max(end, start + 1)
    for start, end in reversed(spans):
        text = text[:start] + "[redacted]" + text[end:]
    return text


def scrub_json(value: Any) -> Any:
    """Scrub every string (keys too) inside a JSON-able value: scrubbing the serialised text instead
    could cut through its quoting (a key containing `": "`)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_json(k) if isinstance(k, str) else k: scrub_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(v) for v in value]
    return value


class KeyringProblem(Exception):
    """The keyring could not be used; the message says why in one line."""


class CredentialsUnreadable(Exception):
    """The credentials file exists but cannot be read; the message names it and says why."""


def _keyring() -> Any:
    try:
        import keyring
    except Exception as exc:  # noqa: BLE001 - any import failure means "no keyring"
        raise KeyringProblem(f"keyring module unavailable: {exc.__class__.__name__}") from None
    return keyring


KEYRING_TIMEOUT = 10.0  # when the caller has no budget of its own (login, logout)


def _bounded(fn: Callable[[], Any], timeout: float | None) -> Any:
    """Run a keyring call off the main thread and wait at most `timeout` seconds: a locked desktop
    keyring waiting on a prompt, or a dbus call that never returns, must not hang gridctl (and the
    main thread, waiting with a timeout, stays interruptible by Ctrl-C)."""
    import threading

    limit = KEYRING_TIMEOUT if timeout is None else timeout
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc

    worker = threading.Thread(target=call, name="gridctl-keyring", daemon=True)
    worker.start()
    worker.join(max(0.0, limit))
    if worker.is_alive():
        raise KeyringProblem(f"the keyring did not answer within {limit:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def keyring_get(profile: str, timeout: float | None = None) -> str | None:
    """The key stored for `profile`, None when there is none; KeyringProblem when it can't be asked,
    or did not answer within `timeout` seconds (default KEYRING_TIMEOUT)."""
    value: str | None = _bounded(lambda: _keyring_get(profile), timeout)
    return value


def _keyring_get(profile: str) -> str | None:
    kr = _keyring()
    try:
        value = kr.get_password(SERVICE, profile)
    except Exception as exc:  # noqa: BLE001 - backends raise anything (dbus, locked, init errors)
        raise KeyringProblem(_describe(exc)) from None
    if value:
        register(value)
    return value or None


def keyring_set(profile: str, key: str, timeout: float | None = None) -> None:
    """Store the key and read it back: a backend that silently discards it (keyring's null backend,
    a chainer with no backends) must not let `auth login` claim the key is stored."""
    register(key)
    _bounded(lambda: _keyring_set(profile, key), timeout)


def _keyring_set(profile: str, key: str) -> None:
    kr = _keyring()
    register(key)
    try:
        kr.set_password(SERVICE, profile, key)
        kept = kr.get_password(SERVICE, profile)
    except Exception as exc:  # noqa: BLE001
        raise KeyringProblem(_describe(exc)) from None
    if kept != key:
        raise KeyringProblem(f"the keyring backend {keyring_backend_name()} did not keep the key")


def keyring_delete(profile: str, timeout: float | None = None) -> bool:
    """Delete the stored key; False when there was none."""
    deleted: bool = _bounded(lambda: _keyring_delete(profile), timeout)
    return deleted


def _keyring_delete(profile: str) -> bool:
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
    def name() -> str:
        backend = _keyring().get_keyring()
        return f"{backend.__class__.__module__}.{backend.__class__.__name__}"

    try:
        found: str = _bounded(name, None)  # backend discovery can block on dbus too
        return found
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
    """The key in the plain-text file; None when there is none; CredentialsUnreadable when the file
    exists but cannot be used (a key the user stored must not silently turn into "no key")."""
    from gridctl.localfile import LocalFileError, read_limited

    path = credentials_path(config_dir, profile)
    try:
        raw = read_limited(path, 64 * 1024)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except LocalFileError as exc:
        raise CredentialsUnreadable(str(exc)) from None
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CredentialsUnreadable(f"{path}: not UTF-8 text") from None
    register(value)
    return value or None


def private_dir(directory: Path) -> None:
    """Create `directory` and every missing parent 0700, whatever the umask: mkdir's mode is masked by
    it (`umask 000` alone is harmless there), but parents=True makes the parents with the umask's
    default, so under `umask 000` the config directory itself came out 0777."""
    missing: list[Path] = []
    here = directory
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile (another gridctl): checked by the caller like any other
            continue
        os.chmod(path, 0o700)  # ours, just made: exactly 0700


def file_set(config_dir: Path, profile: str, key: str) -> Path:
    """Write the key to a 0600 file. Another local user must not be able to read it or redirect it:
    the temporary file is created new (O_EXCL) and never through a symlink (O_NOFOLLOW), and the
    directory must be ours and not writable by others (tightened when it is ours, refused when not)."""
    import secrets as pysecrets

    path = credentials_path(config_dir, profile)
    directory = path.parent
    private_dir(directory)
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise CredentialsUnreadable(f"{directory}: not a directory (a symlink or a file); refusing to store the key")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise CredentialsUnreadable(f"{directory}: owned by another user; refusing to store the key there")
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)  # world- or group-writable: someone else could swap the file
    tmp = directory / f".{profile}.{pysecrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, stat.S_IRUSR | stat.S_IWUSR)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # rename() replaces a symlink at `path` itself, never its target
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
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


# What is shown of a request or an answer (trace's records and HAR, the -v log): one list of the header
# and query names that carry credentials, and one way to show them, for every place that prints them.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie",
                            "x-consumption-key", "api-key", "anthropic-api-key"})
# `token` is The Grid's signed redirect: the credential of the 307's second hop.
SECRET_QUERY = frozenset({"token", "key", "api_key", "apikey", "access_token", "sig", "signature",
                          "x-amz-signature", "x-goog-signature"})
REDACTED = "REDACTED"
# Names whose value is a credential wherever they appear: a query parameter, a JSON field, a form field, a
# header. Compared lower-case with `-` read as `_` (Azure spells it `api-key`).
KEY_NAMES = frozenset({"api_key", "apikey", "key", "token", "access_token", "refresh_token", "id_token",
                       "auth_token", "secret", "client_secret", "password", "passwd", "authorization", "auth",
                       "x_api_key", "bearer", "session_token", "sig", "signature", "credential", "credentials"})


def key_name(name: str) -> bool:
    """Does a field, parameter or header of this name carry a credential?"""
    return name.strip().lower().replace("-", "_") in KEY_NAMES


def _secret_param(name: str) -> bool:
    return name.lower() in SECRET_QUERY or key_name(name)


def redact_header(name: str, value: str) -> str:
    """A header value fit to show: a credential becomes its scheme plus the key's fingerprint."""
    if name.lower() not in SECRET_HEADERS:
        return scrub(value)
    scheme, _, rest = value.strip().partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token"):
        register(rest.strip())
        return f"{scheme} {fingerprint(rest)}"
    register(value.strip())
    return fingerprint(value)


def redact_url(url: str) -> str:
    """The URL with signed tokens and keys in its query replaced (`?api-key=` too: every key-like name); an
    unparseable one loses its query. Every command that shows a URL goes through it (-v, trace, explain)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return scrub(url.split("?", 1)[0] + ("?…" if "?" in url else ""))
    if not any(_secret_param(k) for k, _ in query):
        return scrub(url)
    for k, v in query:
        if _secret_param(k) and v != REDACTED:  # a URL redacted before keeps its mark, not as a secret
            register(v)
    clean = [(k, REDACTED if _secret_param(k) else v) for k, v in query]
    return scrub(urlunsplit(parts._replace(query=urlencode(clean, safe="/:"))))
