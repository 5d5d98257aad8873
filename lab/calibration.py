"""Prepared clips scored and tallied, and the rule thresholds calibrated on them.

:func:`score_clips` scores labelled clips (:mod:`lab.clips`) against their movement's
trainer and tallies the events (:mod:`lab.tallies`): what calibration, the detector's
validation figures and ``coach evaluate-scoring`` all measure. :func:`calibrate_thresholds`
chooses the population model's threshold factors per pose source and error kind on a
validation set, with the merit the learned detector's thresholds are chosen by too: F1
less ALARM_PENALTY times the false-alarm rate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lab.clips import PreparedClip, prepare_clips, reference_for
from lab.tallies import ModeResult
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource, score_session
from synthetic_data.errors import ERROR_KINDS

ALL_KINDS = tuple(ERROR_KINDS)
Z_SCALES = (0.4, 0.55, 0.7, 0.85, 1.0, 1.25, 1.5, 2.0, 3.0)
SEVERITY_SCALES = (0.2, 0.4, 0.7, 1.0, 1.5)
CONFIDENCE_SCALES = (0.6, 1.0)  # minimum 2D confidence 0.3 or 0.5 for a cue
ALARM_PENALTY = 10.0  # F1 given up per unit false-alarm rate when choosing thresholds


def score_clips(
    prepared: list[PreparedClip],
    population: PopulationModel | None,
    strictness: str,
    cache: dict,
) -> ModeResult:
    """Score every prepared clip against its movement's trainer and tally the events."""
    result = ModeResult()
    for item in prepared:
        reference, _ = reference_for(item.clip.movement, cache)
        report = score_session(
            item.observed,
            reference,
            strictness=strictness,
            population=population,
            include_ghost=False,
        )
        result.add_clip(item.clip, report.errors, correct=not item.clip.errors)
    return result


def calibrate_thresholds(
    clips_dir: Path, population: PopulationModel, strictness: str = "intermediate"
) -> dict[str, dict[str, list[float]]]:
    """Per pose source and error kind, the threshold factors with the best F1 on the
    labelled clips in ``clips_dir`` (a validation set: never the held-out clips), less
    ALARM_PENALTY times the share of correct clips on which that kind alarms. Ties go to
    the stricter (higher) thresholds."""
    paths = sorted(clips_dir.glob("*.clip.npz"))
    if not paths:
        raise ValueError(f"no clip files in {clips_dir}")
    lifter = Lifter.for_recordings()
    cache: dict = {}
    thresholds = {}
    for source in PoseSource:
        prepared = prepare_clips(paths, source, lifter)
        best: dict[str, tuple] = {}
        grid = [(z, s, c) for z in Z_SCALES for s in SEVERITY_SCALES for c in CONFIDENCE_SCALES]
        for scales in tqdm(grid, desc=f"calibrate ({source})"):
            kinds = {kind: list(scales) for kind in ALL_KINDS}
            trial = replace(population, thresholds={source: kinds})
            result = score_clips(prepared, trial, strictness, cache)
            for kind, counts in result.tallies.items():
                if not counts.labels:
                    continue
                alarms = result.alarms_by_kind.get(kind, 0) / max(1, result.correct)
                merit = counts.metrics()["f1"] - ALARM_PENALTY * alarms
                key = (round(merit, 6), float(np.prod(scales)))
                if kind not in best or key > best[kind][0]:
                    best[kind] = (key, list(scales))
        thresholds[source] = {kind: scales for kind, (_, scales) in sorted(best.items())}
    return thresholds
