"""The cheapest state path (pose2d.viterbi)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pose2d.viterbi import cheapest_path


def _cost(path, unary, pairwise):
    return unary[np.arange(len(path)), path].sum() + sum(
        pairwise[t - 1, path[t - 1], path[t]] for t in range(1, len(path))
    )


def test_the_path_is_the_cheapest_of_all():
    rng = np.random.default_rng(0)
    unary, pairwise = rng.uniform(0, 1, (6, 3)), rng.uniform(0, 1, (5, 3, 3))
    best = min(itertools.product(range(3), repeat=6), key=lambda p: _cost(p, unary, pairwise))
    assert cheapest_path(unary, pairwise).tolist() == list(best)


def test_no_cost_keeps_the_first_state_and_one_frame_works():
    assert cheapest_path(np.zeros((4, 4)), np.zeros((3, 4, 4))).tolist() == [0, 0, 0, 0]
    assert cheapest_path(np.array([[1.0, 0.0]]), np.zeros((0, 2, 2))).tolist() == [1]


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="pairwise"):
        cheapest_path(np.zeros((4, 2)), np.zeros((4, 2, 2)))
