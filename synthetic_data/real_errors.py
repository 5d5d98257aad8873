"""Form errors injected into real motion capture, on the performer's own skeleton.

:mod:`synthetic_data.errors` injects errors into the simulator's joint angles. Real
motion comes as joint positions instead (body-28: world metres, y up, floor at y=0), so
here each error is a rigid rotation of part of the body, a vertical translation, or a
re-solved knee (two-bone inverse kinematics with the frame's own thigh and shin
lengths). Every bone keeps its length in every frame.

The amount scales linearly with ``severity * envelope(t)`` (and ``depth(t)`` where
stated). What severity 1 means, per kind:

    rounded_back      30 deg spinal flexion about the spine joint, 15 deg more about
                      the thorax; the head moves forward
    knees_caving_in   the knee turned 25 deg toward the midline about the hip-ankle
                      line, at the bottom of the squat
    shallow_squat     the pelvis raised by 60% of its drop below standing height
    heels_lifting     heels raised by 25 deg of plantar flexion about the toes, at the
                      bottom
    arms_not_raised   each upper arm's elevation from the trunk halved
    one_side_lower    one upper arm's elevation 40% lower

Frames the error leaves alone (``severity * envelope == 0``, or no amount there) come
back bit-identical. Labels are made by the caller with
:func:`synthetic_data.errors.envelope` and :func:`synthetic_data.errors.labels_from_change`
from the ``change_deg`` returned here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synthetic_data.body import BODY_PARENTS, J

REAL_ERROR_SIDES: dict[str, tuple[str, ...]] = {
    "rounded_back": ("spine",),
    "knees_caving_in": ("both", "left", "right"),
    "shallow_squat": ("hips",),
    "heels_lifting": ("both",),
    "arms_not_raised": ("both",),
    "one_side_lower": ("left", "right"),
}

_UP = np.array([0.0, 1.0, 0.0])
_EPS = 1e-6
# A leg may reach at most this fraction of thigh + shin: a fully straight knee would make
# the IK's bend direction undefined and any float error an overstretch.
_MAX_REACH = 0.995
_SIDES = ("left", "right")
_LEG_JOINTS = tuple(J[f"{s}_{p}"] for s in _SIDES for p in ("knee", "ankle", "heel", "toe"))
_FOOT_JOINTS = tuple(J[f"{s}_{p}"] for s in _SIDES for p in ("ankle", "heel", "toe"))


# --- geometry helpers ---------------------------------------------------------------


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v`` ``(..., 3)`` normalised, and its norm ``(...)``; zero where the norm is tiny."""
    norm = np.linalg.norm(v, axis=-1)
    safe = np.where(norm < _EPS, 1.0, norm)
    return np.where((norm < _EPS)[..., None], 0.0, v / safe[..., None]), norm


def _descendants(joint: int, *, include_self: bool) -> list[int]:
    """Indices of every joint below ``joint`` in :data:`BODY_PARENTS` (parents precede
    children there, so one pass in order finds the whole subtree)."""
    inside = {joint}
    for child, parent in enumerate(BODY_PARENTS):
        if parent in inside:
            inside.add(child)
    return sorted(inside if include_self else inside - {joint})


def _rotate(
    points: np.ndarray, pivot: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray
) -> np.ndarray:
    """Rotate ``points`` ``(T, K, 3)`` about ``pivot`` ``(T, 3)`` by ``angle_rad`` ``(T,)``
    about unit ``axis`` ``(T, 3)`` (right-hand rule, Rodrigues' formula).

    Frames with a zero angle come back exactly as given (not ``pivot + (p - pivot)``,
    which can differ in the last bit), so untouched frames stay bit-identical.
    """
    r = points - pivot[:, None, :]
    k = axis[:, None, :]
    cos = np.cos(angle_rad)[:, None, None]
    sin = np.sin(angle_rad)[:, None, None]
    along = np.sum(k * r, axis=-1, keepdims=True)
    rotated = r * cos + np.cross(k, r) * sin + k * along * (1.0 - cos)
    return np.where((angle_rad == 0)[:, None, None], points, pivot[:, None, :] + rotated)


def _two_bone_ik(
    root: np.ndarray,
    end: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    hint: np.ndarray,
    fallback: np.ndarray,
) -> np.ndarray:
    """Middle joint ``(T, 3)`` of a two-bone chain from ``root`` to ``end`` ``(T, 3)``.

    ``upper`` and ``lower`` ``(T,)`` are the bone lengths (metres). The joint lies in the
    plane of root, end and ``hint`` ``(T, 3)``, on hint's side of the root-end line (so a
    knee keeps pointing where it pointed); where hint is on that line, toward
    ``fallback`` ``(T, 3)`` (a direction). Both lengths are exact while the root-end
    distance is within reach; beyond it the chain is laid straight along the line.
    """
    line, dist = _unit(end - root)
    dist = np.maximum(dist, _EPS)
    # Law of cosines: how far along the line the joint's foot is, and how far off it.
    along = (upper**2 - lower**2 + dist**2) / (2.0 * dist)
    along = np.clip(along, -upper, upper)
    off = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    bend = _perpendicular(hint - root, line)
    fallback_bend = _perpendicular(fallback, line)
    degenerate = np.linalg.norm(bend, axis=-1) < _EPS
    bend = np.where(degenerate[:, None], fallback_bend, bend)
    return root + along[:, None] * line + off[:, None] * bend


def _perpendicular(v: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Unit component of ``v`` ``(T, 3)`` perpendicular to unit ``line`` ``(T, 3)``."""
    return _unit(v - np.sum(v * line, axis=-1, keepdims=True) * line)[0]


def _bone_lengths(joints: np.ndarray, a: int, b: int) -> np.ndarray:
    """``(T,)`` distance between joints ``a`` and ``b`` of ``joints`` ``(T, 28, 3)``."""
    return np.linalg.norm(joints[:, b] - joints[:, a], axis=-1)


def _left_axis(joints: np.ndarray) -> np.ndarray:
    """Unit horizontal left-right axis from the hips ``(T, 3)``, pointing to the person's
    left (zero where the hips are vertically aligned). Forward is ``left x up``, the
    convention of :func:`synthetic_data.cameras.body_facing_deg`."""
    lateral = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    lateral[:, 1] = 0.0
    return _unit(lateral)[0]


def bone_direction_change_deg(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Largest change of any bone's direction per frame, degrees, ``(T,)`` float64.

    ``before`` and ``after`` are body-28 joints ``(T, 28, 3)``; the bones are the
    :data:`BODY_PARENTS` (parent, child) pairs. Exactly 0 where a frame is unchanged.
    """
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    if before.shape != after.shape or before.ndim != 3 or before.shape[1:] != (28, 3):
        raise ValueError(
            f"before and after must both be (T, 28, 3), got {before.shape} and {after.shape}"
        )
    children = [c for c, p in enumerate(BODY_PARENTS) if p >= 0]
    parents = [BODY_PARENTS[c] for c in children]
    b0 = before[:, children] - before[:, parents]
    b1 = after[:, children] - after[:, parents]
    # atan2(|a x b|, a.b) stays accurate for small angles, where arccos of a dot does not.
    sin = np.linalg.norm(np.cross(b0, b1), axis=-1)
    cos = np.sum(b0 * b1, axis=-1)
    return np.degrees(np.arctan2(sin, cos)).max(axis=1, initial=0.0)


# --- the error kinds ----------------------------------------------------------------
# Each takes joints (T, 28, 3) float64, weight = severity * envelope (T,), side and depth
# (T,), and returns the edited joints and the per-frame amount (T,): frames whose amount
# is 0 are restored bit-identical by the caller.


def _rounded_back(
    j: np.ndarray, weight: np.ndarray, side: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Spine flexion: 30 deg about the spine joint, 15 deg more about the thorax."""
    left = _left_axis(j)
    # Rotating about the left axis by a positive angle turns up into left x up = forward.
    usable = np.linalg.norm(left, axis=-1) > 0.5
    amount = np.where(usable, weight, 0.0)
    out = j.copy()
    chest = _descendants(J["thorax"], include_self=True)
    out[:, chest] = _rotate(out[:, chest], out[:, J["spine"]], left, np.radians(30.0) * amount)
    upper = _descendants(J["thorax"], include_self=False)
    out[:, upper] = _rotate(out[:, upper], out[:, J["thorax"]], left, np.radians(15.0) * amount)
    return out, amount


def _knees_caving_in(
    j: np.ndarray, weight: np.ndarray, side: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Knee valgus: each knee turned toward the midline about its hip-ankle line."""
    out = j.copy()
    amount = weight * depth
    for s in _SIDES if side == "both" else (side,):
        other = "right" if s == "left" else "left"
        hip, knee, ankle = (j[:, J[f"{s}_{p}"]] for p in ("hip", "knee", "ankle"))
        axis, _ = _unit(ankle - hip)
        # A positive turn about the hip->ankle line moves the knee along axis x (knee-hip);
        # pick the sign per frame that takes it toward the other hip (the midline).
        medial = j[:, J[f"{other}_hip"]] - hip
        sign = np.sign(np.sum(np.cross(axis, knee - hip) * medial, axis=-1))
        angle = sign * np.radians(25.0) * amount
        out[:, [J[f"{s}_knee"]]] = _rotate(j[:, [J[f"{s}_knee"]]], hip, axis, angle)
    return out, amount


def _max_raise(hip: np.ndarray, ankle: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Largest upward shift ``(T,)`` of ``hip`` that keeps it within ``reach`` of
    ``ankle``: the larger root of ``|d + r up| = reach`` with ``d = hip - ankle``; 0 where
    no shift fits (the leg is already at or past ``reach``)."""
    d = hip - ankle
    disc = d[:, 1] ** 2 - np.sum(d * d, axis=-1) + reach**2
    root = -d[:, 1] + np.sqrt(np.maximum(disc, 0.0))
    return np.where(disc >= 0, np.maximum(root, 0.0), 0.0)


def _resolve_knees(j: np.ndarray, out: np.ndarray, hint_shift: np.ndarray) -> None:
    """Re-solve both knees of ``out`` in place between its hips and ankles, with the
    thigh and shin lengths of ``j`` and the bend of ``j``'s knees moved by ``hint_shift``
    ``(T, 3)``; a straight original knee bends forward."""
    forward = np.cross(_left_axis(j), _UP)
    for s in _SIDES:
        hip, knee, ankle = (J[f"{s}_{p}"] for p in ("hip", "knee", "ankle"))
        out[:, knee] = _two_bone_ik(
            out[:, hip],
            out[:, ankle],
            _bone_lengths(j, hip, knee),
            _bone_lengths(j, knee, ankle),
            j[:, knee] + hint_shift,
            forward,
        )


def _shallow_squat(
    j: np.ndarray, weight: np.ndarray, side: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The upper body raised by 60% of the pelvis drop, feet kept, knees re-solved."""
    pelvis_y = j[:, J["pelvis"], 1]
    drop = np.maximum(np.percentile(pelvis_y, 95) - pelvis_y, 0.0)
    lift = 0.6 * weight * drop
    for s in _SIDES:
        hip, knee, ankle = (J[f"{s}_{p}"] for p in ("hip", "knee", "ankle"))
        reach = _MAX_REACH * (_bone_lengths(j, hip, knee) + _bone_lengths(j, knee, ankle))
        lift = np.minimum(lift, _max_raise(j[:, hip], j[:, ankle], reach))
    out = j.copy()
    body = [i for i in range(len(BODY_PARENTS)) if i not in _LEG_JOINTS]
    out[:, body, 1] += lift[:, None]
    _resolve_knees(j, out, np.zeros_like(j[:, 0]))
    return out, lift


def _lift_heels(j: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both heels raised by ``angle`` ``(T,)`` radians about the toes, the body carried
    along, the knees re-solved. Returns the joints and where a leg would overstretch."""
    out = j.copy()
    shift = np.zeros_like(j[:, 0])
    for s in _SIDES:
        toe, heel, ankle = J[f"{s}_toe"], J[f"{s}_heel"], J[f"{s}_ankle"]
        # heel-toe x up is the foot's own left axis, for which a positive turn lifts the
        # heel: (r x up) x r = up |r|^2 for a horizontal r = heel - toe.
        axis, _ = _unit(np.cross(j[:, heel] - j[:, toe], _UP))
        turn = np.where(np.linalg.norm(axis, axis=-1) > 0.5, angle, 0.0)
        out[:, [ankle, heel]] = _rotate(j[:, [ankle, heel]], j[:, toe], axis, turn)
        shift += 0.5 * (out[:, ankle] - j[:, ankle])
    body = [i for i in range(len(BODY_PARENTS)) if i not in _LEG_JOINTS]
    out[:, body] += shift[:, None]
    over = np.zeros(len(j), dtype=bool)
    for s in _SIDES:
        hip, knee, ankle = (J[f"{s}_{p}"] for p in ("hip", "knee", "ankle"))
        legs = _bone_lengths(j, hip, knee) + _bone_lengths(j, knee, ankle)
        reach = np.maximum(_MAX_REACH * legs, _bone_lengths(j, hip, ankle))
        # 1e-7 m of slack: frames that only carry rounding noise are not overstretched.
        over |= _bone_lengths(out, hip, ankle) > reach + 1e-7
    _resolve_knees(j, out, shift)
    return out, over


def _heels_lifting(
    j: np.ndarray, weight: np.ndarray, side: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both heels lifted about the toes at the bottom, the body carried along."""
    amount = weight * depth
    out, over = _lift_heels(j, np.radians(25.0) * amount)
    # Uneven feet can carry a hip out of its leg's reach (possible near standing in real
    # motion): halve the lift on just those frames until it fits, else leave them.
    for _ in range(12):
        if not over.any():
            break
        amount = np.where(over, 0.5 * amount, amount)
        out, over = _lift_heels(j, np.radians(25.0) * amount)
    amount = np.where(over, 0.0, amount)
    return out, amount


def _lower_arms(
    j: np.ndarray, weight: np.ndarray, sides: tuple[str, ...], factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each arm in ``sides`` turned about its shoulder toward the trunk's down direction
    by ``factor * weight * elevation``, elbow angle kept (the whole arm turns rigidly)."""
    down, _ = _unit(j[:, J["pelvis"]] - j[:, J["thorax"]])
    out = j.copy()
    amount = np.zeros(len(j))
    for s in sides:
        shoulder = J[f"{s}_shoulder"]
        upper_arm, _ = _unit(j[:, J[f"{s}_elbow"]] - j[:, shoulder])
        axis, sin = _unit(np.cross(upper_arm, down))
        elevation = np.arctan2(sin, np.sum(upper_arm * down, axis=-1))
        # (u x d) x u points from u toward d, so a positive turn about u x d lowers the arm.
        angle = np.where(sin < _EPS, 0.0, factor * weight * elevation)
        arm = _descendants(shoulder, include_self=False)
        out[:, arm] = _rotate(j[:, arm], j[:, shoulder], axis, angle)
        amount = np.maximum(amount, angle)
    return out, amount


def _arms_not_raised(
    j: np.ndarray, weight: np.ndarray, side: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both upper arms' elevation from the trunk halved."""
    return _lower_arms(j, weight, _SIDES, 0.5)


def _one_side_lower(
    j: np.ndarray, weight: np.ndarray, side: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One upper arm's elevation from the trunk lowered by 40%."""
    return _lower_arms(j, weight, (side,), 0.4)


_KINDS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "rounded_back": _rounded_back,
    "knees_caving_in": _knees_caving_in,
    "shallow_squat": _shallow_squat,
    "heels_lifting": _heels_lifting,
    "arms_not_raised": _arms_not_raised,
    "one_side_lower": _one_side_lower,
}


def _check(
    joints: np.ndarray,
    kind: str,
    severity: float,
    side: str,
    envelope: np.ndarray,
    depth: np.ndarray,
) -> None:
    """Raise ``ValueError`` naming the first bad argument."""
    if kind not in REAL_ERROR_SIDES:
        raise ValueError(f"unknown error kind {kind!r}; expected one of {list(REAL_ERROR_SIDES)}")
    if side not in REAL_ERROR_SIDES[kind]:
        raise ValueError(f"side {side!r} not allowed for {kind}; use {REAL_ERROR_SIDES[kind]}")
    if not 0.0 <= severity <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity}")
    if joints.ndim != 3 or joints.shape[1:] != (len(BODY_PARENTS), 3):
        raise ValueError(f"joints must be (T, 28, 3) body-28 positions, got {joints.shape}")
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or infinite values")
    for name, values in (("envelope", envelope), ("depth", depth)):
        if values.shape != (len(joints),):
            raise ValueError(f"{name} must be ({len(joints)},) like joints, got {values.shape}")
        if not ((values >= 0) & (values <= 1)).all():
            raise ValueError(f"{name} must lie in [0, 1] (and be finite)")


def inject_real_error(
    joints: np.ndarray,
    kind: str,
    severity: float,
    side: str,
    envelope: np.ndarray,
    depth: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Inject one form error into real motion, keeping every bone's length.

    Args:
        joints: ``(T, 28, 3)`` body-28 joint positions, world metres, y up, floor y=0.
        kind: One of :data:`REAL_ERROR_SIDES`.
        severity: 0 (none) .. 1 (gross); see the module docstring for what 1 means.
        side: One of ``REAL_ERROR_SIDES[kind]``.
        envelope: ``(T,)`` weight 0..1 over the affected repetitions.
        depth: ``(T,)`` 0..1, how far into the squat each frame is (0 standing, 1 bottom);
            used by ``knees_caving_in`` and ``heels_lifting``.

    Returns:
        The edited joints ``(T, 28, 3)`` float32 (frames the error leaves alone are
        bit-identical to ``joints`` as float32), and ``change_deg`` ``(T,)`` float64: per
        frame the largest angle, degrees, between any bone's original and edited
        direction (:func:`bone_direction_change_deg`).

    Raises:
        ValueError: Unknown kind, side not allowed for it, severity outside [0, 1],
            non-finite joints, or shapes that do not match.
    """
    joints = np.asarray(joints)
    envelope = np.asarray(envelope, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    _check(joints, kind, float(severity), side, envelope, depth)
    original = joints.astype(np.float32)
    # Work in float64 from the float32 values, so untouched frames round-trip exactly.
    j = original.astype(np.float64)
    edited, amount = _KINDS[kind](j, float(severity) * envelope, side, depth)
    untouched = (amount == 0)[:, None, None]
    out = np.where(untouched, original, edited.astype(np.float32))
    return out, bone_direction_change_deg(original, out)
