"""Reads one document's bytes without following links, blocking, or reading past the limit.

A knowledge folder is writable by more people than the server's secrets are, so nothing in it
may make ingest read something else: every path is opened one component at a time below the
resolved root with O_NOFOLLOW, only regular files are opened at all (a FIFO would block, a
device never ends), and the size is checked on the open descriptor before a byte is read.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from pathlib import Path

from ingest.errors import DocumentError, RefusedError
from ingest.limits import human_size

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: should a FIFO slip in between the check and the open, open() must not wait for
# a writer. O_NOCTTY: a terminal device must never become ours.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_READ_CHUNK = 1 << 20

SYMLINK_SETTING_ADVICE = "set COE_FOLLOW_SYMLINKS=inside to allow links that stay inside the folder"
SYMLINK_REASON = f"is a symbolic link; {SYMLINK_SETTING_ADVICE}"

# Compared case-insensitively with the file's own name (and with a link's target's name).
SECRET_NAME_PATTERNS = (
    ".env",
    ".env.*",
    "*.env",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.ppk",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in SECRET_NAME_PATTERNS)


def forbidden_name(parts: tuple[str, ...]) -> str | None:
    """What makes a file at these components below the root unreadable ("a hidden …"), or None."""
    for part in parts:
        if part.startswith("."):
            return f"a hidden file or folder ({part})"
    if parts and is_secret_name(parts[-1]):
        return f"a key or secret file ({parts[-1]})"
    return None


def name_refusal(parts: tuple[str, ...]) -> str | None:
    forbidden = forbidden_name(parts)
    return f"is {forbidden}; such files are never read" if forbidden else None


def special_file_reason(mode: int) -> str | None:
    """Why a file of this type is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode):
        return "is a character device, not a regular file"
    if stat.S_ISBLK(mode):
        return "is a block device, not a regular file"
    if stat.S_ISLNK(mode):
        return SYMLINK_REASON
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return "is not a regular file"


def too_big_reason(size: int, max_bytes: int) -> str:
    return (
        f"file is {human_size(size)}, over the {human_size(max_bytes)} limit "
        "(raise COE_MAX_FILE_MB to allow it)"
    )


def _open_folders(root_fd: int, folders: tuple[str, ...]) -> int:
    fd = root_fd
    try:
        for name in folders:
            try:
                next_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise RefusedError(
                        f"the folder {name} on its path is no longer a plain folder "
                        "(replaced by a link while ingesting?)"
                    ) from None
                raise
            if fd != root_fd:
                os.close(fd)
            fd = next_fd
    except BaseException:
        if fd != root_fd:
            os.close(fd)
        raise
    return fd


def _open_regular(dir_fd: int, name: str) -> int:
    # lstat first so that a device or FIFO is never even opened (opening some devices acts).
    reason = special_file_reason(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    if reason:
        raise RefusedError(reason)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:  # swapped for a link after the lstat above
            raise RefusedError(SYMLINK_REASON) from None
        raise
    reason = special_file_reason(os.fstat(fd).st_mode)
    if reason:
        os.close(fd)
        raise RefusedError(reason)
    return fd


def read_bounded(fd: int, max_bytes: int) -> bytes:
    """The whole file, or a DocumentError if it is, or grows, past max_bytes."""
    size = os.fstat(fd).st_size
    if size > max_bytes:
        raise DocumentError(too_big_reason(size, max_bytes))
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:  # one byte past the limit is enough to know it is too big
        chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:
        raise DocumentError(f"{too_big_reason(total, max_bytes)}; it grew while being read")
    return b"".join(chunks)


def read_below(root: Path, parts: tuple[str, ...], max_bytes: int) -> bytes:
    """Reads root/parts[0]/…/parts[-1]; root is trusted, nothing below it may be a link."""
    reason = name_refusal(parts)
    if reason:
        raise RefusedError(reason)
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        dir_fd = _open_folders(root_fd, parts[:-1])
        try:
            fd = _open_regular(dir_fd, parts[-1])
        finally:
            if dir_fd != root_fd:
                os.close(dir_fd)
        try:
            return read_bounded(fd, max_bytes)
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
