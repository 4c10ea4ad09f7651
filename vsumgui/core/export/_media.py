"""ffmpeg and PyAV for the media exports: the bundled binary (imageio-ffmpeg), always an
argument list, progress from `-progress pipe:1`, cancel kills the process; PyAV reads the
stream facts (start times, codec parameters, every video packet's timestamps and keyframes).

This module knows nothing of jobs or exporters (base.py and _cut.py import it, never the
other way round)."""

from __future__ import annotations

import bisect
import logging
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vsumgui.core.errors import Cancelled, VsumError, check_cancel

log = logging.getLogger(__name__)

Fraction = Callable[[float], None]  # an exporter's own progress, 0..1

# ffmpeg muxer per extension: the container always matches the file name.
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
          ".avi": "avi", ".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts", ".mpg": "mpeg",
          ".mpeg": "mpeg", ".flv": "flv", ".ogv": "ogg", ".3gp": "3gp", ".wmv": "asf"}
FALLBACK_EXT = ".mkv"  # keyframe mode: Matroska takes nearly any codec when the source's container is unknown
EXACT_EXT = ".mp4"  # exact mode: H.264 + AAC in MP4, what every editor and player opens
SMART_CODECS = {"h264": "libx264", "hevc": "libx265"}  # codec -> the encoder whose output splices into it
SMART_EXTS = {".mp4", ".m4v", ".mov", ".mkv"}  # smart cut keeps these containers; others become MP4

# Exact mode's encoding: H.264 (x264, "veryfast" keeps export quick on laptops; CRF 20 is
# visually close to the source), yuv420p so every player and editor decodes it.
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
# FFmpeg's AAC at 192 kb/s with its "fast" coder: half the CPU of the default two-loop search
# (90 s of stereo: 0.93 s instead of 1.74 s), a difference nobody hears at this rate
AAC = ["-c:a", "aac", "-b:a", "192k", "-aac_coder", "fast"]
# containers whose seeks are a timestamp search in the stream, which can land past the keyframe
UNINDEXED = {"mpeg", "mpegts", "mpegvideo", "h264", "hevc", "m4v", "mpegtsraw", "vob"}
GUARD = 0.25  # frames: cut times sit a quarter frame inside a frame's slot, never on its edge


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # the package raises RuntimeError when its binary is missing
        raise VsumError(f"ffmpeg is not available ({e}); reinstall imageio-ffmpeg") from e


def run_ffmpeg(args: list[str], duration: float, what: str, progress: Fraction | None = None,
               cancel: threading.Event | None = None) -> None:
    """Run ffmpeg with `args`; report the output time / `duration`; kill it on cancel.

    ffmpeg's warnings (a muxer complaining about timestamps, say) are logged: the tests
    assert there are none."""
    check_cancel(cancel)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "warning",
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
        err.seek(0)
        lines = [ln.strip() for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        if rc != 0:
            if any("No space left on device" in ln for ln in lines):
                raise VsumError(f"{what}: the disk is full")
            raise VsumError(f"{what}: ffmpeg failed ({lines[-1] if lines else f'exit code {rc}'})")
        for ln in lines:
            log.warning("%s: ffmpeg: %s", what, ln)
    if progress:
        progress(1.0)


@dataclass(frozen=True)
class MediaInfo:
    """Stream facts the exports need (PyAV): where the video starts, its codec, the audio."""

    video_start: float  # seconds: the first video timestamp (OpenCV's media time 0)
    format_start: float  # seconds: the file's start (ffmpeg's -ss 0)
    has_audio: bool
    audio_channels: int = 0
    audio_rate: int = 0
    timecode: str | None = None  # the source's start timecode (cameras write one), if any
    audio_streams: int = 0
    codec: str = ""  # video codec name (h264, hevc, vp8, ...)
    profile: str | None = None
    level: int = 0
    pix_fmt: str | None = None
    width: int = 0
    height: int = 0
    sar: tuple[int, int] = (1, 1)
    rotation: int = 0  # degrees of the display matrix (phones)
    indexed: bool = True  # seeks land on a keyframe at or before the target (not MPEG-PS/TS, raw streams)

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
            cc = v.codec_context
            sar = cc.sample_aspect_ratio
            rot = 0  # any display matrix: smart cut falls back (see _cut), exact mode applies it
            if v.metadata.get("rotate", "0") not in ("0", "") or any(
                    "DISPLAYMATRIX" in str(k).upper() for k in (getattr(v, "side_data", None) or {})):
                rot = 90
            return MediaInfo(vstart, fstart, a is not None,
                             a.codec_context.channels if a else 0, a.codec_context.sample_rate if a else 0, tc,
                             len(c.streams.audio), cc.name, cc.profile, int(cc.level or 0),
                             cc.format.name if cc.format else None, cc.width, cc.height,
                             (sar.numerator, sar.denominator) if sar else (1, 1), rot,
                             not set(c.format.name.split(",")) & UNINDEXED)
    except av.FFmpegError as e:
        raise VsumError(f"{path}: cannot read ({e})") from e


@dataclass
class Packets:
    """Every video packet of a file, read once (no decoding): the facts a smart cut needs.

    `pts` are media seconds (from the first video frame) in display order; `cuts` are the
    keyframe times where a stream copy can start and the previous part can end: no packet
    before the keyframe in decode order is shown after it, none after it is shown before it
    (open GOPs' leading pictures fail this test, so their keyframes are never used)."""

    pts: list[float] = field(default_factory=list)  # display order
    cuts: list[float] = field(default_factory=list)  # clean keyframes, sorted
    keys: list[float] = field(default_factory=list)  # every keyframe, sorted
    delay: int = 0  # the reorder delay in frames (B-frames): how many frames decoding runs ahead

    def key_before(self, t: float) -> float:
        """The last keyframe at or before `t` (0 when there is none)."""
        k = bisect.bisect_right(self.keys, t) - 1
        return self.keys[k] if k >= 0 else 0.0

    def index(self, t: float, guard: float) -> int:
        """Index of the first frame shown at or after `t - guard`."""
        return bisect.bisect_left(self.pts, t - guard)

    def time(self, k: int, frame: float) -> float:
        """The display time of frame k; one frame after the last for k == len."""
        return self.pts[k] if k < len(self.pts) else (self.pts[-1] + frame if self.pts else 0.0)


def read_packets(path: Path, info: MediaInfo, frame: float) -> Packets:
    import av

    order: list[tuple[float, bool]] = []  # decode order: (pts, keyframe)
    try:
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            tb = float(v.time_base)
            for p in c.demux(v):
                if p.pts is not None:
                    order.append((p.pts * tb - info.video_start, bool(p.is_keyframe)))
    except av.FFmpegError as e:
        raise VsumError(f"{path}: cannot read ({e})") from e
    n = len(order)
    before = [float("-inf")] * (n + 1)  # max pts of packets [0, j)
    for j, (t, _) in enumerate(order):
        before[j + 1] = max(before[j], t)
    after = [float("inf")] * (n + 1)  # min pts of packets [j, n)
    for j in range(n - 1, -1, -1):
        after[j] = min(after[j + 1], order[j][0])
    cuts = sorted(t for j, (t, key) in enumerate(order) if key and before[j] < t <= after[j])
    # A decoder must hold back `delay` frames: packet j (decode order) is shown as frame rank(j),
    # and a dts that never passes the pts needs delay >= j - rank(j). Read from the order, not
    # from stored dts (Matroska and AVI store none; ffmpeg guesses them).
    rank = {j: r for r, j in enumerate(sorted(range(n), key=lambda j: order[j][0]))}
    delay = max((j - rank[j] for j in range(n)), default=0)
    return Packets(sorted(t for t, _ in order), cuts, sorted(t for t, key in order if key), max(0, delay))


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


def quote(p: Path) -> str:
    """A path inside single quotes of ffmpeg's concat list ('\\'' ends, escapes, reopens)."""
    return str(p.resolve()).replace("'", "'\\''")
