"""The one path from a video file to a summary, used by the CLI and the GUI alike:
video -> features (cached) -> shots -> scores per method -> selection."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np

from vsumgui.core import backbones, features as feat, memo, methods, shots as shotmod
from vsumgui.core.errors import VsumError, check_cancel, check_number
from vsumgui.core.select import MODES, Selection, Selector
from vsumgui.core.video import Progress, VideoInfo, check_rate

DEFAULT_RATIO = 0.15
DEFAULT_MODE = "diverse"


@dataclass
class Options:
    """Everything that shapes a summary, with the defaults of DESIGN.md."""

    methods: list[str] | None = None  # None: every method that is ready
    driver: str | None = None  # the method whose scores drive the selection
    ratio: float = DEFAULT_RATIO
    mode: str = DEFAULT_MODE
    sample_rate: float = 2.0
    backbone: str = backbones.DEFAULT
    shots: shotmod.ShotParams = field(default_factory=shotmod.ShotParams)
    checkpoints: dict[str, str] = field(default_factory=dict)
    use_cache: bool = True
    # a quick first look: decode keyframes only (many times faster; shots fall on keyframes,
    # which encoders place at scene cuts); its features are cached apart from the full ones
    fast: bool = False

    @property
    def sampling(self) -> str:
        return "keyframes" if self.fast else "frames"


@dataclass
class Summary:
    """A summarized video: times, shots and scores, plus a selection that can be redone cheaply."""

    features: feat.Features
    shot_idx: np.ndarray  # (S, 2) sample indices [start, end)
    shot_secs: np.ndarray  # (S, 2) seconds [start, end)
    scores: dict[str, methods.MethodScores]
    options: Options
    cache_hit: bool = False
    selection: Selection | None = None
    _selectors: dict[str, Selector] = field(default_factory=dict, repr=False)

    @property
    def video(self) -> VideoInfo:
        return self.features.video

    @property
    def times(self) -> np.ndarray:
        return self.features.times

    @property
    def warnings(self) -> list[str]:
        """What could not be read of the video (the summary covers only what was): sentences."""
        return list(self.features.warnings)

    @property
    def notes(self) -> list[str]:
        """This run's own problems that did not stop it (a cache that cannot be written)."""
        return list(self.features.notes)

    @property
    def driver(self) -> str:
        return self.options.driver or next(iter(self.scores))

    def with_scores(self, extra: dict[str, methods.MethodScores], drop: tuple[str, ...] = ()) -> Summary:
        """A new Summary with curves added or replaced (e.g. personalized scores) and `drop` removed;
        this one is left as it is (the GUI thread may be reading it). Unchanged curves keep their
        built selectors."""
        scores = {n: ms for n, ms in self.scores.items() if n not in drop and n not in extra}
        scores.update(extra)
        selectors = {n: sel for n, sel in self._selectors.items() if n in scores and n not in extra}
        return Summary(self.features, self.shot_idx, self.shot_secs, scores, self.options, self.cache_hit,
                       self.selection, selectors)

    def selector(self, method: str | None = None) -> Selector:
        """The (cached) selector for one method's scores."""
        method = method or self.driver
        if method not in self.scores:
            raise VsumError(f"method {method!r} was not computed for this video")
        if method not in self._selectors:
            self._selectors[method] = Selector(self.scores[method].scores, self.shot_idx, self.shot_secs,
                                               self.times, self.video.duration, method,
                                               features=self.features.features)
        return self._selectors[method]

    def select(self, ratio: float | None = None, mode: str | None = None, method: str | None = None) -> Selection:
        """Re-select without recomputing features, shots or scores; remembers the result."""
        self.selection = self.selector(method).select(
            self.options.ratio if ratio is None else ratio, mode or self.options.mode)
        return self.selection

    def to_json(self) -> dict:
        """The JSON contract of DESIGN.md."""
        def arr(x: np.ndarray | None) -> list | None:
            return None if x is None else [round(float(v), 6) for v in x]

        sel = self.selection or self.select()
        return {
            "video": self.video.to_json(),
            "backbone": self.features.backbone,
            "sample_rate": self.features.sample_rate,
            "sampling": self.features.sampling,
            "times": arr(self.times),
            "shots": [[round(float(s), 6), round(float(e), 6)] for s, e in self.shot_secs],
            "methods": {name: {"scores": arr(ms.scores),
                               "components": {k: arr(v) for k, v in ms.components.items()}}
                        for name, ms in self.scores.items()},
            "selection": sel.to_json(),
            "warnings": self.warnings,
        }


def resolve_methods(names: list[str] | None, checkpoints: dict[str, str] | None = None) -> list[methods.Method]:
    """Method objects for the names given, or every ready method; unknown or untrained names fail."""
    checkpoints = checkpoints or {}
    for n in checkpoints:
        if not methods.method_class(n).trainable:  # also: VsumError for an unknown name
            raise VsumError(f"method {n!r} takes no checkpoint (it is not trained)")
    if names:
        chosen = [methods.create(n, checkpoints.get(n)) for n in names]
        for m in chosen:
            if not m.ready:
                raise VsumError(f"method {m.name!r} needs training: pass a checkpoint or run vsumgui-train")
        return chosen
    return [m for m in (methods.create(n, checkpoints.get(n)) for n in methods.names()) if m.ready]


# the code a method's scores depend on besides its own module (all method modules are hashed:
# one edited method then costs every method one recomputation, never a stale result)
_SCORE_CODE = ("vsumgui.core.nn", "vsumgui.core.checkpoints")


def _score_tag(m: methods.Method) -> str | None:
    """Names what a method's scores depend on: the scoring code, and the checkpoint's content."""
    mods = sorted(n for n in sys.modules if n.startswith(methods.__name__ + "."))
    parts = [n.encode() + memo.source(n) for n in (*mods, *_SCORE_CODE)]
    if m.checkpoint is not None:
        if not m.checkpoint.is_file():
            return None  # scoring says what is wrong with it
        parts += [feat.content_key(m.checkpoint), str(m.checkpoint_source)]
    return memo.tag(*parts)


def _score(m: methods.Method, feats: feat.Features, use_cache: bool) -> methods.MethodScores:
    """A method's scores, remembered beside cached features: re-opening a video then loads
    neither the method's checkpoint nor torch, and CTVSUM's all-pairs work is not redone."""
    tag = _score_tag(m) if use_cache and feats.key else None
    if tag is None:
        return m.score(feats.features, feats.backbone)
    what = f"scores-{m.name}"
    got = memo.load(feats, what, tag)
    if got is not None and "scores" in got and "names" in got:
        comps = {k[2:]: got[k] for k in got if k.startswith("c:")}
        comps.update({k: None for k in got.get("none", np.array([], dtype=str)).tolist()})
        return methods.MethodScores(got["scores"], {k: comps[k] for k in got["names"].tolist()})
    ms = m.score(feats.features, feats.backbone)
    arrays = {"scores": np.asarray(ms.scores), "names": np.array(list(ms.components), dtype=str),
              "none": np.array([k for k, v in ms.components.items() if v is None], dtype=str)}
    arrays.update({f"c:{k}": np.asarray(v) for k, v in ms.components.items() if v is not None})
    memo.save(feats, what, tag, arrays)
    return ms


def summarized_before(path: str | os.PathLike, options: Options | None = None) -> bool:
    """True when the video's features are in the cache, so `summarize` needs no decoding."""
    opts = options or Options()
    try:
        key = feat.content_key(path)
    except OSError:
        return False
    return feat.cache_path(key, opts.backbone, opts.sample_rate, opts.sampling).exists()


def summarize(
    path: str | os.PathLike,
    options: Options | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Summary:
    """Summarize one video file. Raises VsumError (VideoError, Cancelled) for user-caused failures.

    Progress stages: "decoding", "features", "shots", "scoring". A cancelled run writes nothing.
    """
    opts = options or Options()
    check_number("ratio", opts.ratio, 0, 1, lo_open=True)  # before any work (the CLI says the same)
    check_rate(opts.sample_rate)
    if opts.mode not in MODES:
        raise VsumError(f"unknown selection mode {opts.mode!r}; known: {', '.join(MODES)}")
    chosen = resolve_methods(opts.methods, opts.checkpoints)
    if opts.driver and opts.driver not in [m.name for m in chosen]:
        raise VsumError(f"the driving method {opts.driver!r} is not among the methods computed")

    def report(stage: str, frac: float) -> None:
        if progress:
            progress(stage, frac)

    feats, hit = feat.ensure(path, opts.backbone, opts.sample_rate, report, cancel, opts.use_cache, opts.shots,
                             opts.sampling)
    check_cancel(cancel)
    report("shots", 0.0)
    shot_tag = memo.tag(memo.source(shotmod), repr(opts.shots))
    got = memo.load(feats, "shots", shot_tag) if hit else None
    if got is not None:  # re-opened: the segmentation is remembered
        shot_idx = got["shots"]
    else:
        shot_idx = feats.shot_idx if feats.shot_idx is not None else shotmod.segment(
            feats.features, feats.sample_rate, opts.shots)
        if opts.use_cache:
            memo.save(feats, "shots", shot_tag, {"shots": shot_idx})
    shot_secs = shotmod.shot_times(shot_idx, feats.times, feats.video.duration)
    scores: dict[str, methods.MethodScores] = {}
    for i, m in enumerate(chosen):
        report("scoring", i / len(chosen))
        check_cancel(cancel)
        scores[m.name] = _score(m, feats, opts.use_cache)
    report("scoring", 1.0)
    summary = Summary(feats, shot_idx, shot_secs, scores, opts, hit)
    summary.select()
    return summary
