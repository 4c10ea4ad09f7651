"""Final Cut Pro X XML (.fcpxml 1.9): one project whose spine holds the chosen segments.

Valid against Apple's FCPXML DTD of the version it declares: in 1.9 an <asset> holds its media
as a <media-rep kind="original-media" src="file://..."/> child (no src attribute), a sequence's
audioRate is one of the DTD's names (48k), and every attribute written is one the DTD lists
for its element (tests/test_export.py checks these rules).

Written by hand with ElementTree: the PyPI adapter otio-fcpx-xml-adapter 1.0.0 cannot write
the common camera rates (its frame-duration table is looked up with int(rate), so 23.976,
29.97 and 59.94 fps fail), computes times with float rates instead of 1001/30000 s, calls an
`ffprobe` that is not bundled, and writes the audio of a clip as a separate lane of gaps."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from fractions import Fraction as Q
from pathlib import Path

from vsumgui.core.export.base import Exporter, Fraction, Job, register


def frame_rate(rate: float) -> Q:
    """The rate as an exact fraction (30000/1001 for 29.97...), what FCPXML times are built on."""
    return Q(rate).limit_denominator(1001)


def seconds(frames: int, rate: Q) -> str:
    """A frame count as an FCPXML rational time ('0s', '1001/30000s', '48/24s')."""
    if frames == 0:
        return "0s"
    return f"{frames * rate.denominator}/{rate.numerator}s"


@register
class FCPXML(Exporter):
    name = "fcpxml"
    label = "Final Cut Pro XML"
    ext = ".fcpxml"
    editors = "Final Cut Pro, DaVinci Resolve, LosslessCut"
    order = 50

    def outputs(self, job: Job) -> list[Path]:
        return [job.path(f"{job.stem}-summary{self.ext}")]

    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        from vsumgui.core.export._timeline import source_start

        rate = frame_rate(job.rate)
        v, m = job.video, job.media
        tc0 = int(source_start(job, job.rate).value)  # the source's own timecode, in frames
        root = ET.Element("fcpxml", version="1.9")
        res = ET.SubElement(root, "resources")
        ET.SubElement(res, "format", id="r1", frameDuration=seconds(1, rate),
                      width=str(v.width), height=str(v.height))
        asset = {"id": "r2", "name": job.source.name, "start": seconds(tc0, rate),
                 "duration": seconds(v.n_frames, rate), "hasVideo": "1", "format": "r1"}
        if m.has_audio:
            asset.update(hasAudio="1", audioSources="1", audioChannels=str(m.audio_channels or 2),
                         audioRate=str(m.audio_rate or 48000))
        ET.SubElement(ET.SubElement(res, "asset", asset), "media-rep", kind="original-media",
                      src=job.source.resolve().as_uri())
        event = ET.SubElement(ET.SubElement(root, "library"), "event", name="vsumgui")
        project = ET.SubElement(event, "project", name=f"{job.stem} summary")
        total = sum(b - a for a, b in job.frames)
        seq = ET.SubElement(project, "sequence", format="r1", duration=seconds(total, rate),
                            tcStart="0s", tcFormat="NDF", audioLayout="stereo", audioRate="48k")
        spine = ET.SubElement(seq, "spine")
        offset = 0
        for i, (a, b) in enumerate(job.frames):
            ET.SubElement(spine, "asset-clip", ref="r2", name=f"{job.stem}-{i + 1:03d}",
                          offset=seconds(offset, rate), start=seconds(tc0 + a, rate),
                          duration=seconds(b - a, rate), format="r1", tcFormat="NDF")
            offset += b - a
        ET.indent(root)
        text = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n'
                + ET.tostring(root, encoding="unicode") + "\n")
        (out,) = self.outputs(job)
        job.write_text(out, text)
        progress(1.0)
