"""The panels beside the preview: run the pipeline, and shape the selection."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSlider, \
    QVBoxLayout, QWidget

from vsumgui.core import methods
from vsumgui.core.pipeline import DEFAULT_MODE
from vsumgui.core.select import MODES, Selection
from vsumgui.ui import style
from vsumgui.ui.style import fmt_count, fmt_time

STAGES = {"decoding": "Decoding frames", "features": "Computing features",
          "methods": "Preparing the methods (first use)", "shots": "Finding shots", "scoring": "Scoring"}
ORDER = list(STAGES)
MODE_TITLES = {"diverse": "Diverse (whole video)", "knapsack": "Knapsack (best shots)", "topk": "Top-k shots", "highlight": "Highlights"}


def mode_order() -> list[str]:
    """The modes of core.select, the default first (what a first-time user should try)."""
    return sorted(MODES, key=lambda m: m != DEFAULT_MODE)


def short_state(text: str) -> str:
    """The head of a status sentence, for the progress bar: "Done: 12 shots" -> "Done"."""
    return text.split(":")[0].split(" (")[0].strip() or text


class RunPanel(QWidget):
    """Summarize / Cancel, a progress bar that names the stage, and a line for sentences under it.

    The bar holds progress and a one-word state; whole sentences ("Personalized (fitted on your
    labels): curve ... added") go to `status`, which wraps instead of being clipped."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summarize_button = QPushButton("Summarize")
        self.summarize_button.setToolTip("Compute features, shots and every method's scores (Ctrl+R)")
        self.summarize_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.quick = QCheckBox("Quick look")
        self.quick.setToolTip("Decode keyframes only: many times faster on long videos, but shots can only "
                              "start where the file has a keyframe. Untick for the full summary.")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Ready")
        self.progress.setValue(0)
        self.status = QLabel("Open a video to begin.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setStyleSheet(f"color: {style.NOTE};")
        self.rank = -1
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.summarize_button)
        row.addWidget(self.quick)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(row)
        lay.addWidget(self.status)

    def running(self, on: bool) -> None:
        self.summarize_button.setEnabled(not on)
        self.quick.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        if on:
            self.begin("decoding")

    def begin(self, stage: str) -> None:
        """Show a job's 0 % at once (its first report may come seconds later)."""
        self.rank = -1
        self.say("")
        self.show_progress(stage, 0.0)

    def show_progress(self, stage: str, frac: float) -> None:
        # decoding runs ahead of the features in another thread: never step back to an earlier stage
        rank = ORDER.index(stage) if stage in ORDER else len(ORDER)
        if rank < self.rank:
            return
        self.rank = rank
        self.progress.setValue(int(max(0.0, min(1.0, frac)) * 1000))
        self.progress.setFormat(f"{STAGES.get(stage, stage.capitalize())} … %p%")

    def show_state(self, text: str, full: bool = False) -> None:
        """The end (or start) of a job: a short word in the bar, the whole sentence below it."""
        self.progress.setValue(1000 if full else 0)
        self.progress.setFormat(short_state(text))
        self.say(text)

    def say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)


class ProfileRow(QWidget):
    """Whose labels: the profile (chosen; a new one only through "New profile…", a name confirmed
    with Enter, so a stray key never makes one), and Personalize."""

    chosen = Signal(str)  # a profile picked, or a new name confirmed

    NEW = "New profile…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QComboBox()
        self.box.setToolTip("Whose labels and personalized curve; “New profile…” starts one")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("New profile name: Enter creates it, Esc cancels")
        self.name_edit.hide()
        self.name_edit.installEventFilter(self)
        self.personalize_button = QPushButton("Personalize")
        self.personalize_button.setToolTip("Fit a personal curve on your keep (K) / skip (S) labels "
                                           "(with ViSP driving, ViSP itself is fine-tuned)")
        self.current = ""
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Profile"))
        row.addWidget(self.box, 1)
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.personalize_button)
        self.box.activated.connect(self._activated)
        self.name_edit.returnPressed.connect(self._confirm)

    def fill(self, names: list[str], current: str) -> None:
        """The profiles, then "New profile…"; `current` shown."""
        self.box.blockSignals(True)
        self.box.clear()
        self.box.addItems(names)
        self.box.addItem(self.NEW)
        self.box.blockSignals(False)
        self.show_profile(current)

    def show_profile(self, name: str) -> None:
        if self.box.findText(name) < 0:
            self.box.insertItem(self.box.count() - 1, name)
        self.current = name
        self.box.setCurrentIndex(self.box.findText(name))

    @property
    def typing(self) -> bool:
        return self.name_edit.isVisible()

    def new_profile(self) -> None:
        """Show the name field in place of the box, with the focus."""
        self.box.hide()
        self.name_edit.clear()
        self.name_edit.show()
        self.name_edit.setFocus()

    def _activated(self, i: int) -> None:
        if self.box.itemText(i) == self.NEW:
            self.show_profile(self.current)  # until a name is confirmed
            self.new_profile()
        else:
            self.current = self.box.itemText(i)
            self.chosen.emit(self.current)

    def _confirm(self) -> None:
        name = self.name_edit.text().strip()
        self._close_edit()
        if name and name != self.NEW:
            self.show_profile(name)
            self.chosen.emit(name)

    def _close_edit(self) -> None:
        self.name_edit.hide()
        self.box.show()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        """Esc cancels the new name (before the window's Esc action); leaving the field too."""
        if obj is self.name_edit and self.name_edit.isVisible():
            t = event.type()
            if t == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape:
                event.accept()
                return True
            if t == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
                self._close_edit()
                self.box.setFocus()
                return True
            if t == QEvent.Type.FocusOut:
                self._close_edit()
        return super().eventFilter(obj, event)


class SelectionPanel(QWidget):
    """Summary length (1–50 %), selection mode, driving method, and Play summary."""

    changed = Signal()
    playSummary = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 50)
        self.slider.setValue(15)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(5)
        self.slider.setPageStep(5)
        self.slider.setToolTip("Summary length as a share of the video")
        self.percent = QLabel()
        self.percent.setMinimumWidth(self.percent.fontMetrics().horizontalAdvance("50 %") + 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setToolTip("Pieces of the video in the summary · their total time of the whole video")
        self.mode = QComboBox()
        for m in mode_order():  # modes added to core.select appear here by themselves
            self.mode.addItem(MODE_TITLES.get(m, m.capitalize()), m)
        self.mode.setToolTip("How pieces are chosen; Diverse (the default) covers the whole video")
        self.driver = QComboBox()
        for combo in (self.mode, self.driver):  # they may shrink (to a 1024 px window) and elide
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.driver.setToolTip("The method whose scores choose the shots")
        self.play_button = QPushButton("Play summary")
        self.play_button.setToolTip("Play only the chosen shots, in order")
        self.play_button.setEnabled(False)
        self.set_methods([n for n in methods.names() if methods.create(n).ready])

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        length = QHBoxLayout()
        length.addWidget(self.slider, 1)
        length.addWidget(self.percent)
        form.addRow("Length", length)
        form.addRow("", self.label)
        form.addRow("Mode", self.mode)
        form.addRow("Driven by", self.driver)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.play_button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addStretch(1)

        self.slider.valueChanged.connect(self.changed)
        self.mode.currentIndexChanged.connect(self.changed)
        self.driver.currentIndexChanged.connect(self.changed)
        self.play_button.clicked.connect(self.playSummary)
        self.describe(None, 0.0)

    # -- values ---------------------------------------------------------------------------
    @property
    def ratio(self) -> float:
        return self.slider.value() / 100.0

    @property
    def mode_name(self) -> str:
        return self.mode.currentData()

    @property
    def driver_name(self) -> str | None:
        return self.driver.currentData()

    def set_methods(self, names: list[str]) -> None:
        """The methods that can drive the selection (those computed), keeping the current one."""
        keep = self.driver_name
        self.driver.blockSignals(True)
        self.driver.clear()
        for n in names:
            self.driver.addItem(style.title(n), n)
        if keep in names:
            self.driver.setCurrentIndex(names.index(keep))
        self.driver.blockSignals(False)

    def set_mode(self, mode: str) -> None:
        i = self.mode.findData(mode)
        if i >= 0:
            self.mode.setCurrentIndex(i)

    def describe(self, selection: Selection | None, duration: float) -> None:
        """"5 pieces · 0:08 of 0:52": what the summary holds (before a summary, its budget).

        Pieces, not shots: diverse and highlight modes keep a part of a shot, and touching
        parts of neighbouring shots play as one piece."""
        self.percent.setText(f"{self.slider.value()} %")
        if duration <= 0:
            self.label.setText("")
        elif selection is None:
            self.label.setText(f"up to {fmt_time(self.ratio * duration)} of {fmt_time(duration)}")
        else:
            self.label.setText(f"{fmt_count(len(selection.segments), 'piece')} · "
                               f"{fmt_time(selection.duration)} of {fmt_time(duration)}")
        self.play_button.setEnabled(bool(selection and selection.segments))
