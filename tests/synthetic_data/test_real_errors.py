import numpy as np
import pytest

from synthetic_data.body import BODY_PARENTS, J
from synthetic_data.cameras import body_facing_deg
from synthetic_data.errors import envelope
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.real_errors import (
    REAL_ERROR_SIDES,
    bone_direction_change_deg,
    inject_real_error,
)

BONES = [(p, c) for c, p in enumerate(BODY_PARENTS) if p >= 0]
CASES = [(kind, side) for kind, sides in REAL_ERROR_SIDES.items() for side in sides]
ARM_KINDS = ("arms_not_raised", "one_side_lower")


def _take(movement: str) -> dict:
    """A clean generated clip standing in for a mocap take: joints, an envelope over
    repetition 1 and a squat depth from the pelvis drop. Facing 70 deg, so "forward" is
    not simply world +z."""
    clip = generate_clip(
        ClipRequest(seed=1, movement=movement, errors=[], num_reps=3, facing_deg=70.0)
    )
    joints = np.asarray(clip.joints, dtype=np.float32)
    pelvis_y = joints[:, J["pelvis"], 1].astype(np.float64)
    drop = np.percentile(pelvis_y, 95) - pelvis_y
    depth = np.clip(drop / drop.max(), 0.0, 1.0)
    return {"joints": joints, "env": envelope(len(joints), clip.reps, 1, 1), "depth": depth}


@pytest.fixture(scope="module")
def squat() -> dict:
    return _take("squat")


@pytest.fixture(scope="module")
def jack() -> dict:
    return _take("jumping_jack")


def _inject(take: dict, kind: str, side: str, severity: float = 1.0):
    return inject_real_error(take["joints"], kind, severity, side, take["env"], take["depth"])


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    j = joints.astype(np.float64)
    return np.stack([np.linalg.norm(j[:, c] - j[:, p], axis=-1) for p, c in BONES], axis=1)


def _elevation_deg(joints: np.ndarray, side: str) -> np.ndarray:
    """Angle between the upper arm and the trunk's down direction, ``(T,)`` degrees."""
    j = joints.astype(np.float64)
    upper = j[:, J[f"{side}_elbow"]] - j[:, J[f"{side}_shoulder"]]
    down = j[:, J["pelvis"]] - j[:, J["thorax"]]
    cos = np.sum(upper * down, -1) / np.linalg.norm(upper, axis=-1) / np.linalg.norm(down, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


@pytest.mark.parametrize(("kind", "side"), CASES)
def test_every_kind_keeps_bone_lengths_and_untouched_frames(squat, jack, kind, side):
    take = jack if kind in ARM_KINDS else squat
    out, change = _inject(take, kind, side)
    assert out.dtype == np.float32 and out.shape == take["joints"].shape
    assert change.dtype == np.float64 and change.shape == take["env"].shape
    assert np.isfinite(out).all() and np.isfinite(change).all()
    assert np.abs(_bone_lengths(out) - _bone_lengths(take["joints"])).max() < 1e-4
    outside = take["env"] == 0
    assert np.array_equal(out[outside], take["joints"][outside])
    assert np.all(change[outside] == 0)
    assert change[~outside].max() > 10.0, "the error hardly changed anything"
    assert np.array_equal(change, bone_direction_change_deg(take["joints"], out))


def test_severity_zero_changes_nothing(squat):
    out, change = _inject(squat, "rounded_back", "spine", severity=0.0)
    assert np.array_equal(out, squat["joints"]) and not change.any()


@pytest.mark.parametrize("severity", [1.0, 0.5])
def test_rounded_back_flexes_45_degrees_and_moves_the_head_forward(squat, severity):
    out, change = _inject(squat, "rounded_back", "spine", severity)
    full = squat["env"] == 1
    # 30 deg about the spine then 15 deg about the thorax, on the same axis: the neck,
    # head and arm bones turn by the sum.
    assert change[full] == pytest.approx(45.0 * severity, abs=0.01)
    facing = np.radians(body_facing_deg(squat["joints"]))
    forward = np.stack([np.sin(facing), np.zeros_like(facing), np.cos(facing)], axis=1)
    moved = out[:, J["head_top"]] - squat["joints"][:, J["head_top"]]
    assert np.all(np.sum(moved * forward, axis=1)[full] > 0.15 * severity)
    below = [J["pelvis"], J["spine"], *range(J["left_hip"], 28)]
    assert np.array_equal(out[:, below], squat["joints"][:, below])


def _elbow_deg(joints: np.ndarray, side: str) -> np.ndarray:
    """Angle between the upper arm and the forearm, ``(T,)`` degrees."""
    j = joints.astype(np.float64)
    upper = j[:, J[f"{side}_elbow"]] - j[:, J[f"{side}_shoulder"]]
    fore = j[:, J[f"{side}_wrist"]] - j[:, J[f"{side}_elbow"]]
    cos = np.sum(upper * fore, -1) / np.linalg.norm(upper, axis=-1) / np.linalg.norm(fore, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _knee_turn_deg(before: np.ndarray, after: np.ndarray, side: str) -> np.ndarray:
    """Angle the knee turned about the hip-ankle line, ``(T,)`` degrees."""
    hip, knee, ankle = (J[f"{side}_{p}"] for p in ("hip", "knee", "ankle"))
    line = before[:, ankle] - before[:, hip]
    line /= np.linalg.norm(line, axis=1, keepdims=True)

    def perp(j):
        r = j[:, knee] - j[:, hip]
        return r - np.sum(r * line, -1, keepdims=True) * line

    a, b = perp(before.astype(np.float64)), perp(after.astype(np.float64))
    cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_knees_caving_in_turns_both_knees_inward_at_the_bottom(squat):
    out, _ = _inject(squat, "knees_caving_in", "both")
    j = squat["joints"]
    bent = (squat["env"] * squat["depth"]) > 0.3  # knee well off the hip-ankle line
    for side in ("left", "right"):
        turn = _knee_turn_deg(j, out, side)[bent]
        assert turn == pytest.approx(25.0 * (squat["env"] * squat["depth"])[bent], abs=0.05)
    gap = np.linalg.norm(j[:, J["left_knee"]] - j[:, J["right_knee"]], axis=1)
    new_gap = np.linalg.norm(out[:, J["left_knee"]] - out[:, J["right_knee"]], axis=1)
    bottom = int(np.argmax(squat["env"] * squat["depth"]))
    assert new_gap[bottom] < gap[bottom] - 0.1
    still = [i for i in range(28) if i not in (J["left_knee"], J["right_knee"])]
    assert np.array_equal(out[:, still], j[:, still])


def test_knees_caving_in_on_one_side_moves_only_that_knee(squat):
    out, _ = _inject(squat, "knees_caving_in", "left")
    j = squat["joints"]
    bottom = int(np.argmax(squat["env"] * squat["depth"]))
    to_midline = np.linalg.norm(j[:, J["left_knee"]] - j[:, J["right_hip"]], axis=1)
    new_to_midline = np.linalg.norm(out[:, J["left_knee"]] - out[:, J["right_hip"]], axis=1)
    assert new_to_midline[bottom] < to_midline[bottom] - 0.05
    others = [i for i in range(28) if i != J["left_knee"]]
    assert np.array_equal(out[:, others], j[:, others])


def _assert_knees_keep_their_plane(after: np.ndarray, hint: np.ndarray) -> None:
    """Each re-solved knee of ``after`` lies in the plane of its hip, its ankle and
    ``hint`` (the original knee, carried with the body), on the hint's side."""
    j = after.astype(np.float64)
    for side in ("left", "right"):
        hip, knee, ankle = (J[f"{side}_{p}"] for p in ("hip", "knee", "ankle"))
        line = j[:, ankle] - j[:, hip]
        line /= np.linalg.norm(line, axis=1, keepdims=True)
        bend = [
            v - np.sum(v * line, -1, keepdims=True) * line
            for v in (j[:, knee] - j[:, hip], hint[:, knee] - j[:, hip])
        ]
        bent = np.linalg.norm(bend[1], axis=1) > 0.01
        a, b = (v[bent] / np.linalg.norm(v[bent], axis=1, keepdims=True) for v in bend)
        assert np.sum(a * b, axis=1) == pytest.approx(1.0, abs=1e-6)


def test_shallow_squat_raises_the_pelvis_by_60_percent_of_its_drop(squat):
    out, _ = _inject(squat, "shallow_squat", "hips")
    j = squat["joints"].astype(np.float64)
    feet = [J[f"{s}_{p}"] for s in ("left", "right") for p in ("ankle", "heel", "toe")]
    assert np.array_equal(out[:, feet], squat["joints"][:, feet])
    pelvis_y = j[:, J["pelvis"], 1]
    inside = squat["env"] == 1
    lowest = np.flatnonzero(inside)[np.argmin(pelvis_y[inside])]
    drop = np.percentile(pelvis_y, 95) - pelvis_y[lowest]
    assert drop > 0.15
    assert out[lowest, J["pelvis"], 1] - pelvis_y[lowest] == pytest.approx(0.6 * drop, abs=0.003)
    for side in ("left", "right"):
        hip, knee, ankle = (J[f"{side}_{p}"] for p in ("hip", "knee", "ankle"))
        legs = np.linalg.norm(j[:, knee] - j[:, hip], axis=1)
        legs += np.linalg.norm(j[:, ankle] - j[:, knee], axis=1)
        reach = np.linalg.norm(out[:, hip] - out[:, ankle].astype(np.float64), axis=1)
        original = np.linalg.norm(j[:, hip] - j[:, ankle], axis=1)
        assert np.all(reach <= np.maximum(0.995 * legs, original) + 1e-5)
    _assert_knees_keep_their_plane(out, j)


def test_heels_lifting_raises_heels_about_fixed_toes(squat):
    out, change = _inject(squat, "heels_lifting", "both")
    j = squat["joints"].astype(np.float64)
    toes = [J["left_toe"], J["right_toe"]]
    assert np.array_equal(out[:, toes], squat["joints"][:, toes])
    bottom = int(np.argmax(squat["env"] * squat["depth"]))
    for side in ("left", "right"):
        heel, toe = J[f"{side}_heel"], J[f"{side}_toe"]
        foot = np.linalg.norm(j[bottom, heel] - j[bottom, toe])
        rise = out[bottom, heel, 1] - j[bottom, heel, 1]
        # The generator's feet are flat, so 25 deg about the toe lifts the heel by this.
        assert rise == pytest.approx(foot * np.sin(np.radians(25.0)), abs=0.003)
    assert change[bottom] == pytest.approx(25.0, abs=0.5)  # the ankle -> toe bone turns 25
    ankles = [J["left_ankle"], J["right_ankle"]]
    carried = (out[:, ankles] - j[:, ankles]).mean(axis=1)
    assert out[:, J["head_top"]] - j[:, J["head_top"]] == pytest.approx(carried, abs=1e-5)
    _assert_knees_keep_their_plane(out, j + carried[:, None])


def test_arms_not_raised_halves_the_elevation_and_keeps_the_elbows(jack):
    out, change = _inject(jack, "arms_not_raised", "both")
    j = jack["joints"]
    full = jack["env"] == 1
    # The upper arm, forearm and hand all turn by half the higher arm's elevation.
    highest = np.maximum(_elevation_deg(j, "left"), _elevation_deg(j, "right"))
    assert change[full] == pytest.approx(0.5 * highest[full], abs=0.01)
    for side in ("left", "right"):
        before, after = _elevation_deg(j, side), _elevation_deg(out, side)
        assert before[full].max() > 120
        assert after[full] == pytest.approx(0.5 * before[full], abs=1.0)
        top = np.flatnonzero(full)[np.argmax(before[full])]
        assert out[top, J[f"{side}_wrist"], 1] < j[top, J[f"{side}_wrist"], 1] - 0.3
        assert _elbow_deg(out, side) == pytest.approx(_elbow_deg(j, side), abs=1e-3)


def test_one_side_lower_lowers_one_arm_and_leaves_the_other(jack):
    out, _ = _inject(jack, "one_side_lower", "right")
    j = jack["joints"]
    left_arm = [J[f"left_{p}"] for p in ("shoulder", "elbow", "wrist", "hand")]
    assert np.array_equal(out[:, left_arm], j[:, left_arm])
    full = jack["env"] == 1
    before, after = _elevation_deg(j, "right"), _elevation_deg(out, "right")
    assert after[full] == pytest.approx(0.6 * before[full], abs=1.0)


def test_bone_direction_change_measures_a_rotation(squat):
    j = squat["joints"].astype(np.float64)
    spine = j[0, J["spine"]] - j[0, J["pelvis"]]
    axis = np.cross(spine, [1.0, 0.0, 0.0])
    axis /= np.linalg.norm(axis)
    # Frame 0 turned 30 deg about an axis perpendicular to its pelvis -> spine bone: that
    # bone turns by the full 30 deg, no bone by more.
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angle = np.radians(30.0)
    rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    turned = j.copy()
    turned[0] = j[0] @ rotation.T
    change = bone_direction_change_deg(j, turned)
    assert change[0] == pytest.approx(30.0, abs=1e-6)
    assert not change[1:].any()
    with pytest.raises(ValueError, match="28, 3"):
        bone_direction_change_deg(j, j[:, :17])


BAD_ARGUMENTS = [  # (test id, what to change given the take, expected message)
    ("kind", lambda t: {"kind": "hips_sagging"}, "unknown error kind"),
    ("side", lambda t: {"side": "left"}, "not allowed"),
    ("severity_high", lambda t: {"severity": 1.5}, "severity must"),
    ("severity_low", lambda t: {"severity": -0.1}, "severity must"),
    ("joint_count", lambda t: {"joints": t["joints"][:, :17]}, "joints must"),
    ("nan", lambda t: {"joints": np.where(t["joints"] > 1.5, np.nan, t["joints"])}, "NaN"),
    ("envelope_length", lambda t: {"envelope": t["env"][:-1]}, "envelope must"),
    ("depth_range", lambda t: {"depth": t["depth"] * 2.0}, "depth must"),
]


@pytest.mark.parametrize(
    ("change", "message"), [b[1:] for b in BAD_ARGUMENTS], ids=[b[0] for b in BAD_ARGUMENTS]
)
def test_bad_arguments_raise_naming_the_problem(squat, change, message):
    args = {
        "joints": squat["joints"],
        "kind": "rounded_back",
        "severity": 0.5,
        "side": "spine",
        "envelope": squat["env"],
        "depth": squat["depth"],
        **change(squat),
    }
    with pytest.raises(ValueError, match=message):
        inject_real_error(**args)
