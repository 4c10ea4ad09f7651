"""Exceptions a user can cause; the GUI and CLI turn them into one clear sentence."""

from __future__ import annotations

import threading


class VsumError(Exception):
    """A problem the user can fix (bad file, full disk, missing checkpoint)."""


class VideoError(VsumError):
    """The file cannot be read as a video."""

    def __init__(self, path: object, cause: str):
        super().__init__(f"{path}: {cause}")
        self.path = path
        self.cause = cause


class Cancelled(VsumError):
    """The user cancelled a long operation."""

    def __init__(self) -> None:
        super().__init__("cancelled")


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled if the cancel flag is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()
