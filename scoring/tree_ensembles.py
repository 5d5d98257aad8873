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
    depth: int  # the deepest leaf's depth: steps enough for every walk
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
            depth=int(nodes["depth"].max()),
            baseline=float(np.ravel(model._baseline_prediction)[0]),
        )

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """``(U,)`` raw scores of ``rows`` ``(U, C)``: the baseline plus each tree's leaf."""
        rows = np.asarray(rows, dtype=np.float64)
        count = len(rows)
        node = np.broadcast_to(self.roots, (count, len(self.roots))).copy()  # (U, T)
        unit = np.arange(count)[:, None]
        for _ in range(self.depth):
            x = rows[unit, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            child = np.where(go_left, self.left[node], self.right[node])
            node = np.where(self.is_leaf[node], node, child)
        leaves = np.concatenate([np.full((count, 1), self.baseline), self.value[node]], axis=1)
        return np.cumsum(leaves, axis=1)[:, -1]  # summed in scikit-learn's order


def positive_probability(trees: FlatTrees, rows: np.ndarray) -> np.ndarray:
    """``(U,)`` P(positive class) of a binary classifier's trees for ``rows``."""
    return expit(trees.raw(rows))
