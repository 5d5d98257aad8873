"""Flattened gradient-boosted trees predict exactly what scikit-learn predicts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from scoring.detector import FormErrorDetector
from scoring.tree_ensembles import FlatTrees, positive_probability


def _data(seed: int, count: int = 300, columns: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(count, columns))
    target = rows[:, 0] * 2 - rows[:, 1] ** 2 + 0.3 * rng.normal(size=count)
    rows[rng.random(rows.shape) < 0.1] = np.nan  # missing values take their learned side
    return rows, target


def test_a_classifier_and_a_regressor_predict_the_same_numbers():
    rows, target = _data(0)
    classifier = HistGradientBoostingClassifier(max_iter=60, random_state=0)
    classifier.fit(rows, target > 0)
    regressor = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(rows, target)
    unseen, _ = _data(1, count=50)
    expected = classifier.predict_proba(unseen)[:, 1]
    assert np.array_equal(positive_probability(FlatTrees.from_model(classifier), unseen), expected)
    assert np.array_equal(FlatTrees.from_model(regressor).raw(unseen), regressor.predict(unseen))


def test_the_bundled_detectors_models_predict_the_same_numbers():
    detector = FormErrorDetector.load("scoring/models/population.detector.joblib")
    rng = np.random.default_rng(2)
    for kinds in detector.models.values():
        for model in kinds.values():
            rows = rng.normal(size=(9, len(model.columns))) * 2
            rows[rng.random(rows.shape) < 0.1] = np.nan
            flat = FlatTrees.from_model(model.classifier)
            expected = model.classifier.predict_proba(rows)[:, 1]
            assert np.array_equal(positive_probability(flat, rows), expected)
            severity = FlatTrees.from_model(model.severity).raw(rows)
            assert np.array_equal(severity, model.severity.predict(rows))


def test_multiclass_and_categorical_models_are_refused():
    rows, target = _data(3)
    multiclass = HistGradientBoostingClassifier(max_iter=5).fit(rows, np.digitize(target, [-1, 1]))
    with pytest.raises(ValueError, match="single-output"):
        FlatTrees.from_model(multiclass)
    categories = np.column_stack([rows[:, 0], np.random.default_rng(4).integers(0, 4, len(rows))])
    categorical = HistGradientBoostingRegressor(max_iter=5, categorical_features=[1])
    categorical.fit(np.nan_to_num(categories), target)
    with pytest.raises(ValueError, match="categorical"):
        FlatTrees.from_model(categorical)
