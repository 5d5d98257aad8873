"""scikit-learn's histogram gradient boosting, predicted for all trees at once.

The detector's models are ``HistGradientBoostingClassifier`` (400 trees) and
``HistGradientBoostingRegressor`` (100 trees) per error kind. scikit-learn predicts tree
by tree from Python: for the few units of a live repetition check that is ~2,000 calls of
a few microseconds each, 20% of the check (docs/design-notes.md, scoring). Here every
tree's nodes are one flat table and the units walk all trees together, one numpy step
per tree level; a :class:`TreeBank` holds several models' tables in one, so that every
model a check asks (each error kind's classifier and severity) is walked in the same
steps. The raw score is summed in scikit-learn's order (the baseline, then tree by
tree), so the predictions are the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor


@dataclass(frozen=True, eq=False)
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
        """``(U,)`` raw scores of ``rows`` ``(U, C)``: the baseline plus each tree's leaf."""
        return TreeBank((self,)).raw([(0, rows)])[0]


@dataclass(frozen=True, eq=False)
class TreeBank:
    """Several models' trees in one node table (``nodes``; its roots model by model,
    model ``m``'s from ``starts[m]`` to ``starts[m + 1]``), walked together."""

    nodes: FlatTrees
    starts: np.ndarray  # (M + 1,) int64
    baselines: np.ndarray  # (M,) float64

    def __init__(self, models: Sequence[FlatTrees]) -> None:
        sizes = np.array([len(m.feature) for m in models])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

        def joined(name: str, shift: bool = False) -> np.ndarray:
            parts = [getattr(m, name) for m in models]
            if shift:  # node numbers: each model's after the models before it
                parts = [part + offset for part, offset in zip(parts, offsets, strict=True)]
            return np.concatenate(parts)

        nodes = (
            models[0]
            if len(models) == 1
            else FlatTrees(
                roots=joined("roots", shift=True),
                feature=joined("feature"),
                threshold=joined("threshold"),
                missing_left=joined("missing_left"),
                left=joined("left", shift=True),
                right=joined("right", shift=True),
                is_leaf=joined("is_leaf"),
                value=joined("value"),
                baseline=0.0,
            )
        )
        counts = np.array([len(m.roots) for m in models])
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "starts", np.concatenate([[0], np.cumsum(counts)]))
        object.__setattr__(self, "baselines", np.array([m.baseline for m in models]))

    def raw(self, walks: Sequence[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        """For each ``(model, rows)`` walk (a model's index, rows ``(U, C)`` of its
        features), ``(U,)`` raw scores: the model's baseline plus each of its trees' leaf.

        All walks move in the same numpy steps, and each step moves only the walks not
        at a leaf yet (most trees are shallower than the deepest)."""
        nodes, starts = self.nodes, self.starts
        tables = [np.asarray(rows, dtype=np.float64) for _, rows in walks]
        width = max((t.shape[1] for t in tables), default=0)
        units = np.full((sum(len(t) for t in tables), width), np.nan)
        first_unit = np.concatenate([[0], np.cumsum([len(t) for t in tables])]).astype(int)
        node_parts, unit_parts = [], []
        for (model, _), table, first in zip(walks, tables, first_unit[:-1], strict=True):
            units[first : first + len(table), : table.shape[1]] = table
            roots = nodes.roots[starts[model] : starts[model + 1]]
            node_parts.append(np.tile(roots, len(table)))  # unit-major
            unit_parts.append(np.repeat(np.arange(first, first + len(table)), len(roots)))
        node = np.concatenate(node_parts) if node_parts else np.zeros(0, np.int64)
        unit = np.concatenate(unit_parts) if unit_parts else np.zeros(0, np.int64)
        walking = np.flatnonzero(~nodes.is_leaf[node])
        while walking.size:
            at = node[walking]
            x = units[unit[walking], nodes.feature[at]]
            go_left = np.where(np.isnan(x), nodes.missing_left[at], x <= nodes.threshold[at])
            child = np.where(go_left, nodes.left[at], nodes.right[at])
            node[walking] = child
            walking = walking[~nodes.is_leaf[child]]
        scores, done = [], 0
        for (model, _), table in zip(walks, tables, strict=True):
            trees = starts[model + 1] - starts[model]
            leaf_values = nodes.value[node[done : done + len(table) * trees]]
            done += len(table) * trees
            baseline = np.full((len(table), 1), self.baselines[model])
            leaves = np.concatenate([baseline, leaf_values.reshape(len(table), trees)], axis=1)
            scores.append(np.cumsum(leaves, axis=1)[:, -1])  # summed in scikit-learn's order
        return scores
