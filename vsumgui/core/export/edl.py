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


def header(text: str, fps: float, rate: float, exact: bool) -> str:
    """Add the FCM line (the adapter writes none) and, when the video's rate is not the
    timecode's, a comment saying how frames map (readers must count at `rate`).

    The comment goes under the first event: comments before any event stop some readers
    (OpenTimelineIO's among them)."""
    lines = text.splitlines()
    events = [k for k, ln in enumerate(lines) if ln[:3].isdigit()]
    drop = any(";" in lines[k] for k in events)
    if abs(rate - fps) > 1e-3 and events:
        per = rate / fps
        lines.insert(events[0] + 1, f"* VSUMGUI: THE VIDEO IS {fps:.6g} FPS; TIMECODE COUNTS AT {rate:.6g} FPS "
                     + (f"({per:.6g} TIMECODE FRAMES PER VIDEO FRAME)" if exact else "(CUTS ROUNDED TO ITS FRAMES)"))
    at = 1 if lines and lines[0].startswith("TITLE:") else 0
    lines.insert(at, f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}")
    return "\n".join(lines) + "\n"


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
        for clip in tl.find_clips():
            # "AX" (auxiliary source) is the reel every editor accepts for a file; the file is
            # named by the "* FROM CLIP NAME:" and "* SOURCE FILE:" comments of each event
            clip.metadata["cmx_3600"] = {"reel": "AX"}
        try:
            text = otio.adapters.write_to_string(tl, "cmx_3600", rate=rate, style="avid")
        except otio.exceptions.OTIOError as e:
            raise VsumError(f"EDL: {e}") from e
        text = header(text, job.rate, rate, exact)
        (out,) = self.outputs(job)
        job.write_text(out, text)
        progress(1.0)
