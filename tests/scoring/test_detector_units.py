"""The learned detector's inputs: units cut on the matched template repetitions, and the
feature rows that compare each repetition with the user's others. (The detector trained
and used on filmed, lifted sessions: tests/lab/test_detector.py.)"""

import numpy as np

from scoring.detector import STAT_NAMES, Trace, Unit, feature_names, session_units, unit_features
from scoring.evidence import MOVEMENTS
from scoring.features import FEATURE_NAMES


def test_units_follow_the_matched_template_repetitions_and_moves():
    # 3 template repetitions of 30 frames, matched by a user twice as slow after frame 10.
    track = np.concatenate([np.zeros(10), np.repeat(np.arange(90), 2)]).astype(int)
    matched = np.arange(len(track)) >= 10
    units = session_units(track, matched, 30, 1, fps=30.0)
    assert [(u.start, u.end, u.part) for u in units] == [(10, 70, 0), (70, 130, 0), (130, 190, 0)]
    moves = session_units(track, matched, 30, 3, fps=30.0)  # 10-frame moves
    assert [u.part for u in moves] == [0, 1, 2] * 3
    assert all(u.end - u.start == 20 for u in moves)
    # Runs shorter than MIN_UNIT_S (0.3 s) are no unit.
    assert session_units(track, matched, 30, 9, fps=30.0) == []


def _trace(kind, segment, signal):
    ones = np.ones(len(signal))
    return Trace(kind, segment, signal, signal, signal, signal, ones, ones.astype(bool))


def test_unit_features_compare_each_repetition_with_the_users_others():
    units = [Unit(30 * i, 30 * (i + 1), 0) for i in range(5)]
    left = np.full(150, 2.0)
    left[60:90] = 7.0  # the third repetition deviates by 5 more
    traces = [_trace("knees_caving_in", "left_leg", left)]
    traces.append(_trace("knees_caving_in", "right_leg", np.zeros(150)))
    deviation = np.zeros((150, len(FEATURE_NAMES)))
    rows = unit_features(
        traces, deviation, np.ones(150), units, "squat", MOVEMENTS, np.zeros(150), 30.0
    )
    columns = feature_names(["3d"], MOVEMENTS, FEATURE_NAMES)
    assert rows[("knees_caving_in", "left_leg")].shape == (5, len(columns))
    row = dict(zip(columns, rows[("knees_caving_in", "left_leg")].T, strict=True))
    assert list(row["3d_mean"]) == [2.0, 2.0, 7.0, 2.0, 2.0]
    assert list(row["3d_mean_vs_median"]) == [0.0, 0.0, 5.0, 0.0, 0.0]
    assert list(row["3d_mean_vs_min"]) == [0.0, 0.0, 5.0, 0.0, 0.0]
    assert list(row["3d_key_mean_vs_median"]) == [0.0, 0.0, 5.0, 0.0, 0.0]
    # The right leg's row carries the left's (the other side's) evidence, whole.
    right = dict(zip(columns, rows[("knees_caving_in", "right_leg")].T, strict=True))
    assert list(right["other_3d_mean"]) == [2.0, 2.0, 7.0, 2.0, 2.0]
    assert list(right["other_3d_mean_vs_median"]) == [0.0, 0.0, 5.0, 0.0, 0.0]
    assert list(row["other_3d_mean"]) == [0.0] * 5
    assert list(row["is_squat"]) == [1.0] * 5 and list(row["is_lunge"]) == [0.0] * 5
    assert len(STAT_NAMES) * 3 == columns.index("other_3d_mean")
