"""Personalization from a few keep / skip labels: the entry points.

`personalize` fits a profile's personal model on every label of the profile (labels of several
videos accumulate: their features come from the feature cache), saves it in the user data
folder and returns the personal curve of the summary's video; `personal_scores` applies the
saved model to any later video. Neither changes the Summary it is given
(`summary.with_scores({curve_name(profile): scores})` adds the curve).

The personal model (core/personal/likes.py) is a similarity expert on the frame features put
on top of a pretrained curve: samples like a keep rise, like a skip fall, content unlike any
label keeps its pretrained rank, in this video and the next. The pretrained curve is the
method being personalized, or for ViSP (with a checkpoint) the ViSP model itself fine-tuned on
the labels without forgetting (core/personal/visp.py). Files: `head-<backbone>.pt` (the
expert) and, for ViSP, `visp-<backbone>.pt` (a ViSP checkpoint that `methods.create("visp",
path)` loads). The fits are small and run with THREADS torch threads (see `few_threads`).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable

import numpy as np

from vsumgui.core import checkpoints, methods
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.labels import LabelStore
from vsumgui.core.nn import few_threads
from vsumgui.core.personal import honour, likes, suggest, visp
from vsumgui.core.personal.store import (VISP, curve_name, head_path, labelled, no_labels, saved, targets,
                                         visp_path)

__all__ = ["THREADS", "curve_name", "head_path", "personal_scores", "personalize", "saved", "shot_labels", "honour_labels", "honoured", "suggestions",
           "targets", "visp_checkpoint", "visp_path"]

visp_checkpoint = visp.checkpoint
# Torch intra-op threads of a fit (`few_threads`). One: a fit this small gains little from
# more (alone on 2 cores, 2 threads save 0-25 %), and more threads than free cores is a trap:
# the threads of one operation wait for each other at every barrier, and one that the system
# has set aside holds up the rest. Measured with benchmarks/personalization.py on 2 shared
# cores, 10-minute video, 5 labels, ViSP beside two torch processes (two runs, best and
# median of 3 each): 1 thread 5.4-5.7 s, 2 threads 16-142 s. The count is set for the fitting
# thread only and restored after the fit; the backbone's feature extraction runs in ONNX
# Runtime with its own threads and is not affected.
THREADS = 1


def _pretrained(summary, method: str) -> methods.MethodScores:
    """The method's curve of the summary's video (computed when the summary lacks it)."""
    if method in summary.scores:
        return summary.scores[method]
    from vsumgui.core.pipeline import score_features  # a quick look's keyframes are scored once each
    return score_features(methods.create(method, summary.options.checkpoints.get(method)), summary.features)


def _finetuned(summary, profile: str, videos, n_labels: int, progress, cancel) -> methods.MethodScores | None:
    """Fine-tune ViSP on the labels and save it; None when the summary's ViSP has no checkpoint."""
    from vsumgui.core.methods.visp import ViSP

    path = visp.checkpoint(summary)
    if path is None:
        return None
    f = summary.features
    ck = checkpoints.load(path)
    ck.check(VISP, f.backbone, f.features.shape[1])
    hp = {**ViSP.hparams, **ck.hparams}
    model = ViSP.build_model(ck.dim, hp)
    model.load_state_dict(ck.model)
    window = int(hp["window"])
    visp.finetune(model, [(g.features, y) for g, y in videos], window, progress=progress, cancel=cancel)
    check_cancel(cancel)  # a cancel after the last step saves nothing
    header = {**ck.header, "personalized": {
        "profile": profile, "from": str(path), "videos": len(videos),
        "labels": n_labels,
        "steps": visp.STEPS, "lr": visp.LR, "lambda": visp.LAMBDA, "anchor": visp.ANCHOR,
        "objective": "visp.txt Eq. 11 + MSE to the pretrained curve + L2-SP, early stopped"}}
    checkpoints.save(visp_path(profile, f.backbone), checkpoints.Checkpoint(header, model.state_dict()))
    return methods.MethodScores(visp.scores(model, f.features, window))


def personalize(summary, profile: str, store: LabelStore, base: str | None = None,
                progress: Callable[[str, float], None] | None = None,
                cancel: threading.Event | None = None, threads: int | None = None) -> methods.MethodScores:
    """Fit the profile's personal model on all its labels on top of `base` (default: the
    summary's driver; ViSP with a checkpoint is fine-tuned first), save it, and return its curve
    for the summary's video. `threads`: torch threads for the fit (default THREADS)."""
    base = base or summary.driver
    if base.startswith("personalized"):
        base = "ctvsum"
    f = summary.features
    videos = labelled(profile, store, f, f.backbone, f.sample_rate)
    if not any(np.isfinite(y).any() for _, y in videos):
        raise no_labels()
    n_labels = len(store.get(profile))
    with few_threads(threads or THREADS):
        tuned = _finetuned(summary, profile, videos, n_labels, progress, cancel) if base == VISP else None
        pre = tuned or _pretrained(summary, base)
        model = likes.fit([(g.features, y) for g, y in videos], base)
        check_cancel(cancel)
        model.save(head_path(profile, f.backbone), f.backbone, profile, n_labels)
        if tuned is None:
            with contextlib.suppress(FileNotFoundError):  # one personal model per profile and backbone
                visp_path(profile, f.backbone).unlink()
        return methods.MethodScores(model.scores(pre.scores, f.features))


def personal_scores(summary, profile: str) -> methods.MethodScores | None:
    """The profile's saved model applied to a (new) video; None when the profile has none for
    these features. VsumError when the saved model is damaged or was made for other features."""
    f = summary.features
    path = saved(profile, f.backbone)
    if path is None:
        return None
    head = head_path(profile, f.backbone)
    expert = likes.Likes.load(head, f.backbone, f.features.shape[1]) if head.is_file() else None
    if path == visp_path(profile, f.backbone):
        from vsumgui.core.pipeline import score_features
        pre = score_features(methods.create(VISP, path), f)
        if expert is None or expert.base != VISP:  # a ViSP model saved before heads held the labels
            return pre
    else:
        pre = _pretrained(summary, expert.base)
    return methods.MethodScores(expert.scores(pre.scores, f.features))


def labelled_shots(summary, profile: str, store: LabelStore) -> np.ndarray:
    """Which shots of the summary's video hold a label of the profile (bool per shot)."""
    spans = [(lb.start, lb.end) for lb in store.get(profile) if lb.video == summary.features.key]
    return np.array([any(min(b, e) - max(a, s) > 1e-6 for s, e in spans) for a, b in summary.shot_secs], bool)


def shot_labels(summary, labels) -> dict[int, int]:
    """Shot index -> KEEP / SKIP for the shots of the summary's video that one of `labels` (of
    this video) covers at least half of (the label covering most of a shot wins)."""
    found = [(lb.start, lb.end, lb.label) for lb in labels if lb.video == summary.features.key]
    out = {}
    for i, (a, b) in enumerate(summary.shot_secs):
        cover = [(min(b, e) - max(a, s), lb) for s, e, lb in found]
        best = max(cover, default=(0.0, None))
        if best[1] is not None and best[0] >= 0.5 * (b - a) - 1e-6:
            out[i] = best[1]
    return out


def honour_labels(summary, sel, labels, method: str | None = None):
    """(selection, note): `sel` (made with `method`'s curve) with the keep shots among `labels`
    in and the skip shots out while the budget allows; note a sentence when it does not, else
    None (core/personal/honour.py). The summary is not changed."""
    sc = summary.selector(method or sel.method)
    return honour.honour(sel, summary.shot_secs, sc.shot_scores, shot_labels(summary, labels), sc.budget(sel.ratio))


def honoured(summary, profile: str, store: LabelStore, ratio: float | None = None, mode: str | None = None,
             method: str | None = None):
    """(selection, note): the summary's selection (the options' ratio and mode, the driver's curve
    by default) honouring the profile's labels of this video (`honour_labels`)."""
    ratio = summary.options.ratio if ratio is None else ratio
    sel = summary.selector(method).select(ratio, mode or summary.options.mode)
    return honour_labels(summary, sel, store.get(profile), method)


def suggestions(summary, profile: str, store: LabelStore, n: int = 3) -> list[int]:
    """The n shots of the summary's video whose label would teach the profile's model most
    (core/personal/suggest.py), best first."""
    f = summary.features
    head = head_path(profile, f.backbone)
    model = None
    if head.is_file():
        with contextlib.suppress(VsumError):  # a model for other features: as if there were none
            model = likes.load_cached(head, f.backbone, f.features.shape[1])  # read once per version of the file
    return suggest.suggest(f.features, summary.shot_idx, summary.shot_secs, labelled_shots(summary, profile, store),
                           model, n)
