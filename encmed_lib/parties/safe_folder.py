"""File operations inside a bucket folder that never follow a symbolic link.

A local :class:`~encmed_lib.transport.Bucket` is a folder that other people may
write into (a shared drive, a synced directory).  Whoever can write there can
plant a symbolic link: ``replies -> /home/alice`` would make a naive server
write its replies into Alice's home, and ``replies/<id>.json -> /etc/passwd``
would make it believe the query is already answered.  So every operation here
walks from the bucket's root one component at a time with
``os.open(part, O_DIRECTORY | O_NOFOLLOW, dir_fd=parent)``: a link anywhere on
the way fails with ``ELOOP``/``ENOTDIR`` and becomes an
:class:`~encmed_lib.errors.UnsafePathError`; the final file is opened with
``O_NOFOLLOW`` too.  Because each step is relative to the *already opened*
parent folder, swapping a folder for a link between a check and a use does not
help an attacker (there is no check-then-use gap).

The bucket root itself may be a link (the user chose that path); only what is
*inside* the bucket is protected.  On a system without ``dir_fd`` support
(Windows) the same rules are checked with :func:`os.lstat` per component before
each use, which leaves a small race window.

Temporary files are named ``<final name>.tmp-<32 hex>`` and written with
``O_EXCL`` in the final folder, then renamed over the final name
(:func:`os.replace`, atomic).  Exclusive creation (:func:`create_exclusive`)
writes a temporary file and hard-links it to the final name: ``link`` fails if
the name exists, so exactly one of several concurrent creators wins, and the
winner's file appears with its whole content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Iterator

from ..errors import TransportError, UnsafePathError
from ..protocol.bucket_names import TMP_MARKER  # the reserved marker of temporary names

__all__ = ["TMP_MARKER", "create_exclusive", "is_file", "read_bytes", "remove", "remove_stale",
           "scan", "write_atomic"]

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW")
_LINK_ERRNOS = {errno.ELOOP, errno.ENOTDIR, getattr(errno, "EMLINK", errno.ELOOP)}


def _unsafe(root: str, rel: str, why: str) -> UnsafePathError:
    return UnsafePathError(f"refused {rel!r} in bucket {root!r}: {why}; symbolic links and paths "
                           "leaving the bucket are never followed")


@contextlib.contextmanager
def _folder(root: str, parts: list[str], *, create: bool) -> Iterator[int]:
    """An open descriptor of ``root/parts...``, reached without following any link."""
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for k, part in enumerate(parts):
            rel = "/".join(parts[: k + 1])
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _LINK_ERRNOS:
                    raise _unsafe(root, rel, "it is a symbolic link or not a folder") from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _check_chain(root: str, parts: list[str], *, create: bool) -> str:
    """Fallback without ``dir_fd``: lstat every component; returns the folder path."""
    path = root
    for k, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            if not create:
                raise
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o700)
            mode = os.lstat(path).st_mode
        if not stat.S_ISDIR(mode):
            raise _unsafe(root, "/".join(parts[: k + 1]), "it is a symbolic link or not a folder")
    return path


def _split(name: str) -> tuple[list[str], str]:
    *folders, base = name.split("/")
    return folders, base


def _check_final(root: str, name: str, fd: int | None, base: str, *, must_exist: bool) -> bool:
    """Whether the final entry exists as a regular file; a link (or folder, device) is refused."""
    try:
        st = os.lstat(base, dir_fd=fd) if fd is not None else os.lstat(base)
    except FileNotFoundError:
        if must_exist:
            raise
        return False
    if stat.S_ISLNK(st.st_mode):
        raise _unsafe(root, name, "it is a symbolic link")
    if stat.S_ISDIR(st.st_mode):
        if must_exist:
            raise IsADirectoryError(errno.EISDIR, "a folder, not a message", name)
        return False
    if not stat.S_ISREG(st.st_mode):
        raise _unsafe(root, name, "it is not a regular file")
    return True


def _write_temp(fd: int | None, folder: str, base: str, data: bytes) -> str:
    tmp = f"{base}{TMP_MARKER}{secrets.token_hex(16)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    out = os.open(tmp, flags, 0o600, dir_fd=fd) if fd is not None else os.open(
        os.path.join(folder, tmp), flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]
        os.fsync(out)
    except BaseException:
        os.close(out)
        _unlink_quietly(fd, folder, tmp)
        raise
    os.close(out)
    return tmp


def _unlink_quietly(fd: int | None, folder: str, entry: str) -> None:
    with contextlib.suppress(OSError):
        if fd is not None:
            os.unlink(entry, dir_fd=fd)
        else:
            os.unlink(os.path.join(folder, entry))


def _commit(root: str, name: str, data: bytes, *, exclusive: bool) -> bool:
    folders, base = _split(name)
    if _DIR_FD:
        with _folder(root, folders, create=True) as fd:
            return _commit_in(root, name, fd, "", base, data, exclusive)
    folder = _check_chain(root, folders, create=True)
    return _commit_in(root, name, None, folder, base, data, exclusive)


def _commit_in(root, name, fd, folder, base, data, exclusive) -> bool:
    if _check_final(root, name, fd, base if fd is not None else os.path.join(folder, base),
                    must_exist=False) and exclusive:
        return False
    tmp = _write_temp(fd, folder, base, data)
    try:
        if fd is not None:
            if exclusive:
                os.link(tmp, base, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
            else:
                os.replace(tmp, base, src_dir_fd=fd, dst_dir_fd=fd)
        elif exclusive:
            os.link(os.path.join(folder, tmp), os.path.join(folder, base), follow_symlinks=False)
        else:
            os.replace(os.path.join(folder, tmp), os.path.join(folder, base))
    except FileExistsError:
        return False
    finally:
        _unlink_quietly(fd, folder, tmp)  # after a rename it is already gone
    return True


def write_atomic(root: str, name: str, data: bytes) -> None:
    """Write ``root/name`` atomically (temporary file, ``fsync``, rename); never through a link."""
    _commit(root, name, data, exclusive=False)


def create_exclusive(root: str, name: str, data: bytes) -> bool:
    """Create ``root/name`` with ``data`` unless it exists; True for the one caller that created it."""
    return _commit(root, name, data, exclusive=True)


def read_bytes(root: str, name: str, max_bytes: int | None = None) -> bytes:
    """Contents of ``root/name``; ``FileNotFoundError`` if absent, refused through a link."""
    folders, base = _split(name)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    if _DIR_FD:
        with _folder(root, folders, create=False) as fd:
            _check_final(root, name, fd, base, must_exist=True)
            handle = _open_final(root, name, base, flags, fd)
    else:
        path = os.path.join(_check_chain(root, folders, create=False), base)
        _check_final(root, name, None, path, must_exist=True)
        handle = _open_final(root, name, path, flags, None)
    with os.fdopen(handle, "rb") as fh:
        data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise TransportError(f"message {name!r} in bucket {root!r} is larger than {max_bytes} bytes")
    return data


def _open_final(root: str, name: str, base: str, flags: int, fd: int | None) -> int:
    try:
        return os.open(base, flags, dir_fd=fd) if fd is not None else os.open(base, flags)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _unsafe(root, name, "it is a symbolic link") from None
        raise


def is_file(root: str, name: str) -> bool:
    """Whether ``root/name`` is a regular file; a link on the way or at the end is refused."""
    folders, base = _split(name)
    try:
        if _DIR_FD:
            with _folder(root, folders, create=False) as fd:
                return _check_final(root, name, fd, base, must_exist=False)
        path = os.path.join(_check_chain(root, folders, create=False), base)
        return _check_final(root, name, None, path, must_exist=False)
    except (FileNotFoundError, NotADirectoryError):
        return False


def remove(root: str, name: str) -> bool:
    """Remove ``root/name`` (a link is removed itself, never its target); False if absent."""
    folders, base = _split(name)
    try:
        if _DIR_FD:
            with _folder(root, folders, create=False) as fd:
                os.unlink(base, dir_fd=fd)
        else:
            os.unlink(os.path.join(_check_chain(root, folders, create=False), base))
    except FileNotFoundError:
        return False
    return True


def scan(root: str, folder: str = "") -> list[tuple[str, bool]]:
    """Every entry below ``root/folder`` that is not a folder: ``(relative name, is_link)``.

    Links are reported (so that a caller can refuse them by name) but never
    descended into; names are returned as the OS gives them (possibly with
    surrogate escapes for undecodable bytes).
    """
    out: list[tuple[str, bool]] = []
    start = os.path.join(root, folder) if folder else root
    try:
        top = os.lstat(start)
    except FileNotFoundError:
        return out
    if stat.S_ISLNK(top.st_mode):
        raise _unsafe(root, folder, "it is a symbolic link")
    stack = [(start, folder.rstrip("/"))]
    while stack:
        path, rel = stack.pop()
        try:
            entries = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                out.append((name, True))
            elif entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, name))
            else:
                out.append((name, False))
    return out


def remove_stale(root: str, older_than: float, now: float | None = None) -> list[str]:
    """Delete ``*.tmp-*`` files not modified for ``older_than`` seconds; returns their names.

    A write in progress keeps its temporary file for milliseconds, so with an
    age of minutes a server never deletes another (live) server's write; what it
    removes are the leftovers of writers that were killed mid-write.
    """
    now = time.time() if now is None else now
    removed = []
    for name, is_link in scan(root):
        if TMP_MARKER not in name.rpartition("/")[2]:
            continue
        path = os.path.join(root, name)
        try:
            st = os.lstat(path)
            if is_link or now - st.st_mtime >= older_than:
                folders, base = _split(name)
                if _DIR_FD:
                    with _folder(root, folders, create=False) as fd:
                        os.unlink(base, dir_fd=fd)
                else:
                    os.unlink(path)
                removed.append(name)
        except (FileNotFoundError, UnsafePathError):
            continue
    return removed
