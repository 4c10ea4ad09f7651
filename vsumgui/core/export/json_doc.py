"""The JSON document of DESIGN.md (Summary.to_json())."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from vsumgui.core.export.base import Exporter, Fraction, Job, register


@register
class JSONDoc(Exporter):
    name = "json"
    label = "JSON (scores, shots, selection)"
    ext = ".json"
    editors = "scripts (the vsumgui JSON contract)"
    order = 70

    def outputs(self, job: Job) -> list[Path]:
        return [job.path(f"{job.stem}-summary{self.ext}")]

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        if job.summary is not None:
            doc = job.summary.to_json()
        else:  # segments without a Summary: the parts of the contract that exist
            doc = {"video": job.video.to_json(),
                   "selection": {"segments": [[round(s, 6), round(e, 6)] for s, e in job.segments]}}
        (out,) = self.outputs(job)
        job.write_text(out, json.dumps(doc, indent=1))
        progress(1.0)
