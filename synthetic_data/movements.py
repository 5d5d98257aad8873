"""Movements as joint-angle curves of a phase variable.

Each movement maps :class:`Controls` (where in the repetition each frame is, and how
deep or high the person goes) to the degrees of freedom of
:mod:`synthetic_data.kinematics`. The person's :class:`~synthetic_data.body.Flexibility`
caps every angle, so a stiff body reaches less depth without that being an error.

``depth_profile(phase)`` (0 at rest, 1 at the deepest/highest point of a repetition) is
exposed because errors scale with it (a caving knee shows at the bottom of a squat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from synthetic_data.body import BodyParams
from synthetic_data.kinematics import zero_pose


@dataclass
class Controls:
    """Per-frame inputs of a movement, arrays ``(T,)``.

    Attributes:
        phase: Position within the current repetition in [0, 1); 0 is the rest pose
            (also used during pauses). For the dance, the position within the routine.
        amplitude: Depth / range multiplier (1 = the trainer's full range), applied
            before the body's flexibility limits.
        arm_left, arm_right: Multipliers of each arm's range actually reached, after the
            flexibility limits (what "arms not raised" and "one side lower" reduce).
        depth_scale: Multiplier of the depth actually reached, after the flexibility
            limits (what a shallow squat reduces).
        deep_style: 0..1, how far a squat goes toward a deep, below-parallel squat
            (:func:`squat`); 0, the default, is the original squat unchanged.
    """

    phase: np.ndarray
    amplitude: np.ndarray
    arm_left: np.ndarray
    arm_right: np.ndarray
    depth_scale: np.ndarray
    deep_style: float = 0.0

    @classmethod
    def neutral(cls, phase: np.ndarray) -> Controls:
        ones = np.ones_like(phase, dtype=np.float64)
        return cls(np.asarray(phase, dtype=np.float64), ones, ones.copy(), ones.copy(), ones.copy())


def depth_profile(phase: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 over one repetition: ``(1 - cos 2 pi phase) / 2``."""
    return (1 - np.cos(2 * np.pi * np.asarray(phase))) / 2


def squat(body: BodyParams, c: Controls) -> dict[str, np.ndarray]:
    """Bodyweight squat, feet slightly wider than hips, arms forward for balance.

    With ``c.deep_style`` > 0, a deep squat as people who squat "ass to grass" do it
    (thighs well below parallel, knees bent up to ~155 deg): the thighs travel up to 25
    deg further, the pelvis tilts back while the lower back flexes (up to 20 deg, which
    also lends the hips range), the knees open wide over toes turned out (the knee 55-60
    deg outside the hip-ankle line at the bottom for a supple body; CMU training subject
    14's deep squats: 69-75), the shins lean further forward; the person's flexibility
    limits are widened to match (people who squat this deep have the range).
    """
    flex, deep = body.flexibility, float(c.deep_style)
    depth = depth_profile(c.phase) * c.amplitude
    lumbar = 20.0 * deep * depth  # lower-back flexion at the bottom (pelvis tilts back)
    hip_range = flex.hip_flexion + 15.0 * deep + lumbar
    thigh = (100.0 + 25.0 * deep) * depth  # thigh angle from vertical
    lean = 0.45 - 0.1 * deep  # forward lean of the trunk per degree of thigh (hip hinge)
    thigh = np.minimum(thigh, (hip_range - 5) / (1 + lean))  # hip flexion = thigh + trunk
    thigh = thigh * c.depth_scale
    trunk = lean * thigh
    shank = np.minimum(0.38 * thigh, flex.ankle_dorsiflexion + 5.0 * deep)
    pose = zero_pose(len(c.phase))
    pose["root_pitch"] = trunk - lumbar
    pose["spine_flex"] = 4.0 * depth + lumbar
    for side, arm in (("left", c.arm_left), ("right", c.arm_right)):
        pose[f"{side}_hip_flex"] = thigh + trunk - lumbar
        knee_range = flex.knee_flexion + 15.0 * deep
        pose[f"{side}_knee_flex"] = np.minimum(thigh + shank, knee_range)
        pose[f"{side}_hip_abd"] = 9.0 + 40.0 * deep * depth  # knees open out
        pose[f"{side}_hip_rot"] = -8.0 - 12.0 * deep - 25.0 * deep * depth  # toes, knees out
        pose[f"{side}_shoulder_flex"] = np.minimum(85.0 * depth, flex.shoulder_flexion) * arm
    return pose


def lunge(body: BodyParams, c: Controls) -> dict[str, np.ndarray]:
    """Split-stance lunge, left foot forward: both knees bend, the back heel is up."""
    flex = body.flexibility
    depth = depth_profile(c.phase) * c.amplitude
    pose = zero_pose(len(c.phase))
    front_thigh = np.minimum(25.0 + 60.0 * depth, flex.hip_flexion - 5)
    pose["left_hip_flex"] = front_thigh
    pose["left_knee_flex"] = np.minimum(85.0 * depth + 5.0, flex.knee_flexion)
    pose["right_hip_flex"] = -20.0 + 5.0 * depth
    pose["right_knee_flex"] = np.minimum(95.0 * depth + 5.0, flex.knee_flexion)
    pose["right_ankle_flex"] = np.full_like(depth, -35.0)
    pose["root_pitch"] = 6.0 * depth
    for side in ("left", "right"):
        pose[f"{side}_shoulder_abd"] = np.full_like(depth, 12.0)
        pose[f"{side}_elbow_flex"] = np.full_like(depth, 20.0)
    return pose


def push_up(body: BodyParams, c: Controls) -> dict[str, np.ndarray]:
    """Push-up on the toes; the straight body pivots about the feet as the elbows bend."""
    depth = depth_profile(c.phase) * c.amplitude
    elbow = 95.0 * depth
    # Shoulder height follows the effective arm length; the body angle follows it.
    upper, fore = 0.186, 0.206  # fractions of height (forearm + hand)
    arm = np.sqrt(upper**2 + fore**2 + 2 * upper * fore * np.cos(np.radians(elbow)))
    body_angle = np.degrees(np.arcsin(np.clip(arm / 0.8, 0, 1)))
    pose = zero_pose(len(c.phase))
    pose["root_pitch"] = 90.0 - body_angle
    for side in ("left", "right"):
        pose[f"{side}_shoulder_flex"] = 90.0 - body_angle + 0.55 * elbow
        pose[f"{side}_shoulder_abd"] = np.full_like(depth, 18.0)
        pose[f"{side}_elbow_flex"] = elbow
        pose[f"{side}_ankle_flex"] = np.full_like(depth, -55.0)
        pose[f"{side}_hip_abd"] = np.full_like(depth, 3.0)
    pose["neck_flex"] = np.full_like(depth, -15.0)
    return pose


def jumping_jack(body: BodyParams, c: Controls) -> dict[str, np.ndarray]:
    """Arms sweep overhead and the legs spread, with a small hop at each switch."""
    flex = body.flexibility
    spread = depth_profile(c.phase) * c.amplitude
    pose = zero_pose(len(c.phase))
    for side, arm in (("left", c.arm_left), ("right", c.arm_right)):
        pose[f"{side}_shoulder_abd"] = np.minimum(170.0 * spread, flex.shoulder_abduction) * arm
        pose[f"{side}_elbow_flex"] = 10.0 * spread
        pose[f"{side}_hip_abd"] = 16.0 * spread
        pose[f"{side}_knee_flex"] = 8.0 * (1 - spread)
    # Airborne around the middle of each sweep (about 40% of the cycle), 7 cm at the top.
    sweep = np.abs(np.sin(2 * np.pi * np.asarray(c.phase)))
    pose["root_lift"] = 0.07 * np.clip(sweep - 0.8, 0, None) / 0.2
    return pose


def arm_raise(body: BodyParams, c: Controls) -> dict[str, np.ndarray]:
    """Lateral raise to overhead (the shoulder-press range) with straight arms."""
    flex = body.flexibility
    height = depth_profile(c.phase) * c.amplitude
    pose = zero_pose(len(c.phase))
    for side, arm in (("left", c.arm_left), ("right", c.arm_right)):
        pose[f"{side}_shoulder_abd"] = np.minimum(175.0 * height, flex.shoulder_abduction) * arm
        pose[f"{side}_elbow_flex"] = 8.0 * np.ones_like(height)
        pose[f"{side}_hip_abd"] = np.full_like(height, 5.0)
    return pose


DANCE_MOVES = ("step_touch", "arm_wave", "groove_bounce", "knee_kick")
BEATS_PER_MOVE = 4


def dance_move_index(phase: np.ndarray) -> np.ndarray:
    """Which of :data:`DANCE_MOVES` each routine phase in [0, 1) falls in."""
    return np.minimum((np.asarray(phase) * len(DANCE_MOVES)).astype(int), len(DANCE_MOVES) - 1)


def dance(body: BodyParams, c: Controls) -> dict[str, np.ndarray]:
    """A 16-beat routine of four 4-beat moves; accents fall on the beats."""
    phase = np.asarray(c.phase) % 1.0
    beat = phase * len(DANCE_MOVES) * BEATS_PER_MOVE  # position in beats
    move = dance_move_index(phase)
    pulse = np.cos(np.pi * (beat % 1.0)) ** 2  # 1 on the beat, 0 between beats
    swing = np.sin(np.pi * beat / 2)  # alternates sides every two beats
    amp = c.amplitude
    pose = zero_pose(len(phase))
    is_move = [move == i for i in range(len(DANCE_MOVES))]
    # step_touch: side steps with arm swings.
    pose["root_x"] = np.where(is_move[0], 0.22 * swing * amp, 0.0)
    pose["spine_bend"] = np.where(is_move[0] | is_move[1], 8.0 * swing * amp, 0.0)
    for side, sign, arm in (("left", 1.0, c.arm_left), ("right", -1.0, c.arm_right)):
        step_arm = 45.0 * np.clip(sign * swing, 0, 1) * arm * amp
        # arm_wave: each arm rises diagonally on alternate beats.
        wave_arm = (70.0 + 80.0 * np.clip(sign * np.sin(np.pi * beat), 0, 1)) * arm * amp
        # groove_bounce: elbows pump on the beat.
        groove_flex = 30.0 + 70.0 * pulse * amp
        pose[f"{side}_shoulder_abd"] = np.select(
            is_move, [step_arm, wave_arm, 30.0 * arm, 20.0 * arm], 0.0
        )
        pose[f"{side}_shoulder_flex"] = np.select(
            is_move, [0.0 * beat, 20.0 * arm, 50.0 * arm * amp, 40.0 * arm], 0.0
        )
        pose[f"{side}_elbow_flex"] = np.select(is_move, [10.0, 15.0, groove_flex, 60.0], 0.0)
        # knee_kick: alternate knee lifts, one per two beats.
        kick = np.clip(sign * swing, 0, 1) * amp
        bounce = 25.0 * pulse * amp
        pose[f"{side}_hip_flex"] = np.select(
            is_move, [0.0 * beat, 0.0 * beat, bounce, 75.0 * kick], 0.0
        )
        pose[f"{side}_knee_flex"] = np.select(
            is_move, [5.0 * pulse, 5.0 * pulse, 1.6 * bounce, 85.0 * kick], 0.0
        )
        pose[f"{side}_hip_abd"] = np.full_like(beat, 6.0)
    pose["root_yaw"] = np.where(is_move[1], 15.0 * swing * amp, 0.0)
    return pose


@dataclass(frozen=True)
class Movement:
    """A movement the coach knows.

    Attributes:
        name: Identifier (``"squat"``).
        period_s: Duration of one repetition (one routine pass for the dance) at tempo 1.
        pose: Controls -> DOFs.
        error_kinds: Form errors that can be injected into this movement.
        planted_feet: Feet stay level with the floor (see ``forward_kinematics``).
        beats: Beats per repetition for movements done to music (0 otherwise).
    """

    name: str
    period_s: float
    pose: Callable[[BodyParams, Controls], dict[str, np.ndarray]]
    error_kinds: tuple[str, ...]
    planted_feet: bool = True
    beats: int = 0


MOVEMENTS: dict[str, Movement] = {
    m.name: m
    for m in (
        Movement(
            "squat",
            3.0,
            squat,
            ("rounded_back", "knees_caving_in", "shallow_squat", "heels_lifting"),
        ),
        Movement("lunge", 3.2, lunge, ("knee_over_toes", "rounded_back", "knees_caving_in")),
        Movement("push_up", 2.4, push_up, ("hips_sagging",), planted_feet=False),
        Movement("jumping_jack", 1.2, jumping_jack, ("arms_not_raised", "one_side_lower")),
        Movement("arm_raise", 2.6, arm_raise, ("arms_not_raised", "one_side_lower")),
        Movement(
            "dance",
            8.0,
            dance,
            ("off_beat", "arms_not_raised"),
            beats=len(DANCE_MOVES) * BEATS_PER_MOVE,
        ),
    )
}


def get_movement(name: str) -> Movement:
    """Look a movement up by name; ``ValueError`` lists the known ones."""
    try:
        return MOVEMENTS[name]
    except KeyError:
        raise ValueError(
            f"unknown movement {name!r}; expected one of {', '.join(MOVEMENTS)}"
        ) from None
