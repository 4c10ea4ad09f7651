"""File → Export… (Ctrl+E): what will be written (one line), formats as checkboxes, crossfade,
an output folder, progress, Cancel, and "Open folder" at the end.

The export itself is `vsumgui.core.export.export`, run in a worker thread."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QVBoxLayout)

from vsumgui.core import export
from vsumgui.core.errors import VsumError
from vsumgui.ui import style
from vsumgui.ui.jobs import Job, JobSlot


open_url = QDesktopServices.openUrl  # the system's file manager (tests put a recorder here)
WIDTH = 560  # px: messages wrap at this width instead of stretching the dialog


def writable(folder: Path) -> bool:
    """True when files can be created in `folder` (or in its nearest existing parent)."""
    try:
        export.check_folder(folder, create=False)
    except VsumError:
        return False
    return True


def default_folder(video: str | Path) -> Path:
    """`<video folder>/<stem>-summary`, or the same name in the user's Videos folder
    (platformdirs) when the video's folder cannot be written (a DVD, a shared read-only drive)."""
    video = Path(video)
    beside = video.parent / f"{video.stem}-summary"
    if writable(beside):
        return beside
    return Path(platformdirs.user_videos_dir()) / f"{video.stem}-summary"


def describe(summary) -> str:
    """What an export writes, in one line: "5 pieces · 0:08 of 0:52 · Diverse · driven by CTVSUM"."""
    from vsumgui.ui.controls import MODE_TITLES  # the names the window's Mode list shows

    sel = summary.selection
    mode = MODE_TITLES.get(sel.mode, sel.mode.capitalize()).split(" (")[0]
    return (f"{style.fmt_count(len(sel.segments), 'piece')} · {style.fmt_time(sel.duration)} of "
            f"{style.fmt_time(summary.video.duration)} · {mode} · driven by {style.title(sel.method)}")


class ExportWorker(Job):
    """Runs `export.export` once; finishes with its Result."""

    what = "Export"

    def __init__(self, summary, out_dir: str, formats: list[str], cut: str, overwrite: bool,
                 crossfade: float = 0.0) -> None:
        super().__init__()
        self.args = (summary, out_dir, formats)
        self.cut, self.overwrite, self.crossfade = cut, overwrite, crossfade

    def work(self):
        return export.export(*self.args, overwrite=self.overwrite, progress=self.progress.emit,
                             cancel=self.cancel_event, crossfade=self.crossfade, cut=self.cut)

    def message(self, e: VsumError) -> str:
        return f"Export failed: {e}."


class ExportDialog(QDialog):
    """Choose formats and a folder; Export runs in the background and can be cancelled."""

    exported = Signal(object)  # export.Result

    def __init__(self, summary, folder: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export summary")
        self.setMinimumWidth(WIDTH)
        self.setMaximumWidth(WIDTH + 160)
        self.summary = summary
        self.slot = JobSlot(self)
        self.last_message = ""
        self.checks: dict[str, QCheckBox] = {}
        self.labels = {fmt.name: fmt.label for fmt in export.formats()}
        self.what = QLabel()
        self.what.setWordWrap(True)
        grid = QGridLayout()
        for i, fmt in enumerate(export.formats()):
            box = QCheckBox(f"{fmt.label}")
            box.setToolTip(self.tooltip(fmt))
            box.setChecked(fmt.name in export.DEFAULT_FORMATS)
            box.toggled.connect(self._update)
            self.checks[fmt.name] = box
            grid.addWidget(box, i // 2, i % 2)
        self.cut = QComboBox()  # how clips and the summary video are cut (export.CUTS)
        self.cut.addItem("Exact cuts (re-encode to H.264/AAC MP4)", "exact")
        self.cut.addItem("Smart cuts (exact; copies whole GOPs of H.264/HEVC, re-encodes the rest)", "smart")
        self.cut.addItem("Keyframe cuts (stream copy; pieces start at the keyframe before)", "keyframe")
        self.cut.setToolTip("Exact and smart cuts hold exactly the chosen frames; keyframe cuts are a fast stream "
                            "copy that may start up to a few seconds early.")
        self.cut.currentIndexChanged.connect(self._update)
        self.crossfade = QDoubleSpinBox()
        self.crossfade.setRange(0.0, 2.0)
        self.crossfade.setSingleStep(0.25)
        self.crossfade.setDecimals(2)
        self.crossfade.setSuffix(" s")
        self.crossfade.setSpecialValueText("none (hard cuts)")
        self.crossfade.setToolTip("Crossfade between the pieces of the summary video (it is then re-encoded)")
        self.crossfade.valueChanged.connect(self._update)
        fade_row = QHBoxLayout()
        fade_row.addWidget(QLabel("Crossfade in the summary video"))
        fade_row.addWidget(self.crossfade)
        fade_row.addStretch(1)
        requested = Path(folder)
        if not writable(requested):
            folder = str(default_folder(Path(summary.video.path)))
            if not writable(Path(folder)):
                folder = str(requested)
        self.folder = QLineEdit(folder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder"))
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)  # a long result wraps; it never stretches the dialog
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if Path(folder) != requested:
            self.status.setText(f"{requested} cannot be written: exporting to {folder} instead.")
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the exported files in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        self.open_button.setVisible(False)
        self.written_to: Path | None = None
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.what)
        lay.addLayout(grid)
        lay.addWidget(self.cut)
        lay.addLayout(fade_row)
        lay.addLayout(row)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self._update()

    @staticmethod
    def tooltip(fmt) -> str:
        """Which programs open a format, and the files it writes."""
        # `editors` is one string ("DaVinci Resolve, Premiere Pro"): joining it spelled it letter by letter
        editors = fmt.editors if isinstance(fmt.editors, str) else ", ".join(fmt.editors or ())
        what = ("Cuts the video: media files, slower to write" if getattr(fmt, "media", False)
                else "A small edit list: instant to write")
        return f"Opens in: {editors}\n{what}" if editors else what

    def _update(self, *args) -> None:
        """The one-line summary of what will be written, and crossfade only where it applies."""
        video = self.checks.get("video")
        self.crossfade.setEnabled(bool(video and video.isChecked()))
        cut = {"exact": "exact cuts (re-encoded)", "smart": "smart cuts (exact, copies whole GOPs)",
               "keyframe": "keyframe cuts (stream copy)"}[self.cut.currentData()]
        if self.crossfade.isEnabled() and self.crossfade.value() > 0:
            cut += f", {self.crossfade.value():g} s crossfades"
        n = len(self.selected())
        self.what.setText(f"<b>{describe(self.summary)}</b> · {cut} · "
                          f"{style.fmt_count(n, 'format')}")

    def selected(self) -> list[str]:
        return [n for n, b in self.checks.items() if b.isChecked()]

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if d:
            self.folder.setText(d)

    def confirm_overwrite(self, files: list[Path]) -> bool:
        """Ask before replacing files (tests replace this method)."""
        names = "\n".join(p.name for p in files[:10])
        return QMessageBox.question(self, "Replace files?", f"These files exist and will be replaced:\n{names}") \
            == QMessageBox.StandardButton.Yes

    def say(self, text: str) -> None:
        self.last_message = text
        self.status.setText(text)
        self.adjustSize()  # taller for a wrapped message, never wider than the maximum

    def start(self) -> None:
        formats = self.selected()
        if not formats:
            return self.say("Choose at least one format.")
        out = self.folder.text().strip()
        fade = self.crossfade.value() if self.crossfade.isEnabled() else 0.0
        try:
            existing = export.preflight(self.summary, out, formats, crossfade=fade, cut=self.cut.currentData())
        except VsumError as e:
            return self.say(f"Cannot export: {e}.")
        if existing and not self.confirm_overwrite(existing):
            return self.say("Nothing exported: the existing files were kept.")
        self.open_button.setVisible(False)
        self.slot.start(ExportWorker(self.summary, out, formats, self.cut.currentData(), bool(existing), fade),
                        progress=self._progress, finished=self._finished, failed=self._ended,
                        cancelled=self._cancelled)
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")

    def _progress(self, stage: str, frac: float) -> None:
        self.bar.setValue(int(frac * 1000))
        self.status.setText(f"Writing {self.labels.get(stage, stage)} …")

    def _cancelled(self) -> None:
        self._ended("Export cancelled; the folder is as it was.")

    def _finished(self, result) -> None:
        notes = " ".join(getattr(result, "notes", []) or [])
        self.written_to = Path(self.folder.text().strip()).absolute()
        self._ended(f"Exported {len(result.files)} files to {self.written_to}. {notes}".strip())
        self.open_button.setVisible(True)
        self.exported.emit(result)

    def open_folder(self) -> bool:
        """Show the folder written to in the system's file manager."""
        return self.written_to is not None and open_url(QUrl.fromLocalFile(str(self.written_to)))

    def _ended(self, text: str) -> None:
        self.say(text)
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def running(self) -> bool:
        return self.slot.busy

    def cancel_or_close(self) -> None:
        if self.running():
            self.slot.cancel()
        else:
            self.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.slot.stop()
        super().closeEvent(event)
