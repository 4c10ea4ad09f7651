"""Write files to a temporary name in the same folder, then rename into place.

Every file the program writes goes through `atomic_path` (or `write_text`), so every writer
gets the same guards: a target that is an input video (the same file, also through another
name), a folder, a named pipe, a socket or a device is refused with one sentence; a symbolic
link is followed and the file it points to is replaced (the link stays a link); missing
parent folders are made only for a path the user named (`parents=True`, the default).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from vsumgui.core.errors import VsumError

_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)

# (device, inode) -> path of every video this process opened for reading: never a write target
_INPUTS: dict[tuple[int, int], str] = {}


def protect(path: str | os.PathLike) -> None:
    """Mark a file as an input (a video being read): no output may replace it."""
    with contextlib.suppress(OSError):
        st = os.stat(path)
        _INPUTS[(st.st_dev, st.st_ino)] = os.fspath(path)


def _is_input(st: os.stat_result) -> bool:
    """Whether a file is a protected input, still there (a deleted video's inode can be reused)."""
    key = (st.st_dev, st.st_ino)
    if key not in _INPUTS:
        return False
    try:
        again = os.stat(_INPUTS[key])
    except OSError:
        again = None
    if again is None or (again.st_dev, again.st_ino) != key:
        del _INPUTS[key]
        return False
    return True


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file name"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a file: refusing to replace it"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file: refusing to replace it"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file: refusing to replace it"
    return "is not a regular file: refusing to replace it"


def target(path: str | os.PathLike) -> tuple[Path, os.stat_result | None, bool]:
    """(the file really written for `path`, its stat or None when it does not exist yet, whether
    `path` is a symbolic link). Raises VsumError for a target no output may replace."""
    path = Path(path)
    if str(path) == "":
        raise VsumError("an empty file name")
    link = path.is_symlink()
    real = Path(os.path.realpath(path)) if link else path
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise VsumError(f"{path}: a loop of symbolic links") from e
        if e.errno == errno.ENOTDIR:
            raise VsumError(f"{path}: a part of the path is a file, not a folder") from e
        if e.errno == errno.EACCES:
            raise VsumError(f"{path}: cannot write here (permission denied)") from e
        raise VsumError(f"{path}: cannot write ({e.strerror})") from e
    if st is not None:
        why = _kind(st.st_mode)
        if why:
            raise VsumError(f"{path}: {why}")
        if _is_input(st):
            raise VsumError(f"{path}: is the input video; refusing to replace it (choose another name)")
    return real, st, link


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "", parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside the target; on success rename it onto the target, else delete it.

    The target is `path`, or the file a symbolic link at `path` points to. `parents`: make
    missing folders (for a path the user named; never for a link's target)."""
    path = Path(path)
    real, st, link = target(path)
    try:
        if not real.parent.is_dir():
            if link or not parents:
                raise VsumError(f"{real.parent}: no such folder")
            real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=suffix + ".part", dir=real.parent)
        os.close(fd)
        # mkstemp makes owner-only files; a replaced file keeps its mode, a new one gets the usual
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_UMASK)
    except FileExistsError as e:
        raise VsumError(f"{path}: cannot write here (a part of the path is a file, not a folder)") from e
    except OSError as e:
        raise VsumError(f"{real.parent}: cannot write here ({e.strerror})") from e
    tmp = Path(tmp)
    try:
        yield tmp
        target(path)  # the target may have changed while the work ran (a FIFO made in the meantime)
        os.replace(tmp, real)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if e.errno == errno.ENOSPC:
            raise VsumError(f"{path}: the disk is full") from e
        raise VsumError(f"{path}: cannot write ({e.strerror})") from e
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text(path: str | os.PathLike, text: str, parents: bool = True) -> None:
    """Write text atomically (UTF-8)."""
    with atomic_path(path, parents=parents) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_writable(path: str | os.PathLike) -> None:
    """Raise VsumError unless a file can be written at `path`: before long work, not after it."""
    path = Path(path)
    real, _, _ = target(path)
    check_folder(real.parent, "cannot write here", "cannot write here")


def check_folder(folder: Path, cannot_make: str, cannot_write: str) -> None:
    """Raise VsumError (naming `folder`) unless a file can be made in it or, where it is not
    made yet, in its nearest existing parent. Tries a real file: permission bits say nothing
    to root or on read-only mounts."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise VsumError(f"{folder}: {cannot_make} ({probe} is not a folder)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vsumgui-check-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise VsumError(f"{folder}: {cannot_write} ({e.strerror})") from e
