"""LosslessCut project (.llc): JSON5 with the media file name and the cut segments.

Written as plain JSON (valid JSON5) in LosslessCut's version-1 project layout
({version, mediaFileName, cutSegments: [{start, end, name}]}), which every LosslessCut
release reads (newer ones migrate it on load). No library writes .llc files.

LosslessCut opens a project's media at `path.join(dirname(project), mediaFileName)` (its
`userOpenSingleFile`), so the name is the video's path relative to the export folder
("../videos/a.mp4"). Where no relative path exists (another Windows drive) it is absolute,
which LosslessCut cannot open (Node's join keeps it under the project's folder); the README
says to export to the video's drive."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from vsumgui.core.export.base import Exporter, Fraction, Job, register


def media_name(video: Path, folder: Path) -> str:
    """The video as LosslessCut finds it from a project in `folder` ("/" separated)."""
    try:
        rel = os.path.relpath(video.absolute(), folder.absolute())
    except ValueError:  # Windows: another drive
        return str(video.absolute())
    return rel.replace(os.sep, "/")


@register
class LosslessCut(Exporter):
    name = "llc"
    label = "LosslessCut project"
    ext = ".llc"
    editors = "LosslessCut"
    order = 80

    def outputs(self, job: Job) -> list[Path]:
        # "<video>-proj.llc" is the name LosslessCut looks for beside the video
        return [job.path(f"{job.stem}-proj{self.ext}")]

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        doc = {"version": 1, "mediaFileName": media_name(job.source, job.out_dir),
               "cutSegments": [{"start": round(a / job.rate, 6), "end": round(b / job.rate, 6),
                                "name": f"{job.stem}-{i + 1:03d}"}
                               for i, (a, b) in enumerate(job.frames)]}
        (out,) = self.outputs(job)
        job.write_text(out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        progress(1.0)
