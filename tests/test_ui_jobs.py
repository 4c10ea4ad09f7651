"""The job machinery on its own: one outcome per job, and a slot that drops a replaced job's signals."""

from __future__ import annotations

import threading

from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.ui import jobs
from vsumgui.ui.jobs import Job, JobSlot


class Counting(Job):
    """Counts to `n`, reporting each step; first waits for `gate` (so a test can replace it while it runs)."""

    what = "Counting"

    def __init__(self, n: int, gate: threading.Event | None = None, error: Exception | None = None) -> None:
        super().__init__()
        self.n, self.gate, self.error = n, gate, error

    def work(self) -> int:
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.error is not None:
            raise self.error
        for i in range(self.n):
            check_cancel(self.cancel_event)
            self.progress.emit("count", (i + 1) / self.n)
        return self.n


def idle(qtbot, slot: JobSlot) -> None:
    qtbot.waitUntil(lambda: not slot.busy and jobs.running() == 0, timeout=10_000)


def test_a_replaced_job_is_cancelled_and_never_heard_again(qtbot):
    slot = JobSlot()
    got: list = []
    changes: list[bool] = []
    slot.changed.connect(lambda: changes.append(slot.busy))
    gate = threading.Event()
    old = slot.start(Counting(3, gate), progress=lambda s, f: got.append(("old", f)),
                     finished=lambda n: got.append(("old done", n)), cancelled=lambda: got.append("old cancelled"))
    assert slot.busy and slot.is_current(old)
    new = slot.start(Counting(2), progress=lambda s, f: got.append(("new", f)),
                     finished=lambda n: got.append(("new done", n)))
    assert old.cancel_event.is_set() and slot.is_current(new) and not slot.is_current(old)
    gate.set()  # the old job goes on, sees its cancel flag, and says so: to nobody
    idle(qtbot, slot)
    assert got == [("new", 0.5), ("new", 1.0), ("new done", 2)]
    assert changes == [True, False, True, False]  # started, replaced, started, done


def test_each_outcome_reaches_its_handler_once(qtbot):
    slot = JobSlot()
    got: list = []
    slot.start(Counting(1, error=VsumError("the file went away")), failed=got.append, finished=got.append)
    idle(qtbot, slot)
    slot.start(Counting(1, error=KeyError("bug")), failed=got.append)
    idle(qtbot, slot)
    gate = threading.Event()
    slot.start(Counting(5, gate), cancelled=lambda: got.append("cancelled"), finished=got.append,
               done=lambda: got.append("done"))
    slot.cancel()  # asked to stop: it stays current and says how it ended
    assert slot.busy
    gate.set()
    idle(qtbot, slot)
    assert got[0] == "the file went away"
    assert got[1].startswith("Counting failed unexpectedly (KeyError") and got[1].endswith(".")
    assert got[2:] == ["cancelled", "done"]


def test_stop_waits_for_every_thread_of_the_slot(qtbot):
    slot = JobSlot()
    gates = [threading.Event(), threading.Event()]
    first = slot.start(Counting(1, gates[0]))
    second = slot.start(Counting(1, gates[1]))
    for g in gates:
        g.set()
    slot.stop()  # the window closing: both threads have ended when it returns
    assert not slot.busy
    assert first.thread.isFinished() and second.thread.isFinished()
