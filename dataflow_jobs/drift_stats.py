"""Comparing one statistic's distribution in a window of sessions with a baseline (the
training clips' reference, or the previous window): population stability index and the
two-sample Kolmogorov-Smirnov test, and the verdict.

PSI: the baseline's deciles cut the line into ten bins (the first and last open-ended,
so new values land in them; a statistic the baseline holds constant gets below, equal
and above); each bin's share in the window ``w`` and the baseline ``b``, floored at
:data:`PSI_FLOOR` so that an empty bin counts as rare rather than impossible, gives
``PSI = sum((w - b) * ln(w / b))``. The usual reading: below 0.1 stable, 0.1-0.25 worth
watching, 0.25 and above a shift. Sampling alone gives about ``(bins - 1) * (1 / n_w +
1 / n_b)``: 0.07 for 200 sessions against 400, 0.2 for 90 against 90, and far more for
the few sessions that reach one error kind's detector (0.5 and up in simulated windows
of 15, which the usual reading calls drifted). So a PSI counts only when sampling
alone rarely reaches it: its p-value is that of a permutation test (the two samples
pooled and split again at random :data:`PSI_PERMUTATIONS` times, seeded), computed for
a PSI at or above the watch level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import ks_2samp

PSI_BINS = 10  # baseline quantile bins (deciles)
PSI_FLOOR = 1e-4  # share given to an empty bin
PSI_WATCH, PSI_DRIFT = 0.1, 0.25
KS_P_DRIFT = 0.001
# A PSI over a threshold counts when at most this share of random splits reach it.
PSI_P_WATCH, PSI_P_DRIFT = 0.01, 0.001
PSI_PERMUTATIONS = 999  # p-values down to 0.001
# Fewer sessions than this on either side: the KS p-value alone flags nothing (a few
# sessions differ by chance); PSI still reports, and the counts say how few there were.
MIN_SAMPLES = 30
STATUSES = ("stable", "watch", "drifted")  # worst last


@dataclass(frozen=True)
class Comparison:
    """One statistic in a window against a baseline.

    Attributes:
        psi: Population stability index (dimensionless, >= 0).
        psi_p: Share of random splits of the pooled sessions whose PSI reaches ``psi``
            (a permutation p-value); None below the watch level (not needed).
        ks: Two-sample KS statistic: the largest gap between the two empirical CDFs (0-1).
        ks_p: Its p-value (two-sided, exact for small samples).
        window: Sessions in the window with this statistic.
        baseline: Sessions (or clips) in the baseline with it.
        status: ``"stable"``, ``"watch"`` or ``"drifted"`` (module docstring).
    """

    psi: float
    psi_p: float | None
    ks: float
    ks_p: float
    window: int
    baseline: int
    status: str

    def to_dict(self) -> dict:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def psi_cuts(baseline: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """The baseline's distinct inner quantiles at 1/bins, ..., (bins-1)/bins: ``(K,)``
    sorted cut points (one for a constant statistic)."""
    return np.unique(np.quantile(baseline, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def bin_shares(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``(K + 2,)`` shares of ``values`` in: below ``c0``, ``[c0, c1]``, ``(c1, c2]``,
    ..., ``(c_{K-2}, c_{K-1}]``, (one bin left empty), above ``c_{K-1}``; a single cut
    makes below, equal and above."""
    inner = 1 + np.maximum(np.searchsorted(cuts, values, side="left") - 1, 0)
    index = np.where(values < cuts[0], 0, np.where(values > cuts[-1], len(cuts) + 1, inner))
    return np.bincount(index, minlength=len(cuts) + 2) / len(values)


def population_stability(window: np.ndarray, baseline: np.ndarray) -> float:
    """PSI of ``window`` against ``baseline`` over the baseline's quantile bins."""
    cuts = psi_cuts(baseline)
    w = np.maximum(bin_shares(window, cuts), PSI_FLOOR)
    b = np.maximum(bin_shares(baseline, cuts), PSI_FLOOR)
    return float(np.sum((w - b) * np.log(w / b)))


def psi_p_value(window: np.ndarray, baseline: np.ndarray, psi: float) -> float:
    """The share of random splits of the pooled values (into samples of the two sizes)
    whose PSI is at least ``psi``: ``(1 + reached) / (1 + splits)``, seeded. It stops
    once the share is surely above :data:`PSI_P_WATCH` (no verdict changes past that
    point: chance shifts, the common case, cost a few dozen splits, not 999)."""
    rng = np.random.default_rng(0)
    pooled, size = np.concatenate([window, baseline]), len(window)
    enough = PSI_P_WATCH * (1 + PSI_PERMUTATIONS)
    reached = splits = 0
    while splits < PSI_PERMUTATIONS and reached <= enough:
        shuffled = rng.permutation(pooled)
        reached += population_stability(shuffled[:size], shuffled[size:]) >= psi
        splits += 1
    return (1 + reached) / (1 + splits)


def compare(window: np.ndarray, baseline: np.ndarray) -> Comparison | None:
    """``window`` against ``baseline`` (1-D arrays of one statistic's values); None when
    either is empty (nothing to compare). Drifted: PSI >= 0.25 that random splits reach
    at most 0.1% of the time, or (30+ values a side) KS p < 0.001; watch: PSI >= 0.1
    reached at most 1% of the time."""
    window, baseline = (np.asarray(a, dtype=np.float64) for a in (window, baseline))
    if not (len(window) and len(baseline)):
        return None
    psi = population_stability(window, baseline)
    psi_p = psi_p_value(window, baseline, psi) if psi >= PSI_WATCH else None
    test = ks_2samp(window, baseline)
    enough = min(len(window), len(baseline)) >= MIN_SAMPLES
    if (psi >= PSI_DRIFT and psi_p <= PSI_P_DRIFT) or (enough and test.pvalue < KS_P_DRIFT):
        status = "drifted"
    elif psi >= PSI_WATCH and psi_p <= PSI_P_WATCH:
        status = "watch"
    else:
        status = "stable"
    return Comparison(
        psi, psi_p, float(test.statistic), float(test.pvalue), len(window), len(baseline), status
    )


def summary(values: np.ndarray) -> dict[str, float] | None:
    """Count, mean and 10th / 50th / 90th percentiles of ``values``; None when empty."""
    if not len(values):
        return None
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    numbers = {"mean": np.mean(values), "p10": p10, "p50": p50, "p90": p90}
    return {"n": len(values)} | {k: round(float(v), 6) for k, v in numbers.items()}
