"""Write files to a temporary name in the same folder, then rename into place."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from vsumgui.core.errors import VsumError

_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it to `path`, else delete it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".part", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes owner-only files; ours get the usual mode
    except OSError as e:
        raise VsumError(f"{path.parent}: cannot write here ({e.strerror})") from e
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
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


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write text atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_writable(path: str | os.PathLike) -> None:
    """Raise VsumError unless a file can be written at `path`: before long work, not after it."""
    path = Path(path)
    if path.is_dir():
        raise VsumError(f"{path}: is a folder, not a file name")
    check_folder(path.parent, "cannot write here", "cannot write here")


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
