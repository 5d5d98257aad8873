"""Users' verdicts on cues as labelled detector units, and a detector measured on them.

``coach-api export-feedback`` writes one file per verdict (:mod:`scoring.exported`): a
session's keypoints, its routine, one cue (kind, segment, time window) and whether the
user said it was right or wrong. Here each is scored up to the detector's input the way
the service scores it (front end, recordings lifter, :func:`scoring.session.session_evidence`)
and the session's units (repetitions, or moves) that the cue covers become training units
of the cue's kind and segment, from lifted poses: positive for a cue marked right (the
error is there), negative for one marked wrong. The session's other units stay
unlabelled: the user judged the cue they saw, not the rest.

:func:`feedback_dataset` feeds ``coach fit-scoring --feedback`` (weighted by
``--feedback-weight`` against a simulated unit,
:func:`lab.detector_training.with_feedback`);
:func:`feedback_figures` measures a finished detector on the verdicts themselves, for the
promotion gate.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lab.detector_training import KindUnits, unit_labels
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource
from scoring.evidence import UnitEvidence
from scoring.exported import FeedbackUnit, feedback_files, read_feedback
from scoring.keypoint_scoring import lift_keypoints, observed_session
from scoring.session import session_evidence
from synthetic_data.clip import ErrorLabel

MAX_UNITS = 100_000  # verdicts one training run reads


def load_feedback(folder: Path) -> list[FeedbackUnit]:
    """The feedback units of an export folder, in file order; ``ValueError`` for a folder
    without any, more than :data:`MAX_UNITS`, or a file that is not a unit (naming it)."""
    paths = feedback_files(folder)
    if not paths:
        raise ValueError(f"no feedback units (feedback-*.npz) in {folder}")
    if len(paths) > MAX_UNITS:
        raise ValueError(f"{folder} holds {len(paths)} units; at most {MAX_UNITS}")
    return [read_feedback(path.read_bytes(), path.name) for path in paths]


def covered_units(
    unit: FeedbackUnit, lifter: Lifter, population: PopulationModel
) -> tuple[UnitEvidence, np.ndarray] | None:
    """The session's detector evidence and ``(U,)`` which of its units the cue covers
    (:func:`lab.detector_training.unit_labels`' overlap rule); None when the detector
    has no rows for the cue's kind and segment there, or the cue covers no unit."""
    session = unit.session
    try:
        lifted = lift_keypoints(lifter, session.sequence)
    except ValueError:  # today's front end or lifter refuses the keypoints
        return None
    observed = observed_session(lifted, session.beat_times)
    evidence = session_evidence(observed, session.routine.reference(), population)
    cue, fps = unit.cue, session.sequence.fps
    if (cue.kind, cue.segment) not in evidence.rows:
        return None
    window = ErrorLabel(
        cue.kind, cue.segment, round(cue.start_s * fps), round(cue.end_s * fps), cue.severity
    )
    covered, _ = unit_labels(evidence.units, [window], cue.kind, cue.segment)
    return (evidence, covered.astype(bool)) if covered.any() else None


def feedback_dataset(
    units: list[FeedbackUnit], lifter: Lifter, population: PopulationModel
) -> dict[str, KindUnits]:
    """Per error kind, the verdicts as training units from lifted poses (see module doc):
    ``present`` the label, ``severity`` the cue's for a confirmed one (0 otherwise), and
    ``clip`` the verdict's index (one group per verdict). Verdicts the detector cannot
    use (a kind judged by rules only, a cue over no unit) are left out."""
    rows, present, severity, group = (defaultdict(list) for _ in range(4))
    for index, unit in enumerate(tqdm(units, desc="feedback units")):
        found = covered_units(unit, lifter, population)
        if found is None:
            continue
        evidence, covered = found
        kind, label = unit.cue.kind, unit.label
        picked = evidence.rows[(kind, unit.cue.segment)][covered]
        rows[kind].append(picked)
        present[kind].append(np.full(len(picked), label))
        severity[kind].append(np.full(len(picked), unit.cue.severity if label else 0.0))
        group[kind].append(np.full(len(picked), index))
    return {
        kind: KindUnits.joined(rows[kind], present[kind], severity[kind], group[kind])
        for kind in rows
    }


def feedback_figures(
    population_json: Path, units_dir: Path, lifter: Lifter | None = None
) -> dict[str, float]:
    """A detector measured on users' verdicts: ``feedback.right_kept``, the share of cues
    confirmed right that it still flags (any covered unit flagged, seen well enough),
    ``feedback.wrong_dropped``, the share of cues rejected as wrong that it no longer
    flags, and ``feedback.units``, the verdicts it could judge. A share without a verdict
    to measure it on is left out. ``lifter``: the recordings lifter (default bundled)."""
    population = PopulationModel.load(population_json)
    if population is None or population.detector is None:
        raise ValueError(f"{population_json} has no population model with a detector")
    detector = population.detector
    lifter = lifter or Lifter.for_recordings()
    kept = {0: [], 1: []}
    for unit in tqdm(load_feedback(units_dir), desc="feedback figures"):
        kind, segment = unit.cue.kind, unit.cue.segment
        if not detector.knows(PoseSource.LIFTED, kind):
            continue  # a kind the rules judge: the detector has no say on it
        found = covered_units(unit, lifter, population)
        if found is None:
            continue
        evidence, covered = found
        rows = evidence.rows[(kind, segment)][covered]
        flagged, _, _ = detector.judge(PoseSource.LIFTED, kind, rows, unit.session.strictness)
        seen = evidence.confidence[(kind, segment)][covered]
        minimum = detector.models[PoseSource.LIFTED][kind].min_confidence
        kept[unit.label].append(bool((flagged & (seen >= minimum)).any()))
    figures = {"feedback.units": float(len(kept[0]) + len(kept[1]))}
    if kept[1]:
        figures["feedback.right_kept"] = float(np.mean(kept[1]))
    if kept[0]:
        figures["feedback.wrong_dropped"] = 1.0 - float(np.mean(kept[0]))
    return figures
