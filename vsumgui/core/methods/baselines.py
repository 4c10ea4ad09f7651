"""Reference baselines: evenly spaced picks and seeded random scores."""

from __future__ import annotations

import numpy as np

from vsumgui.core.methods.base import Method, MethodScores, register, smooth


@register
class UniformSampling(Method):
    """Evenly spaced bumps, one every 1 / 0.15 samples (so the benchmark's 15 % budget takes
    pieces spread over the whole video). Period and bump width (sigma = 1 sample) are our choice."""

    name = "uniform-sampling"
    title = "Uniform sampling"
    order = 90
    reads_content = False
    period = round(1 / 0.15)

    def _score(self, features: np.ndarray) -> MethodScores:
        spikes = np.zeros(len(features))
        spikes[self.period // 2::self.period] = 1.0
        if not spikes.any():
            spikes[len(spikes) // 2] = 1.0
        return MethodScores(smooth(spikes, 1.0) + 1e-3)


@register
class Random(Method):
    """Independent uniform scores per frame, seeded so a run is reproducible."""

    name = "random"
    title = "Random"
    order = 91
    reads_content = False
    seed = 0

    def _score(self, features: np.ndarray) -> MethodScores:
        return MethodScores(np.random.default_rng(self.seed).random(len(features)))
