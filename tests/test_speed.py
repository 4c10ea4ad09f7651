"""Issue #10 (performance part): the behaviour behind the speed-ups. Timings are in benchmarks/."""

from __future__ import annotations

import json
import subprocess
import threading

import imageio_ffmpeg
import numpy as np
import pytest

from test_core import check_contract
from vsumgui.cli import main
from vsumgui.core import backbones, features, memo, shots, video
from vsumgui.core.backbones.efficientnet_lite0 import EfficientNetLite0
from vsumgui.core.errors import Cancelled
from vsumgui.core.methods.trained import TrainedMethod
from vsumgui.core.methods.ctvsum import CTVSUM
from vsumgui.core.pipeline import Options, summarize
from vsumgui.core.select import Selector, merge_segments, overlapping

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def frames(sample_video) -> np.ndarray:
    return np.stack([s.rgb for s in video.iter_samples(sample_video, 0.3, (224, 224))])


def test_onnx_features_match_torch(frames, monkeypatch):
    monkeypatch.setenv("VSUMGUI_RUNTIME", "torch")
    ref = EfficientNetLite0()
    want = ref.embed(frames)
    monkeypatch.setenv("VSUMGUI_RUNTIME", "onnx")
    fast = EfficientNetLite0()
    got = fast.embed(frames)
    assert (ref.runtime, fast.runtime) == ("torch", "onnx")
    assert fast.onnx_path().exists()
    assert got.shape == want.shape == (len(frames), 1280) and got.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    # the torch path is the network the cache was built with (the pre-ONNX code, unchanged meaning)
    import torch

    x = (torch.from_numpy(frames).permute(0, 3, 1, 2).float() - 127.0) / 128.0
    with torch.inference_mode():
        old = ref.model.extract_features(x).mean(dim=(2, 3)).numpy()
    assert np.abs(want - old).max() <= 1e-4 * np.abs(old).max()


def test_damaged_onnx_file_is_rebuilt(frames, monkeypatch):
    monkeypatch.setenv("VSUMGUI_RUNTIME", "onnx")
    good = EfficientNetLite0()
    want = good.embed(frames[:2])
    good.onnx_path().write_bytes(b"not an onnx graph")
    again = EfficientNetLite0()
    got = again.embed(frames[:2])
    assert again.runtime == "onnx" and np.allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max())
    assert good.onnx_path().stat().st_size > 1_000_000


def test_cache_hit_builds_no_backbone_and_recomputes_nothing(sample_video, sample_summary, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a cache hit must not do this")

    monkeypatch.setattr(backbones.Backbone, "_load", boom)
    monkeypatch.setattr(EfficientNetLite0, "build", boom)
    monkeypatch.setattr(features, "iter_samples", boom)
    monkeypatch.setattr(shots, "segment", boom)
    monkeypatch.setattr(CTVSUM, "_score", boom)
    monkeypatch.setattr(TrainedMethod, "_load", boom)  # no checkpoint loaded either
    again = summarize(sample_video)
    assert again.cache_hit
    assert np.array_equal(again.shot_idx, sample_summary.shot_idx)
    assert set(again.scores) <= set(sample_summary.scores)  # (other tests may add curves to the fixture)
    for name in again.scores:
        ms = sample_summary.scores[name]
        assert np.array_equal(again.scores[name].scores, ms.scores)
        assert list(again.scores[name].components) == list(ms.components)
        for k, v in ms.components.items():
            assert (v is None and again.scores[name].components[k] is None) or np.array_equal(
                again.scores[name].components[k], v)
    assert again.select(0.15, "diverse").segments == sample_summary.select(0.15, "diverse").segments


def test_derived_results_follow_their_inputs(sample_video, sample_summary, monkeypatch):
    calls = []
    real = shots.segment
    monkeypatch.setattr(shots, "segment", lambda *a, **k: calls.append(1) or real(*a, **k))
    other = shots.ShotParams(min_len=3.0)
    s = summarize(sample_video, Options(shots=other))
    assert s.cache_hit and calls == [1]  # other shot rules: segmented again, not served stale
    assert np.array_equal(s.shot_idx, real(s.features.features, 2.0, other))
    summarize(sample_video, Options(shots=other))
    assert calls == [1]
    # a damaged entry is recomputed and replaced
    for f in memo.folder().glob("*-frames-shots-*.npz"):
        f.write_bytes(b"damaged")
    s = summarize(sample_video, Options(shots=other))
    assert calls == [1, 1] and np.array_equal(s.shot_idx, real(s.features.features, 2.0, other))
    # features that differ (another runtime's rounding, a rebuilt cache) never meet old results
    feats = s.features
    changed = features.Features(feats.video, feats.backbone, feats.sample_rate, feats.features * 1.0001,
                                feats.times, feats.picks, feats.key)
    tag = memo.tag(memo.source(shots), repr(other))
    assert memo.load(feats, "shots", tag) is not None and memo.load(changed, "shots", tag) is None


def _keyframe_times(path) -> list[float]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        t0 = s.start_time or 0
        return [float((p.pts - t0) * s.time_base) for p in c.demux(s) if p.is_keyframe and p.pts is not None]


def test_fast_mode_samples_keyframes_only(sample_video):
    keys = _keyframe_times(sample_video)
    stats: dict = {}
    got = list(video.iter_keyframes(sample_video, 2.0, (224, 224), stats=stats))
    times = [s.time for s in got]
    assert 3 <= len(got) <= len(keys) < 30  # 720 frames, only the keyframes decoded
    assert all(min(abs(t - k) for k in keys) < 1e-3 for t in times)
    assert all(b - a >= 0.5 - 1e-6 for a, b in zip(times, times[1:]))  # at most 2 per second
    assert stats["n_frames"] == 720 and stats["end"] == pytest.approx(30.0, abs=0.05)
    assert got[0].rgb.shape == (224, 224, 3) and got[0].rgb.dtype == np.uint8


def test_fast_summary_has_its_own_cache_and_covers_the_video(sample_video, sample_summary, tmp_path):
    out = tmp_path / "fast.json"
    assert main(["summarize", str(sample_video), "--fast", "--json", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    check_contract(doc, 0.15)
    assert doc["sampling"] == "keyframes" and len(doc["times"]) == len(sample_summary.times)
    key = features.content_key(sample_video)
    assert features.cache_path(key, backbones.DEFAULT, 2.0, "keyframes").exists()
    assert features.cache_path(key, backbones.DEFAULT, 2.0).exists()
    fast = summarize(sample_video, Options(fast=True))
    assert fast.cache_hit and fast.features.sampling == "keyframes"
    assert not np.array_equal(fast.features.features, sample_summary.features.features)
    # shots change only where a keyframe starts to hold (or where the length rules cut)
    keys = np.array(_keyframe_times(sample_video))
    starts = fast.shot_secs[1:, 0]
    near_key = [np.abs(keys - s).min() <= 2.0 for s in starts]  # min_len can move a cut by < 2 s
    assert all(near_key)
    # the sample's hard cuts (the ones with a keyframe of their own) are found within +-1 s
    full = sample_summary.shot_secs[1:, 0]
    matched = [b for b in full if np.abs(starts - b).min() <= 1.0]
    assert len(matched) >= 3


def test_fast_mode_cancel_writes_nothing(sample_video, tmp_path, monkeypatch):
    monkeypatch.setenv("VSUMGUI_CACHE_DIR", str(tmp_path / "cache"))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        summarize(sample_video, Options(fast=True), cancel=cancel)
    assert not list((tmp_path / "cache").rglob("*.h5")) and not list((tmp_path / "cache").rglob("*.npz"))


def test_fast_mode_rotates_like_opencv(tmp_path):
    plain, path = tmp_path / "plain.mp4", tmp_path / "rotated.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x96:rate=10:duration=2",
                    "-c:v", "libx264", "-g", "5", "-pix_fmt", "yuv420p", str(plain)], check=True)
    # a phone's way: the pixels stay landscape, the container says how to turn them
    subprocess.run([FFMPEG, "-v", "error", "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(path)],
                   check=True)
    info = video.probe(path)
    assert info.rotation in (90, 270) and (info.width, info.height) == (96, 160)
    full = next(video.iter_samples(path, 2.0))
    fast = next(video.iter_keyframes(path, 2.0))
    assert fast.rgb.shape == full.rgb.shape == (160, 96, 3)
    assert np.abs(fast.rgb.astype(int) - full.rgb.astype(int)).mean() < 8


def test_fast_selection_code_matches_its_definition():
    """The vectorized highlight and overlap code against the plain definitions, on random cases."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        t = int(rng.integers(2, 120))
        cuts = np.sort(rng.choice(np.arange(1, t), size=min(t - 1, int(rng.integers(0, 12))), replace=False))
        b = np.concatenate([[0], cuts, [t]]).astype(int)
        idx = np.stack([b[:-1], b[1:]], 1)
        times = np.concatenate([[0.0], np.cumsum(rng.uniform(0.2, 0.8, t - 1))])
        duration = times[-1] + 0.5
        secs = shots.shot_times(idx, times, duration)
        sel = Selector(rng.random(t), idx, secs, times, duration, features=rng.normal(size=(t, 6)))
        for ratio in (0.03, 0.15, 0.4, 1.0):
            h = sel.select(ratio, "highlight")
            # definition: samples best-smoothed first while they fit, merged; shots touched by them
            ends = np.append(times[1:], duration)
            used, chosen = 0.0, []
            for i in sel._highlight:
                if used + ends[i] - times[i] > ratio * duration + 1e-9:
                    break
                chosen.append(i)
                used += ends[i] - times[i]
            if chosen:
                assert h.segments == merge_segments([(times[i], ends[i]) for i in chosen])
                assert h.shots == [k for k, (a, e) in enumerate(idx) if set(range(a, e)) & set(chosen)]
            d = sel.select(ratio, "diverse")
            assert d.shots == [k for k, (a, e) in enumerate(secs)
                               if any(min(e, y) - max(a, x) > 1e-9 for x, y in d.segments)]
    spans = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]])
    assert overlapping(spans, [(1.0, 1.5)]) == [1] and overlapping(spans, []) == []
    assert overlapping(spans, [(0.5, 2.5)]) == [0, 1, 2]


def test_parallel_inference_keeps_the_order(sample_video, monkeypatch):
    from vsumgui.core.backbones import base

    got = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("VSUMGUI_THREADS", threads)
        monkeypatch.setattr(base, "_INSTANCES", {})  # a fresh network with these settings
        feats = features.extract(sample_video)
        got[threads] = feats
        assert backbones.get(backbones.DEFAULT).workers == int(threads)
    a, b = got["1"], got["3"]
    assert np.array_equal(a.times, b.times) and np.array_equal(a.picks, b.picks)
    assert np.abs(a.features - b.features).max() <= 1e-5 * np.abs(a.features).max()
