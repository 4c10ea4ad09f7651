"""Issue 7: CHD, ViSP and TRIM as trainable methods, on features of the real sample videos
(CPU), plus the closed forms they are built from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import VIDEOS
from trainer import data as tdata, loop
from trainer.checkpoint import strip
from vsumgui.cli import main as vsumgui_main
from vsumgui.core import checkpoints, features, methods
from vsumgui.core.checkpoints import Checkpoint
from vsumgui.core.methods.trim import entropy, pctri, ptri, sinkhorn_w2
from vsumgui.core.methods.visp import binary_concrete

NEW = ("chd", "visp", "trim")
WINDOW = 64
# small widths keep the tests fast; the defaults are the papers' (tested in test_defaults_*)
SMALL = {"chd": {"d_model": 64}, "visp": {}, "trim": {"width": 128}}


@pytest.fixture(scope="module")
def feats(media_dir) -> dict[str, np.ndarray]:
    """(T, 1280) features of each sample video, through the core cache (extracted once)."""
    assert len(VIDEOS) >= 3
    return {v.name: features.ensure(v)[0].features for v in VIDEOS}


@pytest.fixture(scope="module")
def split(feats) -> tuple[tdata.WindowDataset, np.ndarray]:
    """Windows of two videos for training; the features of the third (never trained on)."""
    names = sorted(feats)
    unseen = "flower_cc0.mp4"
    assert unseen in names
    entries = [tdata.Entry(n, len(feats[n]), feats[n]) for n in names if n != unseen]
    ds = tdata.WindowDataset(entries, "efficientnet-lite0", 1280, window=WINDOW, windows_per_video=4)
    return ds, feats[unseen]


def full_batch(ds: tdata.WindowDataset) -> dict[str, torch.Tensor]:
    return tdata.collate([ds[i] for i in range(len(ds))])


def seeded_loss(cls, model, batch, seed: int = 123) -> float:
    """The loss with the noise (dropout, concrete noise, masks) fixed, for before/after comparisons."""
    torch.manual_seed(seed)
    with torch.no_grad():
        return float(cls.loss(model, batch)[0])


def train_steps(cls, model, batch, steps: int, lr: float) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=float(model.hp["weight_decay"]))
    model.train()
    for i in range(steps):
        torch.manual_seed(i)
        loss, _ = cls.loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name,stage", [("chd", None), ("visp", None), ("trim", 1), ("trim", 2)])
def test_a_few_steps_lower_the_loss(split, name, stage):
    ds, _ = split
    cls = methods.method_class(name)
    torch.manual_seed(0)
    model = cls.build_model(1280, {**SMALL[name], "window": WINDOW})
    if stage:
        model.stage.fill_(stage)
    batch = full_batch(ds)
    before = seeded_loss(cls, model, batch)
    train_steps(cls, model, batch, 8, lr=1e-4)  # 10x the papers' 1e-5 for CHD/TRIM: few steps
    after = seeded_loss(cls, model, batch)
    print(f"\n{name}{f' stage {stage}' if stage else ''}: loss {before:.4f} -> {after:.4f}")
    assert math.isfinite(before) and math.isfinite(after)
    assert after < before * 0.95, (before, after)


@pytest.fixture(scope="module")
def trained(split, tmp_path_factory) -> dict[str, tuple[Path, list[dict]]]:
    """Each new method trained by the trainer's loop on the two training videos."""
    ds, _ = split
    out = {}
    for name in NEW:
        path = tmp_path_factory.mktemp("seed") / f"{name}.pt"
        cfg = loop.Config(out=path, epochs=3, batch_size=4, device="cpu", seed=0,
                          hparams={**SMALL[name], "window": WINDOW, "lr": 1e-4})
        res = loop.fit(name, ds, cfg)
        out[name] = (path, res.history)
    return out


@pytest.mark.parametrize("name", NEW)
def test_trained_model_scores_an_unseen_video(trained, split, name):
    _, unseen = split
    path, history = trained[name]
    assert all(math.isfinite(h["loss"]) for h in history)
    ms = methods.create(name, path).score(unseen, backbone="efficientnet-lite0")
    assert ms.scores.shape == (len(unseen),) and np.isfinite(ms.scores).all()
    assert np.ptp(ms.scores) > 0  # not a constant curve
    long = np.tile(unseen, (30, 1))  # longer than a window: scored in interleaved groups
    ms = methods.create(name, path).score(long)
    assert ms.scores.shape == (len(long),) and np.isfinite(ms.scores).all()


def test_trim_runs_its_two_stages_in_the_trainer(trained):
    _, history = trained["trim"]
    # stage 1 = round(0.4 * 3) = 1 epoch, then stage 2 (the paper's 60 + 90 split)
    assert [h["parts"]["stage"] for h in history] == [1.0, 2.0, 2.0]
    assert {"corr", "sd1", "sd2"} <= set(history[0]["parts"])
    assert {"ptrim", "pctrim", "rep", "sd"} <= set(history[-1]["parts"])
    model = methods.method_class("trim").build_model(16, {"width": 8})
    stages = []
    for epoch in range(150):
        methods.method_class("trim").begin_epoch(model, epoch, 150)
        stages.append(int(model.stage))
    assert stages == [1] * 60 + [2] * 90


def test_trim_resume_continues_its_schedule(split, tmp_path):
    """Issue 18: the stage split is the first run's (2 epochs: 1 + 1); resumed to 8 epochs it stays
    in stage 2 (split by --epochs 8, 3 + 5, it would go back to stage 1 at epoch 3)."""
    ds, _ = split
    path = tmp_path / "trim.pt"
    hp = {**SMALL["trim"], "window": WINDOW, "lr": 1e-4}
    first = loop.fit("trim", ds, loop.Config(out=path, epochs=2, batch_size=4, device="cpu", seed=0, hparams=hp))
    assert [h["parts"]["stage"] for h in first.history] == [1.0, 2.0]
    again = loop.fit("trim", ds, loop.Config(out=path, epochs=8, batch_size=4, device="cpu", seed=0), resume=True)
    assert [h["parts"]["stage"] for h in again.history] == [2.0] * 6
    ck = checkpoints.load(path)
    assert ck.epoch == 8 and ck.header["schedule_epochs"] == 2


@pytest.mark.parametrize("name", NEW)
def test_checkpoint_round_trips(split, tmp_path, name):
    ds, unseen = split
    cls = methods.method_class(name)
    torch.manual_seed(1)
    hp = {**cls.hparams, **SMALL[name], "window": WINDOW}
    model = cls.build_model(1280, hp)
    train_steps(cls, model, full_batch(ds), 2, lr=1e-4)
    model.eval()
    expect = cls.frame_scores(model, unseen, WINDOW)
    path = tmp_path / f"{name}.pt"
    header = {"method": name, "backbone": "efficientnet-lite0", "dim": 1280, "hparams": hp, "epoch": 1}
    checkpoints.save(path, Checkpoint(header, model.state_dict()))
    got = methods.create(name, path).score(unseen, backbone="efficientnet-lite0").scores
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-6)
    stripped = strip(path, tmp_path / f"{name}-stripped.pt")
    np.testing.assert_allclose(methods.create(name, stripped).score(unseen).scores, expect, rtol=1e-5, atol=1e-6)


def test_defaults_are_the_papers():
    chd, visp, trim = (methods.method_class(n) for n in NEW)
    assert (chd.hparams["d_model"], chd.hparams["dropout"], chd.hparams["tau"], chd.hparams["lr"]) == (512, 0.1, 0.1, 1e-5)
    assert visp.hparams["hard_negatives"] is False
    assert (trim.hparams["width"], trim.hparams["nu"], trim.hparams["lr"], trim.hparams["weight_decay"]) == (1024, 0.005, 1e-5, 1e-5)
    assert (trim.hparams["alpha"], trim.hparams["beta"], trim.hparams["gamma"]) == (1.0, 5.0, 0.5)
    for cls in (chd, visp, trim):
        assert set(cls.hparam_notes) == set(cls.hparams), cls.name
    m = trim.build_model(2048, {})
    shapes = [tuple(p.shape) for n, p in m.named_parameters() if n.endswith("weight")]
    assert shapes == [(1024, 2048, 3), (512, 1024), (256, 512), (1, 256)]  # §3.2


# --- closed forms ---

def test_binary_concrete_at_zero_temperature_is_a_hard_logistic_sample():
    alpha = torch.tensor([-3.0, -0.5, 0.0, 0.4, 2.0, 5.0, -1.0, 1.0])
    eps = torch.tensor([0.99, 0.7, 0.3, 0.45, 0.05, 0.001, 0.2, 0.8])
    logistic = eps.log() - (1 - eps).log()
    y = binary_concrete(alpha, 1e-4, eps)
    expect = (alpha + logistic > 0).float()
    assert set(y.tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(y, expect)
    assert expect.tolist() == [1, 1, 0, 1, 0, 0, 0, 1]  # the noise decides, not only the sign of alpha
    # lambda = 1 is the plain formula, and the zero-temperature sample is 1 w.p. sigmoid(alpha)
    torch.testing.assert_close(binary_concrete(alpha, 1.0, eps), torch.sigmoid(alpha + logistic))
    torch.manual_seed(0)
    many = binary_concrete(alpha.expand(20000, -1), 1e-4).mean(0)
    torch.testing.assert_close(many, torch.sigmoid(alpha), atol=0.015, rtol=0)


def test_ptri_pctri_on_a_hand_made_entropy_sequence():
    h = torch.tensor([2.0, 4.0, 1.0, 3.0])
    # Delta_t = |H_t - H_{t-1}| / H_t; Gamma_t = |H_t - mean(H_1..H_{t-1})| / H_t
    torch.testing.assert_close(ptri(h), torch.tensor([0.0, 2 / 4, 3 / 1, 2 / 3]))
    torch.testing.assert_close(pctri(h), torch.tensor([0.0, 2 / 4, 2 / 1, (3 - 7 / 3) / 3]))
    # a stretched window (copies of samples): the metrics of the sequence without copies
    hs = torch.tensor([2.0, 2.0, 4.0, 4.0, 4.0, 1.0, 3.0])
    first = torch.tensor([True, False, True, False, False, True, True])
    torch.testing.assert_close(ptri(hs, first), torch.tensor([0.0, 0, 2 / 4, 0, 0, 3, 2 / 3]))
    torch.testing.assert_close(pctri(hs, first), torch.tensor([0.0, 0, 2 / 4, 0, 0, 2, (3 - 7 / 3) / 3]))
    # entropy of the softmax over feature dimensions
    x = torch.stack([torch.zeros(8), torch.tensor([50.0] + [0.0] * 7)])
    torch.testing.assert_close(entropy(x), torch.tensor([math.log(8), 0.0]), atol=1e-5, rtol=0)


def test_sinkhorn_divergence(feats):
    x = torch.from_numpy(feats["big_buck_bunny_0_30.webm"][:40])[None]
    scale = float(torch.cdist(x[0], x[0]).pow(2).mean())
    same = float(sinkhorn_w2(x, x.clone())[0])
    assert abs(same) < 1e-3 * scale, (same, scale)
    other = torch.from_numpy(feats["friday_cc0.mp4"])[None]
    assert float(sinkhorn_w2(x, other)[0]) > 0.1 * scale
    # translation: for the squared cost, S(X, X + v) = |v|^2 exactly, whatever the blur
    v = torch.full((1, 1, x.shape[-1]), 0.2)
    torch.testing.assert_close(sinkhorn_w2(x, x + v), (v * v).sum()[None], rtol=0.02, atol=0)
    # gradients reach both the points and the weights (p enters TRIM's L_REP through both)
    p = torch.full((1, 40), 0.5, requires_grad=True)
    sinkhorn_w2(x, p[..., None] * x, None, p / p.sum()).sum().backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_visp_supervised_finetuning_loss(split):
    _, x = split
    cls = methods.method_class("visp")
    torch.manual_seed(0)
    model = cls.build_model(1280, {})
    xt = torch.from_numpy(x)
    labels = (torch.arange(len(x)) >= len(x) // 2).float()  # the second half is "keep"
    mask = torch.ones(len(x), dtype=torch.bool)
    mask[0] = False
    with torch.no_grad():
        s = model.scores(xt[None])[0]
        expect = ((s - labels)[1:] ** 2).mean()
        torch.testing.assert_close(model.supervised_loss(xt, labels, mask), expect)
        torch.testing.assert_close(model.supervised_loss(xt[None], labels[None], mask[None]), expect)  # batched
        before = float(model.supervised_loss(xt, labels))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(10):
        loss = model.supervised_loss(xt, labels, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(model.supervised_loss(xt, labels))
        s = model.scores(xt[None])[0]
    assert after < 0.5 * before, (before, after)
    assert s[len(x) // 2:].min() > s[: len(x) // 2].max()  # the labels' order was learned


def test_chd_weights_and_dropout_views(split):
    _, x = split
    model = methods.method_class("chd").build_model(1280, {"d_model": 64})
    xt = torch.from_numpy(x)[None]
    model.train()
    a1, h1 = model(xt)
    a2, h2 = model(xt)
    assert not torch.allclose(h1, h2)  # two dropout masks: two views
    model.eval()
    torch.testing.assert_close(model(xt)[1], model(xt)[1])
    s = methods.method_class("chd").frame_scores(model, x, WINDOW)
    assert s.shape == (len(x),) and s.mean() == pytest.approx(1.0)  # attention times length
    # a clip's highlight score is the attention the video query (the mean of Z, Eq. 7) pays to it
    # (Eq. 8): softmax over the clips of q.k / sqrt(d), so the scores rank the clips as q.k does
    one = x[:WINDOW]  # one group: scored as it is
    with torch.no_grad():
        alpha = model(torch.from_numpy(one)[None])[0][0]
        _, z = model.context(model.proj(torch.from_numpy(one)[None]))
        att = model.select
        qk = (att.q(z.mean(1, keepdim=True)) @ att.k(z).transpose(1, 2))[0, 0] * att.scale
    assert qk.std() > 0.01  # the clips differ for the query
    torch.testing.assert_close(alpha, torch.softmax(qk, 0))
    assert (alpha[qk.argsort()].diff() >= 0).all()  # a clip the query favours never scores lower
    np.testing.assert_allclose(methods.method_class("chd").frame_scores(model, one, WINDOW),
                               alpha.double().numpy() * len(one), rtol=1e-5)


# --- the bundled demo checkpoints and the command line ---

def test_demo_checkpoints_and_methods_list(capsys):
    for name in NEW:
        p = checkpoints.demo_path(name)
        assert p.is_file() and p.stat().st_size < 5_000_000, p
        ck = checkpoints.load(p)
        assert ck.method == name and ck.backbone == "efficientnet-lite0" and ck.dim == 1280
        assert ck.optimizer is None and ck.header["data"]["videos"] == 3
        assert methods.create(name).status == "ready (demo checkpoint)"
    assert vsumgui_main(["methods"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for name in NEW:
        assert "ready (demo checkpoint)" in lines[name]
    # without a checkpoint they cannot score, and say so
    m = methods.create("trim", checkpoints.NONE)
    assert not m.ready and m.status == "needs training"


def test_all_five_seed_methods_summarize_the_sample(sample_video, tmp_path, capsys):
    out = tmp_path / "s.json"
    five = ["ctvsum", "csum", "chd", "visp", "trim"]
    assert vsumgui_main(["summarize", str(sample_video), "--method", *five, "--json", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert list(doc["methods"]) == five
    t = len(doc["times"])
    for name in five:
        s = np.array(doc["methods"][name]["scores"])
        assert s.shape == (t,) and np.isfinite(s).all() and np.ptp(s) > 0, name
    assert doc["selection"]["method"] == "ctvsum" and doc["selection"]["segments"]
    assert "methods: ctvsum, csum, chd, visp, trim" in capsys.readouterr().out


# --- the trained-method base ---

def test_a_sixth_method_is_one_file(tmp_path, monkeypatch, split):
    """The README's example method, as a file of its own: it registers itself, the one training loop
    trains it, and it scores from its checkpoint through the base (windowed inference)."""
    import importlib.util
    import re

    from vsumgui.core.methods import base

    text = (Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"```python\n# vsumgui/core/methods/mine.py\n(.*?)```", text, re.S).group(1)
    (tmp_path / "mine.py").write_text(code)
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))  # registered for this test only
    spec = importlib.util.spec_from_file_location("mine", tmp_path / "mine.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert "mine" in methods.names() and methods.method_class("mine").trainable
    assert not methods.create("mine", checkpoints.NONE).ready
    ds, x = split
    out = tmp_path / "mine.pt"
    loop.fit("mine", ds, loop.Config(out=out, epochs=1, batch_size=4, device="cpu", hparams={"window": WINDOW}))
    m = methods.create("mine", out)
    s = m.score(x, "efficientnet-lite0").scores
    assert s.shape == (len(x),) and np.isfinite(s).all() and ((0 < s) & (s < 1)).all()
    one = x[:WINDOW]  # one window: scored by the model as it is (run by ONNX Runtime, exported)
    ck = checkpoints.load(out)
    model = methods.method_class("mine").build_model(ck.dim, ck.hparams)
    model.load_state_dict(ck.model)
    with torch.no_grad():
        direct = model.eval()(torch.from_numpy(one)[None])[0].double().numpy()
    np.testing.assert_allclose(m.score(one, "efficientnet-lite0").scores, direct, rtol=1e-5)
    assert m.runtime == "onnx"


def test_model_cache_is_bounded_and_keeps_the_recent(monkeypatch):
    from vsumgui.core.lru import LRU

    cache = LRU(limit=2)
    for k in ("a", "b"):
        cache.put((k,), (k, None))
    assert cache.get(("a",)) == ("a", None)  # a used: b is now the oldest
    cache.put(("c",), ("c", None))
    assert len(cache) == 2 and ("b",) not in cache and ("a",) in cache and ("c",) in cache
    assert cache.get(("b",)) is None
