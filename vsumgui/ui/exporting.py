"""File → Export summary…: whether there is something to export, and the dialog that writes it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from vsumgui.core.pipeline import Summary
from vsumgui.core.select import Selection


class Exporter(QObject):
    """Opens the export dialog on the chosen shots, or says in one sentence why there are none."""

    error = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = parent
        self.dialog = None  # the last ExportDialog opened

    def show(self, summary: Summary | None, selection: Selection | None) -> None:
        if summary is None or selection is None:
            self.error.emit("Summarize the video first: there is nothing chosen to export yet.")
            return
        if not selection.segments:  # a very short video: every shot is over the budget
            self.error.emit(f"No shot fits in {selection.ratio:.0%} of the video: "
                            "raise the summary length to choose one.")
            return
        from vsumgui.ui.export_dialog import ExportDialog  # the export formats load on first use

        video = Path(summary.video.path)
        # the export reads the selection from its summary: a copy carries the window's, the shown one stays as it is
        chosen = dataclasses.replace(summary, selection=selection)
        self.dialog = ExportDialog(chosen, str(video.parent / f"{video.stem}-summary"), self.window)
        self.dialog.show()
