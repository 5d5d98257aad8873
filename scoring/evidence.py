"""What the learned detector (:mod:`scoring.detector`) sees of a session.

Per check, :class:`~scoring.detector.Trace` s: the check's signal against the trainer
(:mod:`scoring.signals`), plus what the knees (:mod:`scoring.knee_measures`) and the feet
(:mod:`scoring.feet`) show in 3D and in the phone's 2D landmarks; the session cut into
units (repetitions, or 4-beat moves of a routine); and each unit's feature rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring import feet, knee_measures, knee_net
from scoring.alignment import Alignment
from scoring.checks import CHECKS
from scoring.detector import (
    MOVE_BEATS,
    Trace,
    Unit,
    UnitSummary,
    local_extremes,
    session_units,
    summarise_units,
    unit_rows,
)
from scoring.features import facing_yaw
from scoring.matching import MatchedSession
from scoring.observed import Landmarks
from scoring.population import PopulationModel, phase_bins
from scoring.reference import Reference
from scoring.signals import CheckSignal, beat_offset, segment_confidence
from scoring.signals import tolerance as signal_tolerance

MOVEMENTS = tuple(CHECKS)  # movements the detector knows (one-hot columns)


def check_traces(
    items: Sequence[CheckSignal], session: MatchedSession, population: PopulationModel | None
) -> list[Trace]:
    """Every check's per-frame evidence for the learned detector (:mod:`scoring.detector`)."""
    reference, fps, observed = session.reference, session.fps, session.observed
    track_index = session.track_index
    bins = phase_bins(track_index, len(reference.template_features))
    ref_features = reference.template_features[track_index]
    window = max(1, int(0.15 * reference.template_length * fps / reference.fps))
    user_high, user_low = local_extremes(session.features, window)
    ref_high, ref_low = local_extremes(ref_features, window)
    traces = []
    for item in items:
        check = item.check
        tolerance = signal_tolerance(
            item, reference, population, bins, track_index, observed.source
        )
        peak = check.signal(user_high, ref_high)
        trough = check.signal(user_low, ref_low)
        traces.append(
            Trace(
                check.kind,
                check.segment,
                item.signal,
                item.signal / tolerance,
                np.where(np.isfinite(peak), peak, 0.0),
                np.where(np.isfinite(trough), trough, 0.0),
                segment_confidence(observed.poses, observed.scores, check),
                item.substantial,
            )
        )
    return traces


def heel_traces(
    landmarks: Landmarks,
    fps: float,
    matched: np.ndarray,
    rest: Mapping[str, float] | None = None,
) -> list[Trace]:
    """Heels lifting seen in the 2D foot landmarks, as detector evidence per foot;
    ``rest``: each heel's resting height, if known from more of the session."""
    keypoints, scores = landmarks
    traces = []
    for side in ("left", "right"):
        rise, confidence = feet.heel_rise(keypoints, scores, side, fps, (rest or {}).get(side))
        severity = rise / feet.FULL_SCALE
        high, low = local_extremes(severity[:, None], max(1, int(0.5 * fps)))
        traces.append(
            Trace(
                "heels_lifting",
                f"{side}_leg",
                severity,
                severity,
                high[:, 0],
                low[:, 0],
                confidence,
                matched,
                "2d_heel_rise",
            )
        )
    return traces


KNEE_MEASURES = {  # error kind -> the knee measures that show it: (source, name)
    "knees_caving_in": (("3d", "inward"), ("2d", "inward"), ("2d", "off_line"), ("net", "caving")),
    "knee_over_toes": (("3d", "ahead"), ("2d", "bend"), ("2d", "past_toes"), ("net", "over_toes")),
}


def knee_traces(
    kinds: set[tuple[str, str]],
    poses: np.ndarray,
    landmarks: Landmarks | None,
    fps: float,
    matched: np.ndarray,
    network: knee_net.KneeNet | None,
) -> list[Trace]:
    """The knee measures (:mod:`scoring.knee_measures`) and the knee ``network``'s
    probabilities (:mod:`scoring.knee_net`) behind each knee check in ``kinds``
    (``(kind, segment)`` pairs), as detector evidence; the 2D ones are NaN (unknown)
    without MediaPipe keypoints, the network's without a network."""
    knee_checks = sorted((kind, segment) for kind, segment in kinds if kind in KNEE_MEASURES)
    if not knee_checks:
        return []
    frames = len(poses)
    by_side: dict[str, dict[str, dict]] = {}  # a lunge checks both kinds on each knee
    seen = network is not None and landmarks is not None
    probabilities = network.probabilities(*landmarks, fps) if seen else {}
    traces = []
    for kind, segment in knee_checks:
        side = segment.split("_")[0]
        if side not in by_side:
            by_side[side] = {"3d": knee_measures.pose_measures(poses, side)}
            if landmarks is not None:
                by_side[side]["2d"] = knee_measures.image_measures(*landmarks, side, fps)
            if probabilities:
                by_side[side]["net"] = {
                    "caving": probabilities[f"{side}_caving"],
                    "over_toes": probabilities[f"{side}_over_toes"],
                    "confidence": by_side[side]["2d"]["confidence"],
                }
        measures = by_side[side]
        for source, name in KNEE_MEASURES[kind]:
            values = measures.get(source, {}).get(name, np.full(frames, np.nan))
            confidence = measures.get(source, {}).get("confidence", np.ones(frames))
            high, low = local_extremes(values[:, None], max(1, int(0.5 * fps)))
            traces.append(
                Trace(
                    kind,
                    segment,
                    values,
                    values,
                    high[:, 0],
                    low[:, 0],
                    confidence,
                    matched,
                    source=f"{source}_{name}",
                )
            )
    return traces


def beat_trace(
    alignment: Alignment,
    reference: Reference,
    fps: float,
    beat_times: Sequence[float],
    confidence: np.ndarray,
) -> Trace:
    """The user's lead (+) or lag (-) on the music's beat (beats), as detector evidence."""
    offset, inside = beat_offset(alignment, reference, fps, np.asarray(beat_times, dtype=float))
    high, low = local_extremes(offset[:, None], max(1, int(0.5 * fps)))
    return Trace(
        "off_beat", "timing", offset, offset, high[:, 0], low[:, 0], confidence, inside, "beat"
    )


@dataclass
class UnitEvidence:
    """The session cut into units, with each (kind, segment)'s ``(U, C)`` feature rows
    and ``(U,)`` mean confidence (how well the camera showed that segment), and each
    unit's own :class:`~scoring.detector.UnitSummary`."""

    units: list[Unit]
    rows: dict[tuple[str, str], np.ndarray]
    confidence: dict[tuple[str, str], np.ndarray]
    summaries: list[UnitSummary]


def unit_evidence(
    items: Sequence[CheckSignal],
    session: MatchedSession,
    population: PopulationModel | None,
    earlier: Sequence[UnitSummary] = (),
) -> UnitEvidence:
    """Everything the detector needs to judge each unit of the session. ``earlier``: the
    summaries of the user's units before this stretch of a session (a live session's
    earlier repetitions), compared with as if they were part of it; rows are only made
    for this stretch's units."""
    reference, alignment, fps = session.reference, session.alignment, session.fps
    observed = session.observed
    traces = check_traces(items, session, population)
    # The network the population's detector was made with (the bundled one without one).
    network = population.knee_network() if population is not None else knee_net.bundled()
    traces += knee_traces(
        {(t.kind, t.segment) for t in traces},
        observed.poses,
        observed.landmarks,
        fps,
        alignment.matched,
        network,
    )
    if observed.landmarks is not None and reference.movement in feet.MOVEMENTS:
        traces += heel_traces(observed.landmarks, fps, alignment.matched, observed.heel_rest)
    if session.timed:
        confidence = observed.frame_confidence()
        traces.append(beat_trace(alignment, reference, fps, observed.beat_times, confidence))
    parts = reference.beats_per_rep // MOVE_BEATS if reference.beats_per_rep else 1
    units = session_units(
        alignment.ref_index, alignment.matched, reference.template_length, max(1, parts), fps
    )
    trainer = reference.template_features[session.track_index]
    # How far the user is from the start pose (degrees): the key frames are the user's
    # own deepest or highest, not the trainer's at the matched phase.
    progress = np.abs(session.features - reference.template_features[0]).sum(axis=1)
    summaries = summarise_units(
        traces, session.features - trainer, progress, units, facing_yaw(observed.poses), fps
    )
    keys = [list(s.stats) for s in summaries[:1]]
    context = [s for s in earlier if [list(s.stats)] == keys]  # the same checks only
    rows = {
        key: rows[len(context) :]
        for key, rows in unit_rows([*context, *summaries], reference.movement, MOVEMENTS).items()
    }
    confidence = {  # per unit, the first trace's of each (kind, segment), as its row's
        (t.kind, t.segment): np.array([s.confidence[(t.kind, t.segment)] for s in summaries])
        for t in traces
    }
    return UnitEvidence(units, rows, confidence, summaries)
