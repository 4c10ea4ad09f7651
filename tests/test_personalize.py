"""Personalization: a few keep/skip labels on the real sample move the scores their way."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

import threading

import torch

from vsumgui.core import checkpoints, methods, personalize as pers
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.labels import KEEP, SKIP, LabelStore
from vsumgui.core.methods import minmax
from vsumgui.core.pipeline import summarize


def shot_ranks(summary, scores: np.ndarray) -> np.ndarray:
    """Each shot's mean score as a percentile among shots (0 worst, 1 best)."""
    means = np.array([scores[a:b].mean() for a, b in summary.shot_idx])
    return (rankdata(means) - 1) / max(1, len(means) - 1)


def test_personalize_moves_keep_up_and_skip_down(sample_summary, tmp_path, media_dir):
    s = summarize(sample_summary.video.path)  # a cache hit; the shared summary stays as the pipeline made it
    base = minmax(s.scores["ctvsum"].scores)
    before = shot_ranks(s, base)
    order = np.argsort(before)
    keep, skip = list(order[:3]), list(order[-2:])  # the shots the method likes least / most
    with LabelStore(tmp_path / "labels.sqlite") as store:
        for i in keep:
            store.set("ann", s.features.key, *s.shot_secs[i], KEEP)
        for i in skip:
            store.set("ann", s.features.key, *s.shot_secs[i], SKIP)
        got = pers.personalize(s, "ann", store, base="ctvsum")
    name = pers.curve_name("ann")
    assert name not in s.scores, "personalize must not change the summary it was given"
    assert len(got.scores) == len(s.times) and np.isfinite(got.scores).all()
    s = s.with_scores({name: got})
    after = shot_ranks(s, got.scores)
    assert after[keep].mean() > before[keep].mean() + 0.3
    assert after[skip].mean() < before[skip].mean() - 0.3
    sel = s.select(0.3, "knapsack", name)
    assert set(keep) & set(sel.shots) and not set(skip) & set(sel.shots)
    # the saved head scores the person's next video, which has no labels
    other = summarize(media_dir / "friday_cc0.mp4")
    again = pers.personal_scores(other, "ann")
    assert again is not None and len(again.scores) == len(other.times)
    assert pers.curve_name("ann") not in other.scores
    assert pers.saved("ann", s.features.backbone) == pers.head_path("ann", s.features.backbone)


def test_personalize_visp_finetunes_the_model_itself(sample_summary, tmp_path, media_dir):
    """ViSP with a checkpoint: its own model is fine-tuned (Eq. 11 + regulariser), saved per
    profile as a ViSP checkpoint, and scores the next video; a head fit replaces it."""
    s = summarize(sample_summary.video.path)
    bb = s.features.backbone
    pretrained = pers.visp_checkpoint(s)
    assert pretrained is not None and "visp" in s.scores
    before = shot_ranks(s, s.scores["visp"].scores)
    order = np.argsort(before)
    keep, skip = [int(i) for i in order[:2]], [int(order[-1])]  # three labels against the method's ranking
    with LabelStore(tmp_path / "labels.sqlite") as store:
        for i in keep:
            store.set("vi", s.features.key, *s.shot_secs[i], KEEP)
        store.set("vi", s.features.key, *s.shot_secs[skip[0]], SKIP)
        stop = threading.Event()
        stop.set()
        with pytest.raises(Cancelled):  # cancelled: nothing saved
            pers.personalize(s, "vi", store, base="visp", cancel=stop)
        assert pers.saved("vi", bb) is None
        threads, during = torch.get_num_threads(), set()
        got = pers.personalize(s, "vi", store, base="visp", threads=1,
                               progress=lambda *_: during.add(torch.get_num_threads()))
        assert during == {1} and torch.get_num_threads() == threads  # one thread for the fit, then restored
        after = shot_ranks(s, got.scores)
        assert all(after[i] > before[i] for i in keep) and after[skip[0]] < before[skip[0]], (before, after)
        assert pers.curve_name("vi") not in s.scores and np.isfinite(got.scores).all()

        # saved per profile as a ViSP checkpoint (weights_only load) beside the head that holds the
        # labels: the summarizer moved, E did not
        path = pers.saved("vi", bb)
        assert path == pers.visp_path("vi", bb) and pers.head_path("vi", bb).exists()
        assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, pers.head_path("vi", bb).name])
        ck, base_ck = checkpoints.load(path), checkpoints.load(pretrained)
        assert ck.method == "visp" and ck.header["personalized"]["profile"] == "vi"
        assert ck.header["personalized"]["labels"] == 3
        assert not torch.equal(ck.model["head.weight"], base_ck.model["head.weight"])
        assert torch.equal(ck.model["cls"], base_ck.model["cls"])
        np.testing.assert_allclose(pers.personal_scores(s, "vi").scores, got.scores, atol=1e-6)
        # the fine-tuned model did not forget: the unlabelled samples keep the pretrained order
        tuned = methods.create("visp", path).score(s.features.features, bb).scores
        free = np.ones(len(s.times), bool)
        for i in keep + skip:
            free[s.shot_idx[i][0]:s.shot_idx[i][1]] = False
        assert spearmanr(tuned[free], s.scores["visp"].scores[free]).statistic >= 0.9

        # it scores the person's next video (no labels there), unlike the pretrained model
        other = summarize(media_dir / "friday_cc0.mp4")
        again = pers.personal_scores(other, "vi")
        assert again is not None and len(again.scores) == len(other.times)
        assert not np.allclose(again.scores, other.scores["visp"].scores, atol=1e-3)

        # the head path for another method: it replaces the profile's ViSP model
        head = pers.personalize(s, "vi", store, base="ctvsum")
        assert pers.saved("vi", bb) == pers.head_path("vi", bb) and not path.exists()
        np.testing.assert_allclose(pers.personal_scores(s, "vi").scores, head.scores, atol=1e-6)


def test_personalize_without_labels_says_so(sample_summary, tmp_path):
    with LabelStore(tmp_path / "empty.sqlite") as store, pytest.raises(VsumError, match="mark a few shots"):
        pers.personalize(sample_summary, "nobody", store)
    assert pers.personal_scores(sample_summary, "nobody") is None


def test_targets_cover_labelled_spans():
    times = np.arange(10) / 2.0
    y = pers.targets(times, [(1.0, 2.0, KEEP), (4.0, 5.0, SKIP)])
    assert list(np.nan_to_num(y, nan=-1)) == [-1, -1, 1, 1, -1, -1, -1, -1, 0, 0]


def cut(out, media_dir, shots) -> list[tuple[float, float]]:
    """A video of 2 s shots (clip, start) cut with the bundled ffmpeg; their spans."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    parts = []
    for k, (clip, start) in enumerate(shots):
        part = out.with_name(f"{out.stem}-{k}.mp4")
        subprocess.run([ffmpeg, "-v", "error", "-y", "-ss", str(start), "-i", str(media_dir / clip),
                        "-t", "2", "-vf", "scale=320:180,setsar=1,fps=12", "-an", "-c:v", "libx264",
                        "-preset", "veryfast", "-pix_fmt", "yuv420p", str(part)], check=True)
        parts.append(part)
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    return [(2.0 * k, 2.0 * k + 2) for k in range(len(shots))]


@pytest.mark.slow
def test_labels_move_similar_shots_in_this_video_and_the_next(tmp_path, media_dir):
    """Other shots of a kept clip rise (not copies: other stretches of it), of a skipped clip
    fall, in the labelled video and in the next one; unrelated content keeps its order."""
    bbb, flower, street = "big_buck_bunny_0_30.webm", "flower_cc0.mp4", "friday_cc0.mp4"
    a_shots = [(flower, 0), (bbb, 3), (street, 0), (bbb, 17), (flower, 3), (bbb, 26), (street, 4), (bbb, 12.5)]
    b_shots = [(street, 2), (bbb, 7), (flower, 1.5), (bbb, 19), (street, 0.5), (flower, 2.5)]
    a_spans, b_spans = cut(tmp_path / "a.mp4", media_dir, a_shots), cut(tmp_path / "b.mp4", media_dir, b_shots)
    a, b = summarize(tmp_path / "a.mp4"), summarize(tmp_path / "b.mp4")

    def samples(s, shots, spans, clip, skip=()):
        return np.concatenate([np.flatnonzero((s.times >= x) & (s.times < y))
                               for k, ((c, _), (x, y)) in enumerate(zip(shots, spans)) if c == clip and k not in skip])

    with LabelStore(tmp_path / "labels.sqlite") as store:
        store.set("kids", a.features.key, *a_spans[0], KEEP)  # the first flower shot
        store.set("kids", a.features.key, *a_spans[2], SKIP)  # the first street shot
        got = pers.personalize(a, "kids", store, base="ctvsum").scores
    nxt = pers.personal_scores(b, "kids").scores

    def pct(scores, idx):  # mean percentile of the samples among the video's samples
        return ((rankdata(scores) - 1) / (len(scores) - 1))[idx].mean()

    for s, shots, spans, after, seen in ((a, a_shots, a_spans, got, (0, 2)), (b, b_shots, b_spans, nxt, ())):
        before = s.scores["ctvsum"].scores
        liked, disliked = samples(s, shots, spans, flower, seen), samples(s, shots, spans, street, seen)
        assert pct(after, liked) > max(0.8, pct(before, liked)), (pct(before, liked), pct(after, liked))
        assert pct(after, disliked) < min(0.3, pct(before, disliked)), (pct(before, disliked), pct(after, disliked))
        other = samples(s, shots, spans, bbb)
        assert spearmanr(after[other], before[other]).statistic > 0.95

    # labels accumulate over the profile's videos: one skip in B, then Personalize on B uses A's too
    pre = b.scores["ctvsum"].scores
    span = lambda k: np.flatnonzero((b.times >= b_spans[k][0]) & (b.times < b_spans[k][1]))  # noqa: E731
    k = max((1, 3), key=lambda k: pct(pre, span(k)))  # the film shot the method likes more
    with LabelStore(tmp_path / "labels.sqlite") as store:
        store.set("kids", b.features.key, *b_spans[k], SKIP)
        both = pers.personalize(b, "kids", store, base="ctvsum").scores
    assert pct(both, samples(b, b_shots, b_spans, flower)) > 0.8  # from A's keep
    assert pct(both, span(k)) < pct(pre, span(k))


def test_suggestions_are_unlabelled_spread_and_move_on(sample_summary, tmp_path):
    s = sample_summary
    with LabelStore(tmp_path / "labels.sqlite") as store:
        first = pers.suggestions(s, "sug", store)
        assert len(first) == 3 == len(set(first))
        mids = sorted(s.shot_secs[first].mean(axis=1))
        assert min(np.diff(mids)) > s.video.duration / 12  # spread over the video, not three neighbours
        for i in first:  # the person labels what was suggested
            store.set("sug", s.features.key, *s.shot_secs[i], KEEP if i == first[0] else SKIP)
        pers.personalize(s, "sug", store, base="ctvsum")
        again = pers.suggestions(s, "sug", store)
        assert not set(again) & set(first) and len(again) == 3
        # shots the labels already decide (like a labelled one) are not suggested
        model = pers.likes.Likes.load(pers.head_path("sug", s.features.backbone), s.features.backbone,
                                      s.features.features.shape[1])
        sure = [i for i, (a, b) in enumerate(s.shot_idx) if abs(model.evidence(s.features.features[a:b]).mean()) > 0.9]
        assert not set(again) & set(sure)


def test_suggestions_read_the_profile_model_once_per_version(sample_summary, tmp_path, monkeypatch):
    """The profile's model file is read once while it is unchanged (same path, time and size) and
    read again when it changes: a new time, then a new fit."""
    import os

    s = sample_summary
    f = s.features
    head = pers.head_path("once", f.backbone)
    real, reads = checkpoints.load, []
    monkeypatch.setattr(checkpoints, "load", lambda p: reads.append(p) or real(p))  # counts, then reads
    with LabelStore(tmp_path / "labels.sqlite") as store:
        store.set("once", f.key, *s.shot_secs[0], KEEP)
        pers.personalize(s, "once", store, base="ctvsum")
        reads.clear()
        first = pers.suggestions(s, "once", store)
        assert pers.suggestions(s, "once", store) == first and reads == [head]  # read once for two
        loaded = pers.likes.load_cached(head, f.backbone, f.features.shape[1])
        assert loaded is pers.likes.load_cached(head, f.backbone, f.features.shape[1]) and reads == [head]
        st = head.stat()
        os.utime(head, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # same bytes, a new time
        assert pers.suggestions(s, "once", store) == first and reads == [head, head]
        assert pers.likes.load_cached(head, f.backbone, f.features.shape[1]) is not loaded
        # a new fit (one more label) writes a new file: its model, not the kept one, is used
        store.set("once", f.key, *s.shot_secs[-1], SKIP)
        pers.personalize(s, "once", store, base="ctvsum")
        reads.clear()
        again = pers.suggestions(s, "once", store)
        assert reads == [head]
        fresh = pers.likes.Likes.load(head, f.backbone, f.features.shape[1])
        assert len(fresh.skip) > 0 == len(loaded.skip)
        assert again == pers.suggest.suggest(f.features, s.shot_idx, s.shot_secs,
                                             pers.labelled_shots(s, "once", store), fresh)


@pytest.mark.parametrize("mode", ["knapsack", "topk", "highlight", "diverse"])
def test_selection_honours_labels_in_every_mode(sample_summary, tmp_path, mode):
    s = sample_summary
    base = s.selector("ctvsum")
    order = np.argsort(base.shot_scores)
    remembered = s.selection
    with LabelStore(tmp_path / "labels.sqlite") as store:
        plain = s.selector("ctvsum").select(0.3, mode)
        keep, skip = int(order[0]), int(plain.shots[-1])  # the least-liked shot kept, a selected one skipped
        store.set("h", s.features.key, *s.shot_secs[keep], KEEP)
        store.set("h", s.features.key, *s.shot_secs[skip], SKIP)
        sel, note = pers.honoured(s, "h", store, 0.3, mode, "ctvsum")
        assert note is None and keep in sel.shots and skip not in sel.shots
        assert sel.duration <= base.budget(0.3) + 1e-6 and sel.duration > 0.5 * base.budget(0.3)
        segs = np.array(sel.segments)
        assert ((segs[:, 0] < s.shot_secs[skip, 1] - 1e-6) & (segs[:, 1] > s.shot_secs[skip, 0] + 1e-6)).sum() == 0
        # more keep than the budget holds: the best-scored that fit, and a sentence
        for i in range(len(s.shot_secs)):
            store.set("h", s.features.key, *s.shot_secs[i], KEEP)
        sel, note = pers.honoured(s, "h", store, 0.1, mode, "ctvsum")
        assert note and "do not fit" in note and sel.duration <= base.budget(0.1) + 1e-6
    assert s.selection is remembered  # the summary is not changed
