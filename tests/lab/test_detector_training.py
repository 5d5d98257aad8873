"""Training the learned detector: out-of-fold thresholds and the cached training units."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from lab import detector_training
from lab.detector_training import (
    KindUnits,
    UnitDataset,
    alarm_share,
    cached_unit_dataset,
    choose_threshold,
    correct_in_kind,
    dataset_key,
    join_real,
    out_of_fold,
)
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource


def _units(probability_like: np.ndarray, present: np.ndarray, clip: np.ndarray) -> KindUnits:
    return KindUnits(probability_like[:, None], present, present * 0.5, clip)


def test_the_threshold_trades_missed_errors_for_no_false_alarms():
    # Ten clips of four units; clip 0..4 carry errors (units with probability 0.8), clips
    # 5..9 are correct, and one of their units looks like an error (0.6).
    clip = np.repeat(np.arange(10), 4)
    present = np.zeros(40, dtype=int)
    present[[0, 4, 8, 12, 16]] = 1
    probability = np.where(present == 1, 0.8, 0.2)
    probability[20] = 0.6  # clip 5, correct
    correct = np.arange(10) >= 5
    confidence = np.full(40, 0.9)
    chosen = choose_threshold(probability, _units(probability, present, clip), confidence, correct)
    assert 0.6 < chosen["threshold"] <= 0.8
    assert chosen["f1"] == 1.0 and chosen["false_alarm_rate"] == 0.0
    # Positives seen at confidence 0.4 are notes, not events, under a 0.5 minimum.
    confidence[present == 1] = 0.4
    chosen = choose_threshold(probability, _units(probability, present, clip), confidence, correct)
    assert chosen["min_confidence"] == 0.3 and chosen["recall"] == 1.0


def test_false_alarms_on_a_few_real_clips_weigh_as_much_as_on_many_simulated():
    # 100 simulated correct clips, none alarmed; 4 real correct clips, 2 alarmed.
    clip = np.arange(104)
    present = np.zeros(104, dtype=int)
    units = _units(np.zeros(104), present, clip)
    correct = np.ones(104, dtype=bool)
    origin = np.r_[np.zeros(100, int), np.ones(4, int)]
    flagged = np.isin(clip, [100, 101])
    assert alarm_share(flagged, units, correct, np.zeros(104, int)) == pytest.approx(2 / 104)
    assert alarm_share(flagged, units, correct, origin) == pytest.approx((0 + 0.5) / 2)
    # So a threshold that spares the real correct clips wins once they count.
    probability = np.where(np.isin(clip, [100, 101]), 0.7, 0.2)
    present[:10] = 1  # ten simulated units with an error, probability 0.7 too
    probability[:10] = 0.7
    correct[:10] = False
    units = _units(probability, present, clip)
    confidence = np.full(104, 0.9)
    pooled = choose_threshold(probability, units, confidence, correct)
    assert pooled["threshold"] <= 0.7 and pooled["recall"] == 1.0  # 2 of 96 correct: worth it
    weighed = choose_threshold(probability, units, confidence, correct, origin)
    assert weighed["threshold"] > 0.7 and weighed["false_alarm_rate"] == 0.0


def test_an_alarm_on_a_clip_with_another_kind_s_error_is_a_false_alarm():
    # Five clips of one unit each for this kind: clips 0 and 4 hold its error; clip 1
    # holds only another kind's (its unit of this kind is clean); clips 2-3 no error.
    clip = np.arange(5)
    present = np.array([1, 0, 0, 0, 1])
    units = _units(np.zeros(5), present, clip)
    np.testing.assert_array_equal(correct_in_kind(units, 6), [0, 1, 1, 1, 0, 1])
    # Clip 1's unit looks like an error (0.7), more than clip 4's real one (0.65).
    probability = np.array([0.9, 0.7, 0.1, 0.1, 0.65])
    no_error_at_all = np.array([False, False, True, True, False])
    confidence = np.full(5, 0.9)
    loose = choose_threshold(probability, units, confidence, no_error_at_all)
    assert loose["threshold"] <= 0.65 and loose["recall"] == 1.0  # blind to clip 1's alarm
    strict = choose_threshold(probability, units, confidence, correct_in_kind(units, 5))
    assert 0.7 < strict["threshold"] <= 0.9 and strict["false_alarm_rate"] == 0.0


def test_real_units_follow_the_simulated_ones_with_their_takes_as_fold_groups():
    simulated = _dataset(3)
    real_units = KindUnits(np.full((4, 3), 2.0), np.array([0, 1, 0, 1]), np.zeros(4), np.arange(4))
    real = UnitDataset({"shallow_squat": real_units}, np.array([True, False, True, False]))
    joined = join_real(simulated, real, take=np.array([0, 0, 1, 1]))
    units = joined.dataset.kinds["shallow_squat"]
    np.testing.assert_array_equal(units.clip, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(units.present, [0, 0, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(joined.origin, [0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(joined.group, [0, 1, 2, 3, 3, 4, 4])  # a take stays together
    np.testing.assert_array_equal(joined.dataset.correct, [1, 1, 1, 1, 0, 1, 0])
    weight = joined.unit_weight(units)
    assert (
        weight[:3].tolist() == [1, 1, 1]
        and (weight[3:] == detector_training.REAL_UNIT_WEIGHT).all()
    )
    assert join_real(simulated).unit_weight(simulated.kinds["shallow_squat"]) is None


@pytest.mark.slow  # fits classifiers fold by fold
def test_out_of_fold_keeps_a_group_out_of_its_own_training():
    # Two takes seen from many views: units of a take are near copies of each other, with
    # labels that only memory of the take explains. Grouped by take, no memory helps.
    rng = np.random.default_rng(1)
    take = np.repeat(np.arange(40), 10)
    fingerprint = rng.normal(size=(40, 4))[take] + rng.normal(0, 0.01, (400, 4))
    present = (rng.random(40) < 0.5).astype(int)[take]
    units = KindUnits(fingerprint, present, present * 1.0, np.arange(400))
    assert roc_auc_score(present, out_of_fold(units)) > 0.9  # by clip: other views remembered
    assert roc_auc_score(present, out_of_fold(units, groups=take)) < 0.75


@pytest.mark.slow  # fits classifiers fold by fold
def test_out_of_fold_probabilities_do_not_remember_their_own_clip():
    rng = np.random.default_rng(0)
    clip = np.repeat(np.arange(60), 5)
    signal = rng.normal(size=300)
    present = (signal + rng.normal(0, 0.5, 300) > 1.0).astype(int)
    noise = rng.normal(size=(300, 6))  # labels are not in these: only memory could fit them
    units = KindUnits(np.column_stack([signal, noise]), present, present * 1.0, clip)
    assert roc_auc_score(present, out_of_fold(units)) > 0.85  # the real signal generalises
    noise_only = KindUnits(noise, present, present * 1.0, clip)
    in_sample = detector_training.fit_classifier(noise, present).predict_proba(noise)[:, 1]
    assert roc_auc_score(present, in_sample) > 0.95  # a model remembers what it saw ...
    assert roc_auc_score(present, out_of_fold(noise_only)) < 0.7  # ... out of fold, no


def _dataset(rows: int) -> UnitDataset:
    units = KindUnits(np.ones((rows, 3)), np.zeros(rows, int), np.zeros(rows), np.arange(rows))
    return UnitDataset({"shallow_squat": units}, np.ones(rows, bool))


def test_unit_datasets_are_cached_on_what_they_depend_on(tmp_path, monkeypatch):
    clips = tmp_path / "clips"
    clips.mkdir()
    paths = [clips / f"{name}.clip.npz" for name in ("a", "b")]
    for path in paths:
        path.write_bytes(b"x" * 10)
    lifter, population = Lifter.for_recordings(), PopulationModel.load()
    built = []

    def build(paths, mode, lifter, population, first):
        built.append(mode)
        return _dataset(len(paths))

    monkeypatch.setattr(detector_training, "unit_dataset", build)
    first = cached_unit_dataset(paths, PoseSource.LIFTED, lifter, population, tmp_path / "cache")
    again = cached_unit_dataset(paths, PoseSource.LIFTED, lifter, population, tmp_path / "cache")
    assert built == [PoseSource.LIFTED]  # the second call read the cache
    np.testing.assert_array_equal(
        again.kinds["shallow_squat"].rows, first.kinds["shallow_squat"].rows
    )
    np.testing.assert_array_equal(again.correct, first.correct)
    key = dataset_key(paths, PoseSource.LIFTED, lifter, population)
    assert dataset_key(paths, PoseSource.EXACT, lifter, population) != key
    # The same clips filmed as a later folder draw other noise: another dataset.
    assert dataset_key(paths, PoseSource.LIFTED, lifter, population, first=6) != key
    paths[0].write_bytes(b"x" * 11)  # a regenerated clip
    assert dataset_key(paths, PoseSource.LIFTED, lifter, population) != key


def test_datasets_are_concatenated_with_clips_renumbered():
    first, second = _dataset(2), _dataset(3)
    second.correct[:] = False
    second.kinds["shallow_squat"].rows[:] = 2.0
    both = UnitDataset.concatenated([first, UnitDataset({}, np.zeros(1, bool)), second])
    units = both.kinds["shallow_squat"]
    np.testing.assert_array_equal(units.clip, [0, 1, 3, 4, 5])  # the empty part holds clip 2
    np.testing.assert_array_equal(
        units.rows,
        np.concatenate([first.kinds["shallow_squat"].rows, second.kinds["shallow_squat"].rows]),
    )
    np.testing.assert_array_equal(both.correct, [True, True, False, False, False, False])


def test_a_unit_cache_killed_while_written_leaves_the_old_one_or_none(tmp_path, monkeypatch):
    path = tmp_path / "units.npz"
    _dataset(3).save(path)
    before = path.read_bytes()

    def killed(file, **arrays):  # writes part of the archive, then the run dies
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        _dataset(7).save(path)
    assert path.read_bytes() == before
    with pytest.raises(KeyboardInterrupt):
        _dataset(7).save(tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["units.npz"]  # no temporary left


@pytest.mark.parametrize("rows", [1, 7])
def test_a_unit_dataset_round_trips(tmp_path, rows):
    dataset = _dataset(rows)
    dataset.save(tmp_path / "units.npz")
    loaded = UnitDataset.load(tmp_path / "units.npz")
    assert list(loaded.kinds) == ["shallow_squat"]
    for name in ("rows", "present", "severity", "clip"):
        np.testing.assert_array_equal(
            getattr(loaded.kinds["shallow_squat"], name),
            getattr(dataset.kinds["shallow_squat"], name),
        )
