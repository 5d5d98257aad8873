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


def _numpy_path(unary, pairwise):
    """The dynamic programme with numpy rows and argmin's ties (an independent oracle)."""
    back = np.zeros(unary.shape, dtype=int)
    total = unary[0].astype(np.float64)
    for t in range(1, len(unary)):
        paths = total[:, None] + pairwise[t - 1]
        back[t] = paths.argmin(axis=0)
        total = paths[back[t], np.arange(unary.shape[1])] + unary[t]
    path = [int(total.argmin())]
    for t in range(len(unary) - 1, 0, -1):
        path.insert(0, int(back[t, path[0]]))
    return path


def test_long_chains_with_many_ties_take_argmins_path():
    rng = np.random.default_rng(1)
    for states in (2, 4, 5):
        unary = rng.integers(0, 3, (300, states)).astype(np.float32)  # ties everywhere
        pairwise = rng.integers(0, 3, (299, states, states)).astype(np.float64)
        assert cheapest_path(unary, pairwise).tolist() == _numpy_path(unary, pairwise)
