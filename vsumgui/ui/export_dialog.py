"""File → Export… (Ctrl+E): formats as checkboxes, an output folder, progress and Cancel.

The export itself is `vsumgui.core.export.export`, run in a worker thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QProgressBar, QPushButton, QVBoxLayout)

from vsumgui.core import export
from vsumgui.core.errors import VsumError
from vsumgui.ui.jobs import Job, JobSlot


class ExportWorker(Job):
    """Runs `export.export` once; finishes with its Result."""

    what = "Export"

    def __init__(self, summary, out_dir: str, formats: list[str], accurate: bool, overwrite: bool) -> None:
        super().__init__()
        self.args = (summary, out_dir, formats, accurate, overwrite)

    def work(self):
        return export.export(*self.args, self.progress.emit, self.cancel_event)

    def message(self, e: VsumError) -> str:
        return f"Export failed: {e}."


class ExportDialog(QDialog):
    """Choose formats and a folder; Export runs in the background and can be cancelled."""

    exported = Signal(object)  # export.Result

    def __init__(self, summary, folder: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export summary")
        self.summary = summary
        self.slot = JobSlot(self)
        self.last_message = ""
        self.checks: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, fmt in enumerate(export.formats()):
            box = QCheckBox(f"{fmt.label}")
            box.setToolTip(", ".join(fmt.editors) if getattr(fmt, "editors", None) else "")
            box.setChecked(fmt.name in export.DEFAULT_FORMATS)
            self.checks[fmt.name] = box
            grid.addWidget(box, i // 2, i % 2)
        self.accurate = QCheckBox("Accurate cuts (re-encode clips and video to H.264/AAC MP4)")
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
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addWidget(self.accurate)
        lay.addLayout(row)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addLayout(buttons)

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

    def start(self) -> None:
        formats = self.selected()
        if not formats:
            return self.say("Choose at least one format.")
        out = self.folder.text().strip()
        try:
            existing = export.preflight(self.summary, out, formats, self.accurate.isChecked())
        except VsumError as e:
            return self.say(f"Cannot export: {e}.")
        if existing and not self.confirm_overwrite(existing):
            return self.say("Nothing exported: the existing files were kept.")
        self.slot.start(ExportWorker(self.summary, out, formats, self.accurate.isChecked(), bool(existing)),
                        progress=self._progress, finished=self._finished, failed=self._ended,
                        cancelled=self._cancelled)
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")

    def _progress(self, stage: str, frac: float) -> None:
        self.bar.setValue(int(frac * 1000))
        self.status.setText(stage)

    def _cancelled(self) -> None:
        self._ended("Export cancelled; the folder is as it was.")

    def _finished(self, result) -> None:
        notes = " ".join(getattr(result, "notes", []) or [])
        self._ended(f"Exported {len(result.files)} files. {notes}".strip())
        self.exported.emit(result)

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
