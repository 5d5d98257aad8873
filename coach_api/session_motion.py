"""A stored session's motion for the web app's 3D player (``GET /v1/sessions/{id}/motion``):
the user's lifted poses, the trainer's matched to them and the corrected ghost, built as
the report page builds its figures (:func:`scoring.aligned_motion.aligned_motion`)."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from coach_api.db import WorkoutSession
from coach_api.report_page import page_routine, session_beat_times
from coach_api.schemas import MotionPublic
from coach_api.services import Engine, load_poses
from coach_api.settings import Settings
from pose3d.skeleton import H36M17

# A player needs no more: 900 frames are 30 s at 30 fps, and longer sessions play at a
# lower frame rate. Three motions of 900 frames are ~1 MB of JSON.
MAX_MOTION_FRAMES = 900


async def session_motion(
    row: WorkoutSession, db: Session, engine: Engine, settings: Settings
) -> MotionPublic:
    """``row``'s motion, computed in the worker pool; 404 ``routine_deleted`` when the
    trainer's motion went with their routine. The database connection is not held
    meanwhile."""
    routine = page_routine(db, row)
    db.commit()  # ends the read transaction: the connection goes back to the pool
    reference = await engine.run(engine.reference, settings.blobs, routine)
    return await engine.run(_build, row, reference, settings.blobs)


def _build(row: WorkoutSession, reference, blobs) -> MotionPublic:
    from scoring.aligned_motion import aligned_motion, downsampled
    from scoring.report import SessionReport

    poses, fps = load_poses(blobs, row.blob)
    beats = session_beat_times(blobs, row)  # matched as scoring matched it
    errors = SessionReport.from_dict(row.report).errors
    motion = downsampled(aligned_motion(poses, fps, reference, errors, beats), MAX_MOTION_FRAMES)

    def rounded(array: np.ndarray) -> list:
        return np.round(array.astype(np.float64), 3).tolist()

    return MotionPublic(
        fps=float(motion.fps),
        duration_s=round(len(poses) / fps, 3),
        joint_names=list(H36M17.joint_names),
        bones=[[int(p), int(c)] for p, c in H36M17.bones],
        user=rounded(motion.user),
        trainer=rounded(motion.trainer),
        ghost=rounded(motion.ghost),
    )
