"""Fitting the learned detector's models (scikit-learn), flattened for serving.

Each error kind gets a histogram gradient-boosted classifier (is the error in this unit?)
and a regressor of its severity on the units with the error. Serving never imports
scikit-learn: :func:`fit_kind` returns the fitted trees flattened
(:class:`scoring.tree_ensembles.FlatTrees`, the same predictions), which is what
:class:`scoring.detector.FormErrorDetector` judges with and stores.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from scoring.detector import KindModel
from scoring.tree_ensembles import FlatTrees

CLASSIFIER_PARAMS = {
    "max_iter": 200,
    "learning_rate": 0.07,
    "max_leaf_nodes": 15,
    "l2_regularization": 1.0,
    "random_state": 0,
}
SEVERITY_PARAMS = CLASSIFIER_PARAMS | {"max_iter": 100, "learning_rate": 0.1}
# Per kind, chosen on out-of-fold F1 over the training clips: caving knees (the most units,
# the subtlest signal) and low arms gain from larger trees; knee over toes, hips sagging,
# heels and shallow squats did not (docs/design-notes.md, scoring).
LARGER_TREES = {"max_iter": 400, "learning_rate": 0.05, "max_leaf_nodes": 31}
KIND_CLASSIFIER_PARAMS = {"knees_caving_in": LARGER_TREES, "arms_not_raised": LARGER_TREES}


def fit_classifier(
    rows: np.ndarray,
    labels: np.ndarray,
    kind: str = "",
    sample_weight: np.ndarray | None = None,
) -> HistGradientBoostingClassifier:
    """A classifier of ``labels`` ``(N,)`` (1: the error is in the unit) from ``rows``
    ``(N, C)``, with the detector's settings for ``kind``; ``sample_weight`` ``(N,)``
    weighs the units (users' verdicts against simulated units), all 1 by default."""
    params = CLASSIFIER_PARAMS | KIND_CLASSIFIER_PARAMS.get(kind, {})
    return HistGradientBoostingClassifier(**params).fit(rows, labels, sample_weight=sample_weight)


def fit_kind(
    rows: np.ndarray,
    labels: np.ndarray,
    severities: np.ndarray,
    columns: list[str],
    kind: str = "",
    sample_weight: np.ndarray | None = None,
) -> KindModel:
    """Train one kind's classifier on ``rows`` ``(N, C)`` with ``labels`` ``(N,)`` (1:
    the error is in the unit) and its severity regressor on the positive units, each
    unit weighing ``sample_weight`` ``(N,)`` (default 1); both flattened, threshold 0.5
    until calibrated."""
    if rows.shape != (len(labels), len(columns)) or len(severities) != len(labels):
        raise ValueError(f"rows {rows.shape} do not match {len(labels)} labels x {len(columns)}")
    if labels.min() == labels.max():
        raise ValueError("need units with and without the error to train a detector")
    classifier = fit_classifier(rows, labels, kind, sample_weight)
    positive = labels == 1
    weight = None if sample_weight is None else sample_weight[positive]
    severity = HistGradientBoostingRegressor(**SEVERITY_PARAMS).fit(
        rows[positive], severities[positive], sample_weight=weight
    )
    return KindModel(
        FlatTrees.from_model(classifier), FlatTrees.from_model(severity), 0.5, list(columns)
    )
