"""Each check's error signal over the session, how far it may stray, and how well the
camera shows it: the evidence both the rule-based and the learned detector judge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.alignment import Alignment, moving_average
from scoring.checks import Check, checks_for
from scoring.features import SEGMENT_JOINTS, facing_yaw, segment_columns
from scoring.observed import PoseSource
from scoring.population import PopulationModel
from scoring.reference import Reference


@dataclass
class CheckSignal:
    """One check evaluated over the session: ``signal`` and ``phase`` are ``(T,)``."""

    check: Check
    signal: np.ndarray
    phase: np.ndarray
    substantial: np.ndarray  # frames where the check is meaningful (range present)


def check_signals(
    user_features: np.ndarray,
    alignment: Alignment,
    reference: Reference,
    track_phase: np.ndarray,
    fps: float,
) -> list[CheckSignal]:
    """Every check's raw signal at the user's frames (before tolerances and baselines)."""
    ref_features = reference.template_features[track_phase[alignment.ref_index]]
    phase = track_phase[alignment.ref_index] / max(1, len(reference.template_features))
    signals = []
    template_max = reference.template_features.max(axis=0)
    for check in checks_for(reference.movement):
        signal = moving_average(check.signal(user_features, ref_features), max(1, int(0.2 * fps)))
        substantial = np.ones(len(signal), dtype=bool)
        if check.relative:
            columns = segment_columns(check.segment)
            strength = ref_features[:, columns].mean(axis=1)
            substantial = strength > 0.75 * template_max[columns].mean()  # near the top
        signals.append(CheckSignal(check, signal, phase, substantial & alignment.matched))
    return signals


def segment_confidence(poses: np.ndarray, scores: np.ndarray | None, check: Check) -> np.ndarray:
    """``(T,)`` how far the 2D evidence and the camera view support ``check``.

    Without ``scores`` the poses are taken as exact (e.g. motion capture) and every
    frame counts fully; with them, the poses are camera-space lifts and the camera's
    view of the person also matters.
    """
    frames = len(poses)
    if scores is None:
        return np.ones(frames)
    joints = SEGMENT_JOINTS.get(check.segment, tuple(range(17)))
    confidence = scores[:, list(joints)].mean(axis=1)
    yaw = np.radians(facing_yaw(poses))
    if check.view == "frontal":  # a caving knee shows from the front, not from the side
        confidence = confidence * np.clip(1.3 * np.abs(np.cos(yaw)), 0, 1)
    elif check.view == "sagittal":  # bending depth is clearest from the side
        confidence = confidence * np.clip(0.6 + 0.6 * np.abs(np.sin(yaw)), 0, 1)
    return confidence


def tolerance(
    item: CheckSignal,
    reference: Reference,
    population: PopulationModel | None,
    bins: np.ndarray,
    track_index: np.ndarray,
    source: PoseSource,
) -> np.ndarray:
    """``(T,)`` how far the check's signal may stray: the trainer's rep-to-rep
    variability, the population's spread (of exact or lifted poses) and a floor."""
    check = item.check
    features = segment_columns(check.segment)
    trainer = reference.variability[track_index][:, features].mean(axis=1) if features else 0.0
    if check.relative:
        ref_values = reference.template_features[track_index][:, features].mean(axis=1)
        trainer = trainer / np.maximum(ref_values, 20.0)
    floor = check.floor * check.full_scale
    spread = population.spread(reference.movement, check, bins, source) if population else 0.0
    return np.sqrt(trainer**2 + spread**2 + floor**2)


def beat_offset(
    alignment: Alignment, reference: Reference, fps: float, beat_times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(T,)`` how far the user's move runs ahead of (+) or behind (-) the music, in
    beats (smoothed over a beat), and ``(T,)`` the frames between the first and last beat.

    ``beat_times`` are the music's beats on the user's timeline (s).
    """
    times = np.arange(len(alignment.ref_index)) / fps
    user_beat = np.interp(times, beat_times, np.arange(len(beat_times)))
    frames_per_beat = len(reference.template_features) / reference.beats_per_rep
    ref_beat = alignment.ref_index / frames_per_beat
    offset = moving_average(ref_beat - user_beat, max(1, int(np.diff(beat_times).mean() * fps)))
    inside = alignment.matched & (times >= beat_times[0]) & (times <= beat_times[-1])
    return offset, inside
