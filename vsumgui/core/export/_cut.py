"""Cutting segments out of the source and joining them (clips and the summary video).

- exact: each segment's frames re-encoded (H.264, 8-bit 4:2:0, even size keeping the display
  aspect), audio re-encoded (AAC) to the same length: first and last frame exact.
- smart (H.264/HEVC): the GOPs lying wholly inside a segment are copied packet by packet
  (PyAV); only the partial GOPs at its head and tail are re-encoded, with the source's
  profile, level, size, pixel format and B-frame delay so that the parts splice. Every part is
  an MPEG-TS in Annex B form, so each part carries its own parameter sets (the encoder's
  extradata travels in band) and one decoder reads the joined stream. Sources a smart cut
  cannot splice safely (other codecs, 10-bit, odd sizes, rotation, a deeper B-frame delay than
  x264/x265 can match) are re-encoded as in exact mode, and the export says so.
- keyframe: stream copy from the keyframe at or before each cut (not frame-exact).

Exact and smart pieces are video parts (MPEG-TS) and one WAV per audio stream, each exactly
the segment's length; `mux` joins any run of pieces into the final container (from the final
file's extension) with ffmpeg's concat demuxer, the audio encoded once to AAC, so timestamps
stay monotonic across the joins.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from vsumgui.core.cpu import cut_jobs
from vsumgui.core.errors import Cancelled, Either, VsumError, check_cancel
from vsumgui.core.export import _media, _scenes
from vsumgui.core.export._media import AAC, GUARD, MUXERS, SMART_CODECS, X264, Fraction, keyframe_before, quote
from vsumgui.core.export.base import Job

# x264 profile names by PyAV's; anything else (High 10, 4:2:2, 4:4:4) cannot be matched in 8 bits
X264_PROFILES = {"High": "high", "Main": "main", "Baseline": "baseline", "Constrained Baseline": "baseline"}
_JOINS = itertools.count()  # names of the concat lists in a job's scratch folder
EVEN = "scale=w='2*trunc(iw*sar/2+0.5)':h='2*trunc(ih/2+0.5)',setsar=1,format=yuv420p"


@dataclass
class Piece:
    """One segment, cut: MPEG-TS video parts with their durations and one WAV per audio stream
    (exact/smart), or a single stream-copied file (keyframe)."""

    duration: float
    parts: list[tuple[Path, float]] = field(default_factory=list)
    audio: list[Path] = field(default_factory=list)
    file: Path | None = None


def piece(job: Job, i: int, progress: Fraction | None, cancel: threading.Event | None,
          cut: str | None = None) -> Piece:
    """Segment i cut in the job's mode (or `cut`), once per job (clips and the summary video share it)."""
    cut = cut or job.cut
    key = (i, cut)
    if key not in job.pieces:
        if cut == "keyframe":
            job.pieces[key] = keyframe_piece(job, i, progress, cancel)
        else:
            job.pieces[key] = exact_piece(job, i, cut, progress, cancel)
    elif progress:
        progress(1.0)
    return job.pieces[key]


T = TypeVar("T")


def each(weights: list[float], task: Callable[[int, Fraction, threading.Event], T], progress: Fraction | None,
         cancel: threading.Event | None) -> list[T]:
    """task(i, progress_i, cancel_i) for every i, one task per core at a time (cpu.cut_jobs);
    results in order.

    Cutting a piece is mostly one ffmpeg process that uses a single core (a second of video
    re-encoded, a clip muxed), so pieces run side by side. Progress is the weighted sum of the
    tasks' own fractions. When one task fails the others are stopped, and its error raised."""
    total = sum(weights) or 1.0
    fracs = [0.0] * len(weights)
    lock = threading.Lock()
    stop = Either(cancel)

    def report(i: int, f: float) -> None:
        with lock:
            fracs[i] = f
            if progress:
                progress(sum(w * x for w, x in zip(weights, fracs)) / total)

    def halt() -> None:
        stop.set()  # the running ones return at their next check (ffmpeg killed); the queued never start
        for f in futures:
            f.cancel()

    with ThreadPoolExecutor(max_workers=workers(len(weights)), thread_name_prefix="vsumgui-cut") as pool:
        futures = [pool.submit(task, i, lambda f, i=i: report(i, f), stop) for i in range(len(weights))]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # Ctrl-C in the CLI: nothing may go on cutting into the scratch folder
            halt()
            wait(futures)
            raise
        if any(f.done() and f.exception() for f in futures):
            halt()
        wait(futures)
    errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
    check_cancel(cancel)
    if errors:  # a sibling's error, not the Cancelled it caused in the others
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    return [f.result() for f in futures]


def workers(tasks: int) -> int:
    """Tasks `each` runs at once."""
    return max(1, min(tasks, cut_jobs()))


def threads(tasks: int) -> int:
    """FFmpeg threads (decoder and encoder) for each of `tasks` tasks run side by side: the
    process's share of the cores split among them, so that N encoders side by side do not each
    start x264's 1.5 threads per core (N times the threads and the memory)."""
    return max(1, cut_jobs() // workers(tasks))


def cut_all(job: Job, cut: str | None, progress: Fraction | None, cancel: threading.Event | None) -> list[Piece]:
    """Every segment cut (see `piece`), side by side."""
    job.work, job.media  # noqa: B018  (made once, before the threads share them)
    if (cut or job.cut) != "keyframe":
        job.packets  # noqa: B018
    lengths = [(b - a) / job.rate for a, b in job.frames]
    return each(lengths, lambda i, f, c: piece(job, i, f, c, cut), progress, cancel)


def bounds(job: Job, i: int) -> tuple[float, float]:
    """Segment i as the display times of its first frame and of the frame after its last
    (from the packets: exact for variable frame rates too)."""
    a, b = job.frames[i]
    p, frame = job.packets, 1.0 / job.rate
    if not p.pts:
        return a * frame, b * frame
    ka, kb = p.index(a * frame, GUARD * frame), p.index(b * frame, GUARD * frame)
    kb = max(kb, ka + 1)
    return p.time(ka, frame), p.time(kb, frame)


def smart_problem(job: Job) -> str | None:
    """Why the source cannot be smart cut (None when it can)."""
    m, p = job.media, job.packets
    if m.codec not in SMART_CODECS:
        return f"{m.codec} video cannot be spliced"
    if m.pix_fmt != "yuv420p":
        return f"{m.pix_fmt} video is re-encoded to 8-bit 4:2:0"
    if m.codec == "h264" and m.profile not in X264_PROFILES:
        return f"the H.264 profile {m.profile} cannot be matched"
    if m.width % 2 or m.height % 2:
        return f"the odd size {m.width}x{m.height} cannot be encoded in 4:2:0"
    if m.rotation or job.video.rotation:
        return "rotated video is re-encoded upright"
    if p.delay > 2:
        return "its B-frame delay cannot be matched"
    return None


def exact_piece(job: Job, i: int, cut: str, progress: Fraction | None, cancel: threading.Event | None) -> Piece:
    fa, fb = bounds(job, i)
    what = f"{job.source.name} segment {i + 1}"
    out = job.work / f"piece-{i:04d}-{cut}"
    audio = audio_parts(job, fa, fb, out, what, cancel)
    why = smart_problem(job) if cut == "smart" else "exact"
    if why is not None:
        if why != "exact":
            job.note(f"smart cut: {why}; re-encoded instead (H.264/AAC, frame-exact)")
        part = out.with_name(out.name + "-v.ts")
        encode(job, fa, fb, part, EXACT_ENC, what, progress, cancel)
        return Piece(fb - fa, [(part, fb - fa)], audio)
    # smart: copy [c1, c2), the clean keyframe boundaries inside the segment; encode the rest
    p, frame = job.packets, 1.0 / job.rate
    eps = GUARD * frame
    ends = [*p.cuts, p.time(len(p.pts), frame)]  # the end of the stream is a clean boundary too
    c1 = next((c for c in ends if c >= fa - eps), None)
    c2 = next((c for c in reversed(ends) if c <= fb + eps), None)
    enc = matched(job)
    if any(fa + eps < k < fb - eps for k in p.keys) and not any(fa - eps <= c <= fb + eps for c in p.cuts):
        job.note("smart cut: the video's GOPs are open (their leading frames need the GOP before), "
                 "so no GOP can be copied; re-encoded with matching parameters")
    parts = []
    if c1 is None or c2 is None or c2 <= c1 + eps:  # no whole GOP inside: re-encode it all
        part = out.with_name(out.name + "-h.ts")
        encode(job, fa, fb, part.with_suffix(".enc.ts"), enc, what, progress, cancel)
        retime(part.with_suffix(".enc.ts"), part, job.packets.delay, frame)
        return Piece(fb - fa, [(part, fb - fa)], audio)
    if c1 > fa + eps:
        parts.append((out.with_name(out.name + "-h.ts"), fa, c1, True))
    parts.append((out.with_name(out.name + "-m.ts"), c1, c2, False))
    if fb > c2 + eps:
        parts.append((out.with_name(out.name + "-t.ts"), c2, fb, True))
    done: list[tuple[Path, float]] = []
    for path, s, e, reencode in parts:
        check_cancel(cancel)
        if reencode:
            encode(job, s, e, path.with_suffix(".enc.ts"), enc, what, None, cancel)
            retime(path.with_suffix(".enc.ts"), path, job.packets.delay, frame)
        else:
            copy(job, s, e, path, cancel)
        done.append((path, e - s))
        if progress:
            progress((e - fa) / max(fb - fa, 1e-9))
    with job.mutex:
        job.smart_copied += c2 - c1
    return Piece(fb - fa, done, audio)


EXACT_ENC = [*X264, "-vf", EVEN]
# A smart cut re-encodes a second or so around each cut, at a low CRF (near the source's quality):
# "ultrafast" (with CABAC, deblocking and 8x8 transforms, see `matched`) took 0.72 s of CPU per 17
# frames of 1080p against 0.84-0.98 s at "superfast", for the same size.
SMART_PRESET = "ultrafast"


def matched(job: Job) -> list[str]:
    """Encoder arguments whose output splices into the source's stream: same codec, profile,
    level, pixel format and size (the frames' own), and the same B-frame reorder delay, so
    that decoding timestamps keep increasing across each join."""
    m, d = job.media, job.packets.delay
    if m.codec == "h264":
        profile = X264_PROFILES[m.profile or "High"]
        # "ultrafast" with the tools that cost little back: CABAC and the deblocking filter (15 %
        # smaller at the same CRF, no block edges), and in High the 8x8 transform, so the parts
        # say High as the source does (without it x264 writes Main)
        params = [*(["8x8dct=1"] if profile == "high" else []), *(["b-pyramid=normal"] if d >= 2 else [])]
        bf = ["-bf", str(d if d < 2 else 3)]
        lvl = ["-level:v", f"{m.level // 10}.{m.level % 10}"] if m.level else []
        return ["-c:v", "libx264", "-preset", SMART_PRESET, "-crf", "16", "-profile:v", profile, *lvl,
                "-pix_fmt", "yuv420p", *bf, "-deblock", "0:0",
                *(["-coder", "cabac"] if profile != "baseline" else []),
                *(["-x264-params", ":".join(params)] if params else [])]
    bframes = {0: "bframes=0", 1: "bframes=1:b-pyramid=0"}.get(d, "bframes=4:b-pyramid=1")
    return ["-c:v", "libx265", "-preset", SMART_PRESET, "-crf", "18", "-pix_fmt", "yuv420p",
            "-x265-params", f"{bframes}:log-level=error"]


def encode(job: Job, s: float, e: float, dst: Path, enc: list[str], what: str, progress: Fraction | None,
           cancel: threading.Event | None) -> None:
    """Re-encode the source's frames shown in [s, e) (media seconds) to an MPEG-TS."""
    n = ["-threads", str(threads(len(job.frames)))]  # pieces are encoded side by side (cut_all)
    _media.run_ffmpeg([*n, *seek(job, s - GUARD / job.rate), "-t", f"{e - s:.6f}", "-map", "0:v:0",
                       "-an", "-sn", "-dn", "-fps_mode", "passthrough", *enc, *n, "-f", "mpegts", str(dst)],
                      e - s, what, progress, cancel)


def dts(shown: list[float], j: int, d: int, frame: float) -> float:
    """The decoding time of the j-th packet (decode order) of a part whose frames are shown
    at `shown` (sorted), for a reorder delay of d frames: the time of frame j - d.

    Every part of a smart cut gets the source's delay this way (an encoder holds back fewer
    frames in a part of one or two frames), so decoding times keep increasing across joins."""
    return shown[j - d] if j >= d else shown[0] - (d - j) * frame


def retime(src: Path, dst: Path, d: int, frame: float) -> None:
    """Copy an MPEG-TS, its decoding times set by `dts` for delay d."""
    import av

    with av.open(str(src)) as ic:
        v = ic.streams.video[0]
        shown = sorted(p.pts for p in ic.demux(v) if p.pts is not None)
    tick = frame / float(v.time_base)
    with av.open(str(src)) as ic, av.open(str(dst), "w", format="mpegts") as oc:
        iv = ic.streams.video[0]
        ov = oc.add_stream_from_template(iv)
        j = 0
        for pkt in ic.demux(iv):
            if pkt.size == 0 or pkt.pts is None:
                continue
            pkt.dts = int(round(dts(shown, j, d, tick)))
            j += 1
            pkt.stream = ov
            oc.mux(pkt)
    src.unlink()


def seek(job: Job, t: float) -> list[str]:
    """ffmpeg arguments that decode the source from media time `t` on, exactly.

    An input -ss seeks and then drops the frames before `t`; where seeking is a timestamp
    search (MPEG-PS/TS) it can land past the keyframe the frame at `t` needs, so there the
    input seek goes half a second before the keyframe and an output -ss drops the rest."""
    m = job.media
    if m.indexed:
        return ["-ss", f"{m.ss(t):.6f}", "-i", str(job.source)]
    t0 = max(0.0, job.packets.key_before(t) - 0.5)
    if m.ss(t0) <= 0:
        return ["-i", str(job.source), "-ss", f"{m.ss(t):.6f}"]
    return ["-ss", f"{m.ss(t0):.6f}", "-i", str(job.source), "-ss", f"{m.ss(t) - m.ss(t0):.6f}"]


def copy(job: Job, s: float, e: float, dst: Path, cancel: threading.Event | None) -> None:
    """Copy the packets shown in [s, e) (whole GOPs: s and e are clean keyframe boundaries) to
    an MPEG-TS, in Annex B with the parameter sets in band."""
    import av
    from av.bitstream import BitStreamFilterContext

    m, g = job.media, GUARD / job.rate
    try:
        for target in (job.packets.key_before(s - g) - 1.0, None):  # None: from the file's start
            with av.open(str(job.source)) as ic, av.open(str(dst), "w", format="mpegts") as oc:
                iv = ic.streams.video[0]
                tb = float(iv.time_base)
                ov = oc.add_stream_from_template(iv)
                bsf = BitStreamFilterContext(f"{m.codec}_mp4toannexb", iv, ov)
                if target is not None and target > 0:
                    ic.seek(int((target + m.video_start) / tb), stream=iv, backward=True)
                shown = [t for t in job.packets.pts if s - g <= t < e - g]
                retimed = (shown, job.packets.delay, 1.0 / job.rate)
                if _copy_packets(ic, iv, oc, ov, bsf, tb, m.video_start, s, e, g, cancel, retimed):
                    return
        raise VsumError(f"{job.source.name}: cannot find the keyframe at {s:.3f} s")
    except av.FFmpegError as err:
        raise VsumError(f"{job.source.name}: cannot copy the video ({err})") from err


def _copy_packets(ic, iv, oc, ov, bsf, tb: float, t0: float, s: float, e: float, g: float,
                  cancel: threading.Event | None, retimed: tuple[list[float], int, float]) -> bool:
    """Mux the packets from the keyframe shown at `s` up to the keyframe shown at `e`; False
    when the demuxer is already past the keyframe at `s` (the seek landed too late)."""
    started, n = False, 0
    for pkt in ic.demux(iv):
        if pkt.size == 0:  # the demuxer's end-of-stream packet
            continue
        t = pkt.pts * tb - t0 if pkt.pts is not None else None
        if not started:
            if t is None or not pkt.is_keyframe or abs(t - s) > g:
                if t is not None and pkt.is_keyframe and t > s + g:
                    return False
                continue
            started = True
        elif pkt.is_keyframe and t is not None and t >= e - g:
            break
        if t is not None:  # decoding times by the source's delay (Matroska and AVI store none)
            shown, d, frame = retimed
            pkt.dts = int(round((dts(shown, n, d, frame) + t0) / tb)) if shown else pkt.dts
        n += 1
        if n % 200 == 0:
            check_cancel(cancel)
        for out in bsf.filter(pkt):
            out.stream = ov
            oc.mux(out)
    if not started:
        return False
    for out in bsf.filter(None):
        out.stream = ov
        oc.mux(out)
    return True


def audio_parts(job: Job, fa: float, fb: float, out: Path, what: str,
                cancel: threading.Event | None) -> list[Path]:
    """Each audio stream over [fa, fb) as 24-bit WAV (extensible: it keeps the channel layout)
    of exactly that length, padded with silence where the source's audio starts late or ends
    early, so that it stays in sync."""
    n = job.media.audio_streams
    if not n:
        return []
    paths = [out.with_name(f"{out.name}-a{k}.wav") for k in range(n)]
    args = seek(job, fa)
    for k, p in enumerate(paths):
        args += ["-map", f"0:a:{k}", "-vn", "-sn", "-dn",
                 "-af", "aresample=async=1:min_hard_comp=0.01:first_pts=0,apad",
                 "-t", f"{fb - fa:.6f}", "-c:a", "pcm_s24le", "-f", "wav", str(p)]
    _media.run_ffmpeg(args, fb - fa, what, None, cancel)
    return paths


def mux(job: Job, pieces: list[Piece], dst: Path, ext: str, progress: Fraction | None,
        cancel: threading.Event | None, meta: Path | None = None) -> None:
    """Join exact/smart pieces into `dst`, in the container of `ext`: video copied, audio AAC;
    with the chapters of the FFMETADATA file `meta` when given."""
    total = sum(p.duration for p in pieces)
    lists = [job.work / f"join-{next(_JOINS)}-v.txt"]
    lines = ["ffconcat version 1.0"]
    for p in pieces:
        for path, dur in p.parts:
            lines += [f"file '{quote(path)}'", f"duration {dur:.6f}"]
    lists[0].write_text("\n".join(lines) + "\n", encoding="utf-8")
    n_audio = min((len(p.audio) for p in pieces), default=0)
    for k in range(n_audio):
        lst = lists[0].with_name(lists[0].name.replace("-v.txt", f"-a{k}.txt"))
        lines = ["ffconcat version 1.0"] + [f"file '{quote(p.audio[k])}'" for p in pieces]
        lst.write_text("\n".join(lines) + "\n", encoding="utf-8")
        lists.append(lst)
    args: list[str] = []
    for lst in lists:
        args += ["-f", "concat", "-safe", "0", "-i", str(lst)]
    chap_in, chap_out = _scenes.ffmpeg_args(meta, len(lists))
    args += [*chap_in, "-map", "0:v:0", *[a for k in range(n_audio) for a in ("-map", f"{k + 1}:a:0")],
             *chap_out, "-c:v", "copy"]
    if n_audio:
        args += AAC
    fmt = MUXERS[ext]
    if fmt in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]
        if job.media.codec == "hevc" and job.cut == "smart" and smart_problem(job) is None:
            # hev1, not hvc1: the re-encoded and the copied parts each carry their own parameter
            # sets in band, which hvc1 forbids (ffmpeg would strip them and break the splice)
            args += ["-tag:v", "hev1"]
    _media.run_ffmpeg([*args, "-f", fmt, str(dst)], total, f"{job.source.name} {ext} file", progress, cancel)


def keyframe_piece(job: Job, i: int, progress: Fraction | None, cancel: threading.Event | None) -> Piece:
    """Stream copy from the keyframe at or before the cut (no re-encoding, so it may start early)."""
    m = job.media
    a, b = job.frames[i]
    rate = job.rate
    ext = job.media_ext()
    dst = job.work / f"piece-{i:04d}-k{ext}"
    kf = keyframe_before(job.source, (a + GUARD) / rate, m)
    start = a / rate if kf is None else min(kf, a / rate)
    early = a / rate - start
    ss = m.ss(start) + GUARD / rate  # just after the keyframe: ffmpeg seeks back onto it
    end = m.ss((b - GUARD) / rate)
    args = ["-ss", f"{ss:.6f}", "-i", str(job.source), "-t", f"{max(end - ss, 1 / rate):.6f}",
            "-map", "0:v:0", "-map", "0:a?", "-c", "copy", "-avoid_negative_ts", "make_zero",
            *(["-movflags", "+faststart"] if MUXERS[ext] in ("mp4", "mov") else []),
            "-f", MUXERS[ext], str(dst)]
    _media.run_ffmpeg(args, (b - a) / rate + early, f"{job.source.name} segment {i + 1}", progress, cancel)
    with job.mutex:
        job.early = max(job.early, early)
    return Piece((b - a) / rate + early, file=dst)


def join_copies(job: Job, pieces: list[Piece], dst: Path, ext: str, progress: Fraction | None,
                cancel: threading.Event | None, meta: Path | None = None) -> None:
    """Join keyframe-mode pieces by stream copy, in the container of `ext` (chapters from `meta`)."""
    lst = job.work / "concat-k.txt"
    lines = ["ffconcat version 1.0"] + [f"file '{quote(p.file)}'" for p in pieces if p.file]
    lst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fmt = MUXERS[ext]
    chap_in, chap_out = _scenes.ffmpeg_args(meta, 1)
    args = ["-f", "concat", "-safe", "0", "-i", str(lst), *chap_in, "-map", "0", *chap_out, "-c", "copy",
            *(["-movflags", "+faststart"] if fmt in ("mp4", "mov") else []), "-f", fmt, str(dst)]
    _media.run_ffmpeg(args, sum(p.duration for p in pieces), f"{job.source.name} summary video", progress, cancel)


def crossfade(job: Job, files: list[Path], durs: list[float], dst: Path, d: float, progress: Fraction | None,
              cancel: threading.Event | None, meta: Path | None = None) -> None:
    """Join finished clips with crossfades of `d` seconds (re-encoded, H.264/AAC MP4; chapters from `meta`)."""
    inputs: list[str] = []
    for p in files:
        inputs += ["-i", str(p)]
    fps = f"{job.rate:.6f}"
    graph = [f"[{k}:v]fps={fps},settb=AVTB,format=yuv420p[v{k}]" for k in range(len(files))]
    prev, offset = "v0", 0.0
    for k in range(1, len(files)):
        offset += durs[k - 1] - d
        out = "vout" if k == len(files) - 1 else f"x{k}"
        graph.append(f"[{prev}][v{k}]xfade=transition=fade:duration={d:.6f}:offset={offset:.6f}[{out}]")
        prev = out
    maps = ["-map", "[vout]"]
    if job.media.has_audio:
        prev = "0:a"
        for k in range(1, len(files)):
            out = "aout" if k == len(files) - 1 else f"y{k}"
            graph.append(f"[{prev}][{k}:a]acrossfade=d={d:.6f}:c1=tri:c2=tri[{out}]")
            prev = out
        maps += ["-map", "[aout]"]
    chap_in, chap_out = _scenes.ffmpeg_args(meta, len(files))
    args = [*inputs, *chap_in, "-filter_complex", ";".join(graph), *maps, *chap_out, *X264, "-pix_fmt", "yuv420p",
            *(AAC if job.media.has_audio else []), "-movflags", "+faststart", "-f", "mp4", str(dst)]
    _media.run_ffmpeg(args, sum(durs) - d * (len(files) - 1), f"{job.source.name} summary video", progress, cancel)
