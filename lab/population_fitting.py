"""Fitting the population model of form tolerance (:mod:`scoring.population`) from
correct sessions.

Each correct (error-free) session runs through the scoring pipeline (features, the
alignment to the trainer, the checks' signals) and, per movement, check and phase bin of
the repetition, the signal's samples are pooled over sessions; a robust location and
scale of each pool (scikit-learn's ``RobustScaler``: median and inter-quartile range,
the latter turned into a normal standard deviation) is the model's centre and spread.
For ``baseline`` (range of motion) checks, the 95th percentile over sessions of each
session's consistent shortfall is the ``natural_shortfall`` a stiff body may fall short
by without it being an error.

It lives in the lab rather than in :mod:`scoring.population` because it needs the whole
scoring pipeline (:mod:`scoring.session`, :mod:`scoring.signals`), which itself reads the
fitted model; ``coach fit-scoring`` (:mod:`lab.scoring_eval`) calls it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from sklearn.preprocessing import RobustScaler

from scoring.matching import match_session
from scoring.observed import ObservedSession
from scoring.population import PHASE_BINS, PopulationModel, check_key, per_bin_median, phase_bins
from scoring.signals import check_signals

IQR_TO_SIGMA = 1.349  # IQR of a normal distribution in standard deviations


def fit_population(sessions: Iterable[tuple]) -> PopulationModel:
    """Fit from correct sessions ``(reference, user_poses, fps, beat_times)``."""
    samples: dict[tuple[str, str], list[list[float]]] = defaultdict(
        lambda: [[] for _ in range(PHASE_BINS)]
    )
    shortfalls: dict[tuple[str, str], list[float]] = defaultdict(list)
    count = 0
    for reference, poses, fps, beat_times in sessions:
        matched = match_session(ObservedSession(poses, fps, beat_times=beat_times), reference)
        features, alignment, track_phase = matched.features, matched.alignment, matched.track_phase
        bins = phase_bins(matched.track_index, len(reference.template_features))
        for item in check_signals(features, alignment, reference, track_phase, fps):
            key = (reference.movement, check_key(item.check))
            for b in range(PHASE_BINS):
                chosen = (bins == b) & item.substantial
                samples[key][b] += item.signal[chosen].tolist()
            if item.check.baseline and item.substantial.any():
                counted = np.unique(bins[item.substantial])
                # Median over the phase bins: a stiff body falls short in all of them,
                # a brief misalignment (a partial first rep) only in some.
                per_bin = per_bin_median(item.signal, bins)[counted]
                shortfalls[key].append(float(np.median(per_bin)))
        count += 1
    stats: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(dict)
    for (movement, key), per_bin in samples.items():
        centre, spread = [], []
        for values in per_bin:
            if len(values) < 10:
                centre.append(0.0)
                spread.append(0.0)
                continue
            scaler = RobustScaler().fit(np.asarray(values)[:, None])
            centre.append(round(float(scaler.center_[0]), 4))
            spread.append(round(float(scaler.scale_[0]) / IQR_TO_SIGMA, 4))
        stats[movement][key] = {"centre": centre, "spread": spread}
        if shortfalls.get((movement, key)):
            natural = max(0.0, float(np.percentile(shortfalls[(movement, key)], 95)))
            stats[movement][key]["natural_shortfall"] = round(natural, 4)
    return PopulationModel(stats=dict(stats), sessions=count)
