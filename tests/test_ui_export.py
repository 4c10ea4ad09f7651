"""The export dialog (Ctrl+E): formats, folder, progress, overwrite confirmation, cancel."""

from __future__ import annotations

import opentimelineio as otio
from PySide6.QtCore import Qt

from test_ui_window import summarize


def test_export_dialog_writes_formats_and_confirms_overwrite(window, qtbot, sample_video, tmp_path):  # noqa: F811
    window.open_video(sample_video)
    window.export_action.trigger()
    assert "Summarize the video first" in window.last_message.text()
    summarize(window, qtbot)
    window.export_action.trigger()
    dlg = window.exporter.dialog
    for name, box in dlg.checks.items():
        box.setChecked(name in ("otio", "csv", "clips"))
    assert dlg.cut.currentData() == "exact"  # frame-exact by default
    dlg.cut.setCurrentIndex(dlg.cut.findData("smart"))
    dlg.folder.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dlg.exported, timeout=120_000):
        qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 2 + len(window.chosen.segments)
    # the sample is VP8: a smart cut cannot splice it, re-encodes to MP4 and says so
    assert sum(f.endswith(".mp4") for f in files) == len(window.chosen.segments)
    assert "smart cut" in dlg.last_message
    tl = otio.adapters.read_from_file(str(next((tmp_path / "out").glob("*.otio"))))
    assert len(list(tl.video_tracks()[0].find_clips())) == len(window.chosen.segments)
    # a second export meets existing files: refused when the user says no, nothing changes
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    dlg.confirm_overwrite = lambda files: False
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert "kept" in dlg.last_message
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()} == before
    dlg.close()


def test_export_dialog_unwritable_folder(window, qtbot, sample_video, tmp_path):  # noqa: F811
    window.open_video(sample_video)
    summarize(window, qtbot)
    window.export_action.trigger()
    dlg = window.exporter.dialog
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dlg.folder.setText(str(blocker / "sub"))  # a folder inside a regular file cannot exist
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert dlg.last_message.startswith("Cannot export:")
    assert dlg.export_button.isEnabled()
    dlg.close()
