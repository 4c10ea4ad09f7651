"""OpenTimelineIO (.otio): the selection as a timeline, video and audio tracks."""

from __future__ import annotations

import threading
from pathlib import Path

import opentimelineio as otio

from vsumgui.core.export import _timeline
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
        text = otio.adapters.write_to_string(_timeline.build(job), "otio_json")
        (out,) = self.outputs(job)
        job.write_text(out, text)
        progress(1.0)
