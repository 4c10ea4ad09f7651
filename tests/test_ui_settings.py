"""What the window remembers between runs (real QSettings in the session's config folder)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMenu

from vsumgui.ui.settings import MAX_RECENT, Settings, as_list, settings


def test_recent_files_newest_first_bounded_and_forgotten(qtbot, tmp_path):
    settings().setValue("recent", [])
    prefs = Settings(None)
    paths = [tmp_path / f"v{i}.mp4" for i in range(MAX_RECENT + 2)]
    for p in paths:
        prefs.remember(p)
    prefs.remember(paths[3])  # opened again: first, and listed once
    recent = prefs.recent_files()
    assert recent[0] == str(paths[3]) and len(recent) == MAX_RECENT and recent.count(str(paths[3])) == 1
    assert recent[1:3] == [str(paths[-1]), str(paths[-2])]
    assert Settings.last_dir() == str(tmp_path)
    prefs.forget(paths[3])
    assert str(paths[3]) not in prefs.recent_files()

    menu = QMenu()
    opened: list[str] = []
    prefs.fill_recent(menu, opened.append)
    entries = [a for a in menu.actions() if not a.isSeparator()]
    assert entries[0].text() == f"&1  {paths[-1].name}" and entries[-1].text() == "Clear list"
    entries[0].trigger()
    assert opened == [str(paths[-1])]
    entries[-1].trigger()
    assert prefs.recent_files() == []


def test_one_item_and_empty_lists_read_back_as_lists():
    assert as_list(None) == [] and as_list("a.mp4") == ["a.mp4"] and as_list(["a", Path("b")]) == ["a", "b"]
