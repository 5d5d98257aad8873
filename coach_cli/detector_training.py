"""Train the learned form-error detector (:mod:`scoring.detector`) on labelled clips.

Every clip of the training folders (``coach synth``; never the held-out evaluation clips)
is scored up to the detector's input, twice: from its exact 3D, and filmed by the phone
with detector noise and lifted by the bundled recordings lifter. Each unit (repetition,
or 4-beat move) of each check gets a label: is an error of that kind and segment there
(a labelled run covering at least 30% of the shorter of the two)? One classifier and one
severity regressor per error kind and pose source are trained on those units; then, on
the validation clips, each kind's probability threshold is chosen with the same merit
as the rule thresholds: best F1 less ALARM_PENALTY times its false-alarm rate on correct
clips.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import sklearn
from tqdm import tqdm

from coach_cli.scoring_eval import (
    ALARM_PENALTY,
    MODES,
    prepare_clip,
    prepare_clips,
    reference_for,
    score_clips,
)
from pose3d.lifter import Lifter
from scoring import PopulationModel
from scoring.detector import FormErrorDetector, Unit, feature_names, fit_kind
from scoring.evidence import KNEE_MEASURES, MOVEMENTS
from scoring.features import FEATURE_NAMES
from scoring.population import SOURCES
from scoring.session import session_evidence
from synthetic_data.clip import ErrorLabel, read_clip

MIN_OVERLAP = 0.3
THRESHOLDS = tuple(np.round(np.arange(0.1, 0.95, 0.05), 2))
MIN_CONFIDENCES = (0.3, 0.5)


def unit_labels(
    units: list[Unit], labels: list[ErrorLabel], kind: str, segment: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(U,)`` 1 where a label of ``kind`` on ``segment`` covers the unit (at least
    MIN_OVERLAP of the shorter of the two), and that label's severity (0 elsewhere)."""
    present, severity = np.zeros(len(units), dtype=int), np.zeros(len(units))
    for label in labels:
        if label.kind != kind or label.segment != segment:
            continue
        for index, unit in enumerate(units):
            overlap = min(unit.end, label.end_frame) - max(unit.start, label.start_frame)
            shorter = min(unit.end - unit.start, label.end_frame - label.start_frame)
            if overlap >= MIN_OVERLAP * shorter:
                present[index] = 1
                severity[index] = max(severity[index], label.severity)
    return present, severity


def trace_sources(kind: str) -> list[str]:
    """The traces behind one kind's feature rows, in row order (see scoring.evidence)."""
    if kind == "heels_lifting":
        return ["2d_heel_rise"]
    if kind == "off_beat":
        return ["beat"]
    return ["3d"] + [f"{source}_{name}" for source, name in KNEE_MEASURES.get(kind, ())]


def unit_dataset(paths: list[Path], mode: str, lifter: Lifter, population: PopulationModel):
    """Per error kind: feature rows ``(N, C)``, labels ``(N,)`` and severities ``(N,)``
    of every unit of every clip, seen as in ``mode``."""
    rows, labels, severities = defaultdict(list), defaultdict(list), defaultdict(list)
    cache: dict = {}
    for number, path in enumerate(tqdm(paths, desc=f"units ({mode})")):
        item = prepare_clip(read_clip(path), number, mode, lifter)
        reference, _ = reference_for(item.clip.movement, cache)
        evidence = session_evidence(
            item.poses, item.clip.fps, reference, **item.observed(), population=population
        )
        for (kind, segment), unit_rows in evidence.rows.items():
            present, severity = unit_labels(evidence.units, item.clip.errors, kind, segment)
            rows[kind].append(unit_rows)
            labels[kind].append(present)
            severities[kind].append(severity)
    return {
        kind: (np.concatenate(rows[kind]), np.concatenate(labels[kind]), np.concatenate(sev))
        for kind, sev in severities.items()
    }


def train_detector(
    training: list[Path], validation: Path, population: PopulationModel
) -> FormErrorDetector:
    """Train on the clips in the ``training`` folders, calibrate on ``validation``."""
    paths = sorted(p for folder in training for p in folder.glob("*.clip.npz"))
    if not paths:
        raise ValueError(f"no clip files in {', '.join(map(str, training))}")
    lifter = Lifter.for_recordings()
    detector = FormErrorDetector(
        info={
            "training_clips": len(paths),
            "training_folders": [str(folder) for folder in training],
            "validation_folder": str(validation),
            "scikit_learn": sklearn.__version__,
            "lifter": lifter.metadata.version,
            "units": {},
        }
    )
    for mode, exact in zip(MODES, (True, False), strict=True):
        source = SOURCES[exact]
        detector.models[source] = {}
        detector.info["units"][source] = {}
        for kind, (rows, present, severity) in unit_dataset(
            paths, mode, lifter, population
        ).items():
            columns = feature_names(trace_sources(kind), MOVEMENTS, FEATURE_NAMES)
            detector.models[source][kind] = fit_kind(rows, present, severity, columns)
            detector.info["units"][source][kind] = {
                "units": len(present),
                "with_error": int(present.sum()),
            }
    detector.info["thresholds"] = calibrate_detector(detector, validation, population, lifter)
    return detector


def calibrate_detector(
    detector: FormErrorDetector,
    validation: Path,
    population: PopulationModel,
    lifter: Lifter,
    strictness: str = "intermediate",
) -> dict[str, dict[str, dict]]:
    """Set each kind's probability threshold and minimum 2D confidence to the pair with
    the best merit on the labelled ``validation`` clips (ties: the stricter); returns the
    choices and their validation figures."""
    paths = sorted(validation.glob("*.clip.npz"))
    if not paths:
        raise ValueError(f"no clip files in {validation}")
    cache: dict = {}
    chosen: dict[str, dict[str, dict]] = {}
    trial = replace(population, detector=detector)
    for mode, exact in zip(MODES, (True, False), strict=True):
        source = SOURCES[exact]
        prepared = prepare_clips(paths, mode, lifter)
        best: dict[str, tuple] = {}
        grid = [(t, c) for t in THRESHOLDS for c in MIN_CONFIDENCES]
        for threshold, confidence in tqdm(grid, desc=f"calibrate detector ({source})"):
            for model in detector.models[source].values():
                model.threshold, model.min_confidence = float(threshold), confidence
            result = score_clips(prepared, trial, strictness, cache)
            for kind, counts in result.tallies.items():
                if kind not in detector.models[source] or not counts.labels:
                    continue
                alarms = result.alarms_by_kind.get(kind, 0) / max(1, result.correct)
                metrics = counts.metrics()
                merit = round(metrics["f1"] - ALARM_PENALTY * alarms, 6)
                key = (merit, float(threshold), confidence)
                if kind not in best or key > best[kind][0]:
                    best[kind] = (
                        key,
                        {"threshold": float(threshold), "min_confidence": confidence, **metrics},
                    )
        for kind, model in detector.models[source].items():
            figures = best[kind][1] if kind in best else {"threshold": 0.5, "min_confidence": 0.5}
            model.threshold, model.min_confidence = figures["threshold"], figures["min_confidence"]
        chosen[source] = {kind: figures for kind, (_, figures) in sorted(best.items())}
    return chosen
