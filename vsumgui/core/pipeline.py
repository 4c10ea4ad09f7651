"""The one path from a video file to a summary, used by the CLI and the GUI alike:
video -> features (cached) -> shots and scenes -> scores per method -> selection."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from vsumgui.core import backbones, features as feat, memo, methods, shots as shotmod
from vsumgui.core.errors import Cancelled, Either, VsumError, check_cancel, check_number
from vsumgui.core.select import MODES, Selection, Selector
from vsumgui.core.video import Progress, VideoInfo, check_rate

log = logging.getLogger(__name__)

DEFAULT_RATIO = 0.15
DEFAULT_MODE = "diverse"
SPARSE_GAP = 10.0  # seconds per keyframe past which a quick look is too coarse to be useful


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
    scene_idx: np.ndarray | None = None  # (C, 2) shot indices [first, last + 1); None: computed when asked
    # the part of the video this summary covers: < 1 for a partial summary made while the features
    # are extracted (its video then ends at the last sample so far; the whole lasts duration / done)
    done: float = 1.0

    @property
    def scenes(self) -> np.ndarray:
        """(C, 2) shot indices [first, last + 1) of the scenes (groups of consecutive shots)."""
        if self.scene_idx is None:
            self.scene_idx = shotmod.scenes(self.features.features, self.shot_idx)
        return self.scene_idx

    @property
    def scene_secs(self) -> np.ndarray:
        """(C, 2) seconds [start, end) of the scenes."""
        sc = self.scenes
        return np.stack([self.shot_secs[sc[:, 0], 0], self.shot_secs[sc[:, 1] - 1, 1]], axis=1) if len(sc) \
            else np.zeros((0, 2))

    @property
    def video(self) -> VideoInfo:
        return self.features.video

    @property
    def times(self) -> np.ndarray:
        return self.features.times

    @property
    def warnings(self) -> list[str]:
        """What could not be read of the video (the summary covers only what was), and a quick look
        too coarse to be useful: sentences."""
        quick = quick_look_warning(self.features)
        return list(self.features.warnings) + ([quick] if quick else [])

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
                       self.selection, selectors, self.scene_idx, self.done)

    def selector(self, method: str | None = None) -> Selector:
        """The (cached) selector for one method's scores."""
        method = method or self.driver
        if method not in self.scores:
            raise VsumError(f"method {method!r} was not computed for this video")
        if method not in self._selectors:
            sc = self.scenes
            spans = np.stack([self.shot_idx[sc[:, 0], 0], self.shot_idx[sc[:, 1] - 1, 1]], axis=1) if len(sc) else None
            self._selectors[method] = Selector(self.scores[method].scores, self.shot_idx, self.shot_secs,
                                               self.times, self.video.duration, method,
                                               features=self.features.features, scenes=spans)
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
            "scenes": [[round(float(s), 6), round(float(e), 6)] for s, e in self.scene_secs],
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


def held(feats: feat.Features) -> np.ndarray | None:
    """For a quick look, (T,) the index of the distinct keyframe each grid sample holds (grid
    samples keep their keyframe's frame index in `picks`); None for full sampling."""
    if feats.sampling != "keyframes" or not len(feats.picks):
        return None
    return np.cumsum(np.r_[True, feats.picks[1:] != feats.picks[:-1]]) - 1


def score_features(m: methods.Method, feats: feat.Features) -> methods.MethodScores:
    """A method's scores on the sampling grid. A quick look's grid holds each keyframe for as
    long as it lasts: a method that reads content scores the distinct keyframes once, in order, and
    their scores are held on the grid afterwards (the baselines score the time grid itself), so a keyframe's score never depends on how long it is held
    (copies would count as nearest neighbours, as a bigger share of the video, and so on)."""
    h = held(feats) if m.reads_content else None
    if h is None:
        return m.score(feats.features, feats.backbone)
    first = np.flatnonzero(np.r_[True, np.diff(h) > 0])
    ms = m.score(feats.features[first], feats.backbone)
    return methods.MethodScores(np.asarray(ms.scores)[h],
                                {k: None if v is None else np.asarray(v)[h] for k, v in ms.components.items()})


def quick_look_warning(feats: feat.Features) -> str | None:
    """A sentence when a quick look has too few keyframes (fewer than one per SPARSE_GAP s) to be useful."""
    h = held(feats)
    if h is None:
        return None
    keys, dur = int(h[-1]) + 1, feats.video.duration
    if dur / keys <= SPARSE_GAP:
        return None
    return (f"the quick look found only {keys} keyframe{'s' * (keys != 1)} in {dur:.0f} s (one every "
            f"{dur / keys:.0f} s), too few for a useful curve: run the full summary (without Quick look / --fast)")


def _score(m: methods.Method, feats: feat.Features, use_cache: bool) -> methods.MethodScores:
    """A method's scores, remembered beside cached features: re-opening a video then loads
    neither the method's checkpoint nor torch, and CTVSUM's all-pairs work is not redone."""
    tag = _score_tag(m) if use_cache and feats.key else None
    if tag is None:
        return score_features(m, feats)
    if feats.sampling != "frames":  # scored per distinct keyframe since issue 18: older entries are stale
        tag = memo.tag(tag, "distinct-keyframes")
    what = f"scores-{m.name}"
    got = memo.load(feats, what, tag)
    if got is not None and "scores" in got and "names" in got:
        comps = {k[2:]: got[k] for k in got if k.startswith("c:")}
        comps.update({k: None for k in got.get("none", np.array([], dtype=str)).tolist()})
        return methods.MethodScores(got["scores"], {k: comps[k] for k in got["names"].tolist()})
    ms = score_features(m, feats)
    arrays = {"scores": np.asarray(ms.scores), "names": np.array(list(ms.components), dtype=str),
              "none": np.array([k for k, v in ms.components.items() if v is None], dtype=str)}
    arrays.update({f"c:{k}": np.asarray(v) for k, v in ms.components.items() if v is not None})
    memo.save(feats, what, tag, arrays)
    return ms


def features_cached(path: str | os.PathLike, options: Options | None = None) -> bool:
    """True when the video's features are in the cache, so `summarize` needs no decoding."""
    opts = options or Options()
    try:
        key = feat.content_key(path)
    except OSError:
        return False
    return feat.cache_path(key, opts.backbone, opts.sample_rate, opts.sampling).exists()


def _duration(path: str | os.PathLike) -> float:
    from vsumgui.core.video import probe

    try:
        return probe(path).duration
    except VsumError:
        return 0.0


def first_use(chosen: list[methods.Method], opts: Options, stop: threading.Event | None = None) -> None:
    """Imports, checkpoints, exported graphs and first calls of shots and scores, done on a few
    random samples (about a second of CPU; the first time a checkpoint is used, its export too).
    Failures are left to the real work."""
    dim = backbones.get(opts.backbone).dim or 16
    x = np.random.default_rng(0).normal(size=(40, dim)).astype(np.float32)
    try:
        shotmod.segment(x, opts.sample_rate, opts.shots)
    except Exception:  # noqa: S110 - the real segmentation says what is wrong
        pass
    for m in chosen:
        if stop is not None and stop.is_set():
            return
        try:
            m.score(x, opts.backbone)
        except Exception:  # noqa: S110 - the real scoring says what is wrong
            pass


def prepare(opts: Options | None = None) -> None:
    """Do the first-use work of a summary now: the backbone's network and every chosen method's
    (their ONNX graphs exported when missing), so that the next summary runs as on any later day."""
    opts = opts or Options()
    backbones.get(opts.backbone).load()
    first_use(resolve_methods(opts.methods, opts.checkpoints), opts)


class _Methods:
    """The chosen methods, resolved in a thread: importing the methods (and torch) and reading
    their checkpoints takes seconds, which decoding does not wait for. An unknown or untrained
    method still fails before the long work: it stops the decoding at once."""

    def __init__(self, opts: Options, cancel: threading.Event | None) -> None:
        self.opts = opts
        self.stop = Either(cancel)
        self.chosen: list[methods.Method] = []
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def start(self, warm: bool = True) -> None:
        """Begin loading; `warm` also does the first-use work of shots and scores (the video is
        being decoded, so it will be needed; a cache hit needs none of it)."""
        with self._starting:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, args=(warm,), name="vsumgui-methods", daemon=True)
                self.thread.start()

    def _run(self, warm: bool) -> None:
        opts = self.opts
        try:
            self.chosen = resolve_methods(opts.methods, opts.checkpoints)
            if opts.driver and opts.driver not in [m.name for m in self.chosen]:
                raise VsumError(f"the driving method {opts.driver!r} is not among the methods computed")
        except BaseException as e:  # handed to the summarizing thread
            self.error = e
            self.stop.set()
            return
        if warm:
            first_use(self.chosen, self.opts, self.stop)

    @property
    def busy(self) -> bool:
        """Still loading (or warming up)."""
        return self.thread is not None and self.thread.is_alive()

    def get(self) -> list[methods.Method]:
        self.start(warm=False)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.chosen


class _Partials:
    """Partial summaries (shots, every method's curve, a selection) of the features so far, made in
    a thread of their own so that decoding and inference never wait for them: only the newest
    features are kept, and after a partial summary that took c seconds the next waits at least
    4 c (so they cost at most a fifth of a core on any length). A method that cannot score a few
    samples yet is left out of that partial summary."""

    def __init__(self, opts: Options, loading: _Methods, callback: Callable[[Summary], None], duration: float):
        self.opts, self.loading, self.callback, self.duration = opts, loading, callback, duration
        self.latest: feat.Features | None = None
        self.closed = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="vsumgui-partial", daemon=True)
        self.thread.start()

    def offer(self, feats: feat.Features) -> None:
        with self.cond:
            self.latest = feats
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()
        self.thread.join()

    def _run(self) -> None:
        try:
            chosen = self.loading.get()
        except BaseException:  # the summary itself says what is wrong
            return
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.closed or self.latest is not None)
                if self.closed:
                    return
                feats, self.latest = self.latest, None
            start = time.monotonic()
            try:
                summary = partial_summary(feats, chosen, self.opts, self.duration)
            except Exception as e:  # best effort: the final summary is what counts
                log.debug("partial summary skipped: %s", e)
                summary = None
            if summary is not None and not self.closed:
                self.callback(summary)
            with self.cond:
                self.cond.wait_for(lambda: self.closed, timeout=4 * (time.monotonic() - start))


def partial_summary(feats: feat.Features, chosen: list[methods.Method], opts: Options,
                    duration: float) -> Summary | None:
    """A summary of the features so far (of a video `duration` seconds long in all), or None when
    no method can score them yet."""
    shot_idx = shotmod.segment(feats.features, feats.sample_rate, opts.shots)
    shot_secs = shotmod.shot_times(shot_idx, feats.times, feats.video.duration)
    scores = {}
    for m in chosen:
        try:
            scores[m.name] = score_features(m, feats)
        except Exception as e:  # too few samples for this method so far
            log.debug("partial scores of %s skipped: %s", m.name, e)
    if not scores:
        return None
    if opts.driver and opts.driver not in scores:
        opts = replace(opts, driver=None)
    summary = Summary(feats, shot_idx, shot_secs, scores, opts, done=min(1.0, feats.video.duration / duration)
                      if duration > 0 else 0.0)
    summary.select()
    return summary


def summarize(
    path: str | os.PathLike,
    options: Options | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    partial: Callable[[Summary], None] | None = None,
) -> Summary:
    """Summarize one video file. Raises VsumError (VideoError, Cancelled) for user-caused failures.

    Progress stages: "decoding", "features", "shots", "scoring". A cancelled run writes nothing.
    `partial`, when given, receives partial summaries (`Summary.done` < 1) every few seconds while
    the features are extracted, from a thread of their own (see `_Partials`); never after this
    returns. A cache hit has none.
    """
    opts = options or Options()
    check_number("ratio", opts.ratio, 0, 1, lo_open=True)  # before any work (the CLI says the same)
    check_rate(opts.sample_rate)
    if opts.mode not in MODES:
        raise VsumError(f"unknown selection mode {opts.mode!r}; known: {', '.join(MODES)}")

    loading = _Methods(opts, cancel)  # loads (importing torch) while the video decodes

    def report(stage: str, frac: float) -> None:
        if progress:
            progress(stage, frac)
        # once decoding has begun and its first word is out: the import holds the interpreter's lock a while
        loading.start()

    partials = None
    if partial is not None:
        def offer(so_far: feat.Features) -> None:
            nonlocal partials
            if partials is None:  # the whole video's length is known once decoding has begun
                partials = _Partials(opts, loading, partial, _duration(path))
            partials.offer(so_far)

    try:
        feats, hit = feat.ensure(path, opts.backbone, opts.sample_rate, report, loading.stop, opts.use_cache,
                                 opts.shots, opts.sampling, offer if partial is not None else None)
    except Cancelled:
        loading.get()  # a method that cannot load is the reason, when it is one
        raise
    finally:
        if partials is not None:
            partials.close()
    if loading.busy:  # the first use of a checkpoint (its export) outlasted the decoding: say so
        report("methods", 0.0)
    chosen = loading.get()
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
    summary = Summary(feats, shot_idx, shot_secs, scores, opts, hit,
                      scene_idx=shotmod.scenes(feats.features, shot_idx))
    summary.select()
    return summary
