"""The summary video: the chosen segments joined in order into one file, with audio."""

from __future__ import annotations

import threading
from pathlib import Path

from vsumgui.core.errors import check_cancel
from vsumgui.core.export._media import concat
from vsumgui.core.export.base import ACCURATE_EXT, Exporter, Fraction, Job, register


@register
class SummaryVideo(Exporter):
    name = "video"
    label = "Summary video (shots joined)"
    editors = "any player or editor"
    order = 20
    media = True

    def outputs(self, job: Job) -> list[Path]:
        # crossfades mean decoding and re-encoding, so the result is H.264/AAC MP4 in either mode
        ext = ACCURATE_EXT if job.crossfade > 0 and len(job.frames) > 1 else job.media_ext()
        return [job.path(f"{job.stem}-summary{ext}")]

    def cost(self, job: Job) -> float:
        length = sum(b - a for a, b in job.frames) / job.rate
        return length * (2 if job.crossfade > 0 else 1)

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        (out,) = self.outputs(job)
        fade = job.crossfade > 0 and len(job.frames) > 1
        accurate = job.accurate or fade  # crossfades decode the pieces: cut them frame-exact
        lengths = [(b - a) / job.rate for a, b in job.frames]
        total, done = sum(lengths) or 1.0, 0.0
        share = 0.5 if fade else 0.8  # of this format's progress: cutting, then joining
        pieces = []
        for i in range(len(job.frames)):
            check_cancel(cancel)
            pieces.append(job.piece(i, accurate, lambda f: progress(share * (done + f * lengths[i]) / total), cancel))
            done += lengths[i]
        used = concat(job, pieces, job.temp(out), lambda f: progress(share + (1 - share) * f), cancel,
                      job.crossfade if fade else 0.0)
        if fade and used < job.crossfade - 1e-6:
            job.note(f"summary video: crossfades shortened to {used:.2f} s (the shortest shot is "
                     f"{min(lengths):.2f} s)")
        if fade and not job.accurate:
            job.note("summary video: crossfades re-encode the video (H.264/AAC MP4)")
        if not accurate:
            job.note_fast()
