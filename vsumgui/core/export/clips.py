"""Clips: one video file per chosen segment, with audio."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from vsumgui.core.errors import check_cancel
from vsumgui.core.export._cut import mux, piece
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
        lengths = [(b - a) / job.rate for a, b in job.frames]
        total, done = sum(lengths) or 1.0, 0.0
        for i, out in enumerate(outs):
            check_cancel(cancel)
            p = piece(job, i, lambda f: progress((done + 0.9 * f * lengths[i]) / total), cancel)
            if p.file is not None:  # keyframe mode: the stream copy is the clip
                place(p.file, job.temp(out))
            else:
                mux(job, [p], job.temp(out), out.suffix.lower(), None, cancel)
            done += lengths[i]
            progress(done / total)
        job.note_keyframe()
