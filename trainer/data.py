"""Training data: frozen features of a folder of videos (through the core feature cache) or
of eccv16-style benchmark h5 files, served as fixed-length windows.

A window has `window` samples (200 in CTVSUM §5.3): a longer video is randomly
sub-sampled (sorted indices, so time order is kept), a shorter one is stretched by
nearest-neighbour interpolation. Each window also carries the index of the source sample
at each position (`src`), so a loss can tell copies of one sample apart from neighbours.

An epoch draws `windows_per_video` windows from every video (1, as in the paper; more lets a
tiny library give a batch per step). Features are kept in memory up to PRELOAD_BYTES, beyond
that read from their h5 file for each window (our choice, so a large library fits in RAM).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from vsumgui.core import backbones, features
from vsumgui.core.errors import Cancelled, VsumError, check_cancel

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".mpe",
    ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".vob", ".divx", ".f4v", ".asf",
})
PRELOAD_BYTES = 2 << 30  # above this, features are read from their h5 file per window

TrainProgress = Callable[[str, float, dict], None]


@dataclass
class Entry:
    """One training video: its features in memory, or where to read them."""

    name: str
    length: int
    features: np.ndarray | None = None  # (T, D) float32
    h5: tuple[str, str] | None = None  # (file, dataset path) when not kept in memory

    def read(self, idx: np.ndarray) -> np.ndarray:
        if self.features is not None:
            return self.features[idx]
        uniq, inverse = np.unique(idx, return_inverse=True)  # h5py wants increasing indices
        with h5py.File(self.h5[0], "r") as f:
            return np.asarray(f[self.h5[1]][uniq], dtype=np.float32)[inverse]


@dataclass
class WindowDataset(Dataset):
    """Videos as fixed-length windows; item i is a window of video i // windows_per_video,
    drawn from a generator seeded by (seed, epoch, i): epochs differ, reruns and resumes do not."""

    entries: list[Entry]
    backbone: str
    dim: int
    window: int = 200
    windows_per_video: int = 1
    seed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    source: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0

    def __len__(self) -> int:
        return len(self.entries) * self.windows_per_video

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self, length: int, rng: np.random.Generator) -> np.ndarray:
        """The source sample of each window position."""
        if length >= self.window:
            return np.sort(rng.choice(length, self.window, replace=False))
        return np.minimum((np.arange(self.window) * length) // self.window, length - 1)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        v = i // self.windows_per_video
        e = self.entries[v]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        idx = self.indices(e.length, rng)
        return {"x": torch.from_numpy(np.ascontiguousarray(e.read(idx), dtype=np.float32)),
                "src": torch.from_numpy(idx.astype(np.int64)), "video": torch.tensor(v)}

    def summary(self) -> dict[str, Any]:
        """What the checkpoint header records about the data."""
        return {**self.source, "videos": len(self.entries), "samples": int(sum(e.length for e in self.entries)),
                "skipped": len(self.skipped), "window": self.window, "windows_per_video": self.windows_per_video}


def find_videos(root: str | os.PathLike) -> list[Path]:
    """Video files under `root` (subfolders included, hidden ones skipped), by extension, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise VsumError(f"{root}: no such folder")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in filenames
                  if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_EXTENSIONS]
    return sorted(found)


def _budget_entries(entries: list[Entry]) -> None:
    """Keep features in memory unless they are too many; then read them from the h5 per window."""
    total = sum(e.features.nbytes for e in entries if e.features is not None)
    if total > PRELOAD_BYTES:
        for e in entries:
            if e.h5 is not None:
                e.features = None


def from_videos(
    root: str | os.PathLike,
    backbone: str = backbones.DEFAULT,
    sample_rate: float = 2.0,
    progress: TrainProgress | None = None,
    cancel: threading.Event | None = None,
    **kw: Any,
) -> WindowDataset:
    """Features of every readable video under `root`, from the cache or extracted (and then
    cached) with progress; unreadable files are skipped and listed in `skipped`."""
    paths = find_videos(root)
    entries: list[Entry] = []
    skipped: list[tuple[str, str]] = []
    for i, path in enumerate(paths):
        check_cancel(cancel)
        info = {"video": path.name, "index": i, "count": len(paths)}

        def report(stage: str, frac: float, i: int = i, info: dict = info) -> None:
            if progress:  # after decoding come the shots: the video is as good as done
                frac = 1.0 if stage == "shots" else min(max(frac, 0.0), 1.0)
                progress("features", (i + frac) / len(paths), {**info, "step": stage})

        report("cache", 0.0)
        try:
            feats, _ = features.ensure(path, backbone, sample_rate, report, cancel)
        except Cancelled:
            raise
        except VsumError as e:
            skipped.append((str(path), str(e)))
            continue
        entries.append(Entry(str(path.relative_to(root)), len(feats), feats.features,
                             (str(features.cache_path(feats.key, backbone, sample_rate)), "features")))
    if progress and paths:
        progress("features", 1.0, {"count": len(paths), "skipped": len(skipped)})
    if not entries:
        why = f" ({len(skipped)} unreadable: {skipped[0][1]})" if skipped else ""
        raise VsumError(f"{root}: no readable video files{why}")
    _budget_entries(entries)
    dim = entries[0].features.shape[1] if entries[0].features is not None else backbones.get(backbone).dim
    source = {"source": "videos", "root": str(Path(root).resolve()), "sample_rate": sample_rate}
    return WindowDataset(entries, backbone, dim, skipped=skipped, source=source, **kw)


def from_h5(files: list[str | os.PathLike], backbone: str | None = None, **kw: Any) -> WindowDataset:
    """Videos of eccv16-style benchmark files (a group per video holding `features`), or of
    our cache files (`features` at the top). The backbone name comes from the file's
    `backbone` attribute, else `backbone`, else "googlenet" for 1024-d (what eccv16 files hold)."""
    entries: list[Entry] = []
    names: set[str] = set()
    for file in files:
        file = Path(file)
        if not file.is_file():
            raise VsumError(f"{file}: no such file")
        try:
            with h5py.File(file, "r") as f:
                groups = [("", f)] if "features" in f else [(k, f[k]) for k in f if isinstance(f[k], h5py.Group)]
                for key, g in groups:
                    if "features" not in g or g["features"].ndim != 2 or len(g["features"]) == 0:
                        continue
                    name = str(g.attrs.get("backbone", f.attrs.get("backbone", backbone or "")))
                    names.add(name)
                    arr = np.asarray(g["features"], dtype=np.float32)
                    entries.append(Entry(f"{file.name}/{key}" if key else file.name, len(arr), arr,
                                         (str(file), f"{key}/features" if key else "features")))
        except OSError as e:
            raise VsumError(f"{file}: not a readable HDF5 file ({e})") from e
    if not entries:
        raise VsumError(f"{', '.join(map(str, files))}: no video features found (expected a `features` "
                        "dataset per video group)")
    dims = {e.features.shape[1] for e in entries}
    if len(dims) > 1:
        raise VsumError(f"the h5 files mix feature widths {sorted(dims)}")
    dim = dims.pop()
    names.discard("")
    if len(names) > 1:
        raise VsumError(f"the h5 files mix feature backbones {sorted(names)}")
    name = names.pop() if names else (backbone or ("googlenet" if dim == 1024 else f"unknown-{dim}d"))
    _budget_entries(entries)
    source = {"source": "h5", "files": [str(Path(p).resolve()) for p in files]}
    return WindowDataset(entries, name, dim, source=source, **kw)


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}
