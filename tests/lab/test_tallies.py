"""Counting detected errors against labels: F1 and its bootstrap intervals."""

import numpy as np
import pytest

from lab.tallies import KindTally, ModeResult


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
