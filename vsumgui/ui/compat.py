"""Keep the app alive on PySide6 builds that drop references to None.

PySide6 6.12.0 on Python < 3.12 (where None is not yet immortal) loses one reference to None
on every call of a Qt method that returns nothing (`QPainter.drawLine`, `QWidget.update`, ...).
None starts with ~85,000 references in this app and playback makes ~1,600 such calls a second,
so after a minute or so CPython frees None and aborts ("none_dealloc: deallocating None").
6.11.3 does not have the bug. Where it is detected, a timer gives the lost references back
(`Py_IncRef`, no memory used); elsewhere this module does nothing.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None
_guard: "NoneGuard | None" = None
_affected: bool | None = None


def affected() -> bool:
    """True when calling a void Qt method loses a reference to None (measured once)."""
    global _affected
    if _affected is None:
        if sys.version_info >= (3, 12):
            _affected = False  # None is immortal: reference counts on it do not matter
        else:
            probe = QObject()
            before = sys.getrefcount(None)
            for _ in range(50):
                probe.setObjectName("probe")
            lost = before - sys.getrefcount(None)
            for _ in range(max(0, lost)):
                _incref(None)
            _affected = lost >= 25
    return _affected


class NoneGuard(QObject):
    """Tops the reference count of None back up to the highest seen, five times a second."""

    def __init__(self, interval_ms: int = 200) -> None:
        super().__init__(QCoreApplication.instance())
        self.floor = sys.getrefcount(None)
        self.given = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.top_up)
        self.timer.start(interval_ms)

    def top_up(self) -> None:
        # The floor only rises: a real drop in uses of None cannot be told from a lost reference,
        # and giving None a few references too many is harmless (it is never freed anyway).
        now = sys.getrefcount(None)
        for _ in range(self.floor - now):
            _incref(None)
        self.given += max(0, self.floor - now)
        self.floor = max(self.floor, now)


def top_up() -> None:
    """Give lost references back now (hot paths call this: a paint can make thousands of calls)."""
    if _guard is not None:
        _guard.top_up()


def install() -> NoneGuard | None:
    """Start the guard once per process, where needed (call with a QApplication running)."""
    global _guard
    if _guard is None and QCoreApplication.instance() is not None and affected():
        _guard = NoneGuard()
    return _guard
