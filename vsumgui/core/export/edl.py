"""CMX 3600 EDL, written by OpenTimelineIO's cmx_3600 adapter (PyPI: otio-cmx3600-adapter)."""

from __future__ import annotations

import threading
from pathlib import Path

import opentimelineio as otio

from vsumgui.core.errors import VsumError
from vsumgui.core.export import _timeline
from vsumgui.core.export.base import Exporter, Fraction, Job, register

RT = otio.opentime.RationalTime


def edl_rate(rate: float) -> tuple[float, bool]:
    """A SMPTE timecode rate for the EDL, and whether the video's frames map onto it exactly.

    EDLs count in timecode, which exists only at the broadcast rates: a 15 or 12.5 fps video
    is written at twice its rate (every frame still exact); other rates at the nearest one."""
    if RT.is_valid_timecode_rate(rate):
        return rate, True
    for k in range(2, 9):
        near = RT.nearest_valid_timecode_rate(rate * k)
        if near and abs(near - rate * k) <= 1e-4 * rate * k:
            return near, True
    near = RT.nearest_valid_timecode_rate(rate)
    return (near if near > 0 else 24.0), False


@register
class EDL(Exporter):
    name = "edl"
    label = "CMX 3600 EDL"
    ext = ".edl"
    editors = "DaVinci Resolve, Premiere Pro, Avid Media Composer, LosslessCut"
    order = 30

    def outputs(self, job: Job) -> list[Path]:
        return [job.path(f"{job.stem}-summary{self.ext}")]

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        rate, exact = edl_rate(job.rate)
        if not exact:
            job.note(f"EDL: {job.rate:.3f} fps is not a timecode rate; cuts are rounded to "
                     f"frames at {rate:.3f} fps")
        # The adapter writes one video track; a clip named after the file lets editors
        # relink the events by "FROM CLIP NAME" as well as by the reel.
        tl = _timeline.build(job, rate, audio=False, clip_name=job.source.name)
        try:
            text = otio.adapters.write_to_string(tl, "cmx_3600", rate=rate, style="avid")
        except otio.exceptions.OTIOError as e:
            raise VsumError(f"EDL: {e}") from e
        (out,) = self.outputs(job)
        job.write_text(out, text)
        progress(1.0)
