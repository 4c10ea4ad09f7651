"""Issue #10 (performance part): the behaviour behind the speed-ups. Timings are in benchmarks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    monkeypatch.setattr(features, "iter_decoded", boom)
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


# --- issue #20: decode less ------------------------------------------------------------------
# (name, ffmpeg output options, file suffix, whether it has frames nothing refers to)
ENCODINGS = [
    ("h264-bframes", ["-c:v", "libx264", "-preset", "medium", "-bf", "3", "-g", "48"], "mp4", True),
    ("h264-no-bframes", ["-c:v", "libx264", "-preset", "ultrafast"], "mp4", False),
    ("hevc", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:bframes=3"], "mp4", True),
    ("vp8", ["-c:v", "libvpx", "-b:v", "300k"], "webm", False),
    ("vp9", ["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"], "webm", False),
    ("mpeg2-ps", ["-c:v", "mpeg2video", "-bf", "2", "-b:v", "800k"], "mpg", True),
    ("mpeg2-ts", ["-c:v", "mpeg2video", "-bf", "2", "-b:v", "800k"], "ts", True),
    ("avi-mpeg4", ["-c:v", "mpeg4", "-bf", "2", "-q:v", "4"], "avi", True),
]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, sample_video) -> dict[str, tuple]:
    """4 s of the sample (a cut at 12 s inside) at 192x108, 24 fps, in each encoding; plus a phone's
    rotated file and one whose timestamps start at 3.5 s."""
    d = tmp_path_factory.mktemp("encodings")
    out = {}
    for name, opts, ext, nonref in ENCODINGS:
        p = d / f"{name}.{ext}"
        subprocess.run([FFMPEG, "-v", "error", "-ss", "10", "-t", "4", "-i", str(sample_video), "-an",
                        "-vf", "scale=192:108", *opts, str(p)], check=True)
        out[name] = (p, nonref)
    src = out["h264-bframes"][0]
    for name, opts in (("rotated", ["-display_rotation", "90"]), ("start-3.5s", ["-itsoffset", "3.5"])):
        p = d / f"{name}.mp4"
        subprocess.run([FFMPEG, "-v", "error", *opts, "-i", str(src), "-c", "copy", str(p)], check=True)
        out[name] = (p, True)
    return out


def _opencv_frames(path) -> list[tuple[float, np.ndarray]]:
    """Every frame as OpenCV decodes it (rotation applied): (time, RGB)."""
    import cv2

    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return out
        out.append((cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))


@pytest.mark.parametrize("name", [e[0] for e in ENCODINGS] + ["rotated", "start-3.5s"])
def test_sparse_sampling_takes_the_nearest_decoded_frame(encoded, name):
    """At 2 samples per second each sample is a frame OpenCV also decodes, pixel for pixel, at
    that frame's own time and display index, within two frames of its grid time; files with
    non-reference frames decode fewer frames than they have."""
    path, nonref = encoded[name]
    ref = _opencv_frames(path)
    info = video.probe(path)
    stats: dict = {}
    got = list(video.iter_decoded(path, 2.0, stats=stats, info=info))
    # (the AVI's first frame is at 1/24 s: the container delays it by the B-frame)
    assert stats["end"] == pytest.approx(4.0 + (name == "avi-mpeg4") / 24, abs=0.01)
    assert len(got) == int(np.ceil(stats["end"] * 2)) and stats["n_frames"] == len(ref) == 96
    assert (stats["decoded"] < 0.9 * len(ref)) == nonref
    times = np.array([s.time for s in got])
    assert np.all(np.diff(times) > 0) and np.abs(times - np.arange(len(got)) / 2.0).max() <= 2.01 / 24
    for s in got:
        rgb = ref[s.index][1]
        assert s.time == pytest.approx(ref[0][0] + s.index / 24, abs=1e-3)  # (OpenCV's last AVI time is 0)
        assert rgb.shape == s.rgb.shape == ((192, 108, 3) if name == "rotated" else (108, 192, 3))
        # the same frame: nearer than its neighbours, and within the unsmoothed block edges of a
        # decode without the deblocking filter (sparse sampling skips it; exact where a codec has none)
        near = {j: np.abs(ref[j][1].astype(int) - s.rgb).mean() for j in range(max(0, s.index - 1),
                                                                            min(len(ref), s.index + 2))}
        assert near[s.index] == min(near.values()) and near[s.index] < 2.5
        if not name.startswith(("h264", "hevc", "rotated", "start")):  # decoded fully: pixel for pixel
            assert near[s.index] < 1.0


def test_dense_sampling_decodes_every_frame(encoded):
    """At 8 samples per second of a 24 fps file (one every 3 frames) nothing is skipped, and the
    samples are the frames at the grid times exactly."""
    path, _ = encoded["h264-bframes"]
    stats: dict = {}
    got = list(video.iter_decoded(path, 8.0, (32, 32), stats=stats))
    assert stats["decoded"] == stats["n_frames"] == 96
    assert [s.index for s in got] == list(range(0, 96, 3))
    assert np.allclose([s.time for s in got], np.arange(32) / 8.0)


def test_decoded_samples_follow_variable_frame_rate(tmp_path):
    """A 50 fps second then 10 fps: samples by media time, as the OpenCV sampler keeps them."""
    p = tmp_path / "vfr.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=50", "-vf",
                    "setpts='if(lt(N,50),N*0.02,1+(N-50)*0.1)/TB'", "-frames:v", "80", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-bf", "0", str(p)], check=True)
    kept = [(s.index, round(s.time, 3)) for s in video.iter_decoded(p, 2.0, (32, 32))]
    assert kept == [(s.index, round(s.time, 3)) for s in video.iter_samples(p, 2.0, (32, 32))]
    assert kept[:4] == [(0, 0.0), (25, 0.5), (50, 1.0), (55, 1.5)]


def test_partial_summaries_while_features_are_extracted(sample_video, monkeypatch):
    """The features so far are offered while they are extracted (each a prefix of the final ones,
    of a video ending after its last sample), and partial summaries of them reach the caller from
    their own thread, covering more and more of the video, never after summarize returned."""
    from vsumgui.core import pipeline

    monkeypatch.setattr(features, "PARTIAL_EVERY", 0.0)
    offered: list = []
    final = features.extract(sample_video, partial=offered.append)
    assert [len(f) for f in offered[:3]] == [16, 32, 48]  # after each batch embedded
    for f in offered:
        k = len(f)
        assert np.array_equal(f.times, final.times[:k]) and np.array_equal(f.features, final.features[:k])
        assert f.video.duration == pytest.approx(f.times[-1] + 0.5)
    chosen = pipeline.resolve_methods(["ctvsum", "uniform-sampling"])
    s = pipeline.partial_summary(offered[1], chosen, Options(), final.video.duration)
    k = len(offered[1])
    assert s.done == pytest.approx(16.0 / 30.0) and set(s.scores) == {"ctvsum", "uniform-sampling"}
    assert s.shot_idx[0, 0] == 0 and s.shot_idx[-1, 1] == k and all(len(m.scores) == k for m in s.scores.values())
    assert s.selection is not None and 0 < s.selection.duration <= 0.15 * s.video.duration + 1e-6
    # end to end, with inference slowed so that the run lasts a few seconds
    model = backbones.get(backbones.DEFAULT)
    embed = model.embed
    monkeypatch.setattr(model, "embed", lambda frames: (threading.Event().wait(0.6), embed(frames))[1])
    got: list = []
    done = summarize(sample_video, Options(use_cache=False, methods=["ctvsum"]), partial=got.append)
    n = len(got)
    assert n >= 1 and all(0 < g.done < 1 and threading.current_thread().name != "vsumgui-partial" for g in got)
    assert [g.done for g in got] == sorted(g.done for g in got) and done.done == 1.0
    threading.Event().wait(0.5)
    assert len(got) == n  # nothing arrives after summarize returned


def test_progress_bar_eta():
    """The time left is the stage's pace so far, once a second of it has passed."""
    import io

    from vsumgui.cli import ProgressBar

    now = [0.0]
    out = io.StringIO()
    bar = ProgressBar(out, clock=lambda: now[0])
    bar("decoding", 0.0)
    now[0] = 10.0
    bar("decoding", 0.25)
    now[0] = 20.0
    bar("decoding", 0.5)
    assert bar.eta("decoding", 0.5) == pytest.approx(20.0)
    lines = out.getvalue().splitlines()
    assert "ETA" not in lines[0] and lines[-1].endswith("ETA 0:20")


@pytest.mark.parametrize("name", ["h264-bframes", "rotated"])
def test_resized_samples_match_opencv_resizing(encoded, name):
    """Samples resized by FFmpeg's area filter (in the colour conversion) are the full frames
    resized by OpenCV's INTER_AREA, to a couple of levels, upright."""
    import cv2

    path, _ = encoded[name]
    small = list(video.iter_decoded(path, 2.0, (64, 48)))
    full = list(video.iter_decoded(path, 2.0))
    assert len(small) == len(full) and small[0].rgb.shape == (48, 64, 3)
    diff = [np.abs(s.rgb.astype(int) - cv2.resize(f.rgb, (64, 48), interpolation=cv2.INTER_AREA)).mean()
            for s, f in zip(small, full)]
    assert max(diff) < 4.0


@pytest.mark.parametrize("name", ["flower_cc0.mp4", "friday_cc0.mp4", "big_buck_bunny_0_30.webm"])
def test_sparse_decoding_keeps_the_features(media_dir, name):
    """Sparse samples of H.264 (the two phone clips) are decoded without the deblocking filter;
    their features stay those of the fully decoded frames (the same frames, by index) within
    what a re-encode changes. The VP8 sample is decoded fully: identical."""
    from vsumgui.core import backbones

    path = media_dir / name
    info = video.probe(path)
    sparse = list(video.iter_decoded(path, 2.0, (224, 224), info=info))
    full = {s.index: s for s in video.iter_decoded(path, info.fps, (224, 224), info=info)}  # dense: decodes all
    model = backbones.get(backbones.DEFAULT).load()
    a = model.embed(np.stack([s.rgb for s in sparse]))
    b = model.embed(np.stack([full[s.index].rgb for s in sparse]))
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.mean() > 0.98 and cos.min() > 0.95
    if name.endswith(".webm"):
        assert cos.min() > 0.9999
    else:  # the filter was skipped indeed: the same frames, not the same pixels
        assert cos.min() < 0.9999
    assert np.abs(np.stack([s.rgb for s in sparse]).astype(int) - [full[s.index].rgb for s in sparse]).mean() < 2.0


TRAINED = ("ctvsum", "csum", "chd", "visp", "trim")


@pytest.fixture(scope="module")
def long_features() -> np.ndarray:
    """450 samples: three interleaved groups of 150 for a 200-sample window (core/nn.grouped)."""
    return np.random.default_rng(3).normal(size=(450, 1280)).astype(np.float32)


@pytest.mark.parametrize("name", TRAINED)
def test_methods_on_onnx_match_torch(name, long_features, monkeypatch):
    """Issue #20: the methods' networks run on ONNX Runtime (exported once per checkpoint) and
    give torch's scores and components."""
    from vsumgui.core import methods

    monkeypatch.setenv("VSUMGUI_RUNTIME", "torch")
    ref = methods.create(name)
    want = ref.score(long_features, "efficientnet-lite0")
    monkeypatch.setenv("VSUMGUI_RUNTIME", "onnx")
    fast = methods.create(name)
    got = fast.score(long_features, "efficientnet-lite0")
    assert (ref.runtime, fast.runtime) == ("torch", "onnx") and fast.onnx_path().exists()
    assert got.scores.shape == (len(long_features),)
    np.testing.assert_allclose(got.scores, want.scores, rtol=0, atol=1e-5)
    for k, v in want.components.items():
        if v is None:
            assert got.components[k] is None
        else:
            np.testing.assert_allclose(got.components[k], v, rtol=0, atol=1e-5)
    assert np.std(got.scores) > 1e-3  # a network that scores: not one constant


def test_summary_runs_without_torch(sample_video, tmp_path):
    """Once the graphs are exported, `vsumgui summarize` never imports torch, and its summary is
    the one torch's runtime gives."""
    from vsumgui.core import pipeline

    pipeline.prepare()  # exports what the session has not exported yet
    script = ("import json, sys\nfrom vsumgui.cli import main\n"
              f"code = main(['summarize', {str(sample_video)!r}, '--no-cache', '--json', sys.argv[1]])\n"
              "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules, "
              "'onnxscript': 'onnxscript' in sys.modules}))\n")
    runs = {}
    for rt in ("onnx", "torch"):
        out = tmp_path / f"{rt}.json"
        env = dict(os.environ, VSUMGUI_RUNTIME=rt)
        done = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        runs[rt] = json.loads(done.stdout.strip().splitlines()[-1]), json.loads(out.read_text())
    assert runs["onnx"][0] == {"code": 0, "torch": False, "onnxscript": False}
    assert runs["torch"][0] == {"code": 0, "torch": True, "onnxscript": False}
    a, b = runs["onnx"][1], runs["torch"][1]
    assert set(a["methods"]) == set(b["methods"]) >= set(TRAINED)
    for name in TRAINED:
        np.testing.assert_allclose(a["methods"][name]["scores"], b["methods"][name]["scores"], rtol=0, atol=1e-4)
    assert a["selection"]["segments"] == b["selection"]["segments"]


def test_damaged_method_graph_is_made_again(long_features):
    from vsumgui.core import methods
    from vsumgui.core.methods import trained

    m = methods.create("csum")
    want = m.score(long_features, "efficientnet-lite0").scores
    m.onnx_path().write_bytes(b"not an onnx graph")
    trained.MODELS.clear()
    again = methods.create("csum")
    np.testing.assert_allclose(again.score(long_features, "efficientnet-lite0").scores, want, rtol=0, atol=1e-6)
    assert again.runtime == "onnx" and again.onnx_path().stat().st_size > 100_000


def test_a_graph_belongs_to_its_checkpoint_bytes(tmp_path):
    """A retrained checkpoint at the same path gets a graph of its own; a copy shares one."""
    import shutil

    from vsumgui.core import checkpoints, methods

    src = checkpoints.demo_path("trim")
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    shutil.copy(src, a)
    shutil.copy(src, b)
    assert methods.create("trim", a).onnx_path() == methods.create("trim", b).onnx_path()
    ck = checkpoints.load(b)
    ck.header["epoch"] += 1
    checkpoints.save(b, ck)
    assert methods.create("trim", a).onnx_path() != methods.create("trim", b).onnx_path()


def test_networks_are_torch_modules_built_without_torch_at_import():
    """A method file imports without torch (`vnn.Network`); its network is a torch module."""
    import copy

    script = ("import sys\nfrom vsumgui.core import methods\nmethods.names()\n"
              "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr

    import torch

    from vsumgui.core.methods.chd import Attn, CHDModel

    model = CHDModel(16, {"d_model": 8, "dropout": 0.0})
    assert isinstance(model, CHDModel) and isinstance(model, torch.nn.Module)
    assert isinstance(model.context, Attn) and isinstance(model.context, torch.nn.Module)
    assert {k.split(".")[0] for k in model.state_dict()} == {"proj", "context", "select"}
    twin = copy.deepcopy(model)
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        assert torch.equal(model.eval()(x)[0], twin.eval()(x)[0])
    assert type(model) is type(CHDModel(16, {"d_model": 8, "dropout": 0.0}))  # one torch class, made once


def test_a_network_the_exporter_cannot_take_runs_on_torch_once_tried(long_features, monkeypatch):
    """A graph that cannot be exported (or differs from torch) leaves the method on torch, and a
    marker spares later processes the attempt."""
    from vsumgui.core import methods, runtime
    from vsumgui.core.methods import trained

    def refuse(*a, **k):
        raise RuntimeError("the ONNX graph differs from torch")

    trained.MODELS.clear()
    m = methods.create("visp")
    graph = m.onnx_path()
    for f in (graph, graph.with_suffix(".json"), graph.with_suffix(".failed")):
        f.unlink(missing_ok=True)
    monkeypatch.setattr(runtime, "export", refuse)
    want = m.score(long_features, "efficientnet-lite0").scores
    assert m.runtime == "torch" and graph.with_suffix(".failed").exists() and not graph.exists()
    trained.MODELS.clear()
    monkeypatch.setattr(runtime, "export", lambda *a, **k: pytest.fail("tried again"))
    again = methods.create("visp")
    np.testing.assert_allclose(again.score(long_features, "efficientnet-lite0").scores, want, rtol=0, atol=0)
    assert again.runtime == "torch"
    # a marker left by another torch: this one tries again
    graph.with_suffix(".failed").write_text("torch 0.0: RuntimeError: the ONNX graph differs from torch\n")
    trained.MODELS.clear()
    monkeypatch.undo()
    third = methods.create("visp")
    np.testing.assert_allclose(third.score(long_features, "efficientnet-lite0").scores, want, rtol=0, atol=1e-5)
    assert third.runtime == "onnx" and graph.exists()
    graph.with_suffix(".failed").unlink()
    trained.MODELS.clear()


def test_methods_still_preparing_after_decoding_say_so(sample_video, monkeypatch):
    """The first use of a checkpoint (its export) can outlast a short video's decoding: the
    progress says what the wait is, between the features and the shots."""
    from vsumgui.core import pipeline

    waited = threading.Event()  # the summary waits for the methods: only then do they finish
    first_use, get = pipeline.first_use, pipeline._Methods.get

    def slow_first_use(*a, **k):
        assert waited.wait(60)
        first_use(*a, **k)

    def waiting_get(self):
        waited.set()
        return get(self)

    monkeypatch.setattr(pipeline, "first_use", slow_first_use)
    monkeypatch.setattr(pipeline._Methods, "get", waiting_get)
    stages: list[str] = []
    s = summarize(sample_video, Options(use_cache=False, methods=["csum"]),
                  progress=lambda stage, frac: stages.append(stage))
    order = list(dict.fromkeys(stages))
    assert order.index("features") < order.index("methods") < order.index("shots")
    assert "csum" in s.scores


def test_a_missing_or_damaged_checkpoint_is_a_clear_error(sample_video, tmp_path, capsys):
    """Looking for a checkpoint's graph must not read a file that is not there: the user hears
    what is wrong with the file (exit 1), never an internal error."""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    for path, says in ((tmp_path / "missing.pt", "no such checkpoint file"), (bad, "not a readable checkpoint")):
        code = main(["summarize", str(sample_video), "--checkpoint", f"csum={path}", "-q"])
        err = capsys.readouterr().err
        assert code == 1 and says in err and "internal error" not in err, err
