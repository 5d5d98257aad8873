"""``coach score``: score a user's session against a trainer's, from clip files or JSON.

Clip files (``.clip.npz``) carry exact 3D motion; keypoint-sequence JSON (the phone's
format) is lifted with the bundled lifter first, and its 2D confidences gate the cues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring import PopulationModel, Reference, SessionReport, score_session


@dataclass
class Performance:
    """3D motion ready for scoring, with where it came from."""

    poses: np.ndarray
    fps: float
    movement: str | None
    scores: np.ndarray | None = None
    beat_times: list[float] | None = None
    rep_period_s: float | None = None
    beats_per_rep: int = 0
    model_version: str = ""
    keypoints_2d: tuple[np.ndarray, np.ndarray] | None = None


def load_performance(path: Path) -> Performance:
    """Read a clip file or a keypoint-sequence JSON (lifted with the bundled model)."""
    if path.name.endswith(".json"):
        from pose3d.keypoints import h36m_scores
        from pose3d.lifter import Lifter
        from pose3d.sequence_json import parse_sequence

        sequence = parse_sequence(json.loads(path.read_text()))
        lifter = Lifter.for_recordings()
        poses = lifter.lift_sequence(sequence)
        feet = (sequence.keypoints, sequence.scores) if sequence.layout == "mediapipe33" else None
        return Performance(
            poses,
            sequence.fps,
            None,
            h36m_scores(sequence.scores, sequence.layout),
            model_version=lifter.metadata.version,
            keypoints_2d=feet,
        )
    from synthetic_data.clip import read_clip

    return clip_performance(read_clip(path))


def clip_performance(clip) -> Performance:
    """A clip's exact 3D motion; for routines done to music, its repetition length and
    beats (from the clip's first repetition and beat times)."""
    performance = Performance(
        clip.h36m17(), clip.fps, clip.movement, beat_times=clip.beat_times or None
    )
    if clip.beat_times and clip.reps:
        start, end = clip.reps[0]
        beats = [b for b in clip.beat_times if start / clip.fps <= b < end / clip.fps]
        performance.rep_period_s = (end - start) / clip.fps
        performance.beats_per_rep = len(beats)
    return performance


def reference_from(trainer: Performance, movement: str) -> Reference:
    """The trainer's performance prepared as a scoring reference."""
    return Reference.from_poses(
        trainer.poses,
        trainer.fps,
        movement,
        rep_period_s=trainer.rep_period_s,
        beats_per_rep=trainer.beats_per_rep,
        beat_times=trainer.beat_times,
    )


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
        user.poses,
        user.fps,
        reference,
        scores=user.scores,
        beat_times=user.beat_times,
        strictness=strictness,
        population=PopulationModel.load(),
        model_version=user.model_version or "ground-truth 3D",
        keypoints_2d=user.keypoints_2d,
    )
    return report, user, reference
