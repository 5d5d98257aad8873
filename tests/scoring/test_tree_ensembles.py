"""Flattened gradient-boosted trees predict exactly what scikit-learn predicts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from scoring.detector import FormErrorDetector
from scoring.tree_ensembles import FlatTrees, TreeBank


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
    assert np.array_equal(expit(FlatTrees.from_model(classifier).raw(unseen)), expected)
    assert np.array_equal(FlatTrees.from_model(regressor).raw(unseen), regressor.predict(unseen))


def test_a_bank_walks_several_models_at_once_as_each_alone():
    rows, target = _data(5)
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    classifier.fit(rows, target > 0)
    regressor = HistGradientBoostingRegressor(max_iter=50, max_leaf_nodes=7, random_state=0)
    regressor.fit(rows[:, :4], target)  # fewer features than the classifier reads
    bank = TreeBank([FlatTrees.from_model(classifier), FlatTrees.from_model(regressor)])
    first, second = _data(6, count=7)[0], _data(7, count=3)[0]
    walks = [(1, second[:, :4]), (0, first), (0, first[:0]), (1, first[:, :4]), (0, second)]
    raw = bank.raw(walks)
    assert np.array_equal(raw[0], regressor.predict(second[:, :4]))
    assert np.array_equal(expit(raw[1]), classifier.predict_proba(first)[:, 1])
    assert raw[2].shape == (0,)
    assert np.array_equal(raw[3], regressor.predict(first[:, :4]))
    assert np.array_equal(expit(raw[4]), classifier.predict_proba(second)[:, 1])


def test_the_bundled_detector_judges_all_kinds_at_once_as_one_by_one():
    detector = FormErrorDetector.load("scoring/models/population.detector.joblib")
    rng = np.random.default_rng(8)
    for source, kinds in detector.models.items():
        checks = [
            (kind, rng.normal(size=(count, len(model.columns))) * 2)
            for count, (kind, model) in enumerate(sorted(kinds.items()), start=1)
        ]
        together = detector.judge_many(source, checks, "intermediate")
        for (kind, rows), verdict in zip(checks, together, strict=True):
            model = kinds[kind]
            assert np.array_equal(verdict[1], model.classifier.predict_proba(rows)[:, 1])
            assert np.array_equal(verdict[2], np.clip(model.severity.predict(rows), 0, 1))


def test_the_bundled_detectors_models_predict_the_same_numbers():
    detector = FormErrorDetector.load("scoring/models/population.detector.joblib")
    rng = np.random.default_rng(2)
    for kinds in detector.models.values():
        for model in kinds.values():
            rows = rng.normal(size=(9, len(model.columns))) * 2
            rows[rng.random(rows.shape) < 0.1] = np.nan
            flat = FlatTrees.from_model(model.classifier)
            expected = model.classifier.predict_proba(rows)[:, 1]
            assert np.array_equal(expit(flat.raw(rows)), expected)
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
