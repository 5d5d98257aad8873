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

The trees are also how a detector is stored (:meth:`FlatTrees.to_arrays`, plain numpy
arrays in an ``.npz``): loading them needs neither scikit-learn nor pickle, so serving
imports no scikit-learn and a model file cannot run code when it is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # fitting is the lab's (lab.detector_fitting); serving never imports it
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

# How each node array is stored (narrower than in memory where no value is lost) and held.
STORED = {
    "roots": (np.int32, np.int64),
    "feature": (np.int32, np.int64),
    "threshold": (np.float64, np.float64),
    "missing_left": (np.bool_, np.bool_),
    "left": (np.int32, np.int64),
    "right": (np.int32, np.int64),
    "is_leaf": (np.bool_, np.bool_),
    "value": (np.float64, np.float64),
}


class MalformedTrees(ValueError):
    """Stored trees that cannot be walked safely (what is wrong is said)."""


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

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The trees as named plain arrays (:data:`STORED` types, ``baseline`` 0-d)."""
        arrays = {name: getattr(self, name).astype(kept) for name, (kept, _) in STORED.items()}
        return arrays | {"baseline": np.array(self.baseline, dtype=np.float64)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], features: int) -> FlatTrees:
        """Trees from :meth:`to_arrays`' arrays, checked to be walkable on rows of
        ``features`` columns: every split reads a column there and sends each unit to a
        later node of the table (so every walk ends at a leaf); MalformedTrees if not."""
        missing = sorted((set(STORED) | {"baseline"}) - set(arrays))
        if missing:
            raise MalformedTrees(f"missing arrays {', '.join(missing)}")
        held = {name: np.asarray(arrays[name]).astype(dtype) for name, (_, dtype) in STORED.items()}
        nodes = len(held["feature"])
        if any(held[name].shape != (nodes,) for name in STORED if name != "roots"):
            raise MalformedTrees("node arrays of different lengths")
        roots, split = held["roots"], np.flatnonzero(~held["is_leaf"])
        if roots.ndim != 1 or not roots.size or roots.min() < 0 or roots.max() >= nodes:
            raise MalformedTrees("tree roots outside the node table")
        for child in (held["left"][split], held["right"][split]):
            if (child <= split).any() or (child >= nodes).any():
                raise MalformedTrees("a split's child is not a later node of the table")
        if split.size and (
            held["feature"][split].min() < 0 or held["feature"][split].max() >= features
        ):
            raise MalformedTrees(f"a split reads a feature outside the {features} columns")
        baseline = np.asarray(arrays["baseline"], dtype=np.float64)
        if baseline.shape != () or not np.isfinite(baseline):
            raise MalformedTrees("the baseline is not one finite number")
        return cls(**held, baseline=float(baseline))


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
