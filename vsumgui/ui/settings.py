"""What the window remembers between runs: geometry, slider, mode, quick look, hidden curves,
profile, the last folder and the recent files (QSettings)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from vsumgui.core.labels import DEFAULT_PROFILE
from vsumgui.core.pipeline import DEFAULT_MODE
from vsumgui.ui.style import BASELINES

ORG = "vsumgui"
APP = "vsumgui"
MAX_RECENT = 10


def settings() -> QSettings:
    """The app's settings (on Linux: $XDG_CONFIG_HOME/vsumgui/vsumgui.conf)."""
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORG, APP)


def as_list(value) -> list[str]:
    """QSettings gives a str for a one-item list and None for an empty one on some formats."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class Settings:
    """Restores and saves the window's state; keeps the recent-files list and its menu."""

    def __init__(self, window) -> None:
        self.window = window

    def restore(self) -> str:
        """Put the saved state on the window's widgets; returns the saved profile's name."""
        w, s = self.window, settings()
        geometry = s.value("geometry")
        if geometry is None or not w.restoreGeometry(geometry):
            w.resize(1280, 800)
        state = s.value("splitter")
        if state is None or not w.splitter.restoreState(state):
            w.splitter.setSizes([320, 420])
        w.selection.slider.setValue(int(s.value("ratio_percent", 15)))
        w.selection.set_mode(str(s.value("mode", DEFAULT_MODE)))
        w.run_panel.quick.setChecked(str(s.value("quick", "false")).lower() == "true")
        # the baselines (uniform sampling, random) start hidden: references, shown by their tick
        w.method_list.set_hidden(as_list(s.value("hidden_methods", list(BASELINES))))
        return str(s.value("profile", DEFAULT_PROFILE)) or DEFAULT_PROFILE

    def save(self, profile: str) -> None:
        w, s = self.window, settings()
        s.setValue("geometry", w.saveGeometry())
        s.setValue("splitter", w.splitter.saveState())
        s.setValue("ratio_percent", w.selection.slider.value())
        s.setValue("mode", w.selection.mode_name)
        s.setValue("quick", w.run_panel.quick.isChecked())
        s.setValue("hidden_methods", w.method_list.hidden())
        s.setValue("profile", profile)
        s.sync()

    @staticmethod
    def last_dir() -> str:
        """The folder of the last video opened (the home folder at first)."""
        return str(settings().value("last_dir", str(Path.home())))

    @staticmethod
    def set_profile(name: str) -> None:
        settings().setValue("profile", name)

    @staticmethod
    def recent_files() -> list[str]:
        return as_list(settings().value("recent", []))

    def remember(self, path: Path) -> None:
        """`path` goes first in the recent files; its folder is the next dialog's."""
        s = settings()
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        s.setValue("recent", recent[:MAX_RECENT])
        s.setValue("last_dir", str(path.parent))

    def forget(self, path: Path) -> None:
        """Drop a file from the recent files (it was removed)."""
        if str(path) in self.recent_files():
            settings().setValue("recent", [p for p in self.recent_files() if p != str(path)])

    def fill_recent(self, menu: QMenu, open_video: Callable[[str], object]) -> None:
        """Fill File → Open Recent (numbered, newest first) and its Clear list."""
        menu.clear()
        recent = self.recent_files()
        for i, p in enumerate(recent, 1):
            a = menu.addAction(f"&{i % 10}  {Path(p).name}")
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda checked=False, p=p: open_video(p))
        if recent:
            menu.addSeparator()
        clear = menu.addAction("Clear list")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(lambda: settings().setValue("recent", []))


def save_name(parent: QWidget | None, title: str, name: str, filter_: str) -> str:
    """A file name to write, starting in the last folder (empty: the user cancelled)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path(Settings.last_dir()) / name), filter_)
    return path


def open_name(parent: QWidget | None, title: str, filter_: str) -> str:
    """A file name to read, starting in the last folder (empty: the user cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, Settings.last_dir(), filter_)
    return path
