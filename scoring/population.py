"""How much correct performances vary: the population model of form tolerance.

Fitted on correct (error-free) performances of many simulated bodies, flexibilities,
tempos and cameras, lifted from noisy 2D like real sessions: for every movement, check
and phase bin of the repetition, a robust location and scale of the check's signal
(scikit-learn's ``RobustScaler``: median and inter-quartile range). At scoring time
the spread widens the tolerance where correct performers (and the lifter) differ most.
The same statistics of the exact 3D of those sessions (``exact_stats``) judge exact input
(motion capture, simulation), which has no lifting noise to tolerate. Saved as a small
JSON file that ships with the package. This module holds and reads the fitted model; the
fitting runs the whole scoring pipeline, so it sits above it, in
:mod:`lab.population_fitting` (``coach fit-scoring``).

The same file carries the decision thresholds calibrated on labelled validation clips
(``coach fit-scoring --validation DIR``): per error kind and pose source (``lifted``
from 2D, or ``exact`` 3D such as motion capture) factors on the strictness's z
threshold, its minimum severity and the minimum 2D confidence for a cue
(:class:`ThresholdScales`). Without them all factors are 1.

Beside the JSON file, ``population.detector.npz`` holds the learned per-repetition
detector (:mod:`scoring.detector`); when present, it decides the error kinds it was trained
for, and the thresholds above serve the rule-based judgement of the others. The detector
reads the knee network's outputs (:mod:`scoring.knee_net`), so a population model also
names the network its detector was made with (``knee_net``; the bundled one by default):
two models, e.g. a served champion and a challenger, score side by side in one process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scoring.detector import FormErrorDetector
from scoring.knee_net import KneeNet
from scoring.knee_net import bundled as bundled_knee_net
from scoring.observed import PoseSource

PHASE_BINS = 10
DEFAULT_PATH = Path(__file__).parent / "models" / "population.json"


def phase_bins(track_index: np.ndarray, template_length: int) -> np.ndarray:
    """Phase bin (0..PHASE_BINS-1) of each matched template frame."""
    return np.minimum(track_index * PHASE_BINS // max(1, template_length), PHASE_BINS - 1)


def per_bin_median(signal: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """``(PHASE_BINS,)`` median of ``signal`` ``(T,)`` in each phase bin (0 where empty)."""
    return np.array(
        [np.median(signal[bins == b]) if (bins == b).any() else 0.0 for b in range(PHASE_BINS)]
    )


def detector_path(population_path: Path) -> Path:
    """Where the learned detector of a population model is kept: beside it."""
    return population_path.with_name(f"{population_path.stem}.detector.npz")


def check_key(check) -> str:
    return f"{check.kind}:{check.segment}"


@dataclass(frozen=True)
class ThresholdScales:
    """Factors on the strictness's z threshold, minimum severity and minimum confidence."""

    z: float = 1.0
    severity: float = 1.0
    confidence: float = 1.0


@dataclass
class PopulationModel:
    """Per movement and check: ``(PHASE_BINS,)`` robust centre and spread of the signal."""

    stats: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    sessions: int = 0
    thresholds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    exact_stats: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    detector: FormErrorDetector | None = None
    knee_net: KneeNet | None = None  # None: the bundled network (knee_network)

    def knee_network(self) -> KneeNet | None:
        """The knee network whose outputs the detector reads: this model's own, else the
        bundled one (``None`` when neither exists: the network's traces are unknown)."""
        return self.knee_net if self.knee_net is not None else bundled_knee_net()

    def _entry(self, movement: str, check, source: PoseSource) -> dict | None:
        """The check's statistics for lifted poses, or for exact 3D when fitted on it."""
        stats = self.exact_stats if source is PoseSource.EXACT and self.exact_stats else self.stats
        return stats.get(movement, {}).get(check_key(check))

    def scales(self, kind: str, source: PoseSource) -> ThresholdScales:
        """Calibrated threshold factors of an error ``kind`` for exact 3D or lifted poses
        (all 1 when not calibrated)."""
        factors = self.thresholds.get(source, {}).get(kind, ())
        return ThresholdScales(*(float(f) for f in factors))

    def spread(
        self, movement: str, check, bins: np.ndarray, source: PoseSource = PoseSource.LIFTED
    ) -> np.ndarray | float:
        """Tolerance contribution per frame: spread plus the absolute centre (a bias shared
        by correct performers is no error either)."""
        entry = self._entry(movement, check, source)
        if entry is None:
            return 0.0
        spread = np.asarray(entry["spread"]) + np.abs(np.asarray(entry["centre"]))
        return spread[bins]

    def natural_shortfall(
        self, movement: str, check, source: PoseSource = PoseSource.LIFTED
    ) -> float | None:
        """The largest consistent range shortfall of correct performers (95th percentile
        over sessions) for a ``baseline`` check: what a stiff body may fall short by
        without it being an error. ``None`` when not fitted."""
        return (self._entry(movement, check, source) or {}).get("natural_shortfall")

    def save(self, path: str | Path = DEFAULT_PATH) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "sessions": self.sessions,
            "stats": self.stats,
            "exact_stats": self.exact_stats,
            "thresholds": self.thresholds,
        }
        path.write_text(json.dumps(data, indent=1) + "\n")
        if self.detector is not None:
            self.detector.save(detector_path(path))
        return path

    @classmethod
    def load(
        cls, path: str | Path = DEFAULT_PATH, knee_net: KneeNet | None = None
    ) -> PopulationModel | None:
        """The saved model (with the detector beside it and ``knee_net``, default the
        bundled network), or ``None`` if there is none."""
        path = Path(path)
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        return cls(
            data["stats"],
            data["sessions"],
            data.get("thresholds", {}),
            data.get("exact_stats", {}),
            FormErrorDetector.load(detector_path(path)),
            knee_net,
        )
