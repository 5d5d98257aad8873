"""What scoring is given of one session: the user's 3D motion and what came with it.

:class:`ObservedSession` is the single input of :func:`scoring.session.score_session`
and of the detector's evidence (:mod:`scoring.evidence`), so every caller (the API, the
live socket, the lab's fitting and evaluation, ``coach score``) hands scoring the same
thing, checked once when it is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from scoring.features import validate_poses


class PoseSource(StrEnum):
    """Where the 3D poses come from; each has its own tolerances and detector models."""

    EXACT = "exact"  # known exactly (motion capture, simulation): no lifting noise
    LIFTED = "lifted"  # lifted from the phone's 2D keypoints by the lifter


class Landmarks(NamedTuple):
    """The phone's MediaPipe-33 landmarks: what 3D keeps little of (heels, knee lines).

    Attributes:
        keypoints: ``(T, 33, 2)`` pixels.
        scores: ``(T, 33)`` detector confidences in [0, 1].
    """

    keypoints: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class ObservedSession:
    """One session as scoring sees it; checked on construction (``ValueError`` naming
    what is wrong).

    Attributes:
        poses: ``(T, 17, 3)`` H36M-17 poses in metres (camera space when lifted), float64.
        fps: Frames per second of the poses.
        scores: ``(T, 17)`` 2D confidences in H36M-17 joint order (what the lifter saw),
            or ``None`` when the 3D is known exactly.
        landmarks: The MediaPipe-33 landmarks of the same ``T`` frames, when the phone
            sent them.
        beat_times: The music's beats on the user's timeline (s), for routines.
        heel_rest: Per side (``"left"``, ``"right"``), the heel's resting height
            (:func:`scoring.feet.heel_height`) when these frames are a stretch of a
            longer session (live) that shows it better; else each heel's median here.
    """

    poses: np.ndarray
    fps: float
    scores: np.ndarray | None = None
    landmarks: Landmarks | None = None
    beat_times: Sequence[float] | None = None
    heel_rest: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"user fps must be positive, got {self.fps}")
        poses = validate_poses(self.poses, "user poses")
        object.__setattr__(self, "poses", poses)
        object.__setattr__(self, "fps", float(self.fps))
        if self.scores is not None:
            scores = np.asarray(self.scores, dtype=np.float64)
            if scores.shape != poses.shape[:2]:
                raise ValueError(f"scores must have shape {poses.shape[:2]}, got {scores.shape}")
            object.__setattr__(self, "scores", scores)
        if self.landmarks is not None:
            keypoints, scores = (np.asarray(a) for a in self.landmarks)
            frames = len(poses)
            if keypoints.shape != (frames, 33, 2) or scores.shape != (frames, 33):
                raise ValueError(
                    f"landmarks must be MediaPipe-33 ({frames}, 33, 2) pixels and ({frames}, 33)"
                    f" scores, got {keypoints.shape} and {scores.shape}"
                )
            object.__setattr__(self, "landmarks", Landmarks(keypoints, scores))

    @property
    def source(self) -> PoseSource:
        """Exact 3D when no 2D confidences came with the poses, lifted otherwise."""
        return PoseSource.EXACT if self.scores is None else PoseSource.LIFTED

    @property
    def frames(self) -> int:
        return len(self.poses)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def frame_confidence(self) -> np.ndarray:
        """``(T,)`` mean 2D confidence over the joints (all 1 for exact 3D)."""
        return np.ones(self.frames) if self.scores is None else self.scores.mean(axis=1)
