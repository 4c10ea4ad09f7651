"""Readers for the benchmark data: raw TVSum / SumMe annotations, eccv16-style h5 files, splits.

File layouts are described in ../shared/data/README.md; the eccv16 h5 files hold one group per
video (`video_1`, `video_2`, ...) with `features`, `gtscore`, `user_summary`, `change_points`,
`n_frame_per_seg`, `picks`, `n_frames` (and sometimes `video_name`, `fps`, `user_scores`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from vsumgui.core.errors import VsumError

DATASETS = ("tvsum", "summe")
TVSUM_MAT = "ydata-tvsum50.mat"


@dataclass
class TVSumVideo:
    """One TVSum50 video: 20 annotators' per-frame scores 1..5 (piecewise constant per 2 s)."""

    index: int  # 0-based; the eccv16 files call it video_{index+1}
    video_id: str
    category: str
    title: str
    length: float  # seconds
    user_anno: np.ndarray  # (annotators, n_frames) int8

    @property
    def n_frames(self) -> int:
        return int(self.user_anno.shape[1])

    @property
    def fps(self) -> float:
        return self.n_frames / self.length

    @property
    def key(self) -> str:
        return f"video_{self.index + 1}"


@dataclass
class SumMeVideo:
    """One SumMe video: per user, the frames of the user's own summary."""

    name: str
    fps: float
    duration: float
    user_score: np.ndarray  # (n_frames, users): 0 = not selected, k = k-th selected segment

    @property
    def n_frames(self) -> int:
        return int(self.user_score.shape[0])

    @property
    def user_summary(self) -> np.ndarray:
        """(users, n_frames) bool: the frames each user kept."""
        return (self.user_score > 0).T


@dataclass
class BenchVideo:
    """One video of an eccv16-style benchmark h5 file (frames are indices of the original video)."""

    key: str
    name: str
    features: np.ndarray  # (T, D) at `picks`
    picks: np.ndarray  # (T,) frame index of each feature row
    n_frames: int
    change_points: np.ndarray  # (S, 2) inclusive [first, last] frame of each shot
    n_frame_per_seg: np.ndarray  # (S,)
    user_summary: np.ndarray  # (users, n_frames) 0/1
    gtscore: np.ndarray | None  # (T,)
    user_scores: np.ndarray | None  # (users, T) per-annotator scores at picks, when the file has them


@dataclass
class Split:
    train_keys: list[str]
    test_keys: list[str]


def default_data() -> Path | None:
    """../shared/data beside the checkout, when it exists (development layout)."""
    p = Path(__file__).resolve().parents[3] / "shared" / "data"
    return p if p.is_dir() else None


def _decode(arr: np.ndarray) -> str:
    """A MATLAB char array (uint16 codes) as text."""
    return "".join(map(chr, np.asarray(arr).ravel()))


def find_tvsum(data: str | os.PathLike) -> Path:
    """The ydata-tvsum50.mat under `data` (the file itself, DATA/tvsum/ or DATA/)."""
    data = Path(data)
    for p in (data, data / "tvsum" / TVSUM_MAT, data / TVSUM_MAT):
        if p.is_file():
            return p
    raise VsumError(f"{data}: no {TVSUM_MAT} here (expected {data / 'tvsum' / TVSUM_MAT})")


def find_summe(data: str | os.PathLike) -> Path:
    """The SumMe GT folder under `data` (the folder itself, DATA/summe/GT or DATA/GT)."""
    data = Path(data)
    for p in (data / "summe" / "GT", data / "GT", data):
        if p.is_dir() and any(p.glob("*.mat")):
            return p
    raise VsumError(f"{data}: no SumMe GT/*.mat files here (expected {data / 'summe' / 'GT'})")


def read_tvsum(path: str | os.PathLike) -> list[TVSumVideo]:
    """All 50 videos of ydata-tvsum50.mat (MATLAB v7.3 = HDF5: object references per field)."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise VsumError(f"{path}: not a TVSum annotation file ({e})") from e
    with f:
        if "tvsum50" not in f:
            raise VsumError(f"{path}: no 'tvsum50' group; not ydata-tvsum50.mat")
        g = f["tvsum50"]

        def field(name: str, i: int) -> np.ndarray:
            return np.asarray(f[g[name][i, 0]])

        out = []
        for i in range(g["video"].shape[0]):
            anno = field("user_anno", i)
            out.append(TVSumVideo(i, _decode(field("video", i)), _decode(field("category", i)),
                                  _decode(field("title", i)), float(field("length", i).item()),
                                  anno.astype(np.int8)))
    return out


def read_tvsum_tsv(path: str | os.PathLike) -> list[tuple[str, str, np.ndarray]]:
    """ydata-anno.tsv(.gz): per video (id, category, (annotators, n_frames) int8), file order."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    rows: dict[str, tuple[str, list[np.ndarray]]] = {}
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise VsumError(f"{path}:{n}: expected 3 tab-separated columns, got {len(parts)}")
            vid, cat, scores = parts
            rows.setdefault(vid, (cat, []))[1].append(np.array(scores.split(","), dtype=np.int8))
    return [(vid, cat, np.stack(a)) for vid, (cat, a) in rows.items()]


def read_summe(folder: str | os.PathLike) -> list[SumMeVideo]:
    """All GT/*.mat files of SumMe, sorted by name (the order of the eccv16 file)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.mat"))
    if not files:
        raise VsumError(f"{folder}: no SumMe .mat files")
    out = []
    for p in files:
        try:
            m = scipy.io.loadmat(p)
        except (ValueError, OSError) as e:
            raise VsumError(f"{p}: not a SumMe ground-truth file ({e})") from e
        if "user_score" not in m:
            raise VsumError(f"{p}: no 'user_score'; not a SumMe ground-truth file")
        out.append(SumMeVideo(p.stem, float(np.asarray(m["FPS"]).item()),
                              float(np.asarray(m["video_duration"]).item()), np.asarray(m["user_score"])))
    return out


def natural_key(key: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key))


class BenchmarkFile:
    """An eccv16-style h5 file (`eccv16_dataset_tvsum_google_pool5.h5` and the like), read lazily."""

    REQUIRED = ("features", "picks", "n_frames", "change_points", "user_summary")

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.h5 = h5py.File(self.path, "r")
        except (OSError, FileNotFoundError) as e:
            raise VsumError(f"{self.path}: cannot open as HDF5 ({e})") from e
        self._keys = sorted((k for k in self.h5 if isinstance(self.h5[k], h5py.Group)), key=natural_key)
        if not self._keys:
            self.h5.close()
            raise VsumError(f"{self.path}: no video groups; not a benchmark file")

    def __enter__(self) -> "BenchmarkFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.h5.close()

    def keys(self) -> list[str]:
        return list(self._keys)

    def video(self, key: str) -> BenchVideo:
        if key not in self.h5:
            raise VsumError(f"{self.path}: no video {key!r}")
        g = self.h5[key]
        missing = [n for n in self.REQUIRED if n not in g]
        if missing:
            raise VsumError(f"{self.path}/{key}: missing {', '.join(missing)}")
        cps = np.asarray(g["change_points"], dtype=np.int64).reshape(-1, 2)
        nfps = np.asarray(g["n_frame_per_seg"], dtype=np.int64) if "n_frame_per_seg" in g else cps[:, 1] - cps[:, 0] + 1
        name = key
        if "video_name" in g:
            v = g["video_name"][()]
            name = v.decode() if isinstance(v, bytes) else str(np.asarray(v).astype(str))
        return BenchVideo(
            key=key, name=name,
            features=np.asarray(g["features"], dtype=np.float32),
            picks=np.asarray(g["picks"], dtype=np.int64),
            n_frames=int(np.asarray(g["n_frames"]).item()),
            change_points=cps, n_frame_per_seg=nfps,
            user_summary=np.asarray(g["user_summary"]),
            gtscore=np.asarray(g["gtscore"], dtype=np.float64) if "gtscore" in g else None,
            user_scores=np.asarray(g["user_scores"], dtype=np.float64) if "user_scores" in g else None,
        )


def dataset_of(path: str | os.PathLike) -> str | None:
    """'tvsum' or 'summe' when the file name says which, else None."""
    name = Path(path).name.lower()
    found = [d for d in DATASETS if d in name]
    return found[0] if len(found) == 1 else None


def read_splits(path: str | os.PathLike) -> list[Split]:
    """A split file: a JSON list of {"train_keys": [...], "test_keys": [...]}.

    Keys of the augmented splits carry the file they come from (`eccv16_dataset_tvsum_google_pool5/video_3`);
    they are kept as written (use `local_key` to get the key inside one file).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise VsumError(f"{path}: cannot read the split file ({e})") from e
    if not isinstance(doc, list) or not all(isinstance(s, dict) and "test_keys" in s for s in doc):
        raise VsumError(f"{path}: expected a JSON list of {{train_keys, test_keys}} objects")
    return [Split([str(k) for k in s.get("train_keys", [])], [str(k) for k in s["test_keys"]]) for s in doc]


def local_key(key: str) -> str:
    """`eccv16_dataset_tvsum_google_pool5/video_3` -> `video_3`; plain keys unchanged."""
    return key.rsplit("/", 1)[-1]
