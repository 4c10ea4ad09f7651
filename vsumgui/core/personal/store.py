"""Where a profile's personal model lives, and the labelled samples it learns from."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from vsumgui.core import checkpoints, features as feat, paths
from vsumgui.core.errors import VsumError
from vsumgui.core.labels import LabelStore

VISP = "visp"


def curve_name(profile: str) -> str:
    return f"personalized ({profile})"


def profile_dir(profile: str) -> Path:
    safe = re.sub(r"[^\w.-]+", "_", profile).strip("._") or "profile"
    return paths.data_dir() / "profiles" / safe


def head_path(profile: str, backbone: str) -> Path:
    """The profile's personal model (`likes.Likes`: its labelled features and calibration)."""
    return profile_dir(profile) / f"head-{backbone}{checkpoints.SUFFIX}"


def visp_path(profile: str, backbone: str) -> Path:
    """The profile's fine-tuned ViSP model (a ViSP checkpoint), when ViSP was personalized."""
    return profile_dir(profile) / f"{VISP}-{backbone}{checkpoints.SUFFIX}"


def saved(profile: str, backbone: str) -> Path | None:
    """What drives the profile's curve for this backbone: the fine-tuned ViSP when the profile's
    model was fitted on ViSP (its head says so, or a ViSP model saved before heads held the
    labels), else the head; None when the profile has no model."""
    head, visp = head_path(profile, backbone), visp_path(profile, backbone)
    if visp.is_file() and (not head.is_file() or _base_of(head) == VISP):
        return visp
    return head if head.is_file() else None


def _base_of(path: Path) -> str | None:
    try:
        return checkpoints.load(path).header.get("data", {}).get("base")
    except VsumError:
        return None


def targets(times: np.ndarray, spans: list[tuple[float, float, int]]) -> np.ndarray:
    """Per-sample label (1 keep, 0 skip) for samples whose start lies in a labelled span, else NaN."""
    y = np.full(len(times), np.nan)
    for start, end, label in spans:
        y[(times >= start - 1e-6) & (times < end - 1e-6)] = label
    return y


def labelled(profile: str, store: LabelStore, current: feat.Features | None, backbone: str,
             sample_rate: float) -> list[tuple[feat.Features, np.ndarray]]:
    """(features, per-sample targets) of every labelled video of the profile whose features are
    at hand (current or cached): labels of several videos accumulate."""
    by_video: dict[str, list] = {}
    for lb in store.get(profile):
        by_video.setdefault(lb.video, []).append((lb.start, lb.end, lb.label))
    out = []
    for key, spans in by_video.items():
        f = current if current is not None and current.key == key else feat.cached(key, backbone, sample_rate)
        if f is None:
            continue  # a labelled video whose features are no longer cached
        out.append((f, targets(f.times, spans)))
    return out


def no_labels() -> VsumError:
    return VsumError("no labelled shot to learn from: mark a few shots keep (K) or skip (S) first")
