"""The video's scenes on the summary's own clock: OTIO markers and the summary video's chapters.

The summary is the chosen segments back to back, so a scene appears in it where one of its
segments (or the part of a segment that lies in the scene) is played. Choices (the issue is
silent): only the scenes the summary shows get a marker or chapter, named after their number
in the whole video ("Scene 3", as the window's scene band counts them); an overlap shorter than
MIN_OVERLAP (a frame of rounding at a cut) does not count; a chapter runs until the next one
starts (the first from 0, the last to the end), so chapters tile the summary as players expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vsumgui.core.export.base import Job

MIN_OVERLAP = 0.1  # seconds: less than this of a scene inside a segment is rounding, not content


@dataclass(frozen=True)
class Span:
    """One scene as the summary shows it: its number (from 1) and its source and summary times."""

    number: int
    source: tuple[float, float]  # seconds of the source video [start, end) of the whole scene
    start: float  # seconds of the summary where the scene is first shown
    end: float  # seconds of the summary where it is last shown

    @property
    def name(self) -> str:
        return f"Scene {self.number}"


def spans(job: Job, lengths: list[float] | None = None, leads: list[float] | None = None,
          overlap: float = 0.0) -> list[Span]:
    """The scenes the summary shows, in order, on its clock.

    `lengths`: each segment's length in the summary (default: its frames); `leads`: how much a
    piece starts before its cut (keyframe mode); `overlap`: the crossfade between pieces."""
    scenes = job.scenes
    n = len(job.frames)
    if not len(scenes) or not n:
        return []
    lengths = lengths or [(b - a) / job.rate for a, b in job.frames]
    leads = leads or [0.0] * n
    found: dict[int, list[float]] = {}
    offset = 0.0
    for i in range(n):
        a, b = job.times(i)
        for c, (s0, s1) in enumerate(scenes):
            lo, hi = max(a, s0), min(b, s1)
            if hi - lo < min(MIN_OVERLAP, (b - a) / 2):
                continue
            t0, t1 = offset + leads[i] + lo - a, offset + leads[i] + hi - a
            got = found.setdefault(c, [t0, t1])
            got[0], got[1] = min(got[0], t0), max(got[1], t1)
        offset += lengths[i] - overlap
    return [Span(c + 1, (float(scenes[c][0]), float(scenes[c][1])), t0, t1) for c, (t0, t1) in sorted(found.items())]


def chapters(job: Job, path: Path, total: float, **kw) -> Path | None:
    """Write the summary's chapters (one per scene shown) as an FFMETADATA file for ffmpeg's
    -map_chapters; None when there are none to write. `total`: the summary's length; `kw`: see `spans`."""
    shown = spans(job, **kw)
    if not shown:
        return None
    ms = [0] + [int(round(s.start * 1000)) for s in shown[1:]] + [int(round(total * 1000))]
    lines = [";FFMETADATA1"]
    for k, s in enumerate(shown):
        if ms[k + 1] <= ms[k]:
            continue
        title = s.name.replace("\\", "\\\\").replace("=", "\\=").replace(";", "\\;").replace("#", "\\#")
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={ms[k]}", f"END={ms[k + 1]}", f"title={title}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ffmpeg_args(meta: Path | None, index: int) -> tuple[list[str], list[str]]:
    """(input arguments, output arguments) that give the output the chapters of `meta`, read as
    input number `index`; without chapters, nothing."""
    if meta is None:
        return [], []
    return ["-f", "ffmetadata", "-i", str(meta)], ["-map_chapters", str(index)]
