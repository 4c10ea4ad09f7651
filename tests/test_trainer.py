"""Issue 6: the trainer (data, loop, checkpoints, CLI, torchrun) and the trained CTVSUM / CSUM,
on features of the real sample videos, on the CPU."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from conftest import ROOT, VIDEOS
from vsumgui.cli import main as vsumgui_main
from vsumgui.core import checkpoints, features, methods
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.methods.csum import halving_topk, subvideo_embedding
from vsumgui.core.pipeline import Options, summarize
from trainer import data as tdata, loop
from trainer.checkpoint import strip
from trainer.cli import main as train_main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def library(tmp_path_factory, media_dir) -> Path:
    """The sample videos in nested folders, plus a damaged 'video' and a non-video file."""
    root = tmp_path_factory.mktemp("library")
    assert len(VIDEOS) >= 3
    (root / "a").mkdir()
    (root / "b" / "deeper").mkdir(parents=True)
    for v, sub in zip(VIDEOS, ["a", "b/deeper", "."]):
        shutil.copy(v, root / sub / v.name)
    (root / "b" / "broken.mp4").write_bytes(b"this is not a video" * 100)
    (root / "notes.txt").write_text("not a video")
    return root


@pytest.fixture(scope="module")
def dataset(library) -> tdata.WindowDataset:
    events = []
    ds = tdata.from_videos(library, progress=lambda s, f, i: events.append((s, f, i)))
    assert events and all(s == "features" for s, _, _ in events) and events[-1][1] == 1.0
    return ds


def quick(out: Path, epochs: int, hparams: dict | None = None) -> loop.Config:
    """A short CPU run; 64-sample windows keep the tests fast."""
    return loop.Config(out=out, epochs=epochs, batch_size=8, device="cpu", seed=0,
                       hparams={"window": 64, **(hparams or {})})


@pytest.fixture(scope="module")
def ctvsum_ckpt(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ck") / "ctvsum.pt"
    loop.fit("ctvsum", dataset, quick(out, 2))
    return out


def test_folder_dataset_is_recursive_skips_unreadable_and_caches(library, dataset):
    names = sorted(Path(e.name).name for e in dataset.entries)
    assert names == sorted(v.name for v in VIDEOS)
    assert [Path(p).name for p, _ in dataset.skipped] == ["broken.mp4"]
    assert dataset.backbone == "efficientnet-lite0" and dataset.dim == 1280
    # the features went to the core cache, as the pipeline writes it (with change points)
    for e in dataset.entries:
        with h5py.File(e.h5[0], "r") as f:
            assert f["features"].shape == (e.length, 1280) and "change_points" in f
    again = tdata.from_videos(library)
    assert [e.length for e in again.entries] == [e.length for e in dataset.entries]
    f, hit = features.ensure(library / "a" / VIDEOS[0].name)
    assert hit and f.shot_idx is None


def test_windows_subsample_long_and_stretch_short(dataset):
    ds = tdata.WindowDataset(dataset.entries, dataset.backbone, dataset.dim, window=40, windows_per_video=3)
    long_v = max(range(len(ds.entries)), key=lambda i: ds.entries[i].length)
    short_v = min(range(len(ds.entries)), key=lambda i: ds.entries[i].length)
    assert ds.entries[long_v].length > 40 > ds.entries[short_v].length
    item = ds[long_v * 3]
    src = item["src"].numpy()
    assert item["x"].shape == (40, 1280) and (np.diff(src) > 0).all()  # random subset, time order kept
    assert not np.array_equal(src, ds[long_v * 3 + 1]["src"].numpy())  # another window of the video
    ds.set_epoch(1)
    assert not np.array_equal(src, ds[long_v * 3]["src"].numpy())  # another epoch, another window
    ds.set_epoch(0)
    assert np.array_equal(src, ds[long_v * 3]["src"].numpy())  # but reproducible
    short = ds[short_v * 3]
    s = short["src"].numpy()
    assert (np.diff(s) >= 0).all() and set(s) == set(range(ds.entries[short_v].length))  # nearest neighbour
    np.testing.assert_array_equal(short["x"].numpy(), ds.entries[short_v].features[s])
    e = ds.entries[short_v]  # a large library reads windows from the h5 file instead of memory
    np.testing.assert_array_equal(tdata.Entry(e.name, e.length, None, e.h5).read(s), e.features[s])
    assert int(short["video"]) == short_v


@pytest.mark.parametrize("name", ["ctvsum", "csum"])
def test_a_few_steps_lower_the_loss(dataset, tmp_path, name):
    events = []
    res = loop.fit(name, dataset, quick(tmp_path / f"{name}.pt", 4),
                   progress=lambda s, f, i: events.append((s, f, i)))
    losses = [h["loss"] for h in res.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.01, losses
    stages = [s for s, _, _ in events]
    assert stages[0] == "device" and stages[-1] == "done" and stages.count("epoch") == 4
    step = next(i for s, _, i in events if s == "train")
    assert {"epoch", "epochs", "step", "steps", "loss", "parts"} <= set(step)
    ck = checkpoints.load(tmp_path / f"{name}.pt")
    assert ck.epoch == 4 and ck.method == name and ck.dim == 1280 and ck.optimizer is not None
    assert ck.header["data"]["videos"] == 3 and ck.hparams["window"] == 64


def test_cancel_keeps_the_checkpoint_and_resume_continues(dataset, library, tmp_path, capsys):
    out = tmp_path / "ck.pt"
    loop.fit("ctvsum", dataset, quick(out, 2))
    before = digest(out)
    cancel = threading.Event()

    def progress(stage, frac, info):
        if stage == "train":  # cancel in the middle of epoch 3
            assert info["epoch"] == 3
            cancel.set()

    with pytest.raises(Cancelled):
        loop.fit("ctvsum", dataset, quick(out, 4), progress, cancel, resume=True)
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]  # no temp file left behind
    assert checkpoints.load(out).epoch == 2

    capsys.readouterr()
    assert train_main(["pretrain", "--videos", str(library), "--method", "ctvsum", "--epochs", "4",
                       "--batch-size", "8", "--device", "cpu", "--out", str(out), "--resume", "--hp", "window=64"]) == 0
    printed = capsys.readouterr().out
    assert "epoch   3/4" in printed and "epoch   4/4" in printed and "epoch   1/4" not in printed
    assert checkpoints.load(out).epoch == 4
    # more epochs than asked for are refused, with one line
    assert train_main(["pretrain", "--videos", str(library), "--method", "ctvsum", "--epochs", "3",
                       "--out", str(out), "--resume", "-q"]) == 1
    assert "already trained for 4 epochs" in capsys.readouterr().err


def test_pause_holds_between_steps_continue_finishes_cancel_stops(dataset, tmp_path):
    out = tmp_path / "ck.pt"
    pause, cancel = threading.Event(), threading.Event()
    events: list[tuple[str, dict]] = []

    def progress(stage, frac, info):
        events.append((stage, dict(info)))
        if stage == "epoch" and info["epoch"] == 1:
            pause.set()  # holds before the first step of epoch 2

    def run(epochs: int, resume: bool, result: dict) -> None:
        try:
            result["res"] = loop.fit("ctvsum", dataset, quick(out, epochs), progress, cancel, resume, pause=pause)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            result["err"] = e

    def wait_for(stage: str) -> None:
        deadline = time.monotonic() + 120
        while not any(s == stage for s, _ in events):
            assert time.monotonic() < deadline, f"no {stage!r} event"
            time.sleep(0.02)

    got: dict = {}
    t = threading.Thread(target=run, args=(3, False, got))
    t.start()
    wait_for("paused")
    stage, info = events[-1]
    assert stage == "paused" and (info["epoch"], info["step"]) == (2, 0)
    seen = len(events)
    time.sleep(0.5)  # paused: no step, no loss, no checkpoint
    assert len(events) == seen and t.is_alive()
    assert checkpoints.load(out).epoch == 1
    pause.clear()
    t.join(120)
    assert not t.is_alive() and "err" not in got, got
    assert got["res"].epoch == 3 and checkpoints.load(out).epoch == 3
    resumed = [i for s, i in events if s == "resumed"]
    assert len(resumed) == 1 and resumed[0]["paused_s"] >= 0.5
    assert [s for s, _ in events].count("train") == 3 * next(i["steps"] for s, i in events if s == "train")

    # paused from the start of a resumed run, then cancelled: it stops, the checkpoint stays
    before = digest(out)
    events.clear()
    pause.set()
    got = {}
    t = threading.Thread(target=run, args=(5, True, got))
    t.start()
    wait_for("paused")
    assert events[-1][1]["epoch"] == 4
    cancel.set()
    t.join(30)
    assert not t.is_alive() and isinstance(got.get("err"), Cancelled)
    assert "train" not in [s for s, _ in events]
    assert digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


def test_torchrun_two_processes_with_gloo(library, dataset, tmp_path):
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        "-m", "trainer", "pretrain", "--videos", str(library), "--method", "csum",
                        "--epochs", "2", "--batch-size", "4", "--device", "cpu", "--out", str(out),
                        "--hp", "window=64"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 processes" in r.stdout and r.stdout.count("epoch   2/2") == 1  # rank 0 alone reports
    ck = checkpoints.load(out)
    assert ck.epoch == 2 and ck.method == "csum" and ck.header["data"]["videos"] == 3


def test_checkpoint_for_other_features_or_damaged_is_refused(ctvsum_ckpt, dataset, tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 1024)).astype(np.float32)
    with pytest.raises(VsumError, match=r"trained on efficientnet-lite0 features \(1280-d\)"):
        methods.create("ctvsum", ctvsum_ckpt).score(x)
    with pytest.raises(VsumError, match="not 'csum'"):
        methods.create("csum", ctvsum_ckpt).score(x)
    with pytest.raises(VsumError, match="trained on efficientnet-lite0"):
        methods.create("ctvsum", ctvsum_ckpt).score(np.ones((50, 1280), np.float32), backbone="googlenet")
    # resuming on data of another width is refused too
    other = tdata.WindowDataset(dataset.entries, "googlenet", 1024)
    with pytest.raises(VsumError, match=r"1024-d"):
        loop.fit("ctvsum", other, quick(ctvsum_ckpt, 3), resume=True)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(ctvsum_ckpt.read_bytes()[:5000])
    with pytest.raises(VsumError, match="not a readable checkpoint"):
        methods.create("ctvsum", bad).score(np.ones((5, 1280), np.float32))
    assert vsumgui_main(["summarize", str(VIDEOS[1]), "--method", "ctvsum", "-q"]) == 0


def test_trained_ctvsum_gives_unique_and_csum_scores(ctvsum_ckpt, dataset, tmp_path, sample_video):
    cs = tmp_path / "csum.pt"
    loop.fit("csum", dataset, quick(cs, 1))
    opts = Options(methods=["ctvsum", "csum"], checkpoints={"ctvsum": str(ctvsum_ckpt), "csum": str(cs)})
    s = summarize(sample_video, opts)
    comps = s.scores["ctvsum"].components
    t = len(s.times)
    assert comps["unique"] is not None and len(comps["unique"]) == t
    assert comps["unique"].min() == 0 and comps["unique"].max() == 1
    expect = comps["align"] * comps["uniform"] * comps["unique"] + 1e-3  # Eq. 12 before smoothing
    assert np.corrcoef(expect, s.scores["ctvsum"].scores)[0, 1] > 0.8
    assert len(s.scores["csum"].scores) == t and np.ptp(s.scores["csum"].scores) > 0
    assert s.select(mode="highlight", method="csum").segments
    doc = s.to_json()
    assert len(doc["methods"]["ctvsum"]["components"]["unique"]) == t
    free = methods.create("ctvsum", checkpoints.NONE).score(s.features.features)
    assert free.components["unique"] is None


def test_long_video_is_scored_in_groups_like_training_windows(ctvsum_ckpt):
    x = np.random.default_rng(1).normal(size=(450, 1280)).astype(np.float32)
    ms = methods.create("ctvsum", ctvsum_ckpt).score(x)
    assert len(ms.scores) == 450 and np.isfinite(ms.scores).all() and ms.components["unique"] is not None


def test_cli_errors_are_one_line(tmp_path, capsys, ctvsum_ckpt):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train_main(["pretrain", "--videos", str(empty), "--method", "ctvsum", "--out", str(tmp_path / "x.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vsumgui-train: error:") and "no readable video" in err[0]
    assert train_main(["pretrain", "--videos", str(tmp_path / "missing"), "--method", "csum", "-q"]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert train_main(["pretrain", "--videos", str(VIDEOS[0].parent), "--method", "csum", "--device", "cuda:0",
                       "-q", "--out", str(tmp_path / "y.pt")]) == (0 if torch.cuda.is_available() else 1)
    if not torch.cuda.is_available():
        assert "no CUDA device is available" in capsys.readouterr().err
    assert train_main(["pretrain", "--videos", str(VIDEOS[0].parent), "--method", "csum", "--hp", "bogus=1",
                       "-q", "--out", str(tmp_path / "z.pt")]) == 2  # a usage error, before any work
    assert "unknown hyper-parameter" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "z.pt").exists()
    assert train_main(["info", str(ctvsum_ckpt)]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "ctvsum"


def test_device_auto_falls_back_to_cpu_with_a_message():
    device, msg = loop.resolve_device("auto")
    if torch.cuda.is_available():
        assert device.type == "cuda" and msg is None
    else:
        assert device.type == "cpu" and "CPU" in msg
        with pytest.raises(VsumError, match="no CUDA device"):
            loop.resolve_device("cuda")
    with pytest.raises(VsumError, match="expected auto"):
        loop.resolve_device("tpu")


def test_h5_reader_eccv16_layout(dataset, tmp_path):
    path = tmp_path / "eccv16_like.h5"
    with h5py.File(path, "w") as f:
        for i, e in enumerate(dataset.entries):
            g = f.create_group(f"video_{i + 1}")
            g["features"] = e.features[:, :1024]
            g["n_frames"] = e.length * 12
    ds = tdata.from_h5([path])
    assert ds.backbone == "googlenet" and ds.dim == 1024 and len(ds.entries) == 3
    assert ds[0]["x"].shape == (200, 1024)
    cached = tdata.from_h5([dataset.entries[0].h5[0]])  # our cache files have `features` at the top
    assert cached.backbone == "efficientnet-lite0" and cached.dim == 1280
    with pytest.raises(VsumError, match="no video features"):
        empty = tmp_path / "empty.h5"
        h5py.File(empty, "w").close()
        tdata.from_h5([empty])


def test_halving_topk_picks_the_top_k_and_passes_gradients():
    torch.manual_seed(0)
    n, k = 50, 6
    x = torch.eye(n)[None]
    s = torch.randn(1, n, requires_grad=True)
    sel, _, pos = halving_topk(x, s * 100, k)  # sharp: nearly hard selection
    picked = set(sel[0].argmax(1).tolist())
    assert picked == set(s[0].topk(k).indices.tolist())
    assert sorted(pos[0].round().long().tolist()) == sorted(picked)
    soft, _, _ = halving_topk(x, s, k)
    soft.sum(1)[0, s[0].topk(k).indices].sum().backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    u = torch.nn.functional.normalize(torch.randn(2, 9, 4), dim=-1)
    torch.testing.assert_close(subvideo_embedding(u, 1), u.mean(1))  # n = 1 is Eq. 3
    assert not torch.allclose(subvideo_embedding(u, 3), u.mean(1))


def test_demo_checkpoints_are_bundled_small_and_user_ones_take_precedence(ctvsum_ckpt, capsys):
    for name in ("ctvsum", "csum"):
        p = checkpoints.demo_path(name)
        assert p.is_file() and p.stat().st_size < 5_000_000, p
        ck = checkpoints.load(p)
        assert ck.method == name and ck.backbone == "efficientnet-lite0" and ck.dim == 1280
        m = methods.create(name)
        assert m.checkpoint_source == "demo" and m.status == "ready (demo checkpoint)"
    assert vsumgui_main(["methods"]) == 0
    out = capsys.readouterr().out
    bundled = [n for n in methods.names() if checkpoints.demo_path(n).is_file()]
    assert {"ctvsum", "csum"} <= set(bundled) and out.count("ready (demo checkpoint)") == len(bundled)
    user = checkpoints.user_path("ctvsum")
    strip(ctvsum_ckpt, user)
    try:
        m = methods.create("ctvsum")
        assert m.checkpoint == user and m.status == "ready (checkpoint)"
        assert m.score(np.random.default_rng(0).normal(size=(30, 1280)).astype(np.float32)).components["unique"] is not None
        # a found checkpoint for other features is set aside: CTVSUM falls back to training-free
        assert methods.create("ctvsum").score(np.ones((30, 33), np.float32) + np.eye(30, 33)).components["unique"] is None
        assert checkpoints.load(user).optimizer is None
    finally:
        user.unlink()
