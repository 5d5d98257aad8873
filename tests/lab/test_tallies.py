"""Counting detected errors against labels: F1 and its bootstrap intervals."""

from dataclasses import replace

import numpy as np
import pytest

from lab.tallies import KindTally, ModeResult, severity_cells
from scoring.report import ErrorEvent
from synthetic_data.clip import ErrorLabel
from synthetic_data.generator import ClipRequest, generate_clip


def test_f1_intervals_are_wide_where_labels_are_few():
    result = ModeResult()
    rng = np.random.default_rng(1)
    for clip in range(200):
        # Every clip has an arm label (found 80% of the time); one clip in ten a knee label
        # (found half the time); no false events.
        arms = KindTally(events=1, true_events=1, labels=1, found_labels=1)
        if rng.random() >= 0.8:
            arms = KindTally(labels=1)
        clip_tallies = {"arms_not_raised": arms}
        if clip % 10 == 0:
            found = clip % 20 == 0
            clip_tallies["knees_caving_in"] = KindTally(int(found), int(found), 1, int(found))
        result.add_tallies(clip_tallies)
    summary = result.summary(200)
    arms, knees = summary["per_kind"]["arms_not_raised"], summary["per_kind"]["knees_caving_in"]
    assert knees["f1"] == pytest.approx(2 / 3, abs=1e-3)  # precision 1, recall 0.5
    for kind in (arms, knees):
        low, high = kind["f1_interval"]
        assert low <= kind["f1"] <= high
    width = {
        name: m["f1_interval"][1] - m["f1_interval"][0] for name, m in (("a", arms), ("k", knees))
    }
    assert width["k"] > 3 * width["a"]  # 20 labels against 200
    low, high = summary["macro_f1_interval"]
    assert low <= summary["macro_f1"] <= high


def test_recall_is_given_per_severity_band():
    """Gross errors found and subtle ones missed show as such, not only as one recall: a
    found gross label, a missed subtle one and a found clear one on one clip, a missed
    gross one on another; the bands add up across clips and a band with no label is left
    out."""
    clip = generate_clip(ClipRequest(seed=3, movement="squat", num_reps=2, tempo=1.0))
    fps = clip.fps
    first = replace(
        clip,
        errors=[
            ErrorLabel("knees_caving_in", "left_leg", 0, 30, 0.9),
            ErrorLabel("knees_caving_in", "left_leg", 40, 60, 0.3),
            ErrorLabel("knees_caving_in", "right_leg", 0, 30, 0.6),
        ],
    )
    second = replace(clip, errors=[ErrorLabel("knees_caving_in", "left_leg", 0, 30, 1.0)])
    found = [
        ErrorEvent("knees_caving_in", "left_leg", 0.1, 20 / fps, 0.8, 0.9, "knees out"),
        ErrorEvent("knees_caving_in", "right_leg", 0.1, 20 / fps, 0.5, 0.9, "knees out"),
    ]
    result = ModeResult()
    result.add_clip(first, found, correct=False)
    result.add_clip(second, [], correct=False)
    knees = result.summary(2)["per_kind"]["knees_caving_in"]
    assert knees["recall"] == 0.5
    assert knees["recall_by_severity"] == {
        "subtle": {"labels": 1, "recall": 0.0},
        "clear": {"labels": 1, "recall": 1.0},
        "gross": {"labels": 2, "recall": 0.5},
    }
    assert severity_cells(knees) == "| 0.0 of 1 | 1.0 of 1 | 0.5 of 2 "
    only_gross = ModeResult()
    only_gross.add_clip(second, found, correct=False)
    bands = only_gross.summary(1)["per_kind"]["knees_caving_in"]["recall_by_severity"]
    assert bands == {"gross": {"labels": 1, "recall": 1.0}}
