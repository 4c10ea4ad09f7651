"""ffmpeg for the media exports: the bundled binary (imageio-ffmpeg), always an argument list,
progress from `-progress pipe:1`, cancel kills the process. PyAV reads stream facts."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vsumgui.core.errors import Cancelled, VsumError, check_cancel
from vsumgui.core.export.base import MUXERS

if TYPE_CHECKING:
    from vsumgui.core.export.base import Fraction, Job

# Accurate mode's encoding: H.264 (x264, "veryfast" keeps export quick on laptops; CRF 20 is
# visually close to the source) and AAC, yuv420p so every player and editor decodes it.
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "192k"]
GUARD = 0.25  # frames: cut times sit a quarter frame inside a frame's slot, never on its edge


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # the package raises RuntimeError when its binary is missing
        raise VsumError(f"ffmpeg is not available ({e}); reinstall imageio-ffmpeg") from e


def run_ffmpeg(args: list[str], duration: float, what: str, progress: "Fraction | None" = None,
               cancel: threading.Event | None = None) -> None:
    """Run ffmpeg with `args`; report the output time / `duration`; kill it on cancel."""
    check_cancel(cancel)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
           "-progress", "pipe:1", "-nostats", "-stats_period", "0.25", *args]
    # no console window pops up when the GUI runs on Windows
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty ffmpeg cannot block on it
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                creationflags=flags)
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                key, _, val = raw.decode("ascii", "replace").strip().partition("=")
                if key == "out_time_us" and progress and duration > 0 and val.lstrip("-").isdigit():
                    progress(min(1.0, max(0.0, int(val) / 1e6 / duration)))
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if proc.stdout:
                proc.stdout.close()
        check_cancel(cancel)
        if rc != 0:
            err.seek(0)
            lines = [ln.strip() for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            if any("No space left on device" in ln for ln in lines):
                raise VsumError(f"{what}: the disk is full")
            raise VsumError(f"{what}: ffmpeg failed ({lines[-1] if lines else f'exit code {rc}'})")
    if progress:
        progress(1.0)


@dataclass(frozen=True)
class MediaInfo:
    """Stream facts the exports need (PyAV): where the video starts inside the file, audio."""

    video_start: float  # seconds: the first video timestamp (OpenCV's media time 0)
    format_start: float  # seconds: the file's start (ffmpeg's -ss 0)
    has_audio: bool
    audio_channels: int = 0
    audio_rate: int = 0
    timecode: str | None = None  # the source's start timecode (cameras write one), if any

    def ss(self, media_t: float) -> float:
        """ffmpeg's input -ss for a media time (ffmpeg counts from the file start)."""
        return max(0.0, media_t + self.video_start - self.format_start)


def probe_media(path: Path) -> MediaInfo:
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise VsumError(f"{path}: no video stream")
            v = c.streams.video[0]
            vstart = float(v.start_time * v.time_base) if v.start_time is not None else 0.0
            fstart = c.start_time / 1e6 if c.start_time is not None else vstart
            a = c.streams.audio[0] if c.streams.audio else None
            tc = c.metadata.get("timecode") or next(
                (s.metadata["timecode"] for s in c.streams if "timecode" in s.metadata), None)
            return MediaInfo(vstart, fstart, a is not None,
                             a.codec_context.channels if a else 0, a.codec_context.sample_rate if a else 0, tc)
    except av.FFmpegError as e:
        raise VsumError(f"{path}: cannot read ({e})") from e


def keyframe_before(path: Path, media_t: float, info: MediaInfo) -> float | None:
    """The media time of the last video keyframe at or before `media_t` (None if unknown).

    This is where a stream copy must start: ffmpeg seeks the same index backwards."""
    import av

    try:
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            target = media_t + info.video_start
            c.seek(max(0, int(target / v.time_base)), stream=v, backward=True, any_frame=False)
            for pkt in c.demux(v):
                if pkt.pts is None:
                    continue
                t = float(pkt.pts * v.time_base)
                return t - info.video_start if pkt.is_keyframe and t <= target + 1e-6 else None
    except av.FFmpegError:
        return None
    return None


def cut(job: "Job", i: int, accurate: bool, dst: Path, progress: "Fraction | None",
        cancel: threading.Event | None) -> float:
    """Cut segment i of the job's video to `dst` (with audio).

    Accurate: decode from the keyframe before, re-encode H.264/AAC, first and last frame exact.
    Fast: stream copy from the keyframe at or before the cut (no re-encoding, so the clip may
    start early). Returns how many seconds before the cut the file starts."""
    m = job.media
    a, b = job.frames[i]
    rate = job.rate
    src = str(job.source)
    if accurate:
        ss = m.ss((a - GUARD) / rate)
        end = m.ss((b - GUARD) / rate)
        args = ["-ss", f"{ss:.6f}", "-i", src, "-t", f"{end - ss:.6f}",
                "-map", "0:v:0", "-map", "0:a:0?", *X264, *AAC, "-movflags", "+faststart",
                "-f", "mp4", str(dst)]
        early = 0.0
    else:
        kf = keyframe_before(job.source, (a + GUARD) / rate, m)
        start = a / rate if kf is None else min(kf, a / rate)
        early = a / rate - start
        ss = m.ss(start) + GUARD / rate  # just after the keyframe: ffmpeg seeks back onto it
        end = m.ss((b - GUARD) / rate)
        ext = dst.suffix.lower()
        args = ["-ss", f"{ss:.6f}", "-i", src, "-t", f"{max(end - ss, 1 / rate):.6f}",
                "-map", "0:v:0", "-map", "0:a?", "-c", "copy", "-avoid_negative_ts", "make_zero",
                *(["-movflags", "+faststart"] if MUXERS.get(ext) in ("mp4", "mov") else []),
                "-f", MUXERS.get(ext, "matroska"), str(dst)]
    run_ffmpeg(args, (b - a) / rate + early, f"{job.source.name} segment {i + 1}", progress, cancel)
    return early


def concat(job: "Job", pieces: list[Path], dst: Path, progress: "Fraction | None",
           cancel: threading.Event | None, crossfade: float = 0.0) -> float:
    """Join pieces in order into `dst`: stream copy, or re-encoded with crossfades.

    Returns the crossfade actually used (shortened when a shot is shorter than two fades)."""
    durs = [(b - a) / job.rate for a, b in job.frames]
    total = sum(durs)
    ext = dst.suffix.lower()
    if crossfade <= 0 or len(pieces) < 2:
        lst = job.work / "concat.txt"
        lines = ["ffconcat version 1.0"] + [f"file '{_quote(p)}'" for p in pieces]
        lst.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args = ["-f", "concat", "-safe", "0", "-i", str(lst), "-map", "0", "-c", "copy",
                *(["-movflags", "+faststart"] if MUXERS.get(ext) in ("mp4", "mov") else []),
                "-f", MUXERS.get(ext, "matroska"), str(dst)]
        run_ffmpeg(args, total, f"{job.source.name} summary video", progress, cancel)
        return 0.0
    # every shot inside the chain loses a fade at both ends, so a fade is at most half a shot
    d = min(crossfade, min(durs) / 2 - 1 / job.rate)
    d = max(d, 0.0)
    if d < 1 / job.rate:
        return concat(job, pieces, dst, progress, cancel, 0.0)
    inputs: list[str] = []
    for p in pieces:
        inputs += ["-i", str(p)]
    fps = f"{job.rate:.6f}"
    graph = [f"[{k}:v]fps={fps},settb=AVTB,format=yuv420p[v{k}]" for k in range(len(pieces))]
    prev, offset = "v0", 0.0
    for k in range(1, len(pieces)):
        offset += durs[k - 1] - d
        out = "vout" if k == len(pieces) - 1 else f"x{k}"
        graph.append(f"[{prev}][v{k}]xfade=transition=fade:duration={d:.6f}:offset={offset:.6f}[{out}]")
        prev = out
    maps = ["-map", "[vout]"]
    if job.media.has_audio:
        prev = "0:a"
        for k in range(1, len(pieces)):
            out = "aout" if k == len(pieces) - 1 else f"y{k}"
            graph.append(f"[{prev}][{k}:a]acrossfade=d={d:.6f}:c1=tri:c2=tri[{out}]")
            prev = out
        maps += ["-map", "[aout]"]
    args = [*inputs, "-filter_complex", ";".join(graph), *maps, *X264,
            *(AAC if job.media.has_audio else []), "-movflags", "+faststart", "-f", "mp4", str(dst)]
    run_ffmpeg(args, total - d * (len(pieces) - 1), f"{job.source.name} summary video", progress, cancel)
    return d


def _quote(p: Path) -> str:
    """A path inside single quotes of ffmpeg's concat list ('\\'' ends, escapes, reopens)."""
    return str(p.resolve()).replace("'", "'\\''")
