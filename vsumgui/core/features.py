"""Frame features: threaded decode + batched backbone inference, cached in HDF5.

The cache holds one file per (video content, backbone, sample rate, sampling) in the user
cache folder, with the dataset names of the eccv16 benchmark files (`features`, `picks`,
`n_frames`, `fps`, `change_points`, `n_frame_per_seg`) plus `times` (seconds).

Sampling "frames" decodes every frame and keeps `sample_rate` per second; "keyframes" (the
fast mode) decodes only keyframes and holds each one's features until the next keyframe on
the same regular grid of `sample_rate` per second, so everything downstream works unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from vsumgui.core import backbones, paths, shots
from vsumgui.core.atomic import atomic_path
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.video import (GAP, Progress, VideoInfo, check_file, check_rate, iter_decoded, iter_keyframes,
                                probe)

BATCH = 16  # frames per inference call; larger batches gain little and delay the first results
QUEUE = 4  # batches decoded ahead of inference: bounded, so memory stays flat on any length
SAMPLINGS = ("frames", "keyframes")
PARTIAL_EVERY = 2.0  # seconds between two offers of the features so far (issue #20: curves while it runs)
_CHUNK = 1 << 20


@dataclass
class Features:
    """One feature vector per sampled frame, and where each sample lies in the video."""

    video: VideoInfo
    backbone: str
    sample_rate: float
    features: np.ndarray  # (T, D) float32
    times: np.ndarray  # (T,) seconds of media time
    picks: np.ndarray  # (T,) index of the frame in decode order
    key: str = ""
    change_points: np.ndarray | None = field(default=None, repr=False)  # (S, 2) frames, inclusive
    # shots (sample indices) computed by `ensure` on extraction; not cached, so None on a cache hit
    shot_idx: np.ndarray | None = field(default=None, repr=False)
    sampling: str = "frames"  # or "keyframes" (fast mode)
    # sentences about what could not be read ("decoded 0:02.5 of 0:09.6; the rest is unreadable")
    warnings: list[str] = field(default_factory=list)
    # this run only, not cached (e.g. the cache could not be written)
    notes: list[str] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.times)


Partial = Callable[[Features], None]  # receives the features so far (see `extract`)


def cache_dir() -> Path:
    """The feature cache folder."""
    return paths.cache_dir() / "features"


def content_key(path: str | os.PathLike) -> str:
    """A hash of the file's bytes: all of a small file; 64 spread 1 MiB chunks of a large one.

    Reading every byte of an hour of video would cost seconds on each open; the size plus
    spread chunks tells real videos apart, and a renamed or moved file keeps its key. The key
    is remembered for the process while the file's size, times and inode stay the same.
    """
    st = os.stat(path)
    stamp = (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    key = _KEYS.get(stamp)
    if key is None:
        key = _KEYS[stamp] = _hash_file(path, st.st_size)
    return key


_KEYS: dict[tuple, str] = {}


def _hash_file(path: str | os.PathLike, size: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    with open(path, "rb") as f:
        if size <= 64 * _CHUNK:
            for block in iter(lambda: f.read(_CHUNK), b""):
                h.update(block)
        else:
            for i in range(64):
                f.seek((size - _CHUNK) * i // 63)
                h.update(f.read(_CHUNK))
    return h.hexdigest()


def cache_path(key: str, backbone: str, sample_rate: float, sampling: str = "frames") -> Path:
    tail = "" if sampling == "frames" else f"-{sampling}"
    return cache_dir() / f"{key}-{backbone}-{sample_rate:g}fps{tail}.h5"


def cached(key: str, backbone: str, sample_rate: float, video_path: str = "") -> Features | None:
    """The cached features of a video known by its content key, or None: the full ones, else a
    quick look's (labels made on a quick-looked video count too)."""
    for sampling in SAMPLINGS:
        got = _read_cache(cache_path(key, backbone, sample_rate, sampling), video_path)
        if got is not None:
            return got
    return None


def _read_cache(path: Path, video_path: str) -> Features | None:
    """The cached features, or None when absent or unreadable (then the file is removed)."""
    if not path.exists():
        return None
    import h5py  # here: not before the first progress line of a summary (issue #20)

    try:
        with h5py.File(path, "r") as f:
            a = f.attrs
            info = VideoInfo(video_path, float(f["fps"][()]), int(f["n_frames"][()]),
                             float(a["duration"]), int(a["width"]), int(a["height"]), int(a["rotation"]))
            cps = np.asarray(f["change_points"]) if "change_points" in f else None
            feats = Features(info, str(a["backbone"]), float(a["sample_rate"]),
                             np.asarray(f["features"], dtype=np.float32), np.asarray(f["times"], dtype=np.float64),
                             np.asarray(f["picks"]), str(a["key"]), cps,
                             sampling=str(a.get("sampling", "frames")),
                             warnings=[str(w) for w in json.loads(str(a.get("warnings", "[]")))])
        _check(feats)
        return feats
    except Exception:  # any damage: the cache is rebuilt, never trusted
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _check(feats: Features) -> None:
    """Raise ValueError unless cached features are whole and consistent (a readable HDF5 file
    can still hold arrays that disagree, and they would fail far from here)."""
    x, t = feats.features, feats.times
    dim = backbones.get(feats.backbone).dim
    if (x.ndim != 2 or len(x) == 0 or len(t) != len(x) or len(feats.picks) != len(x) or (dim and x.shape[1] != dim)
            or not np.isfinite(x).all() or not np.isfinite(t).all() or (len(t) > 1 and np.any(np.diff(t) <= 0))
            or not (feats.video.duration > 0 and feats.video.fps > 0 and feats.video.n_frames > 0)):
        raise ValueError("inconsistent cached features")


def write_cache(feats: Features, path: Path | None = None) -> Path:
    """Write features (and change points, when known) atomically in the eccv16 layout.

    The HDF5 file is built in memory and written with one plain write: HDF5 failing on a
    full disk raises RuntimeError from its close and can crash the interpreter at exit, while
    a plain write raises OSError, which `atomic_path` turns into a clear VsumError."""
    import h5py

    path = path or cache_path(feats.key, feats.backbone, feats.sample_rate, feats.sampling)
    image = io.BytesIO()
    with h5py.File(image, "w") as f:
        f["features"] = feats.features
        f["times"] = feats.times
        f["picks"] = feats.picks
        f["n_frames"] = feats.video.n_frames
        f["fps"] = feats.video.fps
        if feats.change_points is not None:
            f["change_points"] = feats.change_points
            f["n_frame_per_seg"] = feats.change_points[:, 1] - feats.change_points[:, 0] + 1
        for k, v in (("duration", feats.video.duration), ("width", feats.video.width),
                     ("height", feats.video.height), ("rotation", feats.video.rotation),
                     ("backbone", feats.backbone), ("sample_rate", feats.sample_rate),
                     ("key", feats.key), ("sampling", feats.sampling), ("warnings", json.dumps(feats.warnings))):
            f.attrs[k] = v
    with atomic_path(path) as tmp:
        tmp.write_bytes(image.getbuffer())
    return path


def extract(
    path: str | os.PathLike,
    backbone: str = backbones.DEFAULT,
    sample_rate: float = 2.0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    info: VideoInfo | None = None,
    sampling: str = "frames",
    partial: Partial | None = None,
) -> Features:
    """Decode and embed (no cache). Decoding runs in a thread, overlapped with inference
    (PyAV and ONNX Runtime / torch release the GIL while they work).

    `partial`, when given, receives the features embedded so far every PARTIAL_EVERY seconds
    (from this thread: it should hand them on quickly), as Features whose video ends where they do."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r}; known: {', '.join(SAMPLINGS)}")
    model = backbones.get(backbone)
    info = info or probe(path)
    batches: queue.Queue = queue.Queue(maxsize=QUEUE)
    stats: dict = {}
    stop = threading.Event()
    sampler = iter_decoded if sampling == "frames" else iter_keyframes
    # keyframes arrive one per GOP: small batches start inference (on every core) sooner
    size = BATCH if sampling == "frames" else 4

    def produce() -> None:
        try:
            batch: list = []
            for s in sampler(path, sample_rate, model.input_size, progress, cancel, info, stats):
                if stop.is_set():
                    return
                batch.append(s)
                if len(batch) == size:
                    batches.put(batch)
                    batch = []
            if batch:
                batches.put(batch)
            batches.put(None)
        except BaseException as e:  # handed to the consuming thread
            batches.put(e)

    worker = threading.Thread(target=produce, name="vsumgui-decode", daemon=True)
    worker.start()
    feats, times, picks = [], [], []
    offered = time.monotonic()
    pool = None
    pending: deque = deque()  # batches being embedded, in order; at most `workers` at a time
    try:
        model.load()  # while the first frames decode
        if model.workers > 1:
            pool = ThreadPoolExecutor(model.workers, thread_name_prefix="vsumgui-embed")
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            check_cancel(cancel)
            frames = np.stack([s.rgb for s in item])
            pending.append(pool.submit(model.embed, frames) if pool else model.embed(frames))
            times.extend(s.time for s in item)
            picks.extend(s.index for s in item)
            while len(pending) >= model.workers:
                done = pending.popleft()
                feats.append(done.result() if pool else done)
            if progress and info.duration:
                progress("features", min(1.0, times[-1] / info.duration))
            if partial is not None and feats and time.monotonic() - offered >= PARTIAL_EVERY:
                feats[:] = [np.concatenate(feats)]  # one array: the next snapshot copies only what is new
                partial(_so_far(info, backbone, sample_rate, sampling, feats[0], times, picks))
                offered = time.monotonic()
        feats.extend(f.result() if pool else f for f in pending)
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        worker.join()
    n_frames = max(stats.get("n_frames", info.n_frames), 1)
    end = stats.get("end", times[-1])
    # a stated duration past the last decoded frame is wrong (a damaged header, a truncated file):
    # shots and the summary budget end where the decoded video does, and the summary says so
    lie = end > 0 and info.duration - end > max(GAP, 0.01 * end)
    warnings = []
    if lie:
        warnings.append(f"decoded {_clock(end)} of {_clock(info.duration)}; the rest is unreadable")
    if stats.get("damaged"):
        n = stats["damaged"]
        warnings.append(f"damaged near {_clock(stats.get('damaged_at') or 0.0)}: {n} packet{'s' if n > 1 else ''} "
                        f"could not be decoded and {'were' if n > 1 else 'was'} skipped")
    if n_frames != info.n_frames or info.duration < end or lie:  # the container was wrong; trust the decoder
        info = VideoInfo(info.path, info.fps, n_frames, end if lie else max(info.duration, end), info.width,
                         info.height, info.rotation)
    out = Features(info, backbone, sample_rate, np.concatenate(feats).astype(np.float32),
                   np.asarray(times, dtype=np.float64), np.asarray(picks, dtype=np.int64), sampling=sampling,
                   warnings=warnings)
    return _on_grid(out) if sampling == "keyframes" else out


def _so_far(info: VideoInfo, backbone: str, rate: float, sampling: str, x: np.ndarray, times: list,
            picks: list) -> Features:
    """The first len(x) samples as Features of a video that ends after the last of them."""
    n = len(x)
    end = times[n - 1] + 1.0 / rate
    video = VideoInfo(info.path, info.fps, max(1, min(info.n_frames, round(end * info.fps))), end, info.width,
                      info.height, info.rotation)
    out = Features(video, backbone, rate, x, np.asarray(times[:n], dtype=np.float64),
                   np.asarray(picks[:n], dtype=np.int64), sampling=sampling)
    return _on_grid(out) if sampling == "keyframes" else out


def _clock(t: float) -> str:
    """0:02.5 (minutes, seconds to a tenth)."""
    m, sec = divmod(max(0.0, t), 60)
    return f"{int(m)}:{sec:04.1f}"


def _on_grid(feats: Features) -> Features:
    """Keyframe features held until the next keyframe, on the grid of `sample_rate` per second.

    Each grid sample keeps its keyframe's frame index in `picks`, so the distinct keyframes are
    the runs of equal picks (`pipeline.held`): methods score those once, not their copies."""
    n = max(1, int(np.ceil(feats.video.duration * feats.sample_rate - 1e-6)))
    grid = np.arange(n, dtype=np.float64) / feats.sample_rate
    src = np.maximum(np.searchsorted(feats.times, grid + 1e-6, side="right") - 1, 0)
    feats.features = np.ascontiguousarray(feats.features[src])
    feats.picks = feats.picks[src]
    feats.times = grid
    return feats


def load(
    path: str | os.PathLike,
    backbone: str = backbones.DEFAULT,
    sample_rate: float = 2.0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    use_cache: bool = True,
    sampling: str = "frames",
    partial: Partial | None = None,
) -> tuple[Features, bool]:
    """Features from the cache, else extracted (not yet written). Returns (features, cache_hit).

    A cache hit neither decodes the video nor loads the backbone network."""
    check_rate(sample_rate)  # before any work
    path = Path(path)
    info = probe(path) if not use_cache else None  # a cache hit needs no decoding at all
    if use_cache:
        check_file(path)
        key = content_key(path)
        hit = _read_cache(cache_path(key, backbone, sample_rate, sampling), str(path))
        if hit is not None:
            return hit, True
    feats = extract(path, backbone, sample_rate, progress, cancel, info, sampling, partial)
    if use_cache:
        feats.key = key
    return feats, False


def ensure(
    path: str | os.PathLike,
    backbone: str = backbones.DEFAULT,
    sample_rate: float = 2.0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    use_cache: bool = True,
    shot_params: shots.ShotParams | None = None,
    sampling: str = "frames",
    partial: Partial | None = None,
) -> tuple[Features, bool]:
    """Features from the cache, else extracted and written to the cache (with the shots'
    change points, as the benchmark files have them). The one way the pipeline and the
    trainer get features. Returns (features, cache_hit); on a miss `shot_idx` holds the shots."""
    feats, hit = load(path, backbone, sample_rate, progress, cancel, use_cache, sampling, partial)
    check_cancel(cancel)
    if use_cache and not hit:
        if progress:
            progress("shots", 0.0)
        feats.shot_idx = shots.segment(feats.features, feats.sample_rate, shot_params or shots.ShotParams())
        secs = shots.shot_times(feats.shot_idx, feats.times, feats.video.duration)
        feats.change_points = shots.change_points(secs, feats.video.fps, feats.video.n_frames)
        check_cancel(cancel)
        try:
            write_cache(feats)
        except VsumError as e:  # a cache, not data: the summary goes on without it, and says so
            feats.key = ""  # nothing derived (shots, scores) is cached for features that are not
            feats.notes.append(f"the feature cache cannot be written ({e}); summarized without it")
    return feats, hit
