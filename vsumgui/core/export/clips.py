"""Clips: one video file per chosen segment, with audio."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from vsumgui.core.errors import check_cancel
from vsumgui.core.export.base import Exporter, Fraction, Job, clock, register


def place(piece: Path, tmp: Path) -> None:
    """Put a finished piece at a temporary export name: a hard link (free), else a copy."""
    tmp.unlink(missing_ok=True)
    try:
        os.link(piece, tmp)
    except OSError:  # file systems without hard links (FAT, some network shares)
        shutil.copyfile(piece, tmp)


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
        lengths = [(b - a) / job.rate for a, b in job.frames]
        total, done = sum(lengths) or 1.0, 0.0
        for i, out in enumerate(outs):
            check_cancel(cancel)
            piece = job.piece(i, job.accurate, lambda f: progress((done + f * lengths[i]) / total), cancel)
            place(piece, job.temp(out))
            done += lengths[i]
        job.note_fast()
