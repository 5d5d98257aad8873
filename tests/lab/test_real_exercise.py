"""Real exercise sessions: joined one-repetition cuts, repetitions, depth, trainers."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from lab.real_exercise import (
    BLEND_FRAMES,
    RealSession,
    _yaw_matrix,
    jack_reps,
    join_takes,
    joined_squat_sessions,
    own_take_trainer,
    squat_depth_share,
    squat_reps,
    trainer_for,
)
from synthetic_data.body import J
from synthetic_data.cameras import body_facing_deg
from synthetic_data.generator import ClipRequest, generate_clip


@pytest.fixture(scope="module")
def squat():
    return generate_clip(ClipRequest(seed=3, movement="squat", duration_s=9.0, errors=[]))


def _cuts(clip):
    """The clip's repetitions as separate one-repetition cuts."""
    return [clip.joints[start:end] for start, end in clip.reps]


def test_joined_cuts_continue_where_the_last_ended_even_turned_and_moved(squat):
    cuts = _cuts(squat)
    assert len(cuts) >= 2
    # The second cut was filmed elsewhere in the room, turned 70 deg.
    moved = (cuts[1] - cuts[1][0, J["pelvis"]]) @ _yaw_matrix(70.0).T + np.array([1.5, 0, -2])
    moved[..., 1] += cuts[1][0, J["pelvis"], 1]
    joints, reps = join_takes([cuts[0], moved, cuts[0]])
    assert [b - a for a, b in reps] == [len(c) for c in (cuts[0], moved, cuts[0])]
    assert reps[1][0] == reps[0][1] + BLEND_FRAMES and reps[-1][1] == len(joints)
    steps = np.linalg.norm(np.diff(joints[:, J["pelvis"]], axis=0), axis=1)
    assert steps.max() < 0.05  # no jump at the joins (1.5 m and 70 deg away before)
    facing = body_facing_deg(joints)
    assert abs(facing[reps[1][0]] - facing[reps[0][1] - 1]) < 2.0
    bone = np.linalg.norm(joints[:, J["left_knee"]] - joints[:, J["left_hip"]], axis=1)
    assert np.ptp(bone[reps[1][0] : reps[1][1]]) < 1e-4  # the cut itself moved rigidly


def test_squat_depth_is_one_at_the_bottom_of_each_repetition(squat):
    depth = squat_depth_share(squat.joints, squat.reps)
    assert depth.min() >= 0 and depth.max() <= 1
    for start, end in squat.reps:
        bottom = start + int(np.argmin(squat.joints[start:end, J["pelvis"], 1]))
        assert depth[bottom] == pytest.approx(1.0)
        assert depth[start] < 0.2


def test_jumping_jacks_are_counted_from_the_arms():
    clip = generate_clip(ClipRequest(seed=5, movement="jumping_jack", duration_s=7.0, errors=[]))
    reps = jack_reps(clip.joints)
    lengths = [b - a for a, b in clip.reps]
    whole = [r for r, n in zip(clip.reps, lengths, strict=True) if n > np.median(lengths) / 2]
    assert len(reps) == len(whole)  # the take's cut-off last jack is not one
    # Each found jack ends within a few frames of the simulated one (a pause before a
    # jack belongs to it: it starts where the last one ended).
    assert max(abs(a - b) for (_, a), (_, b) in zip(reps, whole, strict=True)) <= 3
    assert all(b > a for a, b in reps)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(reps))


def test_a_persons_squat_takes_join_into_sessions_of_all_their_repetitions(squat):
    """Two takes of 2 and 1 squats become two sessions of all 3 (in take order and
    reversed), each repetition the take's own motion (heights kept; the place and the
    facing continue from the last), as HDM05's cuts are joined."""
    moved = squat.joints + np.array([0.5, 0.0, 0.3])  # filmed elsewhere in the room
    takes = [
        RealSession(replace(squat, reps=squat.reps[:2]), np.zeros(squat.num_frames)),
        RealSession(replace(squat, joints=moved, reps=squat.reps[1:2]), np.zeros(squat.num_frames)),
    ]
    cut = [squat.reps[0], squat.reps[1], squat.reps[1]]  # each repetition's take frames
    forward, backward = joined_squat_sessions(takes)
    for session, order in ((forward, cut), (backward, cut[::-1])):
        assert session.clip.movement == "squat" and session.person == squat.body.body_id
        assert len(session.clip.reps) == 3
        for (start, end), (a, b) in zip(session.clip.reps, order, strict=True):
            pelvis = session.clip.joints[start:end, J["pelvis"], 1]
            np.testing.assert_allclose(pelvis, squat.joints[a:b, J["pelvis"], 1], atol=1e-5)
            assert session.depth[start:end].max() == pytest.approx(1.0)  # its own bottom
    assert forward.clip.clip_id != backward.clip.clip_id


def _session(clip, person, clip_id):
    body = replace(clip.body, body_id=person)
    return RealSession(replace(clip, clip_id=clip_id, body=body), np.zeros(clip.num_frames))


def test_the_trainer_is_another_person_doing_the_same_movement(squat):
    jack = generate_clip(ClipRequest(seed=1, movement="jumping_jack", duration_s=3.0, errors=[]))
    sessions = [
        _session(squat, "ann", "ann-0"),
        _session(squat, "ann", "ann-1"),
        _session(squat, "bob", "bob-0"),
        _session(jack, "cid", "cid-0"),
        _session(jack, "cid", "cid-1"),
    ]
    assert trainer_for(sessions[0], sessions).clip.clip_id == "bob-0"
    assert trainer_for(sessions[2], sessions).clip.clip_id == "ann-0"  # wraps round
    # Nobody else did jumping jacks: the same person's other take.
    assert trainer_for(sessions[3], sessions).clip.clip_id == "cid-1"
    with pytest.raises(ValueError, match="no other take"):
        trainer_for(sessions[3], sessions[3:4])


def test_the_own_take_trainer_is_the_same_persons_other_take(squat):
    sessions = [
        _session(squat, "ann", "ann-0"),
        _session(squat, "ann", "ann-1"),
        _session(squat, "ann", "ann-2"),
        _session(squat, "bob", "bob-0"),
    ]
    assert own_take_trainer(sessions[0], sessions).clip.clip_id == "ann-1"
    assert own_take_trainer(sessions[2], sessions).clip.clip_id == "ann-0"  # wraps round
    # Bob has one take: another person's, as trainer_for picks it.
    assert own_take_trainer(sessions[3], sessions).clip.clip_id == "ann-0"


def _take_with_squats(t: np.ndarray, height: np.ndarray, starts: tuple[float, ...]) -> np.ndarray:
    """Body-28 joints ``(T, 28, 3)`` whose pelvis follows ``height`` ``(T,)`` (m, at times
    ``t``, s), lowered by a 0.4 m squat of 1 s (down and up) at each of ``starts``."""
    height = height.copy()
    for start in starts:
        inside = (t >= start) & (t < start + 1.0)
        height[inside] -= 0.2 * (1 - np.cos(2 * np.pi * (t[inside] - start)))
    joints = np.zeros((len(t), len(J), 3))
    joints[:, J["pelvis"], 1] = height
    return joints


def test_squats_are_found_in_a_take_that_jogs_and_jumps_too():
    # 1 s standing, 2 s jogging (pelvis bobbing 6 cm), two 0.4 m squats with 0.5 s of
    # standing between them, 1 s standing: only the squats are repetitions.
    t = np.arange(int(6.5 * 30)) / 30.0
    height = np.full(len(t), 1.0)
    jog = (t >= 1) & (t < 3)
    height[jog] -= 0.03 * (1 - np.cos(2 * np.pi * 3 * t[jog]))
    joints = _take_with_squats(t, height, (3.0, 4.5))
    height = joints[:, J["pelvis"], 1]
    reps = squat_reps(joints)
    assert len(reps) == 2
    for (start, end), squat_start in zip(reps, (3.0, 4.5), strict=True):
        assert abs(start / 30 - squat_start) < 0.15 and abs(end / 30 - squat_start - 1.0) < 0.15
        bottom = start + int(np.argmin(height[start:end]))
        assert abs(bottom / 30 - squat_start - 0.5) < 0.05


def test_a_squat_ends_when_the_person_is_up_even_if_they_stand_lower_than_they_walked_in():
    # 3 s walking in 6 cm taller (it sets the take's 95th-percentile "standing" height),
    # then standing lower: two 0.4 m squats of 1 s at 4.0 s and 5.5 s, and 3 s of standing
    # still. Each squat ends where the person is back up, not at the end of the take (CMU
    # 14_06's last squat used to run on over 2 s of standing and a knee bend).
    t = np.arange(9 * 30) / 30.0
    height = np.where(t < 3.0, 1.06, 1.0)
    reps = squat_reps(_take_with_squats(t, height, (4.0, 5.5)))
    assert len(reps) == 2
    for (_, end), squat_start in zip(reps, (4.0, 5.5), strict=True):
        assert abs(end / 30 - squat_start - 1.0) < 0.15
