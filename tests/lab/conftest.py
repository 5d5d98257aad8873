"""Real sessions with the heels lifted in the capture itself."""

from dataclasses import replace

from lab.real_exercise import RealSession
from synthetic_data.errors import envelope
from synthetic_data.real_errors import inject_real_error


def heels_lifted(session: RealSession, severity: float) -> RealSession:
    """``session`` with both heels lifted at the bottom of every squat (25 deg at 1), as
    if the capture held the lift."""
    clip = session.clip
    weight = envelope(clip.num_frames, clip.reps, 0, len(clip.reps) - 1)
    joints, _ = inject_real_error(
        clip.joints, "heels_lifting", severity, "both", weight, session.depth
    )
    return RealSession(replace(clip, joints=joints), session.depth)
