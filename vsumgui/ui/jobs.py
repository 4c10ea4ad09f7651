"""Background jobs: the `Job` base (work in a QThread, one outcome), the threads that run them,
and `JobSlot`, which owns start / cancel / retire / is-current for one kind of job."""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vsumgui.core.errors import Cancelled, VsumError


def unexpected(what: str, e: BaseException) -> str:
    """One sentence for a bug; the traceback goes to stderr for a report, never to the user."""
    traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    return f"{what} failed unexpectedly ({type(e).__name__}: {e})."


class Job(QObject):
    """One piece of long work for a QThread (see `start`): `work()` runs there, and the outcome
    comes back as exactly one of finished / failed (one sentence) / cancelled, then `done`."""

    progress = Signal(str, float)  # stage, fraction (a subclass may add an argument)
    finished = Signal(object)  # what `work` returned
    failed = Signal(str)  # one sentence for the user
    cancelled = Signal()
    done = Signal()  # after any of the three above
    what = "The work"  # names the job in the sentence about an unexpected failure

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event = threading.Event()
        self.thread: QThread | None = None

    def cancel(self) -> None:
        self.cancel_event.set()

    def work(self) -> object:
        raise NotImplementedError

    def message(self, e: VsumError) -> str:
        """The sentence for a user-caused failure."""
        return str(e)

    def fail(self, e: Exception) -> str | None:
        """The sentence for another exception this job knows (None: a bug)."""
        return None

    @Slot()
    def run(self) -> None:
        try:
            result = self.work()
        except Cancelled:
            self.cancelled.emit()
        except VsumError as e:
            self.failed.emit(self.message(e))
        except Exception as e:  # a bug: reported in one line, the window stays usable
            self.failed.emit(self.fail(e) or unexpected(self.what, e))
        else:
            self.finished.emit(result)
        self.done.emit()


class _Reaper(QObject):
    """Holds each job and its thread until the thread has really ended.

    A QThread destroyed while running aborts the process, and Python would destroy it as soon
    as its owner drops the job; this owner lets go only after `finished` (and a wait).
    """

    def __init__(self) -> None:
        super().__init__()
        self.running: dict[QThread, QObject] = {}

    @Slot()
    def reap(self) -> None:
        thread = self.sender()
        if isinstance(thread, QThread):
            thread.wait()
            self.running.pop(thread, None)


_reaper: _Reaper | None = None


def start(job: Job) -> QThread:
    """Move `job` to a new thread and run it; the thread ends when the job is done.

    Call from the GUI thread.
    """
    global _reaper
    if _reaper is None:
        _reaper = _Reaper()
    thread = QThread()
    job.thread = thread
    job.moveToThread(thread)
    thread.started.connect(job.run)
    # direct: quit is thread-safe, and a GUI thread blocked in `stop` could not deliver a queued one
    job.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(_reaper.reap)
    _reaper.running[thread] = job
    thread.start()
    return thread


def running() -> int:
    """How many job threads have not been reaped yet."""
    return len(_reaper.running) if _reaper else 0


def stop(job: Job | None, wait_ms: int = 10000) -> None:
    """Cancel a job and wait for its thread (closing the window)."""
    if job is None or job.thread is None:
        return
    job.cancel()
    job.thread.wait(wait_ms)


class _Relay(QObject):
    """Passes one signal of one job to a handler in the GUI thread, while the job is current."""

    def __init__(self, slot: JobSlot, handler: Callable) -> None:
        super().__init__(slot)
        self.slot, self.handler = slot, handler

    def relay(self, *args) -> None:  # a method of a GUI-thread object: Qt queues the call here
        if self.slot.is_current(self.sender()):
            self.handler(*args)


class JobSlot(QObject):
    """At most one current job of one kind (summary, thumbnails, export, training, ...).

    `start` cancels and retires the job before it; a retired job's late signals are dropped, so
    handlers never ask whose signal it is. `changed` says when the slot became busy or idle.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job: Job | None = None
        self._retired: list[Job] = []  # cancelled jobs whose threads may still be finishing
        self._relays: dict[Job, list[_Relay]] = {}

    @property
    def busy(self) -> bool:
        return self.job is not None

    def is_current(self, job: QObject | None) -> bool:
        return job is not None and job is self.job

    def start(self, job: Job, **handlers: Callable) -> Job:
        """Run `job`; `handlers` by signal name (progress=..., finished=..., thumbnail=...) are
        called in the GUI thread while it is current (a `done` handler too); then the slot is idle
        and says `changed`."""
        self.retire()
        self.job = job
        relays = self._relays[job] = [_Relay(self, h) for h in handlers.values()]
        for name, relay in zip(handlers, relays):
            getattr(job, name).connect(relay.relay)
        job.done.connect(self._on_done)
        start(job)
        self.changed.emit()
        return job

    def cancel(self) -> None:
        """Ask the current job to stop; it stays current until it says how it ended."""
        if self.job is not None:
            self.job.cancel()

    def retire(self) -> None:
        """Cancel the current job without waiting; what it says after this is ignored."""
        if self.job is not None:
            self.job.cancel()
            self._retired.append(self.job)
            self.job = None
            self.changed.emit()

    def stop(self) -> None:
        """Cancel every job of this slot and wait for their threads (the window is closing)."""
        self.retire()
        for job in self._retired:
            stop(job)
        self._retired.clear()

    def _on_done(self) -> None:
        job = self.sender()
        for relay in self._relays.pop(job, []):
            relay.deleteLater()  # after the signals already queued to it
        if job in self._retired:
            self._retired.remove(job)
        if job is self.job:
            self.job = None
            self.changed.emit()
