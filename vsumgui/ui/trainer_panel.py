"""Tools → Trainer…: pretrain a method on a folder of videos in a background thread.

Pause holds the run between two steps (or between two decoded frames while the features are
extracted) until Continue; the elapsed and remaining times leave the paused time out.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyqtgraph as pg
import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, \
    QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget

from vsumgui.core import checkpoints, methods
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.video import probe
from vsumgui.ui.jobs import Job, JobSlot
from vsumgui.ui.style import fmt_time
from trainer import data as tdata, loop


def trainable() -> list[str]:
    return [n for n in methods.names() if methods.method_class(n).trainable]


def devices() -> list[tuple[str, str]]:
    """(title, spec) for the device combo: auto, each CUDA device by name, the CPU."""
    out = [("Auto (CUDA when available)", "auto")]
    if torch.cuda.is_available():
        out += [(f"cuda:{i} — {torch.cuda.get_device_name(i)}", f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return out + [("CPU", "cpu")]


class TrainWorker(Job):
    """Features of the folder (cached), then `trainer.loop.fit` into the method's user checkpoint."""

    progress = Signal(str, float, dict)  # stage, fraction of the whole run, info
    what = "Training"

    def __init__(self, folder: str, method: str, config: loop.Config, resume: bool = False,
                 windows_per_video: int = 1) -> None:
        super().__init__()
        self.folder, self.method, self.config, self.resume = folder, method, config, resume
        self.windows_per_video = windows_per_video
        self.pause_event = threading.Event()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.pause_event.set()
        else:
            self.pause_event.clear()

    def _report(self, stage: str, frac: float, info: dict) -> None:
        # features take the first 30 % of the bar, the epochs the rest
        whole = 0.3 * frac if stage == "features" else 0.3 + 0.7 * frac
        self.progress.emit(stage, whole, dict(info))
        if stage == "features":  # the loop pauses between steps; feature extraction between frames
            waited = loop.wait_while_paused(self.pause_event, self.cancel_event,
                                            lambda: self.progress.emit("paused", whole, dict(info)))
            if waited is not None:
                self.progress.emit("resumed", whole, {**info, "paused_s": waited})

    def work(self) -> loop.Result:
        ds = tdata.from_videos(self.folder, progress=self._report, cancel=self.cancel_event,
                               windows_per_video=self.windows_per_video)
        return loop.fit(self.method, ds, self.config, self._report, self.cancel_event, resume=self.resume,
                        pause=self.pause_event)

    def message(self, e: VsumError) -> str:
        return f"{str(e).rstrip('.')}."

    def fail(self, e: Exception) -> str | None:
        if isinstance(e, torch.cuda.OutOfMemoryError):
            return "The GPU ran out of memory: try a smaller batch size or the CPU."
        return None


class FolderSurvey(Job):
    """How many videos a folder holds and their total duration; finishes with (count, seconds,
    unreadable). Probing hundreds of files is disk work: off the GUI thread, and cancellable."""

    what = "Looking at the folder"

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def work(self) -> tuple[int, float, int]:
        found = tdata.find_videos(self.folder)
        count, total, bad = 0, 0.0, 0
        for i, p in enumerate(found):
            check_cancel(self.cancel_event)
            try:
                total += probe(p).duration
                count += 1
            except VsumError:
                bad += 1
            self.progress.emit("probing", (i + 1) / len(found))
        return count, total, bad

    def message(self, e: VsumError) -> str:
        return f"{str(e).rstrip('.')}."


class TrainerPanel(QDialog):
    """Folder, method, epochs, batch size, device; Start / Resume / Pause / Cancel; progress and loss."""

    trained = Signal(str, object)  # method, checkpoint path
    failed = Signal(str)  # one sentence for the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trainer — vsumgui")
        self.training = JobSlot(self)
        self.survey = JobSlot(self)  # the chosen folder's videos, counted and probed
        self.training.changed.connect(self._set_enabled)
        self.survey.changed.connect(self._set_enabled)
        self.hparams: dict = {}  # method hyper-parameter overrides (tests use small windows)
        self.windows_per_video = 1
        self._started = 0.0
        self._paused_total = 0.0  # seconds paused in this run (left out of elapsed and remaining)
        self._paused_at: float | None = None  # when the run reported "paused", until "resumed"
        self.losses: list[float] = []
        self.surveyed = ""  # the folder whose videos were counted last
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("A folder of videos (subfolders included)")
        # focus leaving the field (a click on Start) is no new folder: only a changed text is surveyed
        self.folder.editingFinished.connect(
            lambda: self.folder.text() != self.surveyed and self.set_folder(self.folder.text()))
        self.browse_button = QPushButton("Choose…")
        self.browse_button.clicked.connect(self.choose_folder)
        self.folder_info = QLabel("No folder chosen")
        self.method = QComboBox()
        for n in trainable():
            self.method.addItem(methods.create(n).title or n, n)
        self.method.currentIndexChanged.connect(self._set_enabled)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(loop.Config.epochs)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(loop.Config.batch_size)
        self.device = QComboBox()
        for title, spec in devices():
            self.device.addItem(title, spec)
        self.start_button = QPushButton("Start")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the method's last run from its checkpoint, up to the epochs asked")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Hold the run after its current step; Continue goes on")
        self.cancel_button = QPushButton("Cancel")
        self.start_button.clicked.connect(lambda: self.start(False))
        self.resume_button.clicked.connect(lambda: self.start(True))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("Ready")
        self.time_info = QLabel("")
        self.loss_info = QLabel("")  # the latest loss as a number, and the steps per epoch
        self.loss_info.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.setMinimumHeight(160)
        # a point per step: a run of one step (3 videos, batch 32) still shows its loss
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=5,
                                         symbolBrush="#1f77b4", symbolPen=None)

        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Videos", row)
        form.addRow("", self.folder_info)
        form.addRow("Method", self.method)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Device", self.device)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.time_info)
        lay.addWidget(self.loss_info)
        lay.addWidget(self.plot, 1)
        self.count = 0
        self._set_enabled()

    @property
    def worker(self) -> TrainWorker | None:
        """The running training job."""
        return self.training.job

    @property
    def method_name(self) -> str | None:
        return self.method.currentData()

    def checkpoint(self) -> Path | None:
        return checkpoints.user_path(self.method_name) if self.method_name else None

    def _set_enabled(self) -> None:
        running = self.worker is not None
        ready = self.count > 0 and self.method_name is not None and not running and not self.survey.busy
        self.start_button.setEnabled(ready)
        ck = self.checkpoint()
        self.resume_button.setEnabled(ready and ck is not None and ck.is_file())
        self.cancel_button.setEnabled(running)
        self.pause_button.setEnabled(running and not self.worker.cancel_event.is_set())
        if not running:
            self.pause_button.setText("Pause")
        # every input is locked during a run: it trains with what was set when it started
        for w in (self.folder, self.browse_button, self.method, self.epochs, self.batch, self.device):
            w.setEnabled(not running)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder of videos", self.folder.text() or str(Path.home()))
        if path:
            self.set_folder(path)

    def set_folder(self, path: str) -> None:
        """Count the folder's videos and their total duration in the background (unreadable ones named)."""
        self.folder.setText(path)
        self.surveyed = path
        self.count = 0
        self.folder_info.setText("Looking at the folder…")
        self.survey.start(FolderSurvey(path), progress=self._surveying, finished=self._surveyed,
                          failed=self.folder_info.setText)

    def _surveying(self, stage: str, frac: float) -> None:
        self.folder_info.setText(f"Looking at the folder… {frac:.0%}")

    def _surveyed(self, result: tuple[int, float, int]) -> None:
        self.count, total, bad = result
        text = f"{self.count} video{'s' if self.count != 1 else ''} · {fmt_time(total)} in all"
        self.folder_info.setText(text + (f" · {bad} unreadable" if bad else ""))

    def start(self, resume: bool = False) -> None:
        if self.worker is not None or not self.count or self.method_name is None or self.survey.busy:
            return
        config = loop.Config(out=self.checkpoint(), epochs=self.epochs.value(), batch_size=self.batch.value(),
                             device=self.device.currentData(), hparams=dict(self.hparams))
        self.losses = []
        self.loss_curve.setData([], [])
        self.loss_info.setText("")
        self._started = time.perf_counter()
        self._paused_total, self._paused_at = 0.0, None
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.training.start(TrainWorker(self.folder.text(), self.method_name, config, resume, self.windows_per_video),
                            progress=self._on_progress, finished=self._on_finished, failed=self._on_failed,
                            cancelled=self._on_cancelled)

    @property
    def paused(self) -> bool:
        """A pause was asked for (the run holds at its next step)."""
        return self.worker is not None and self.worker.pause_event.is_set()

    def toggle_pause(self) -> None:
        """Pause the run, or let a paused one continue."""
        if self.worker is None or self.worker.cancel_event.is_set():
            return
        pause = not self.paused
        self.worker.set_paused(pause)
        self.pause_button.setText("Continue" if pause else "Pause")
        if pause and self._paused_at is None:
            self.progress.setFormat("Pausing after this step…")
        elif not pause:
            self.progress.setFormat("Continuing… %p%")

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()  # a paused run wakes up and stops
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.progress.setFormat("Cancelling…")

    def elapsed(self) -> float:
        """Seconds this run has been working (paused time left out)."""
        now = time.perf_counter()
        paused = self._paused_total + (now - self._paused_at if self._paused_at is not None else 0.0)
        return max(0.0, now - self._started - paused)

    def _on_progress(self, stage: str, frac: float, info: dict) -> None:
        if stage == "paused":
            if self._paused_at is None:  # features may report it from two threads
                self._paused_at = time.perf_counter()
            where = (f"epoch {info['epoch']}/{info['epochs']}, step {info['step']}/{info['steps']}"
                     if "epoch" in info else "features")
            self.progress.setFormat(f"Paused at {where} · %p% (Continue goes on)")
            self.pause_button.setText("Continue")
            self.time_info.setText(f"Paused · elapsed {fmt_time(self.elapsed())}")
            return
        if stage == "resumed" and self._paused_at is not None:
            self._paused_total += time.perf_counter() - self._paused_at
            self._paused_at = None
            if not self.paused:
                self.pause_button.setText("Pause")
        self.progress.setValue(int(min(max(frac, 0.0), 1.0) * 1000))
        if stage == "features":
            what = info.get("video", "")
            self.progress.setFormat(f"Features {what} … %p%" if what else "Features … %p%")
        elif stage in ("train", "epoch"):
            self.progress.setFormat(f"Epoch {info.get('epoch')}/{info.get('epochs')} … %p%")
            if stage == "train" and "loss" in info:
                self.losses.append(float(info["loss"]))
                self.loss_curve.setData(list(range(1, len(self.losses) + 1)), self.losses)
                self.loss_info.setText(self.describe_loss(info))
        elif stage == "device" and info.get("message"):
            self.time_info.setText(str(info["message"]))
        if self.paused and not self.worker.cancel_event.is_set():
            self.progress.setFormat("Pausing after this step…")
        took = self.elapsed()
        left = took * (1 - frac) / frac if frac > 0.01 else None
        self.time_info.setText(f"Elapsed {fmt_time(took)}" + (f" · about {fmt_time(left)} left" if left is not None else ""))

    def describe_loss(self, info: dict) -> str:
        """"Loss 0.4213 at step 12 · 4 steps per epoch", with a warning when an epoch is one step."""
        steps = int(info.get("steps") or 0)
        text = f"Loss {self.losses[-1]:.4g} at step {len(self.losses)}"
        if steps:
            text += f" · {steps} step{'s' if steps != 1 else ''} per epoch"
        if steps == 1:
            text += (" — an epoch is a single step: the whole folder fits in one batch, so the model "
                     "learns little per epoch; lower the batch size or add videos")
        return text

    def _on_finished(self, res: loop.Result) -> None:
        self.progress.setValue(1000)
        self.progress.setFormat(f"Done: epoch {res.epoch} saved")
        self.trained.emit(self.method_name, res.checkpoint)

    def _on_failed(self, text: str) -> None:
        self.progress.setFormat("Failed: the last good checkpoint is kept")
        self.time_info.setText(text)
        self.failed.emit(text)

    def _on_cancelled(self) -> None:
        self.progress.setFormat("Cancelled: the last good checkpoint is kept (Resume continues)")

    def stop(self) -> None:
        """Cancel a run and the folder survey, and wait for their threads (the window is closing)."""
        self.training.stop()
        self.survey.stop()

    def closeEvent(self, event) -> None:  # noqa: N802
        # closing the panel while training keeps training (Tools → Trainer… shows it again)
        super().closeEvent(event)
