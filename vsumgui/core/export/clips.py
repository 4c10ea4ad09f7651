"""Clips: one video file per chosen segment, with audio."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from vsumgui.core.export._cut import cut_all, each, mux
from vsumgui.core.export.base import Exporter, Fraction, Job, clock, register


def place(src: Path, tmp: Path) -> None:
    """Put a finished file at a temporary export name: a hard link (free), else a copy."""
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:  # file systems without hard links (FAT, some network shares)
        shutil.copyfile(src, tmp)


@register
class Clips(Exporter):
    name = "clips"
    label = "Clips (one file per shot)"
    editors = "any player or editor"
    order = 10
    media = True

    def outputs(self, job: Job) -> list[Path]:
        ext = job.media_ext()
        return [job.path(f"{job.stem}-{i + 1:03d}-{clock(s)}-{clock(e)}{ext}")
                for i, (s, e) in enumerate(job.times(i) for i in range(len(job.frames)))]

    def cost(self, job: Job) -> float:
        return sum(b - a for a, b in job.frames) / job.rate

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        outs = self.outputs(job)
        pieces = cut_all(job, None, lambda f: progress(0.8 * f), cancel)
        temps = [job.temp(out) for out in outs]  # taken here: the export's stack is not shared by threads

        def finish(i: int, frac: Fraction, stop: threading.Event) -> None:
            if pieces[i].file is not None:  # keyframe mode: the stream copy is the clip
                place(pieces[i].file, temps[i])
                frac(1.0)
            else:
                mux(job, [pieces[i]], temps[i], outs[i].suffix.lower(), frac, stop)

        each([p.duration for p in pieces], finish, lambda f: progress(0.8 + 0.2 * f), cancel)
        job.note_keyframe()
