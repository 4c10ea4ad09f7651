"""OpenTimelineIO (.otio): the selection as a timeline, video and audio tracks, and the scenes
it shows as markers on the timeline ("Scene 3", over the part of the summary that shows it)."""

from __future__ import annotations

import threading
from pathlib import Path

import opentimelineio as otio

from vsumgui.core.export import _scenes, _timeline
from vsumgui.core.export.base import Exporter, Fraction, Job, register


@register
class OTIO(Exporter):
    name = "otio"
    label = "OpenTimelineIO timeline"
    ext = ".otio"
    editors = "DaVinci Resolve 18.5+, Kdenlive 24.12+, OpenTimelineIO tools (otioview, otioconvert)"
    order = 40

    def outputs(self, job: Job) -> list[Path]:
        return [job.path(f"{job.stem}-summary{self.ext}")]

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        tl = _timeline.build(job)
        rate = job.rate
        for sc in _scenes.spans(job):
            a = int(round(sc.start * rate))
            m = otio.schema.Marker(name=sc.name, color=otio.schema.MarkerColor.PURPLE, marked_range=_timeline.TR(
                _timeline.RT(a, rate), _timeline.RT(max(1, int(round(sc.end * rate)) - a), rate)))
            m.metadata["vsumgui"] = {"scene": sc.number, "start": sc.source[0], "end": sc.source[1]}
            tl.tracks.markers.append(m)
        text = otio.adapters.write_to_string(tl, "otio_json")
        (out,) = self.outputs(job)
        job.write_text(out, text)
        progress(1.0)
