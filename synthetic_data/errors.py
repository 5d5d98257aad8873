"""Form errors injected into a performance, with exact per-frame labels.

Each error kind changes either the movement's controls (how deep, how high, when) or
adds to joint angles, scaled by its severity (0 subtle .. 1 gross) and an envelope that
rises and falls over the repetitions it affects. Its labels cover exactly the frames
where the error changes some joint angle by at least :data:`LABEL_THRESHOLD_DEG`
(runs separated by at most :data:`MAX_LABEL_GAP` frames are joined).

What severity 1 means, per kind:
    rounded_back      +30 deg lumbar/thoracic flexion (+15 deg upper back)
    knees_caving_in   20 deg hip adduction, internal rotation and knee valgus at the
                      bottom: the knee falls ~9 deg inside the hip-ankle line
    shallow_squat     60% less depth than the body's own reach
    heels_lifting     heels raised by 25 deg of plantar flexion at the bottom
    hips_sagging      hips 25 deg below the shoulder-ankle line, lower back arched
    knee_over_toes    front knee 25 deg further forward at the bottom of a lunge
    arms_not_raised   50% less arm elevation
    one_side_lower    one arm 40% lower than the other
    off_beat          the move half a beat late or early
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from synthetic_data.clip import ErrorLabel
from synthetic_data.movements import Controls, depth_profile

LABEL_THRESHOLD_DEG = 1.0
MAX_LABEL_GAP = 3


@dataclass(frozen=True)
class ErrorKind:
    """How one kind of error is injected.

    Attributes:
        name: Label name.
        segments: Body segments it can affect; one is chosen per injection (a two-sided
            error like caving knees may affect both, giving one label per segment).
        adjust_controls: Change controls before the pose is computed (or ``None``).
        adjust_pose: Change joint angles after the pose is computed (or ``None``).
    """

    name: str
    segments: tuple[str, ...]
    adjust_controls: Callable | None = None
    adjust_pose: Callable | None = None


def _shallow(c: Controls, env: np.ndarray, severity: float, side: str, **_: object) -> None:
    c.depth_scale *= 1 - 0.6 * severity * env


def _arms_not_raised(c: Controls, env: np.ndarray, severity: float, side: str, **_) -> None:
    for name in ("arm_left", "arm_right"):
        if side in ("both", name.split("_")[1]):
            getattr(c, name)[:] *= 1 - 0.5 * severity * env


def _one_side_lower(c: Controls, env: np.ndarray, severity: float, side: str, **_) -> None:
    getattr(c, f"arm_{side}")[:] *= 1 - 0.4 * severity * env


def _off_beat(
    c: Controls, env: np.ndarray, severity: float, side: str, *, period_frames: float, **_
) -> None:
    # Late: the phase lags behind the music by up to half a beat (1/32 of the routine).
    shift_fraction = 0.5 / 16 * severity * env
    c.phase[:] = (c.phase - (shift_fraction if side == "late" else -shift_fraction)) % 1.0


def _sides(side: str) -> tuple[str, ...]:
    return ("left", "right") if side == "both" else (side,)


def _rounded_back(pose: dict, env: np.ndarray, severity: float, side: str, **_) -> None:
    pose["spine_flex"] += 30.0 * severity * env
    pose["chest_flex"] += 15.0 * severity * env


def _knees_caving(pose: dict, env: np.ndarray, severity: float, side: str, *, phase, **_) -> None:
    amount = 20.0 * severity * env * depth_profile(phase)
    for s in _sides(side):
        pose[f"{s}_hip_abd"] -= amount
        pose[f"{s}_hip_rot"] += amount
        pose[f"{s}_knee_valgus"] += amount


def _heels_lifting(pose: dict, env: np.ndarray, severity: float, side: str, *, phase, **_) -> None:
    for s in _sides(side):
        pose[f"{s}_ankle_flex"] -= 25.0 * severity * env * depth_profile(phase)


def _hips_sagging(pose: dict, env: np.ndarray, severity: float, side: str, **_) -> None:
    for s in ("left", "right"):
        pose[f"{s}_hip_flex"] -= 25.0 * severity * env
    pose["spine_flex"] -= 10.0 * severity * env


def _knee_over_toes(pose: dict, env: np.ndarray, severity: float, side: str, *, phase, **_):
    amount = 25.0 * severity * env * depth_profile(phase)
    pose["left_knee_flex"] += amount
    pose["left_hip_flex"] += 0.4 * amount


ERROR_KINDS: dict[str, ErrorKind] = {
    k.name: k
    for k in (
        ErrorKind("rounded_back", ("spine",), adjust_pose=_rounded_back),
        ErrorKind("knees_caving_in", ("both", "left", "right"), adjust_pose=_knees_caving),
        ErrorKind("shallow_squat", ("hips",), adjust_controls=_shallow),
        ErrorKind("heels_lifting", ("both",), adjust_pose=_heels_lifting),
        ErrorKind("hips_sagging", ("hips",), adjust_pose=_hips_sagging),
        ErrorKind("knee_over_toes", ("left",), adjust_pose=_knee_over_toes),
        ErrorKind("arms_not_raised", ("both",), adjust_controls=_arms_not_raised),
        ErrorKind("one_side_lower", ("left", "right"), adjust_controls=_one_side_lower),
        ErrorKind("off_beat", ("late", "early"), adjust_controls=_off_beat),
    )
}

# Which labelled body segment(s) a choice names.
_SEGMENT_NAMES = {
    "rounded_back": lambda s: ["spine"],
    "knees_caving_in": lambda s: [f"{x}_leg" for x in _sides(s)],
    "shallow_squat": lambda s: ["hips"],
    "heels_lifting": lambda s: ["left_leg", "right_leg"],
    "hips_sagging": lambda s: ["hips"],
    "knee_over_toes": lambda s: ["left_leg"],
    "arms_not_raised": lambda s: ["left_arm", "right_arm"],
    "one_side_lower": lambda s: [f"{s}_arm"],
    "off_beat": lambda s: ["timing"],
}


@dataclass
class ErrorPlan:
    """One error to inject: its kind, severity, side and affected repetitions."""

    kind: str
    severity: float
    side: str
    first_rep: int
    last_rep: int


def envelope(frames: int, reps: list[tuple[int, int]], first: int, last: int) -> np.ndarray:
    """``(T,)`` weight: 1 inside reps ``first..last``, smooth ramps over 20% at each end."""
    env = np.zeros(frames)
    start, end = reps[first][0], reps[last][1]
    ramp = max(1.0, 0.2 * (reps[first][1] - reps[first][0]))
    t = np.arange(frames)
    rise = np.clip((t - start + 0.5) / ramp, 0, 1)
    fall = np.clip((end - t - 0.5) / ramp, 0, 1)
    inside = (t >= start) & (t < end)
    weight = np.minimum(rise, fall)
    env[inside] = (weight * weight * (3 - 2 * weight))[inside]
    return env


def affected_runs(affected: np.ndarray, max_gap: int = MAX_LABEL_GAP) -> list[tuple[int, int]]:
    """``[start, end)`` runs of True in ``affected`` ``(T,)``, merging gaps <= ``max_gap``."""
    frames = np.flatnonzero(affected)
    if frames.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) > max_gap + 1)
    starts = np.concatenate([[frames[0]], frames[breaks + 1]])
    ends = np.concatenate([frames[breaks], [frames[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def labels_from_change(plan: ErrorPlan, change_deg: np.ndarray) -> list[ErrorLabel]:
    """Labels over the frames where the error moved a joint by >= the threshold.

    ``change_deg`` is ``(T,)``, the largest absolute joint-angle change the error made
    in each frame. One label per run of affected frames (gaps of up to
    :data:`MAX_LABEL_GAP` frames are bridged) and affected segment; none if the error
    had no effect (for instance when the body's flexibility already limited that range).
    """
    detail = plan.side if plan.kind == "off_beat" else ""
    return [
        ErrorLabel(
            kind=plan.kind,
            segment=segment,
            start_frame=start,
            end_frame=end,
            severity=round(plan.severity, 4),
            detail=detail,
        )
        for start, end in affected_runs(change_deg >= LABEL_THRESHOLD_DEG)
        for segment in _SEGMENT_NAMES[plan.kind](plan.side)
    ]
