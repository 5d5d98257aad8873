import numpy as np
import pytest

from pose3d import angles
from synthetic_data.body import J
from synthetic_data.errors import MAX_LABEL_GAP, ErrorPlan
from tests.synthetic_data.conftest import clean_and_faulty, peak_frame

CASES = [
    ("squat", ErrorPlan("rounded_back", 0.8, "both", 1, 1)),
    ("squat", ErrorPlan("knees_caving_in", 0.9, "left", 1, 2)),
    ("squat", ErrorPlan("shallow_squat", 0.7, "both", 2, 2)),
    ("squat", ErrorPlan("heels_lifting", 0.6, "both", 1, 1)),
    ("push_up", ErrorPlan("hips_sagging", 0.7, "both", 1, 2)),
    ("lunge", ErrorPlan("knee_over_toes", 0.8, "left", 2, 2)),
    ("arm_raise", ErrorPlan("arms_not_raised", 0.8, "both", 1, 1)),
    ("jumping_jack", ErrorPlan("one_side_lower", 0.9, "right", 1, 2)),
    ("dance", ErrorPlan("off_beat", 1.0, "late", 1, 1)),
]


@pytest.mark.parametrize(("movement", "plan"), CASES, ids=[p.kind for _, p in CASES])
def test_labels_cover_exactly_the_changed_frames(movement, plan):
    clean, faulty = clean_and_faulty(movement, plan, reps=4 if movement != "dance" else 1)
    assert faulty.errors, "the error was not injected"
    assert {e.kind for e in faulty.errors} == {plan.kind}
    assert all(e.severity == pytest.approx(plan.severity) for e in faulty.errors)
    labelled = faulty.error_mask()
    moved = np.linalg.norm(faulty.joints - clean.joints, axis=-1).max(axis=1)  # metres
    # Outside the labels the error moved no joint by more than its 1-degree threshold
    # allows (about 2 cm at the end of a limb); inside, it did somewhere.
    assert moved[~labelled].max(initial=0.0) < 0.02
    assert moved[labelled].max() > 0.03
    for label in faulty.errors:
        assert moved[label.start_frame] > 0 and moved[label.end_frame - 1] > 0
        still = np.flatnonzero(moved[label.start_frame : label.end_frame] == 0)
        assert len(still) <= MAX_LABEL_GAP


def test_rounded_back_raises_spine_flexion_by_its_severity():
    plan = ErrorPlan("rounded_back", 0.6, "both", 1, 1)
    clean, faulty = clean_and_faulty("squat", plan)
    frame = peak_frame(faulty, 1)
    rise = (
        angles.spine_flexion(faulty.h36m17())[frame] - angles.spine_flexion(clean.h36m17())[frame]
    )
    assert rise >= 30.0 * plan.severity - 0.5
    assert [e.segment for e in faulty.errors] == ["spine"]


def test_shallow_squat_reduces_knee_flexion_at_the_bottom():
    plan = ErrorPlan("shallow_squat", 0.8, "both", 2, 2)
    clean, faulty = clean_and_faulty("squat", plan)
    start, end = faulty.reps[2]
    clean_depth = angles.knee_flexion(clean.h36m17()[start:end], "left").max()
    faulty_depth = angles.knee_flexion(faulty.h36m17()[start:end], "left").max()
    assert faulty_depth < clean_depth - 25
    assert faulty.errors[0].segment == "hips"


def test_knees_caving_in_moves_the_labelled_knee_inward():
    plan = ErrorPlan("knees_caving_in", 1.0, "left", 1, 1)
    clean, faulty = clean_and_faulty("squat", plan)
    frame = peak_frame(faulty, 1)
    left = (
        angles.knee_valgus(faulty.h36m17(), "left")[frame]
        - angles.knee_valgus(clean.h36m17(), "left")[frame]
    )
    right = (
        angles.knee_valgus(faulty.h36m17(), "right")[frame]
        - angles.knee_valgus(clean.h36m17(), "right")[frame]
    )
    assert left > 6.0 * plan.severity and abs(right) < 0.5
    assert [e.segment for e in faulty.errors] == ["left_leg"]


def test_heels_lift_off_the_floor():
    plan = ErrorPlan("heels_lifting", 1.0, "both", 1, 1)
    clean, faulty = clean_and_faulty("squat", plan)
    frame = peak_frame(faulty, 1)
    heel = J["left_heel"]
    toe = J["left_toe"]
    lift = (faulty.joints[frame, heel, 1] - faulty.joints[frame, toe, 1]) - (
        clean.joints[frame, heel, 1] - clean.joints[frame, toe, 1]
    )
    assert lift > 0.04


def test_hips_sag_below_the_shoulder_ankle_line():
    plan = ErrorPlan("hips_sagging", 1.0, "both", 1, 1)
    clean, faulty = clean_and_faulty("push_up", plan)
    frame = peak_frame(faulty, 1)

    def sag(clip):
        shoulder, ankle, pelvis = (
            clip.joints[frame, J[n]] for n in ("left_shoulder", "left_ankle", "pelvis")
        )
        t = np.dot(pelvis - ankle, shoulder - ankle) / np.dot(shoulder - ankle, shoulder - ankle)
        return (ankle + t * (shoulder - ankle))[1] - pelvis[1]  # line height minus hip height

    assert sag(faulty) > sag(clean) + 0.08


def test_knee_travels_past_the_toes():
    plan = ErrorPlan("knee_over_toes", 1.0, "left", 1, 1)
    clean, faulty = clean_and_faulty("lunge", plan)
    frame = peak_frame(faulty, 1)

    def knee_ahead(clip):
        return clip.joints[frame, J["left_knee"], 2] - clip.joints[frame, J["left_toe"], 2]

    assert knee_ahead(faulty) > knee_ahead(clean) + 0.05


def test_arms_not_raised_and_one_side_lower():
    plan = ErrorPlan("arms_not_raised", 0.8, "both", 1, 1)
    clean, faulty = clean_and_faulty("arm_raise", plan)
    start, end = faulty.reps[1]
    for side in ("left", "right"):
        top_clean = angles.arm_elevation(clean.h36m17()[start:end], side).max()
        top_faulty = angles.arm_elevation(faulty.h36m17()[start:end], side).max()
        assert top_faulty < top_clean - 0.3 * plan.severity * top_clean

    plan = ErrorPlan("one_side_lower", 1.0, "right", 1, 1)
    clean, faulty = clean_and_faulty("arm_raise", plan)
    start, end = faulty.reps[1]
    left = angles.arm_elevation(faulty.h36m17()[start:end], "left").max()
    right = angles.arm_elevation(faulty.h36m17()[start:end], "right").max()
    assert left - right > 25
    assert [e.segment for e in faulty.errors] == ["right_arm"]


@pytest.mark.parametrize("side", ["late", "early"])
def test_off_beat_shifts_the_move_in_time(side):
    plan = ErrorPlan("off_beat", 1.0, side, 1, 1)
    clean, faulty = clean_and_faulty("dance", plan, reps=1)
    label = faulty.errors[0]
    assert label.segment == "timing" and label.detail == side
    beat_frames = np.diff(faulty.beat_times).mean() * faulty.fps
    start, end = label.start_frame, label.end_frame
    signal_clean = clean.joints[:, J["left_wrist"]].reshape(len(clean.joints), -1)
    signal_faulty = faulty.joints[:, J["left_wrist"]].reshape(len(faulty.joints), -1)
    middle = slice(start + (end - start) // 3, end - (end - start) // 3)

    def error_at(lag):
        shifted = np.roll(signal_clean, lag, axis=0)
        return np.abs(shifted[middle] - signal_faulty[middle]).mean()

    best = min(range(-int(beat_frames), int(beat_frames) + 1), key=error_at)
    expected = 0.5 * beat_frames * (1 if side == "late" else -1)
    assert abs(best - expected) <= 2
