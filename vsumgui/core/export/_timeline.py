"""The selection as an OpenTimelineIO timeline (shared by the OTIO and EDL exports)."""

from __future__ import annotations

import opentimelineio as otio

from vsumgui.core.export.base import Job

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def source_start(job: Job, rate: float) -> RT:
    """Where the media's own timecode starts (cameras write one; 0 when the file has none)."""
    tc = job.media.timecode
    if tc:
        try:
            return otio.opentime.from_timecode(tc, rate)
        except ValueError:  # a timecode at a rate the file's frame rate cannot express
            pass
    return RT(0, rate)


def build(job: Job, rate: float | None = None, audio: bool = True, clip_name: str | None = None) -> otio.schema.Timeline:
    """A timeline of the chosen segments back to back, each a clip of the source video.

    `rate` defaults to the video's; frame numbers at another rate are rescaled from the
    video's frames (exact when the rate is a multiple of the video's)."""
    rate = rate or job.rate
    start = source_start(job, rate)
    total = int(round(job.video.n_frames * rate / job.rate))
    ref = otio.schema.ExternalReference(target_url=job.source.resolve().as_uri(),
                                        available_range=TR(start, RT(total, rate)))
    sel = job.summary.selection if job.summary is not None else None
    meta = {"method": sel.method, "ratio": sel.ratio, "mode": sel.mode} if sel else {}
    tl = otio.schema.Timeline(name=f"{job.stem} summary")
    tl.global_start_time = RT(0, rate)
    tl.metadata["vsumgui"] = {"video": job.source.name, **meta}
    kinds = [otio.schema.TrackKind.Video] + ([otio.schema.TrackKind.Audio] if audio and job.media.has_audio else [])
    for kind in kinds:
        track = otio.schema.Track(name=f"{kind[0]}1", kind=kind)
        for i, (a, b) in enumerate(job.frames):
            fa = int(round(a * rate / job.rate))
            fb = max(fa + 1, int(round(b * rate / job.rate)))
            clip = otio.schema.Clip(
                name=clip_name or f"{job.stem}-{i + 1:03d}", media_reference=ref.clone(),
                source_range=TR(start + RT(fa, rate), RT(fb - fa, rate)))
            clip.metadata["vsumgui"] = {"segment": i + 1, "start": a / job.rate, "end": b / job.rate}
            track.append(clip)
        tl.tracks.append(track)
    return tl
