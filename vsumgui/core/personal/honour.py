"""A selection that honours the labels: shots marked keep are in it, shots marked skip are not,
in every mode, while the budget allows (and a sentence says when it does not).

Applied after any mode's selection, on its segments: the skip shots' spans are cut out, the keep
shots' spans put in (best-scored first while they fit the budget), the rest of the selection
trimmed to what is left of the budget (its lowest-scored shot pieces dropped first), and the
room left filled with the best unlabelled shots that fit whole. Written here, not in select.py:
it is the same step for every mode, and the modes stay what their papers describe.
"""

from __future__ import annotations

import numpy as np

from vsumgui.core.labels import KEEP, SKIP
from vsumgui.core.select import Selection, merge_segments, overlapping

EPS = 1e-6


def subtract(segs: list[tuple[float, float]], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of the segments outside every cut."""
    out = []
    for s, e in segs:
        parts = [(s, e)]
        for a, b in cuts:
            parts = [p for x, y in parts for p in ((x, min(y, a)), (max(x, b), y)) if p[1] - p[0] > EPS]
        out += parts
    return merge_segments(out)


def _length(segs) -> float:
    return float(sum(e - s for s, e in segs))


def honour(sel: Selection, shot_secs: np.ndarray, shot_scores: np.ndarray, labels: dict[int, int],
           budget: float) -> tuple[Selection, str | None]:
    """The selection with keep shots in and skip shots out (labels: shot index -> KEEP or SKIP),
    at most `budget` seconds long; a sentence when some keep shot does not fit, else None."""
    shot_secs = np.asarray(shot_secs, np.float64)
    if not labels:
        return sel, None
    span = lambda i: (float(shot_secs[i, 0]), float(shot_secs[i, 1]))  # noqa: E731
    skips = [span(i) for i, lb in labels.items() if lb == SKIP]
    keeps = sorted((i for i, lb in labels.items() if lb == KEEP), key=lambda i: -shot_scores[i])
    kept, left_out, used = [], [], 0.0
    for i in keeps:
        n = shot_secs[i, 1] - shot_secs[i, 0]
        if used + n <= budget + EPS:
            kept.append(span(i))
            used += n
        else:
            left_out.append(i)
    rest = subtract(subtract(sel.segments, skips), kept)
    # the selection's own pieces, shot by shot, lowest-scored dropped until they fit
    pieces = [(float(max(a, shot_secs[k, 0])), float(min(b, shot_secs[k, 1])), float(shot_scores[k]))
              for a, b in rest for k in overlapping(shot_secs, [(a, b)])]
    pieces = [p for p in pieces if p[1] - p[0] > EPS]
    pieces.sort(key=lambda p: -p[2])
    room, chosen = budget - used, []
    for a, b, _ in pieces:
        if b - a <= room + EPS:
            chosen.append((a, b))
            room -= b - a
    taken = set(overlapping(shot_secs, merge_segments(kept + chosen))) if kept or chosen else set()
    for k in np.argsort(-np.asarray(shot_scores), kind="stable"):
        n = shot_secs[k, 1] - shot_secs[k, 0]
        if k not in labels and k not in taken and n <= room + EPS:
            chosen.append(span(k))
            room -= n
    segs = merge_segments(kept + chosen)
    out = Selection(sel.method, sel.ratio, sel.mode, overlapping(shot_secs, segs), segs)
    note = None
    if left_out:
        need = sum(shot_secs[i, 1] - shot_secs[i, 0] for i in keeps)
        note = (f"{len(left_out)} of the {len(keeps)} shots marked keep do not fit in the summary "
                f"({need:.1f} s of keep shots, {budget:.1f} s allowed): make the summary longer to show them all")
    return out, note
