"""The deep squat style: below parallel as real people squat, and opt-in (seeds keep
their clips)."""

from __future__ import annotations

import numpy as np
import pytest

from pose3d import angles
from synthetic_data.batch import plan_requests
from synthetic_data.body import J
from synthetic_data.generator import ClipRequest, generate_clip


def _bottom(clip) -> dict[str, float]:
    poses = clip.h36m17()
    knee = (angles.knee_flexion(poses, "left") + angles.knee_flexion(poses, "right")) / 2
    frame = int(np.argmax(knee))
    return {
        "knee": float(knee[frame]),
        "valgus": float(angles.knee_valgus(poses, "left")[frame]),
        "spine": float(angles.spine_flexion(poses)[frame]),
        "pelvis": float(clip.joints[frame, J["pelvis"], 1]),
    }


def test_a_deep_squat_goes_below_parallel_with_the_knees_out():
    # Seed 2's body is supple (its ordinary squat bends the knees ~120 deg).
    ordinary = _bottom(generate_clip(ClipRequest(seed=2, movement="squat", errors=[])))
    deep = _bottom(generate_clip(ClipRequest(seed=2, movement="squat", errors=[], deep_squat=1)))
    assert ordinary["knee"] < 125 < 150 < deep["knee"]
    assert deep["pelvis"] < ordinary["pelvis"] - 0.15
    assert deep["valgus"] < ordinary["valgus"] - 10  # knees open out over the toes
    assert deep["spine"] > ordinary["spine"] + 15  # the lower back flexes at the bottom


def test_the_style_is_opt_in_and_squat_only():
    plain = generate_clip(ClipRequest(seed=4, movement="squat"))
    explicit = generate_clip(ClipRequest(seed=4, movement="squat", deep_squat=0.0))
    np.testing.assert_array_equal(plain.joints, explicit.joints)
    assert plain.errors == explicit.errors
    lunge = generate_clip(ClipRequest(seed=4, movement="lunge"))
    deep_lunge = generate_clip(ClipRequest(seed=4, movement="lunge", deep_squat=1.0))
    np.testing.assert_array_equal(lunge.joints, deep_lunge.joints)
    with pytest.raises(ValueError, match="deep_squat"):
        generate_clip(ClipRequest(seed=4, movement="squat", deep_squat=1.5))


def test_a_batch_draws_deep_squats_apart_from_every_clip_s_own_draws():
    plain = plan_requests(40, 3, ["squat", "lunge"])
    mixed = plan_requests(40, 3, ["squat", "lunge"], deep_squat_share=0.5)
    assert [(r.seed, r.movement, r.body_seed) for r in plain] == [
        (r.seed, r.movement, r.body_seed) for r in mixed
    ]
    deep = [r for r in mixed if r.deep_squat > 0]
    assert all(r.movement == "squat" and 0.5 <= r.deep_squat <= 1.0 for r in deep)
    assert 4 <= len(deep) <= 16  # about half of the 20 squats
    assert all(r.deep_squat == 0 for r in plain)
    with pytest.raises(ValueError, match="deep_squat_share"):
        plan_requests(2, 0, deep_squat_share=2.0)
