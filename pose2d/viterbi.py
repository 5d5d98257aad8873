"""The cheapest path through a chain of discrete states (Viterbi's dynamic programme)."""

from __future__ import annotations

import numpy as np


def cheapest_path(unary: np.ndarray, pairwise: np.ndarray) -> np.ndarray:
    """The state sequence minimising ``sum_t unary[t, s_t] + sum_t pairwise[t - 1, s_{t-1}, s_t]``.

    Args:
        unary: ``(T, S)`` cost of each state in each frame.
        pairwise: ``(T - 1, S, S)`` cost of going from state ``a`` in frame ``t - 1`` to
            ``b`` in frame ``t`` at ``[t - 1, a, b]``.

    Returns:
        ``(T,)`` int states. O(T S^2) time and O(T S) memory (one back-pointer per frame
        and state); ties go to the lower state, so an all-zero cost keeps state 0.
    """
    frames, states = unary.shape
    if pairwise.shape != (max(frames - 1, 0), states, states):
        raise ValueError(f"pairwise must be {(frames - 1, states, states)}, got {pairwise.shape}")
    back = np.zeros((frames, states), dtype=np.int8 if states < 128 else np.int64)
    total = unary[0].astype(np.float64)
    for t in range(1, frames):
        paths = total[:, None] + pairwise[t - 1]
        back[t] = paths.argmin(axis=0)
        total = paths[back[t], np.arange(states)] + unary[t]
    path = np.empty(frames, dtype=np.int64)
    path[-1] = int(total.argmin())
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
