import numpy as np
import pytest

from pose3d.skeleton import bone_lengths
from synthetic_data.body import BODY28, BodyParams, J
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip
from synthetic_data.movements import MOVEMENTS

ALL = list(MOVEMENTS)


@pytest.fixture(scope="module")
def clips():
    return {
        m: generate_clip(ClipRequest(seed=100 + i, movement=m, error_rate=1.0, num_reps=4))
        for i, m in enumerate(ALL)
    }


@pytest.mark.parametrize("movement", ALL)
def test_bone_lengths_are_constant(clips, movement):
    joints = clips[movement].joints.astype(np.float64)
    lengths = bone_lengths(joints, BODY28)
    assert np.abs(lengths - lengths[0]).max() < 1e-6


@pytest.mark.parametrize("movement", ALL)
def test_feet_never_go_below_the_floor(clips, movement):
    clip = clips[movement]
    assert clip.joints[..., 1].min() >= -1e-6
    # ... and something touches it in every frame but the airborne part of a jump.
    grounded = clip.joints[..., 1].min(axis=1) < 1e-4
    assert grounded.mean() > (0.5 if movement == "jumping_jack" else 0.99)


@pytest.mark.parametrize("movement", ALL)
def test_every_movement_moves_and_has_a_reference(movement):
    trainer = trainer_clip(movement)
    assert trainer.role == "trainer" and trainer.tempo == 1.0 and not trainer.errors
    assert trainer.body.body_id == "trainer"
    assert np.ptp(trainer.joints, axis=0).max() > 0.3  # something moves by 30 cm or more
    assert trainer_clip(movement).joints.tobytes() == trainer.joints.tobytes()


def test_dance_has_beats_and_four_distinct_moves():
    clip = trainer_clip("dance")
    beat_period = np.diff(clip.beat_times)
    assert np.allclose(beat_period, beat_period[0]) and len(clip.beat_times) >= 16
    start, end = clip.reps[0]
    quarters = np.array_split(clip.joints[start:end].reshape(end - start, -1), 4)
    means = [q.mean(axis=0) for q in quarters]
    for i in range(4):
        for k in range(i + 1, 4):
            assert np.abs(means[i] - means[k]).max() > 0.05


def test_users_vary_tempo_height_and_flexibility():
    clips = [generate_clip(ClipRequest(seed=s, movement="squat")) for s in range(60)]
    tempos = np.array([c.tempo for c in clips])
    heights = np.array([c.body.height for c in clips])
    assert tempos.min() >= 0.6 and tempos.max() <= 1.6 and np.ptp(tempos) > 0.6
    assert heights.min() >= 1.45 and heights.max() <= 2.05 and np.ptp(heights) > 0.2
    assert {c.body.build for c in clips} == {"female", "male"}
    durations = np.array([np.diff(c.reps, axis=1).mean() for c in clips])
    # Slower users take longer per repetition.
    assert np.corrcoef(tempos, durations)[0, 1] < -0.8


def _knee_flexion(clip):
    from pose3d.angles import knee_flexion

    return knee_flexion(clip.h36m17(), "left")


def test_joint_limits_are_respected_and_stiff_bodies_squat_less_deep():
    supple = BodyParams.sample(np.random.default_rng(0), "a")
    stiff_flex = supple.flexibility.__class__(
        hip_flexion=80, ankle_dorsiflexion=15, knee_flexion=100
    )
    stiff = BodyParams(supple.height, supple.build, supple.proportions, stiff_flex, "stiff")
    deep = generate_clip(ClipRequest(seed=1, movement="squat", body=supple, errors=[], tempo=1.0))
    shallow = generate_clip(ClipRequest(seed=1, movement="squat", body=stiff, errors=[], tempo=1.0))
    assert _knee_flexion(shallow).max() <= 100 + 0.5
    assert _knee_flexion(shallow).max() < _knee_flexion(deep).max() - 20
    assert not shallow.errors  # less depth from stiffness is not an error


def test_same_seed_same_clip_different_seed_different_clip():
    a = generate_clip(ClipRequest(seed=5, movement="lunge"))
    b = generate_clip(ClipRequest(seed=5, movement="lunge"))
    c = generate_clip(ClipRequest(seed=6, movement="lunge"))
    assert a.joints.tobytes() == b.joints.tobytes() and a.errors == b.errors
    assert a.joints.shape != c.joints.shape or not np.allclose(a.joints, c.joints)
    assert a.generator == {"name": "coach-synth", "version": a.generator["version"], "seed": 5}


def test_fixed_duration_and_body_identity():
    clip = generate_clip(
        ClipRequest(seed=3, movement="jumping_jack", duration_s=10.0, body_seed=77)
    )
    assert clip.num_frames == 300
    again = generate_clip(ClipRequest(seed=4, movement="squat", body_seed=77))
    assert clip.body == again.body and clip.body.body_id == "body-000077"


def test_unknown_movement_and_invalid_error_are_rejected():
    from synthetic_data.errors import ErrorPlan

    with pytest.raises(ValueError, match="unknown movement 'yoga'"):
        generate_clip(ClipRequest(seed=0, movement="yoga"))
    with pytest.raises(ValueError, match="cannot be injected into squat"):
        generate_clip(
            ClipRequest(seed=0, movement="squat", errors=[ErrorPlan("off_beat", 1, "late", 0, 0)])
        )


def test_pelvis_is_the_h36m_root_and_layouts_are_consistent(clips):
    clip = clips["squat"]
    assert np.array_equal(clip.h36m17()[:, 0], clip.joints[:, J["pelvis"]])
    assert np.array_equal(clip.coco17()[:, 0], clip.joints[:, J["nose"]])
