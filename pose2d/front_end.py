"""The 2D front end: a phone's keypoint sequence repaired before it is lifted.

:func:`clean_keypoints` runs, in this order:

1. :func:`~pose2d.identity.follow_person`: frames where the tracker followed someone
   else are blanked (first, so that a stranger's joints are never taken for the user's
   left or right);
2. :func:`~pose2d.swaps.repair_swaps`: left/right label swaps are exchanged back.

It returns the repaired arrays with a summary and notes for the user in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pose2d.identity import (
    DEFAULT_IDENTITY_SETTINGS,
    IdentitySettings,
    IdentityTrack,
    follow_person,
)
from pose2d.swaps import DEFAULT_SWAP_SETTINGS, SwapRepair, SwapSettings, repair_swaps


@dataclass
class CleanedKeypoints:
    """A keypoint sequence after the front end.

    Attributes:
        keypoints: ``(T, J, 2)`` float32 px, NaN where unseen or blanked.
        scores: ``(T, J)`` float32 in [0, 1], 0 where blanked.
        frames: ``T``.
        swap_repaired_frames: Frames whose left/right labels were exchanged back.
        other_person_frames: Frames blanked because they showed someone else.
        main_too_rare: The user is in less than half of the frames (the caller should
            refuse to judge the sequence, or say why its judgement is thin).
        swaps: The swap repair in detail.
        identity: Who was followed, in detail.
        notes: What was repaired or is missing, in plain words for the user.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    frames: int
    swap_repaired_frames: int
    other_person_frames: int
    main_too_rare: bool
    swaps: SwapRepair
    identity: IdentityTrack
    notes: list[str] = field(default_factory=list)


def clean_keypoints(
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float,
    layout: str = "mediapipe33",
    *,
    identity_settings: IdentitySettings = DEFAULT_IDENTITY_SETTINGS,
    swap_settings: SwapSettings = DEFAULT_SWAP_SETTINGS,
) -> CleanedKeypoints:
    """Blank other people's frames, then undo left/right swaps.

    Args:
        keypoints: ``(T, J, 2)`` px, NaN where unseen.
        scores: ``(T, J)`` in [0, 1].
        fps: Frames per second.
        layout: ``"mediapipe33"`` or ``"coco17"``.

    Raises:
        ValueError: naming the problem with the arrays (shape, joint count, layout,
            score range).
    """
    points, conf, track = follow_person(keypoints, scores, fps, layout, identity_settings)
    points, conf, repair = repair_swaps(points, conf, fps, layout, swap_settings)
    return CleanedKeypoints(
        keypoints=points,
        scores=conf,
        frames=track.frames,
        swap_repaired_frames=repair.total,
        other_person_frames=track.blanked_frames,
        main_too_rare=track.main_too_rare,
        notes=_notes(track, repair, fps),
        swaps=repair,
        identity=track,
    )


def _seconds(frames: int, fps: float) -> str:
    return f"{frames / fps:.1f} s"


def _notes(track: IdentityTrack, repair: SwapRepair, fps: float) -> list[str]:
    """Plain-words notes on what the front end did to a sequence."""
    notes = []
    if track.people == 0:
        return ["No person was found in the video's keypoints."]
    if track.blanked_frames:
        notes.append(
            f"{track.blanked_frames} frames ({_seconds(track.blanked_frames, fps)}) where the "
            "camera followed someone else were left out."
        )
    if track.main_too_rare:
        notes.append(
            f"You are in view for only {100 * track.main_share:.0f}% of the video, so there "
            "is too little of you to judge reliably."
        )
    if repair.total:
        notes.append(
            f"{repair.total} frames ({_seconds(repair.total, fps)}) where the tracker mixed "
            "up your left and right side were corrected."
        )
    return notes
