"""Exceptions a user can cause; the GUI and CLI turn them into one clear sentence."""

from __future__ import annotations

import math
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


class Either(threading.Event):
    """A cancel flag set by the caller's flag (`outer`) or by its own `set()`: work a caller
    cancels stops, and so does work its siblings stop (a failed one, a method that cannot load)."""

    def __init__(self, outer: threading.Event | None) -> None:
        super().__init__()
        self.outer = outer

    def is_set(self) -> bool:
        return super().is_set() or (self.outer is not None and self.outer.is_set())


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled if the cancel flag is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def number_rule(lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
                integer: bool = False) -> str:
    """The allowed range in words: "a number > 0 and at most 120"."""
    def num(x: float) -> str:
        return f"{int(x):_}".replace("_", " ") if float(x).is_integer() else f"{x:g}"

    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {num(lo)}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else 'at most'} {num(hi)}")
    return f"{'an integer' if integer else 'a number'}{' ' + ' and '.join(parts) if parts else ''}"


def in_range(value: object, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
             hi_open: bool = False, integer: bool = False) -> bool:
    """True for a finite number (an integer, if asked) within the range (NaN and inf never are)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        return False
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    if not math.isfinite(v) or (integer and v != int(v)):
        return False
    if lo is not None and (v <= lo if lo_open else v < lo):
        return False
    return not (hi is not None and (v >= hi if hi_open else v > hi))


def check_number(name: str, value: object, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
                 hi_open: bool = False, integer: bool = False) -> None:
    """Raise ValueError ("NAME: must be a number > 0 and at most 120, not -1.0") unless the value is in range;
    the CLI says the same sentence about its flag."""
    if not in_range(value, lo, hi, lo_open, hi_open, integer):
        raise ValueError(f"{name}: must be {number_rule(lo, hi, lo_open, hi_open, integer)}, not {value!r}")
