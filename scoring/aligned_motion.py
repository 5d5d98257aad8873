"""The three motions a session is shown with: the user's lifted poses, the trainer's
reference matched frame by frame to the user's timeline (on the user's bone lengths,
turned to face as the user faces, as the report draws it),
and the corrected "ghost" (the user's motion with each flagged segment's bones turned to
the trainer's). The web app's 3D player plays them; the report's figures draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.matching import match_session
from scoring.observed import ObservedSession
from scoring.reference import Reference
from scoring.report import ErrorEvent
from scoring.session import ghost_motion, trainer_on_user


@dataclass(frozen=True)
class AlignedMotion:
    """``(T, 17, 3)`` H36M-17 poses in metres, one per user frame, at ``fps``."""

    user: np.ndarray
    trainer: np.ndarray
    ghost: np.ndarray
    fps: float


def aligned_motion(
    user_poses: np.ndarray,
    fps: float,
    reference: Reference,
    errors: Sequence[ErrorEvent],
    beat_times: Sequence[float] | None = None,
) -> AlignedMotion:
    """Match ``user_poses`` to ``reference`` as scoring did (same alignment, same beats)
    and build the trainer's motion on the user's timeline and the ghost corrected where
    ``errors`` (the report's) flag a body segment."""
    matched = match_session(ObservedSession(user_poses, fps, beat_times=beat_times), reference)
    trainer = trainer_on_user(matched) + user_poses[:, :1]  # where the user's root is
    ghost = ghost_motion(matched, list(errors))
    return AlignedMotion(user_poses, trainer, ghost, fps)


def downsampled(motion: AlignedMotion, max_frames: int) -> AlignedMotion:
    """``motion`` with every k-th frame (k the smallest keeping at most ``max_frames``)
    and its fps divided by k, so that frame ``i`` stays at ``i / fps`` seconds."""
    if max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    step = max(1, int(np.ceil(len(motion.user) / max_frames)))
    return AlignedMotion(
        motion.user[::step], motion.trainer[::step], motion.ghost[::step], motion.fps / step
    )
