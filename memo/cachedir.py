"""The cache directory: checked as ssh's StrictModes checks, held open, the only place value files live.

A cache directory may come from somewhere untrusted (restored from a CI job) or sit where
other users can write. It must not be able to hurt the user, so:

- It is reached only through directories and symlinks owned by root or this user that
  nobody else can write to. A sticky directory such as ``/tmp`` may be on the way: there,
  only the owner of a name can replace it. The cache directory itself must be this
  user's and writable by no one else (a sticky bit does not help: others could add a
  database). Anything else and the cache is not used. Missing directories are created
  0700 whatever the umask.
- It is then held open (``open_directory`` returns a descriptor), and every file
  operation inside it is relative to that descriptor and follows no symlink, so a path
  changed after the check cannot redirect a read, a write or an unlink.
- A value file is only ever named as diskcache names them (``ab/cd/<28 hex>.val``),
  read only when it is a regular file, never beyond its size or ``MAX_VALUE_BYTES``, and
  removed with its two directories, never with any directory above them.

POSIX only: without ``O_NOFOLLOW`` and the ``dir_fd`` calls (``SUPPORTED`` is False) the
disk store is not used at all.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable

from memo.errors import StoreUnavailableError, UnsafeEntryError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

SUPPORTED: bool = (
    bool(_NOFOLLOW and _DIRECTORY)
    and hasattr(os, "geteuid")
    and {os.open, os.stat, os.chmod, os.mkdir, os.rmdir, os.unlink, os.readlink} <= os.supports_dir_fd
)
"""Whether this platform can walk a directory without following links (POSIX)."""

_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | _DIRECTORY | _NOFOLLOW | _CLOEXEC
"""A directory held for lookups only: ``O_PATH`` (Linux) needs no read permission on it."""

_LIST_FLAGS = os.O_RDONLY | _DIRECTORY | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC

MAX_HOPS = 40
"""Symlinks followed (and directories created) while walking to the cache, as the kernel's ELOOP limit."""

MAX_VALUE_BYTES = 64 * 2**20
"""The largest value file read or written: an entry is a validation result, not a data set."""

VALUE_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")
"""The relative names diskcache gives value files (``Disk.filename`` on POSIX)."""

_LEVEL_NAME = re.compile(r"[0-9a-f]{2}")
_LEAF_NAME = re.compile(r"[0-9a-f]{28}\.val")


def open_directory(path: str, *, create: bool) -> int:
    """A descriptor of directory ``path``, after checking it and everything that leads to it.

    Walks from ``/`` one name at a time, never letting the kernel follow a symlink: each
    directory is opened with ``O_NOFOLLOW`` relative to its checked parent and checked
    through its descriptor, each symlink's owner is checked before its target is walked.
    So what is checked is what is returned, and no later change of a name can swap it.

    ``StoreUnavailableError`` (``not using the cache: ...``) names the first thing that
    cannot be trusted; ``OSError`` means the path cannot be walked now (missing, not a
    directory, removed meanwhile). With ``create``, missing directories are made 0700.
    """
    euid = os.geteuid()
    pending = _names(os.path.join(os.getcwd(), path))
    where = "/"
    fd = os.open("/", _DIR_FLAGS)
    hops = 0
    try:
        _check(fd, where, euid, final=not pending)
        while pending:
            name = pending.pop()
            if name == "..":
                child = os.open("..", _DIR_FLAGS, dir_fd=fd)
                where = os.path.dirname(where)
            else:
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    hops += 1
                    if not create or hops > MAX_HOPS:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o700, dir_fd=fd)
                        os.chmod(name, 0o700, dir_fd=fd)  # mkdir's mode is filtered by the umask
                    pending.append(name)  # look again: another process may have made it first
                    continue
                if stat.S_ISLNK(info.st_mode):
                    hops += 1
                    if hops > MAX_HOPS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                    if info.st_uid not in (0, euid):
                        raise StoreUnavailableError(
                            f"not using the cache: {os.path.join(where, name)} is a symlink owned by uid"
                            f" {info.st_uid}, neither root nor this user"
                        )
                    target = os.readlink(name, dir_fd=fd)
                    if target.startswith("/"):
                        os.close(fd)
                        fd = -1
                        fd = os.open("/", _DIR_FLAGS)
                        where = "/"
                    pending.extend(_names(target))
                    continue
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                where = os.path.join(where, name)
            os.close(fd)
            fd = child
            _check(fd, where, euid, final=not pending)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise
    return fd


def open_subdirectory(root: int, name: str, where: str, *, create: bool) -> int:
    """A descriptor of directory ``name`` directly inside the checked directory held as ``root``.

    Opened relative to ``root`` with ``O_NOFOLLOW``: a symlink there (a restored cache's
    ``explain -> ~/somewhere``) is refused, never followed, so nothing memo keeps under
    the cache can land outside it. The subdirectory is checked as the cache directory
    itself is (this user's, writable by no one else); made 0700 when missing and ``create``.
    ``StoreUnavailableError`` names ``where`` when it is a link, not a directory or untrusted.
    """
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"not a name: {name!r}")
    try:
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=root)
        except FileNotFoundError:
            if not create:
                raise
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=root)
                os.chmod(name, 0o700, dir_fd=root)  # mkdir's mode is filtered by the umask
            fd = os.open(name, _DIR_FLAGS, dir_fd=root)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise StoreUnavailableError(f"not using {where}: it is a symlink or not a directory") from exc
        raise
    try:
        _check(fd, where, os.geteuid(), final=True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def held_path(fd: int, fallback: str) -> str:
    """A path that reaches the directory held as ``fd`` itself, for code that opens by path (sqlite).

    ``/proc/self/fd/N`` is resolved by the kernel to the very directory held open, whatever
    names were changed since it was checked: a symlink or a rename on the way cannot
    redirect it. sqlite turns it into the directory's current canonical path before
    opening (it resolves links itself), and every name on that path is one that only
    root or this user can change (``open_directory`` checked it). Without ``/proc``,
    ``fallback`` (the checked path) is returned when it still names the held directory.
    """
    held = os.fstat(fd)
    for path in (f"/proc/self/fd/{fd}", fallback):
        try:
            info = os.stat(path)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (held.st_dev, held.st_ino):
            return path
    raise StoreUnavailableError(f"not using {fallback}: it no longer names the directory that was checked")


def read_small(root: int, name: str, limit: int) -> bytes | None:
    """The first ``limit`` bytes of regular file ``name`` directly in ``root``; None if absent or not a regular file.

    A symlink is not followed (None), a FIFO or device is not read.
    """
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=root)
    except OSError:
        return None
    with contextlib.closing(_Fd(fd)):
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return _read_at_most(fd, limit)


def _names(path: str) -> list[str]:
    """The names of ``path`` as a stack (first name last); ``.`` and empty names are no-ops."""
    return [name for name in reversed(path.split("/")) if name not in ("", ".")]


def _check(fd: int, where: str, euid: int, *, final: bool) -> None:
    reason = _distrust(os.fstat(fd), euid, final=final)
    if reason is not None:
        raise StoreUnavailableError(f"not using the cache: {where} {reason}")


def _distrust(info: os.stat_result, euid: int, *, final: bool) -> str | None:
    """Why a directory on the way to the cache (or, ``final``, the cache itself) is not to be trusted."""
    mode = stat.S_IMODE(info.st_mode)
    if final:
        if info.st_uid != euid:
            return f"is owned by uid {info.st_uid}, not by this user"
    elif info.st_uid not in (0, euid):
        return f"is owned by uid {info.st_uid}, neither root nor this user"
    if not final and mode & stat.S_ISVTX:
        return None  # others may add names here, but not replace the one we walk through
    if mode & stat.S_IWOTH or (mode & stat.S_IWGRP and not _owners_own_group(info.st_uid, info.st_gid)):
        return f"is writable by group or others (mode {mode:o})"
    return None


@functools.lru_cache(maxsize=64)
def _owners_own_group(uid: int, gid: int) -> bool:
    """Whether ``gid`` is the private group of user ``uid`` (its primary group, no other members).

    With user private groups (umask 002, the default of several distributions) a user's
    directories are group-writable by a group only they belong to, which is no more open
    than owner-writable; Debian's OpenSSH accepts them for the same reason.
    """
    try:
        import grp
        import pwd

        owner = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return owner.pw_gid == gid and set(group.gr_mem) <= {owner.pw_name}


def create_file(root: int, name: str, data: bytes) -> bool:
    """Create ``name`` directly in ``root`` holding ``data``, unless it exists; whether it did.

    The file appears whole or not at all: ``data`` is written to a private name first and
    then linked as ``name`` (which fails if it exists), so a process that finds ``name``
    (another memo process preparing the same directory) never reads it half-written.
    """
    draft = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.draft"
    fd = os.open(draft, _CREATE_FLAGS, 0o600, dir_fd=root)
    try:
        try:
            with contextlib.closing(_Fd(fd)):
                _write_all(fd, data)
            os.link(draft, name, src_dir_fd=root, dst_dir_fd=root, follow_symlinks=False)
        except FileExistsError:
            return False
    finally:
        # The draft goes either way; a half-written one (the disk was full) is never linked.
        with contextlib.suppress(OSError):
            os.unlink(draft, dir_fd=root)
    return True


class _Fd:
    """A descriptor for ``contextlib.closing``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        os.close(self.fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_at_most(fd: int, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.read(fd, size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class ValueFiles:
    """diskcache's value files, inside a checked directory held open as ``root``.

    Every name is checked against ``VALUE_NAME`` and walked one level at a time with
    ``O_NOFOLLOW`` relative to ``root``: no read, write or unlink ever leaves the directory.
    """

    def __init__(self, root: int) -> None:
        self.root = root

    def _level(self, parent: int, name: str, *, create: bool) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)

    def _directory_of(self, name: str, *, create: bool) -> tuple[int, str]:
        """A descriptor of the directory holding value file ``name``, and the file's own name."""
        if not (type(name) is str and VALUE_NAME.fullmatch(name)):
            raise UnsafeEntryError(f"refusing a value file named {name!r}")
        first, second, leaf = name.split("/")
        top = self._level(self.root, first, create=create)
        try:
            return self._level(top, second, create=create), leaf
        finally:
            os.close(top)

    def read(self, name: str) -> bytes:
        """The bytes of value file ``name``: a regular file of at most ``MAX_VALUE_BYTES``.

        ``UnsafeEntryError`` for anything else (a symlink anywhere on the way, a FIFO, a
        device); ``FileNotFoundError`` when it is gone, as when another process deleted it.
        """
        try:
            directory, leaf = self._directory_of(name, create=False)
            try:
                # Not opened at all unless it is a regular file: opening a device can act.
                if not stat.S_ISREG(os.stat(leaf, dir_fd=directory, follow_symlinks=False).st_mode):
                    raise UnsafeEntryError(f"refusing value file {name}: not a regular file")
                fd = os.open(leaf, _READ_FLAGS, dir_fd=directory)
            finally:
                os.close(directory)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise UnsafeEntryError(f"refusing value file {name}: a symlink or not a directory on its way") from exc
            raise
        with contextlib.closing(_Fd(fd)):
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafeEntryError(f"refusing value file {name}: not a regular file")
            if info.st_size > MAX_VALUE_BYTES:
                raise UnsafeEntryError(f"refusing value file {name}: {info.st_size} bytes")
            return _read_at_most(fd, info.st_size)

    def write(self, name: str, data: bytes) -> None:
        """Create value file ``name`` (it must not exist); a half-written file is removed."""
        for attempt in range(10):
            # Another process removing its last value file there may rmdir ``ab/cd`` meanwhile.
            try:
                return self._create(name, data)
            except FileNotFoundError:
                if attempt == 9:
                    raise

    def _create(self, name: str, data: bytes) -> None:
        directory, leaf = self._directory_of(name, create=True)
        try:
            fd = os.open(leaf, _CREATE_FLAGS, 0o600, dir_fd=directory)
            try:
                _write_all(fd, data)
            except BaseException:
                # Never referenced by a row (the disk was full, say): do not leak it.
                with contextlib.suppress(OSError):
                    os.unlink(leaf, dir_fd=directory)
                raise
            finally:
                os.close(fd)
        finally:
            os.close(directory)

    def remove(self, name: object) -> None:
        """Remove value file ``name`` and its two directories if empty; anything else is left alone.

        Never raises: as diskcache's own ``Disk.remove``, two processes may remove the same file.
        """
        if not (type(name) is str and VALUE_NAME.fullmatch(name)):
            return
        first, second, leaf = name.split("/")
        self._prune(first, lambda _: [second], lambda _: [leaf])

    def remove_all(self) -> None:
        """Remove every value file (``ab/cd/<28 hex>.val``) and the directories left empty: a rebuild.

        Only names diskcache gives value files: anything else under ``ab/cd`` is not memo's and stays.
        """
        for first in _list(self.root):
            if _LEVEL_NAME.fullmatch(first):
                self._prune(first, _levels, _value_names)

    def _prune(
        self, first: str, seconds: Callable[[int], Iterable[str]], leaves: Callable[[int], Iterable[str]]
    ) -> None:
        """Unlink ``leaves`` in each ``first/second``, then remove the directories left empty.

        Every step is relative to a descriptor of the checked directory and follows no
        symlink; any error leaves the rest in place (another process may be removing too).
        """
        with contextlib.suppress(OSError):
            top = os.open(first, _DIR_FLAGS, dir_fd=self.root)
            try:
                for second in seconds(top):
                    with contextlib.suppress(OSError):
                        directory = os.open(second, _DIR_FLAGS, dir_fd=top)
                        try:
                            for leaf in leaves(directory):
                                with contextlib.suppress(OSError):
                                    os.unlink(leaf, dir_fd=directory)  # a symlink is unlinked, not followed
                        finally:
                            os.close(directory)
                        os.rmdir(second, dir_fd=top)
            finally:
                os.close(top)
            os.rmdir(first, dir_fd=self.root)


def _levels(directory: int) -> list[str]:
    return [name for name in _list(directory) if _LEVEL_NAME.fullmatch(name)]


def _value_names(directory: int) -> list[str]:
    return [name for name in _list(directory) if _LEAF_NAME.fullmatch(name)]


def _list(directory: int) -> list[str]:
    """The names in ``directory`` (held for lookups only, so opened again to be read)."""
    try:
        fd = os.open(".", _LIST_FLAGS, dir_fd=directory)
    except OSError:
        return []
    with contextlib.closing(_Fd(fd)):
        return os.listdir(fd)
