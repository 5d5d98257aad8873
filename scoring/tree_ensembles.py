"""scikit-learn's histogram gradient boosting, predicted for all trees at once.

The detector's models are ``HistGradientBoostingClassifier`` (400 trees) and
``HistGradientBoostingRegressor`` (100 trees) per error kind. scikit-learn predicts tree
by tree from Python: for the few units of a live repetition check that is ~2,000 calls of
a few microseconds each, 20% of the check (docs/design-notes.md, scoring). Here every
tree's nodes are one flat table and the units walk all trees together, one numpy step
per tree level. The raw score is summed in scikit-learn's order (the baseline, then tree
by tree), so the predictions are the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor


@dataclass(frozen=True)
class FlatTrees:
    """The trees of a fitted single-output histogram gradient boosting model.

    Node arrays are indexed by a global node number (tree ``t``'s nodes start at
    ``roots[t]``); children are global numbers too.
    """

    roots: np.ndarray  # (T,) int64
    feature: np.ndarray  # (N,) int64, the feature a split reads
    threshold: np.ndarray  # (N,) float64: x <= threshold goes left
    missing_left: np.ndarray  # (N,) bool: where a missing (NaN) value goes
    left: np.ndarray  # (N,) int64
    right: np.ndarray  # (N,) int64
    is_leaf: np.ndarray  # (N,) bool
    value: np.ndarray  # (N,) float64, a leaf's contribution
    baseline: float

    @classmethod
    def from_model(
        cls, model: HistGradientBoostingClassifier | HistGradientBoostingRegressor
    ) -> FlatTrees:
        """The trees of ``model`` (binary classifier or regressor; numerical features)."""
        predictors = model._predictors
        if any(len(iteration) != 1 for iteration in predictors):
            raise ValueError("only single-output models (binary or regression) are flattened")
        tables = [iteration[0].nodes for iteration in predictors]
        if any(table["is_categorical"].any() for table in tables):
            raise ValueError("categorical splits are not flattened")
        sizes = np.array([len(table) for table in tables])
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        nodes = np.concatenate(tables)
        offsets = np.repeat(roots, sizes)
        return cls(
            roots=roots,
            feature=nodes["feature_idx"].astype(np.int64),
            threshold=nodes["num_threshold"].astype(np.float64),
            missing_left=nodes["missing_go_to_left"].astype(bool),
            left=nodes["left"].astype(np.int64) + offsets,
            right=nodes["right"].astype(np.int64) + offsets,
            is_leaf=nodes["is_leaf"].astype(bool),
            value=nodes["value"].astype(np.float64),
            baseline=float(np.ravel(model._baseline_prediction)[0]),
        )

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """``(U,)`` raw scores of ``rows`` ``(U, C)``: the baseline plus each tree's leaf.

        Each step moves only the walks not at a leaf yet: most trees are shallower than
        the deepest (a third less work for a check's few units)."""
        rows = np.asarray(rows, dtype=np.float64)
        count, trees = len(rows), len(self.roots)
        node = np.tile(self.roots, count)  # (U * T,) unit-major
        unit = np.repeat(np.arange(count), trees)
        walking = np.flatnonzero(~self.is_leaf[node])
        while walking.size:
            at = node[walking]
            x = rows[unit[walking], self.feature[at]]
            go_left = np.where(np.isnan(x), self.missing_left[at], x <= self.threshold[at])
            child = np.where(go_left, self.left[at], self.right[at])
            node[walking] = child
            walking = walking[~self.is_leaf[child]]
        leaf_values = self.value[node.reshape(count, trees)]
        leaves = np.concatenate([np.full((count, 1), self.baseline), leaf_values], axis=1)
        return np.cumsum(leaves, axis=1)[:, -1]  # summed in scikit-learn's order


def positive_probability(trees: FlatTrees, rows: np.ndarray) -> np.ndarray:
    """``(U,)`` P(positive class) of a binary classifier's trees for ``rows``."""
    return expit(trees.raw(rows))
