"""How people differ while doing a movement correctly: posture offsets per person and rep,
and (opt-in apart from them) how they stand.

Without it, a simulated user's correct repetition is the trainer's motion on another body
at another tempo: every joint angle matches the trainer's at the matched phase, so the
detector learns that any deviation from the trainer is an error. Real people doing a
movement correctly lean their trunk more or less, stand wider, turn their toes out, hold
their arms differently, and vary a little from one repetition to the next
(docs/design-notes.md, "Most false cues on correct real squats are not about the
trainer"). :func:`style_offsets` draws such differences: one offset per person and
degree of freedom, plus a smaller one per repetition, reached at the deepest point of
each repetition (``depth_profile`` of its phase: zero at rest, so the rest pose and the
repetition bounds are untouched).

The spreads below are priors for bodyweight exercise done correctly (a few degrees of
posture), kept at a third or less of the mildest injected error they resemble (a
rounded back of severity 0.2 adds 6 degrees of spine flexion, knees caving 4 degrees);
they were not fitted to any evaluation data.

:func:`stance_offsets` turns the planted feet out, with the knees over the toes: the
generator's squat plants them straight ahead, real squatters turn them out
(docs/design-notes.md, "The simulator's squatters plant their feet straight ahead").
It has a knob of its own (``ClipRequest.stance_variation``), so that the clips made with
posture variation alone stay as they were.
"""

from __future__ import annotations

import numpy as np

from synthetic_data.body import J
from synthetic_data.movements import Movement, depth_profile
from synthetic_data.timeline import Timeline

# Per movement: DOF (both sides where it is "{side}_...") -> standard deviation between
# people at the deepest point (degrees).
STYLE_SPREAD_DEG: dict[str, dict[str, float]] = {
    "squat": {
        "root_pitch": 5.0,  # trunk lean
        "spine_flex": 2.0,
        "{side}_hip_abd": 4.0,  # stance width, knees out
        "{side}_hip_rot": 5.0,  # toes out
        "{side}_shoulder_flex": 10.0,  # arms forward for balance
        "{side}_elbow_flex": 8.0,
    },
    "lunge": {
        "root_pitch": 4.0,
        "spine_flex": 2.0,
        "{side}_hip_abd": 3.0,
        "{side}_hip_rot": 4.0,
        "{side}_elbow_flex": 8.0,
    },
    "push_up": {
        "spine_flex": 2.0,
        "{side}_shoulder_abd": 6.0,  # elbows flared or tucked
    },
    "jumping_jack": {
        "spine_flex": 2.0,
        "{side}_elbow_flex": 8.0,
        "{side}_hip_abd": 3.0,  # how far the feet jump apart
    },
    "arm_raise": {
        "spine_flex": 2.0,
        "root_pitch": 2.0,
        "{side}_elbow_flex": 6.0,
    },
}
PER_REP_SHARE = 0.4  # a repetition's own offset, as a share of the person's spread
PER_SIDE_SHARE = 0.3  # the sides' difference, as a share of the spread


def style_offsets(
    rng: np.random.Generator, movement: Movement, timeline: Timeline, variation: float
) -> dict[str, np.ndarray]:
    """DOF offsets ``(T,)`` in degrees (only the DOFs that vary) of one person's correct
    performance: the spreads of :data:`STYLE_SPREAD_DEG` times ``variation`` (0: none),
    drawn per person, side and repetition from ``rng``; movements without an entry (the
    dance) get none."""
    spreads = STYLE_SPREAD_DEG.get(movement.name, {})
    if variation <= 0 or not spreads:
        return {}
    profile = depth_profile(timeline.phase)
    reps = max(1, len(timeline.reps))
    inside = timeline.rep >= 0
    offsets = {}
    for pattern, spread in spreads.items():
        sigma = spread * variation
        person = rng.normal(0.0, sigma)
        sides = ("left", "right") if "{side}" in pattern else ("",)
        for side in sides:
            own = person + (rng.normal(0.0, PER_SIDE_SHARE * sigma) if side else 0.0)
            per_rep = own + rng.normal(0.0, PER_REP_SHARE * sigma, size=reps)
            values = np.zeros(len(profile))
            values[inside] = per_rep[np.minimum(timeline.rep[inside], reps - 1)]
            offsets[pattern.format(side=side)] = values * profile
    return offsets


# How far people turn their toes out in a squat, degrees (drawn uniformly per person at
# stance variation 1): bodyweight squats are taught with the toes 10-30 deg out, and CMU
# subject 14 (the train split) squats with them 38-44 deg out
# (docs/real-motion/knee-style.md). The generator's own squat plants the feet straight.
TOE_OUT_DEG: dict[str, tuple[float, float]] = {"squat": (10.0, 45.0)}
TOE_OUT_SIDE_SD_DEG = 3.0  # the two feet's difference


def stance_offsets(
    rng: np.random.Generator, movement: Movement, frames: int, variation: float
) -> dict[str, np.ndarray]:
    """DOF offsets ``(frames,)`` in degrees of one person's stance: the toes turned out
    (``*_foot_turn``) by an angle drawn from :data:`TOE_OUT_DEG` times ``variation`` (0:
    none), and the hip rotated out as far (``*_hip_rot``), so that the knees point over
    the toes as people are taught to squat. Constant over the clip (the feet do not
    turn on the floor); movements without an entry get none."""
    if variation <= 0 or movement.name not in TOE_OUT_DEG:
        return {}
    low, high = TOE_OUT_DEG[movement.name]
    person = rng.uniform(low, high)
    offsets = {}
    for side in ("left", "right"):
        turn = variation * max(0.0, person + rng.normal(0.0, TOE_OUT_SIDE_SD_DEG))
        offsets[f"{side}_foot_turn"] = np.full(frames, turn)
        offsets[f"{side}_hip_rot"] = np.full(frames, turn)
    return offsets


def stance_measures(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How a person stands, per frame of body-28 ``joints`` ``(T, 28, 3)`` (metres, y up),
    averaged over both legs: how far the feet (heel to toe) turn out from the direction
    the hips face, ``(T,)`` degrees, and how far the knees are inside (+) or outside (-)
    the toes sideways, ``(T,)`` shank lengths ("knees over the toes" is about 0)."""
    joints = joints.astype(np.float64)
    right = joints[:, J["right_hip"]] - joints[:, J["left_hip"]]
    right[:, 1] = 0.0
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    forward = np.cross(np.array([0.0, 1.0, 0.0]), right)
    turns, insides = [], []
    for side, outward_sign in (("left", -1.0), ("right", 1.0)):
        outward = outward_sign * right
        foot = joints[:, J[f"{side}_toe"]] - joints[:, J[f"{side}_heel"]]
        turns.append(np.degrees(np.arctan2((foot * outward).sum(1), (foot * forward).sum(1))))
        knee, ankle, toe = (joints[:, J[f"{side}_{p}"]] for p in ("knee", "ankle", "toe"))
        shank = np.linalg.norm(knee - ankle, axis=1)
        insides.append(-((knee - toe) * outward).sum(axis=1) / shank)
    return np.mean(turns, axis=0), np.mean(insides, axis=0)
