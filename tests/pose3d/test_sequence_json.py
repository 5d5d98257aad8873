import numpy as np
import pytest

from pose3d.sequence_json import SequenceFormatError, parse_sequence, sequence_from_array


def _sequence(frames=3, joints=33, **overrides):
    data = {
        "layout": "mediapipe33",
        "fps": 30.0,
        "image_width": 1080,
        "image_height": 1920,
        "frames": [[[100.0 + j, 200.0 + t, 0.9] for j in range(joints)] for t in range(frames)],
    }
    data.update(overrides)
    return data


def test_valid_sequence_round_trips_with_missing_joints():
    data = _sequence()
    data["frames"][1][4] = [None, None, 0]
    parsed = parse_sequence(data)
    assert parsed.keypoints.shape == (3, 33, 2) and parsed.image_size == (1080, 1920)
    assert np.isnan(parsed.keypoints[1, 4]).all() and parsed.scores[1, 4] == 0
    again = parse_sequence(parsed.to_json())
    np.testing.assert_allclose(again.keypoints, parsed.keypoints)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_sequence(extra=1), "extra"),
        ({k: v for k, v in _sequence().items() if k != "fps"}, "fps"),
        (_sequence(layout="openpose"), "layout"),
        (_sequence(fps=0), "fps"),
        (_sequence(fps=float("nan")), "fps"),
        (_sequence(image_width=-3), "image_width"),
        (_sequence(joints=17), "frames[0]"),
        (_sequence(frames=0), "frames"),
        ("not an object", "$"),
    ],
)
def test_bad_sequences_name_the_field(data, field):
    with pytest.raises(SequenceFormatError) as info:
        parse_sequence(data)
    assert info.value.field == field


def test_bad_joint_values_are_located():
    data = _sequence()
    data["frames"][2][7] = [1.0, None, 0.5]
    with pytest.raises(SequenceFormatError, match=r"frames\[2\]\[7\]\[1\]"):
        parse_sequence(data)
    data = _sequence()
    data["frames"][0][0] = [1.0, 2.0, 1.5]
    with pytest.raises(SequenceFormatError, match="score must be in"):
        parse_sequence(data)
    data = _sequence()
    data["frames"] = [[[None, None, 0] for _ in range(33)]]
    with pytest.raises(SequenceFormatError, match="every joint"):
        parse_sequence(data)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (True, "frames[1][5][0]"),  # a bool is not a number
        ("12.5", "frames[1][5][0]"),  # nor is a numeric string
        (float("nan"), "frames[1][5][0]"),  # Python's JSON accepts NaN and Infinity
        (float("inf"), "frames[1][5][0]"),
        (10**400, "frames[1][5][0]"),
        ([1.0], "frames[1][5][0]"),
    ],
)
def test_every_value_is_checked_and_named(value, field):
    data = _sequence()
    data["frames"][1][5] = [value, 200.0, 0.9]
    with pytest.raises(SequenceFormatError) as info:
        parse_sequence(data)
    assert info.value.field == field
    data = _sequence()
    data["frames"][1][5] = [100.0, 200.0, None]  # a score is never null
    with pytest.raises(SequenceFormatError, match=r"frames\[1\]\[5\]\[2\]"):
        parse_sequence(data)
    data = _sequence()
    data["frames"][2] = data["frames"][2][:-1]
    with pytest.raises(SequenceFormatError, match="33 joints"):
        parse_sequence(data)


def test_integers_and_nulls_parse_as_their_numbers():
    data = _sequence()
    data["frames"][0][3] = [540, 960, 1]
    data["frames"][2][8] = [None, None, 0]
    parsed = parse_sequence(data)
    assert parsed.keypoints[0, 3].tolist() == [540.0, 960.0] and parsed.scores[0, 3] == 1.0
    assert np.isnan(parsed.keypoints[2, 8]).all() and parsed.scores[2, 8] == 0.0
    assert np.isfinite(parsed.keypoints[1]).all()


@pytest.mark.parametrize(
    ("joint", "field", "message"),
    [
        ([100.0, 200.0, np.nan], "frames[2][4][2]", "score must be a number"),
        ([100.0, 200.0, np.inf], "frames[2][4][2]", "score must be a number"),
        ([100.0, 200.0, -0.1], "frames[2][4][2]", "score must be in"),
        ([np.nan, 200.0, 0.5], "frames[2][4][0]", "both null"),
        ([100.0, np.nan, 0.5], "frames[2][4][1]", "both null"),
        ([np.inf, 200.0, 0.5], "frames[2][4]", "must be finite"),
        ([100.0, -np.inf, 0.5], "frames[2][4]", "must be finite"),
        ([100.0, 1e6, 0.5], "frames[2][4]", "image sizes"),
    ],
)
def test_numeric_frames_name_their_fault(joint, field, message):
    """Frames already numbers (binary live batches) are checked value by value as JSON's
    are: the quick pass over a valid batch lets no fault through, and with faults of two
    kinds the one checked first is named (scores before coordinates)."""
    frames = np.full((4, 33, 3), [500.0, 900.0, 0.8])
    frames[1, 0] = [np.nan, np.nan, 0.0]  # an unseen joint is no fault
    assert sequence_from_array("mediapipe33", 30, 1080, 1920, frames).keypoints.shape == (4, 33, 2)
    frames[2, 4] = joint
    with pytest.raises(SequenceFormatError, match=message) as info:
        sequence_from_array("mediapipe33", 30, 1080, 1920, frames)
    assert info.value.field == field
    frames[3, 9] = [100.0, 200.0, 7.0]
    with pytest.raises(SequenceFormatError) as info:
        sequence_from_array("mediapipe33", 30, 1080, 1920, frames)
    assert info.value.field == (field if "score" in message else "frames[3][9][2]")
