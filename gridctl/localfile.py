"""Reading the user's local files and standard input with bounds: a FIFO, /dev/urandom or /dev/zero
given as a config, credentials or body file must be a one-line error, not a hang or a memory blow-up."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

MAX_FILE = 1024 * 1024  # a config, key or request body gridctl reads is a few KiB


class LocalFileError(Exception):
    """The file cannot be used; the message names it and says why, in one line."""


def read_limited(path: Path | str, limit: int = MAX_FILE) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. FileNotFoundError passes through
    (callers decide what a missing file means); anything else unusable is a LocalFileError."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:
        raise LocalFileError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a pipe" if stat.S_ISFIFO(info.st_mode) \
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a file"
            raise LocalFileError(f"{path}: cannot read (not a regular file: {kind})")
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError as exc:
                raise LocalFileError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise LocalFileError(f"{path}: larger than {limit // 1024} KiB")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_stdin(limit: int = MAX_FILE, what: str = "standard input") -> str:
    """All of standard input (bounded); a closed or unreadable stdin is a LocalFileError."""
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise LocalFileError(f"{what}: closed (nothing to read)")
    try:
        text = stream.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise LocalFileError(f"{what}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    except UnicodeDecodeError:
        raise LocalFileError(f"{what}: not UTF-8 text") from None
    if len(text) > limit:
        raise LocalFileError(f"{what}: more than {limit // 1024} KiB")
    return str(text)
