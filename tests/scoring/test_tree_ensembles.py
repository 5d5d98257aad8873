"""Flattened gradient-boosted trees predict exactly what scikit-learn predicts, and a
detector stored as them loads without pickle, refusing a file it cannot walk safely."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from scoring.detector import FormErrorDetector, KindModel, MalformedDetector
from scoring.population import DEFAULT_PATH, detector_path
from scoring.tree_ensembles import FlatTrees, TreeBank

BUNDLED = detector_path(DEFAULT_PATH)


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
    detector = FormErrorDetector.load(BUNDLED)
    rng = np.random.default_rng(8)
    for source, kinds in detector.models.items():
        checks = [
            (kind, rng.normal(size=(count, len(model.columns))) * 2)
            for count, (kind, model) in enumerate(sorted(kinds.items()), start=1)
        ]
        together = detector.judge_many(source, checks, "intermediate")
        for (kind, rows), verdict in zip(checks, together, strict=True):
            model = kinds[kind]
            assert np.array_equal(verdict[1], expit(model.classifier.raw(rows)))
            assert np.array_equal(verdict[2], np.clip(model.severity.raw(rows), 0, 1))


def _fitted_detector() -> tuple[FormErrorDetector, HistGradientBoostingClassifier]:
    """A one-kind detector from scikit-learn fits, and its classifier."""
    rows, target = _data(9)
    classifier = HistGradientBoostingClassifier(max_iter=40, random_state=0)
    classifier.fit(rows, target > 0)
    regressor = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(rows, target)
    model = KindModel(
        FlatTrees.from_model(classifier),
        FlatTrees.from_model(regressor),
        0.6,
        [f"c{i}" for i in range(rows.shape[1])],
        0.3,
    )
    return FormErrorDetector({"lifted": {"rounded_back": model}}, {"note": "test"}), classifier


def test_a_saved_detector_loads_without_pickle_and_predicts_the_same(tmp_path):
    detector, classifier = _fitted_detector()
    path = detector.save(tmp_path / "d.detector.npz")
    assert path.is_file() and not list(tmp_path.glob("*.partial"))
    with np.load(path, allow_pickle=False) as stored:  # plain arrays only
        assert all(stored[name].dtype != object for name in stored.files)
    loaded = FormErrorDetector.load(path)
    model = loaded.models["lifted"]["rounded_back"]
    assert (model.threshold, model.min_confidence, model.columns[-1]) == (0.6, 0.3, "c5")
    assert loaded.info == {"note": "test"}
    unseen, _ = _data(10, count=40)
    _, probability, _ = loaded.judge("lifted", "rounded_back", unseen, "intermediate")
    assert np.array_equal(probability, classifier.predict_proba(unseen)[:, 1])


def _rewritten(path, change) -> None:
    """Rewrite the detector file at ``path`` with ``change`` applied to its arrays."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name].copy() for name in stored.files}
    change(arrays)
    with path.open("wb") as file:
        np.savez(file, **arrays)


def _set(arrays: dict, name: str, index: int, value) -> None:
    arrays[name][index] = value


SPLIT = "lifted/rounded_back/classifier"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: _set(a, f"{SPLIT}/left", 0, 0), "later node"),  # a walk that never ends
        (lambda a: _set(a, f"{SPLIT}/right", 0, 10**6), "later node"),
        (lambda a: _set(a, f"{SPLIT}/feature", 0, 99), "outside the 6 columns"),
        (lambda a: a.pop(f"{SPLIT}/threshold"), "missing arrays threshold"),
        (lambda a: a.update({"meta": np.array('{"format": 99}')}), "format 99"),
        (lambda a: a.pop("meta"), "no readable description"),
    ],
)
def test_a_tampered_detector_file_is_refused_naming_what_is_wrong(tmp_path, change, message):
    path = _fitted_detector()[0].save(tmp_path / "d.detector.npz")
    _rewritten(path, change)
    with pytest.raises(MalformedDetector, match=message):
        FormErrorDetector.load(path)


def test_a_pickled_detector_is_refused_and_runs_nothing(tmp_path):
    """The old joblib format was a pickle: reading one could run any code in it."""
    witness = tmp_path / "ran"
    path = tmp_path / "d.detector.npz"
    path.write_bytes(pickle.dumps(_Payload(witness)))
    with pytest.raises(MalformedDetector, match="not a detector file"):
        FormErrorDetector.load(path)
    assert not witness.exists()


class _Payload:
    """An object whose unpickling creates ``witness``."""

    def __init__(self, witness):
        self.witness = witness

    def __reduce__(self):
        return (Path.touch, (self.witness,))


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
