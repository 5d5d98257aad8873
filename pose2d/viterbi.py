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
    # Python floats, not numpy rows: with a few states a step is ~20 scalar sums, where
    # each numpy call on a (S, S) array costs more than all of them (the same float64
    # sums and the same ties, so the same path).
    unary_rows, pairwise_rows = unary.astype(np.float64).tolist(), pairwise.tolist()
    order = range(states)
    back = [[0] * states for _ in range(frames)]
    total = unary_rows[0] if frames else []
    for t in range(1, frames):
        step, pointers, costs = pairwise_rows[t - 1], back[t], unary_rows[t]
        new_total = []
        for b in order:
            best, best_cost = 0, total[0] + step[0][b]
            for a in order[1:]:
                cost = total[a] + step[a][b]
                if cost < best_cost:  # ties keep the lower state, as argmin does
                    best, best_cost = a, cost
            pointers[b] = best
            new_total.append(best_cost + costs[b])
        total = new_total
    path = np.empty(frames, dtype=np.int64)
    if not frames:
        return path
    path[-1] = int(np.argmin(total))
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t][path[t]]
    return path
