"""The coach's knowledge: which form errors to look for in which movement, and how.

A :class:`Check` turns the per-frame feature deviations (user minus trainer at the same
phase, degrees) into a signed "error signal" for one body segment: positive when the
user moves in the direction of the error. ``full_scale`` is the signal of a severity-1
error (the same scale the simulator injects), so severity = signal / full_scale.

``relative`` checks compare ranges of motion (depth, arm height) as a fraction of the
trainer's range at that phase, and only where the trainer's range is substantial;
``baseline`` checks first remove the user's own consistent deviation (their natural
range or knee alignment, up to what correct performers of many flexibilities and builds
show) so a stiff body is not flagged for stiffness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scoring.features import F

# A user's consistent range deficit accepted as their own, when the population model has
# not measured it for the movement (it does: ``PopulationModel.natural_shortfall``).
MAX_NATURAL_SHORTFALL = 0.35
# A squat this deep (mean knee flexion, deg) is deep enough whatever the trainer did: the
# thighs are at or past parallel with the shins leaning forward (a parallel squat bends
# the knees about 110-120 deg). Real people squat to 130-165 deg and differ by tens of
# degrees; a user past parallel but less deep than a deeper trainer has a style, not a
# fault (docs/real-scoring-eval).
DEEP_ENOUGH_KNEE_FLEXION_DEG = 120.0


@dataclass(frozen=True)
class Check:
    """One form error looked for on one segment."""

    kind: str
    segment: str
    signal: Callable[[np.ndarray, np.ndarray], np.ndarray]
    full_scale: float
    cue: str
    relative: bool = False
    baseline: bool = False
    view: str = "any"  # "frontal": needs a front view; "sagittal": better from the side
    floor: float = 0.12  # smallest tolerance, as a fraction of full_scale


def _feature(name: str, sign: float = 1.0):
    def signal(user: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return sign * (user[:, F[name]] - ref[:, F[name]])

    return signal


def _mean_features(names: tuple[str, ...], sign: float = 1.0, relative: bool = False):
    index = [F[n] for n in names]

    def signal(user: np.ndarray, ref: np.ndarray) -> np.ndarray:
        diff = sign * (user[:, index].mean(axis=1) - ref[:, index].mean(axis=1))
        if relative:
            return diff / np.maximum(ref[:, index].mean(axis=1), 20.0)
        return diff

    return signal


def _arm_lower(side: str):
    this, other = (
        F[f"arm_elevation_{side}"],
        F[f"arm_elevation_{'right' if side == 'left' else 'left'}"],
    )

    def signal(user: np.ndarray, ref: np.ndarray) -> np.ndarray:
        gap = (user[:, other] - user[:, this]) - (ref[:, other] - ref[:, this])
        return gap / np.maximum(ref[:, [this, other]].mean(axis=1), 20.0)

    return signal


def squat_depth(features: np.ndarray) -> np.ndarray:
    """``(T,)`` mean knee flexion (deg) of feature rows ``(T, F)``."""
    return features[:, [F["knee_flexion_left"], F["knee_flexion_right"]]].mean(axis=1)


def _shallow(user: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """How much less deep the user squats than the trainer, as a share of the trainer's
    depth; never positive where the user is past :data:`DEEP_ENOUGH_KNEE_FLEXION_DEG`."""
    user_depth, ref_depth = squat_depth(user), squat_depth(ref)
    shortfall = (ref_depth - user_depth) / np.maximum(ref_depth, 20.0)
    deep_enough = user_depth >= DEEP_ENOUGH_KNEE_FLEXION_DEG
    return np.where(deep_enough, np.minimum(shortfall, 0.0), shortfall)


def _relative_feature(name: str, sign: float = 1.0):
    def signal(user: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return sign * (user[:, F[name]] - ref[:, F[name]]) / np.maximum(ref[:, F[name]], 20.0)

    return signal


ROUNDED_BACK = Check(
    "rounded_back",
    "spine",
    _feature("spine_flexion"),
    30.0,
    "Keep your chest up and your back flat",
    view="sagittal",
)
KNEES_IN = [
    Check(
        "knees_caving_in",
        f"{side}_leg",
        _feature(f"knee_valgus_{side}"),
        9.0,
        "Push your knees out over your toes",
        view="frontal",
        floor=0.2,  # valgus couples with depth: a shallower squat moves it a little
        baseline=True,  # a person's own knee alignment (anatomy) is not an error
    )
    for side in ("left", "right")
]
SHALLOW = Check(
    "shallow_squat",
    "hips",
    _shallow,
    0.6,
    "Sit deeper: hips down towards knee height",
    relative=True,
    baseline=True,
)
SAGGING = Check(
    "hips_sagging",
    "hips",
    _mean_features(("hip_flexion_left", "hip_flexion_right")),
    25.0,
    "Squeeze your glutes and keep your hips in line",
    view="sagittal",
)
KNEE_OVER_TOES = [
    Check(
        "knee_over_toes",
        f"{side}_leg",
        _feature(f"knee_flexion_{side}"),
        25.0,
        "Keep your front knee behind your toes",
        view="sagittal",
    )
    for side in ("left", "right")
]
ARMS_LOW = [
    Check(
        "arms_not_raised",
        f"{side}_arm",
        _relative_feature(f"arm_elevation_{side}", -1.0),
        0.5,
        "Reach all the way up",
        relative=True,
        baseline=True,
    )
    for side in ("left", "right")
]
ONE_SIDE = [
    Check(
        "one_side_lower",
        f"{side}_arm",
        _arm_lower(side),
        0.4,
        f"Raise both arms evenly: your {side} arm is lower",
        relative=True,
    )
    for side in ("left", "right")
]

CHECKS: dict[str, list[Check]] = {
    "squat": [ROUNDED_BACK, *KNEES_IN, SHALLOW],
    "lunge": [*KNEE_OVER_TOES, ROUNDED_BACK, *KNEES_IN],
    "push_up": [SAGGING],
    "jumping_jack": [*ARMS_LOW, *ONE_SIDE],
    "arm_raise": [*ARMS_LOW, *ONE_SIDE],
    "dance": [*ARMS_LOW],
}
GENERIC = [ROUNDED_BACK, *KNEES_IN, *ARMS_LOW]
ALL_CHECKS = list(dict.fromkeys(c for checks in (*CHECKS.values(), GENERIC) for c in checks))
ALL_KINDS = (*dict.fromkeys(c.kind for c in ALL_CHECKS), "heels_lifting", "off_beat")

OFF_BEAT_CUES = {
    "late": "You're behind the beat: move a little earlier",
    "early": "You're ahead of the beat: wait for the count",
}


def checks_for(movement: str) -> list[Check]:
    """The checks of ``movement``; unknown movements get the generic safety checks."""
    return CHECKS.get(movement, GENERIC)
