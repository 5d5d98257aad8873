"""A phone's keypoints to a session report: the product's scoring path, outside the API.

The API scores a session this way (``coach_api.services.Engine.score``), and so do the
jobs that judge stored sessions again without it: the batch re-scoring
(:mod:`dataflow_jobs.rescoring`) and the feedback units of the detector's training
(:mod:`lab.feedback`). The 2D front end repairs the keypoints (:func:`pose2d.clean_keypoints`),
the recordings lifter lifts them, and :func:`scoring.session.score_session` judges the
poses, with the MediaPipe landmarks for the checks that read 2D; what the front end did
opens the report's notes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from pose2d import clean_keypoints
from pose3d.keypoints import h36m_scores
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence
from scoring.observed import Landmarks, ObservedSession
from scoring.population import PopulationModel
from scoring.reference import Reference
from scoring.report import Note, SessionReport
from scoring.session import score_session
from scoring.session_stats import ScoredInput


class NoPersonError(ValueError):
    """The keypoints follow more than one person and none for most of the recording."""


class Lifted(NamedTuple):
    """A lifted sequence: poses ``(T, 17, 3)`` metres, H36M-order 2D scores ``(T, 17)``,
    the repaired keypoint sequence the lifter saw, what the repair did (plain words), and
    the frames it repaired (left/right swaps undone, someone else blanked)."""

    poses: np.ndarray
    scores: np.ndarray
    sequence: KeypointSequence
    notes: list[str]
    swap_repaired_frames: int
    other_person_frames: int


def lift_keypoints(lifter: Lifter, sequence: KeypointSequence) -> Lifted:
    """``sequence`` repaired by the 2D front end and lifted by ``lifter``.

    Raises:
        NoPersonError: the camera followed someone else for most of it.
        ValueError: input the lifter refuses.
    """
    cleaned = clean_keypoints(sequence.keypoints, sequence.scores, sequence.fps, sequence.layout)
    if cleaned.main_too_rare:
        raise NoPersonError(
            "the keypoints follow more than one person and none for most of the recording: "
            + " ".join(cleaned.notes)
        )
    sequence = replace(sequence, keypoints=cleaned.keypoints, scores=cleaned.scores)
    poses = lifter.lift_sequence(sequence)
    return Lifted(
        poses,
        h36m_scores(sequence.scores, sequence.layout),
        sequence,
        [*sequence.notes, *cleaned.notes],
        cleaned.swap_repaired_frames,
        cleaned.other_person_frames,
    )


def scored_input(received: KeypointSequence, lifted: Lifted) -> ScoredInput:
    """What the drift statistics read of a session's 2D: ``received`` as the phone (or
    the video's detector) sent it, and what the front end repaired before ``lifted``."""
    return ScoredInput(
        received.keypoints,
        received.scores,
        received.image_size,
        received.fps,
        lifted.swap_repaired_frames,
        lifted.other_person_frames,
    )


def observed_session(lifted: Lifted, beat_times: list[float] | None = None) -> ObservedSession:
    """What scoring judges of a lifted sequence: the poses, their 2D scores and, for
    MediaPipe input, the repaired landmarks the 2D checks read."""
    seen = lifted.sequence  # what the lifter saw: repaired, other people left out
    landmarks = Landmarks(seen.keypoints, seen.scores) if seen.layout == "mediapipe33" else None
    return ObservedSession(
        lifted.poses, seen.fps, scores=lifted.scores, landmarks=landmarks, beat_times=beat_times
    )


def judge_lifted(
    lifted: Lifted,
    reference: Reference,
    strictness: str,
    population: PopulationModel | None,
    model_version: str,
    beat_times: list[float] | None = None,
) -> SessionReport:
    """The report of a lifted session against the routine's ``reference`` (no ghost)."""
    observed = observed_session(lifted, beat_times)
    report = score_session(
        observed,
        reference,
        strictness=strictness,
        population=population,
        model_version=model_version,
        include_ghost=False,
    )
    report.notes[:0] = [  # what the front end did comes first: it frames the rest
        Note.over("keypoints", "body", 0.0, observed.duration_s, text) for text in lifted.notes
    ]
    return report


def score_keypoints(
    lifter: Lifter,
    population: PopulationModel | None,
    sequence: KeypointSequence,
    reference: Reference,
    strictness: str,
    beat_times: list[float] | None = None,
) -> tuple[SessionReport, np.ndarray]:
    """:func:`lift_keypoints` then :func:`judge_lifted`: the report and the poses
    ``(T, 17, 3)``; the errors of :func:`lift_keypoints` pass through."""
    lifted = lift_keypoints(lifter, sequence)
    report = judge_lifted(
        lifted, reference, strictness, population, lifter.metadata.version, beat_times
    )
    return report, lifted.poses
