"""CSV scene list, with PySceneDetect's columns (as `scenedetect list-scenes --skip-cuts` writes).

The whole shot list, back to back from the first frame to the last: `scenedetect load-scenes`
takes each row's start frame as a cut, so only a list without gaps gives back the shots (the
chosen ones are in the other exports). A Job without a Summary has no shot list: it writes its
segments."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

from vsumgui.core.export.base import Exporter, Fraction, Job, register

HEADER = ["Scene Number", "Start Frame", "Start Timecode", "Start Time (seconds)", "End Frame",
          "End Timecode", "End Time (seconds)", "Length (frames)", "Length (timecode)", "Length (seconds)"]


def timecode(t: float) -> str:
    """HH:MM:SS.nnn, PySceneDetect's timecode format."""
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    return f"{h:02d}:{m:02d}:{ms // 1000:02d}.{ms % 1000:03d}"


def shots(job: Job) -> list[tuple[int, int]]:
    """Every shot as [start, end) frames, each starting where the previous one ends."""
    if job.summary is None:
        return list(job.frames)
    last = max(1, int(job.video.n_frames))
    starts = sorted({min(max(0, int(round(float(s) * job.rate))), last - 1) for s, _ in job.summary.shot_secs} | {0})
    return list(zip(starts, [*starts[1:], last]))


@register
class SceneCSV(Exporter):
    name = "csv"
    label = "CSV scene list (PySceneDetect columns)"
    ext = ".csv"
    editors = "PySceneDetect (load-scenes), spreadsheets, pandas"
    order = 60

    def outputs(self, job: Job) -> list[Path]:
        return [job.path(f"{job.stem}-Scenes{self.ext}")]  # PySceneDetect's default name

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        # No "Timecode List:" first row: every row has the same columns (RFC 4180), which
        # spreadsheets need; PySceneDetect's own reader accepts the file either way.
        w.writerow(HEADER)
        for i, (a, b) in enumerate(shots(job)):
            s, e = a / job.rate, b / job.rate
            # frames are 1-based and the end frame inclusive, as in PySceneDetect
            w.writerow([i + 1, a + 1, timecode(s), f"{s:.3f}", b, timecode(e), f"{e:.3f}",
                        b - a, timecode(e - s), f"{e - s:.3f}"])
        (out,) = self.outputs(job)
        job.write_text(out, buf.getvalue())
        progress(1.0)
