"""``coach score``: score a user's session against a trainer's, from clip files or JSON.

Clip files (``.clip.npz``) carry exact 3D motion; keypoint-sequence JSON (the phone's
format) is lifted with the bundled lifter first, and its 2D confidences gate the cues.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.clips import Performance, clip_performance, reference_from
from pose3d.keypoints import h36m_scores
from pose3d.lifter import Lifter
from pose3d.sequence_json import parse_sequence
from scoring import Landmarks, PopulationModel, Reference, SessionReport, score_session
from synthetic_data.clip import read_clip


def load_performance(path: Path) -> Performance:
    """Read a clip file or a keypoint-sequence JSON (lifted with the bundled model)."""
    if path.name.endswith(".json"):
        sequence = parse_sequence(json.loads(path.read_text()))
        lifter = Lifter.for_recordings()
        poses = lifter.lift_sequence(sequence)
        landmarks = (
            Landmarks(sequence.keypoints, sequence.scores)
            if sequence.layout == "mediapipe33"
            else None
        )
        return Performance(
            poses,
            sequence.fps,
            None,
            h36m_scores(sequence.scores, sequence.layout),
            model_version=lifter.metadata.version,
            landmarks=landmarks,
        )
    return clip_performance(read_clip(path))


def run_score(
    trainer_path: Path, user_path: Path, movement: str | None, strictness: str
) -> tuple[SessionReport, Performance, Reference]:
    """Score ``user_path`` against ``trainer_path``; returns the report and its inputs."""
    trainer = load_performance(trainer_path)
    user = load_performance(user_path)
    movement = movement or trainer.movement or user.movement
    if movement is None:
        raise ValueError("--movement is needed when neither input is a clip file")
    reference = reference_from(trainer, movement)
    report = score_session(
        user.observed(),
        reference,
        strictness=strictness,
        population=PopulationModel.load(),
        model_version=user.model_version or "ground-truth 3D",
    )
    return report, user, reference
