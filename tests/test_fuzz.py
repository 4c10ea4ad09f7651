"""Issue 15: a fuzz suite and property tests.

Seeded mutations of short clips cut from the sample videos with the bundled ffmpeg (truncations,
bit flips in the header and the middle, zeroed blocks, appended garbage, two files joined) go
through the CLI in both modes, in-process, each under a timeout. Each must give a summary whose
length is what FFmpeg itself decodes (within 0.5 s) or carries a note, or exit 1 with exactly one
line on stderr (file descriptor 2: FFmpeg's own log included); never a traceback, a hang or a
partial file. Property tests (hypothesis) cover argument validation and the selection invariants.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import MEDIA, SAMPLE
from vsumgui.cli import build_parser, main, number
from vsumgui.core.errors import in_range
from vsumgui.core.select import MODES, Selector

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
FPS = 25
SECONDS = 3


def ffmpeg(*args: object) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *map(str, args)],
                   check=True, capture_output=True, timeout=120)


def decoded_seconds(path: Path) -> tuple[float, float]:
    """What FFmpeg decodes of the first video stream (`ffmpeg -i F -f framecrc -`, every frame as
    decoded), two ways: frames at the nominal rate, and the span of their timestamps (a damaged
    header can rescale the timestamps; dropped frames shorten the count but not the span)."""
    r = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0?", "-fps_mode",
                        "passthrough", "-f", "framecrc", "-"], capture_output=True, timeout=120)
    text = r.stdout.decode("utf-8", "replace")
    tb = re.search(r"#tb 0: (\d+)/(\d+)", text)
    rows = [[int(x) for x in line.split(",")[1:4]] for line in text.splitlines()
            if line and not line.startswith("#")]
    if not rows or not tb:
        return 0.0, 0.0
    unit = int(tb[1]) / int(tb[2])
    pts = [p for p, _, _ in rows]
    return len(rows) / FPS, (max(pts) + rows[-1][2] - min(pts)) * unit


# --- the clips and their mutations -------------------------------------------------------------
SOURCES = {  # name: (source video, start second, container arguments)
    "mp4": ("flower_cc0.mp4", 2, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
                                  "-movflags", "+faststart"]),
    "mkv": ("friday_cc0.mp4", 5, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]),
    "ts": (SAMPLE.name, 10, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
                             "-f", "mpegts"]),
    "webm": (SAMPLE.name, 3, ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k",
                              "-g", "25"]),
}


def source(name: str) -> Path:
    p = MEDIA / name
    return p if p.exists() else SAMPLE


def mutate(kind: str, seed: int, data: bytes, other: bytes) -> bytes:
    """One seeded mutation of a file's bytes."""
    rng = random.Random(f"{kind}-{seed}")
    b = bytearray(data)
    n = len(b)
    if kind == "truncate":
        return bytes(b[: int(n * (0.05 + 0.9 * rng.random()))])
    if kind == "flip-header":
        for _ in range(8):
            i = rng.randrange(min(n, 1024))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "flip-middle":
        for _ in range(24):
            i = rng.randrange(n // 4, 3 * n // 4)
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "zero":
        at = rng.randrange(n // 8, 7 * n // 8)
        size = rng.choice([512, 4096, 16384])
        b[at:at + size] = bytes(len(b[at:at + size]))
    elif kind == "garbage":
        b += rng.randbytes(rng.choice([1, 188, 4096, 65536]))
    elif kind == "join":
        b += other
    return bytes(b)


KINDS = {"truncate": 5, "flip-header": 3, "flip-middle": 3, "zero": 3, "garbage": 2}  # seeds per clip
CASES = [(c, k, s) for c in SOURCES for k, n in KINDS.items() for s in range(n)]
CASES += [(c, "join", s) for c in SOURCES for s in range(1)]
assert len(CASES) >= 60


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzz-clips")
    out = {}
    for name, (src, start, args) in SOURCES.items():
        p = d / f"clip.{name}"
        ffmpeg("-ss", start, "-i", source(src), "-t", SECONDS, "-an", "-vf", f"scale=160:-2,fps={FPS}", *args, p)
        out[name] = p
    return out


@pytest.fixture(scope="module")
def cases(clips, tmp_path_factory) -> dict[tuple[str, str, int], tuple[Path, tuple[float, float]]]:
    """Every mutated file and what FFmpeg decodes of it (made once for both modes)."""
    d = tmp_path_factory.mktemp("fuzz-cases")
    other = {"mp4": "mkv", "mkv": "mp4", "ts": "ts", "webm": "webm"}  # ts + ts is `cat a.ts b.ts`
    made = {}
    for clip, kind, seed in CASES:
        p = d / f"{kind}-{seed}.{clip}"
        p.write_bytes(mutate(kind, seed, clips[clip].read_bytes(), clips[other[clip]].read_bytes()))
        made[(clip, kind, seed)] = (p, decoded_seconds(p))
    return made


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.parametrize("fast", [False, True], ids=["full", "fast"])
@pytest.mark.parametrize("case", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_mutated_video(case, fast, cases, tmp_path, capfd):
    path, want = cases[case]
    out = tmp_path / "out" / "summary.json"
    args = ["summarize", str(path), "--json", str(out), "-q", "--no-cache", "--method", "uniform-sampling"]
    code = main(args + (["--fast"] if fast else []))
    printed, err = capfd.readouterr()
    assert "Traceback" not in err and "Traceback" not in printed
    assert code in (0, 1), err
    if code == 1:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"vsumgui: error: {path}: "), err
        assert not out.exists()
    else:
        assert all(line.startswith("vsumgui: warning: ") for line in err.strip().splitlines()), err
        doc = json.loads(out.read_text())
        d = doc["video"]["duration"]
        if not doc["warnings"]:  # no note: the length must be what FFmpeg decodes
            assert min(abs(d - w) for w in want) <= 0.5, (d, want)
        assert all(f"note: {w}" in printed for w in doc["warnings"])
        segs = np.asarray(doc["selection"]["segments"]).reshape(-1, 2)
        assert np.all(segs[:, 1] > segs[:, 0]) and np.all(segs >= 0) and np.all(segs <= d + 1e-6)
    leftovers = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert leftovers in ([], ["summary.json"])  # never a partial or temporary file


# --- property tests ----------------------------------------------------------------------------
FLAGS = {"--sample-rate": (0, 120, True, False), "--ratio": (0, 1, True, False), "--crossfade": (0, 10, False, False)}
texts = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                  st.sampled_from(["", "nan", "-nan", "inf", "+inf", "1e309", "0x10", "1_0", " 2 ", "½", "two"]))


@settings(max_examples=300, deadline=None)
@given(flag=st.sampled_from(sorted(FLAGS)), text=texts)
def test_number_flags_accept_exactly_their_range(flag, text):
    lo, hi, lo_open, hi_open = FLAGS[flag]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    try:
        args = build_parser().parse_args(["summarize", "v.mp4", f"{flag}={text}", "--export", "d"])
    except SystemExit as e:
        assert e.code == 2 and not ok
    else:
        assert ok and getattr(args, flag[2:].replace("-", "_")) == value


@settings(max_examples=200, deadline=None)
@given(text=texts, lo=st.integers(-5, 5), span=st.integers(0, 10), integer=st.booleans())
def test_the_number_type_never_lets_a_bad_value_through(text, lo, span, integer):
    parse = number(lo, lo + span, integer=integer)
    try:
        v = parse(text)
    except argparse.ArgumentTypeError as e:
        assert "must be" in str(e)
    else:
        assert math.isfinite(v) and lo <= v <= lo + span and in_range(v, lo, lo + span, integer=integer)


@st.composite
def videos(draw):
    """Scores, shots and features of a made-up video: any shot lengths, any scores."""
    n = draw(st.integers(1, 80))
    rate = draw(st.sampled_from([0.5, 1.0, 2.0, 4.0]))
    times = np.arange(n) / rate
    duration = n / rate - draw(st.floats(0, 1.0)) / rate  # 1.0: the last sample starts where the video ends
    cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=min(20, n - 1))) if n > 1 else [])
    bounds = [0, *cuts, n]
    shot_idx = np.array([[a, b] for a, b in zip(bounds[:-1], bounds[1:])])
    ends = np.append(times[1:], duration)
    shot_secs = np.array([[times[a], ends[b - 1]] for a, b in shot_idx])
    scores = np.array(draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n)))
    feats = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal((n, 8)).astype(np.float32)
    return scores, shot_idx, shot_secs, times, duration, feats


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(video=videos(), ratio=st.floats(1e-6, 1.0), mode=st.sampled_from(MODES))
def test_selections_are_sorted_disjoint_and_within_budget(video, ratio, mode):
    scores, shot_idx, shot_secs, times, duration, feats = video
    sel = Selector(scores, shot_idx, shot_secs, times, duration, "m", features=feats).select(ratio, mode)
    segs = np.asarray(sel.segments, dtype=float).reshape(-1, 2)
    assert np.all(segs[:, 1] > segs[:, 0])  # no empty piece
    assert np.all(segs[1:, 0] > segs[:-1, 1])  # sorted and disjoint (touching pieces are merged)
    assert np.all(segs >= 0) and np.all(segs <= duration + 1e-9)
    assert sel.duration <= ratio * duration + 1e-6
    assert sel.shots == sorted(set(sel.shots)) and all(0 <= i < len(shot_idx) for i in sel.shots)


@settings(max_examples=50, deadline=None)
@given(ratio=st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda r: not 0 < r <= 1),
                       st.just(math.nan)))
def test_a_bad_ratio_is_refused_by_the_selector(ratio):
    s = Selector(np.ones(4), np.array([[0, 2], [2, 4]]), np.array([[0.0, 1.0], [1.0, 2.0]]), np.arange(4) / 2, 2.0)
    with pytest.raises(ValueError, match="ratio: must be"):
        s.select(ratio, "knapsack")


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(["lr", "heads", "window", "dropout", "weight_decay", "tau", "layers", "d_model"]),
       text=texts)
def test_hyper_parameters_are_typed_and_ranged(key, text):
    from trainer import hparams
    from vsumgui.core import methods
    from vsumgui.core.errors import VsumError

    defaults = methods.method_class("csum").hparams
    try:
        v = hparams.parse(key, text, defaults[key])
    except VsumError as e:
        assert str(e).startswith(f"--hp {key}={text}: must be")
        return
    assert math.isfinite(v) and in_range(v, *hparams.rule(key, defaults[key]))
    if key == "lr":
        assert v > 0
    if key in ("heads", "layers", "d_model"):
        assert isinstance(v, int) and v >= 1
    if key == "window":
        assert v >= 2
    if key == "dropout":
        assert 0 <= v < 1
