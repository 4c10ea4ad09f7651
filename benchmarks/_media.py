"""Inputs for the benchmarks: long videos looped from the bundled sample, hour-long features."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "resources" / "sample" / "big_buck_bunny_0_30.webm"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores)"


def looped(minutes: float, out: Path, height: int = 720) -> Path:
    """The sample looped to `minutes` by stream copy (no re-encoding of the long file); at another
    height the 30 s sample is re-encoded once (VP8, like the original) and that is looped."""
    src = SAMPLE
    if height != 720:
        src = out.with_name(f"sample_{height}p.webm")
        subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(SAMPLE), "-vf", f"scale=-2:{height}",
                        "-c:v", "libvpx", "-b:v", "4M", "-deadline", "realtime", "-cpu-used", "8",
                        "-c:a", "copy", str(src)], check=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(src), "-t", str(minutes * 60),
                    "-c", "copy", str(out)], check=True)
    return out


def hour_features(seconds: float = 3600.0, rate: float = 2.0, seed: int = 0) -> np.ndarray:
    """Real features of the sample (its 60 samples), tiled to `seconds` with 5 % noise, so every
    repeat differs a little as the same scene filmed again would."""
    from vsumgui.core import features

    feats, _ = features.load(SAMPLE)
    n = int(seconds * rate)
    x = np.tile(feats.features, (-(-n // len(feats.features)), 1))[:n].astype(np.float64)
    x += np.random.default_rng(seed).normal(0.0, 0.05 * x.std(), x.shape)
    return x.astype(np.float32)


class Clock:
    """Wall time of each pipeline stage, from the progress callback."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: dict[str, float] = {}

    def __call__(self, stage: str, frac: float) -> None:
        self.first.setdefault(stage, time.perf_counter() - self.start)


def h264_loop(minutes: float, out: Path, height: int = 1080, gop: float = 1.0) -> Path:
    """The sample as 1080p H.264 with B-frames (x264, b-pyramid, a keyframe every `gop` seconds
    as phones write; ultrafast with B-frames forced, so making it is quick), looped to `minutes`
    by stream copy, with AAC audio. Video and audio are looped apart (each exactly its own
    length), so the frame rate stays constant across the loops."""
    if out.exists():
        return out
    clip = out.with_name(f"sample_{height}p_h264.mp4")
    sound = out.with_name("sample_audio.m4a")
    k = str(round(24 * gop))
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(SAMPLE), "-an", "-vf", f"scale=-2:{height}", "-r", "24",
                    "-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-x264-params", "b-pyramid=normal",
                    "-g", k, "-keyint_min", k, "-sc_threshold", "0", "-crf", "20", str(clip)], check=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(SAMPLE), "-vn", "-c:a", "aac", "-b:a", "128k", str(sound)],
                   check=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip), "-stream_loop", "-1",
                    "-i", str(sound), "-map", "0:v", "-map", "1:a", "-t", str(minutes * 60), "-c", "copy", str(out)],
                   check=True)
    return out
