"""The summary video: the chosen segments joined in order into one file, with audio."""

from __future__ import annotations

import threading
from pathlib import Path

from vsumgui.core.export import _scenes
from vsumgui.core.export._cut import crossfade, cut_all, each, join_copies, mux
from vsumgui.core.export._media import EXACT_EXT
from vsumgui.core.export.base import Exporter, Fraction, Job, register


@register
class SummaryVideo(Exporter):
    name = "video"
    label = "Summary video (shots joined)"
    editors = "any player or editor"
    order = 20
    media = True

    def outputs(self, job: Job) -> list[Path]:
        # crossfades mean decoding and re-encoding, so the result is H.264/AAC MP4 in any mode
        ext = EXACT_EXT if self.fades(job) else job.media_ext()
        return [job.path(f"{job.stem}-summary{ext}")]

    @staticmethod
    def fades(job: Job) -> bool:
        return job.crossfade > 0 and len(job.frames) > 1

    def cost(self, job: Job) -> float:
        length = sum(b - a for a, b in job.frames) / job.rate
        return length * (2 if job.crossfade > 0 else 1)

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        (out,) = self.outputs(job)
        fade = self.fades(job)
        # crossfades decode the pieces: cut them frame-exact whatever the mode
        cut = "exact" if fade and job.cut == "keyframe" else job.cut
        lengths = [(b - a) / job.rate for a, b in job.frames]
        share = 0.5 if fade else 0.8  # of this format's progress: cutting, then joining
        pieces = cut_all(job, cut, lambda f: progress(share * f), cancel)
        join = lambda f: progress(share + (1 - share) * f)  # noqa: E731
        durs = [p.duration for p in pieces]
        # keyframe pieces start at the keyframe before their cut: the scene's content comes later
        leads = [max(0.0, p.duration - (b - a) / job.rate) for p, (a, b) in zip(pieces, job.frames)]
        chapters = job.work / "chapters.txt"
        if not fade:
            meta = _scenes.chapters(job, chapters, sum(durs), lengths=durs, leads=leads)
            if cut == "keyframe":
                join_copies(job, pieces, job.temp(out), out.suffix.lower(), join, cancel, meta)
                job.note_keyframe()
            else:
                mux(job, pieces, job.temp(out), out.suffix.lower(), join, cancel, meta)
            return
        # every shot inside the chain loses a fade at both ends, so a fade is at most half a shot
        d = max(0.0, min(job.crossfade, min(durs) / 2 - 1 / job.rate))
        if d < 1 / job.rate:
            meta = _scenes.chapters(job, chapters, sum(durs), lengths=durs)
            mux(job, pieces, job.temp(out), out.suffix.lower(), join, cancel, meta)
        else:
            files = [job.work / f"fade-{i:04d}.mp4" for i in range(len(pieces))]
            each(durs, lambda i, f, c: mux(job, [pieces[i]], files[i], ".mp4", f, c), None, cancel)
            meta = _scenes.chapters(job, chapters, sum(durs) - d * (len(durs) - 1), lengths=durs, overlap=d)
            crossfade(job, files, durs, job.temp(out), d, join, cancel, meta)
        if d < job.crossfade - 1e-6:
            job.note(f"summary video: crossfades shortened to {d:.2f} s (the shortest shot is "
                     f"{min(lengths):.2f} s)")
        if job.cut != "exact":
            job.note("summary video: crossfades re-encode the video (H.264/AAC MP4)")
