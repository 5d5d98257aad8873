"""Train the learned form-error detector (:mod:`scoring.detector`) on labelled clips.

Every clip of the training folders (``coach synth``; never the held-out evaluation clips)
is scored up to the detector's input, twice: from its exact 3D, and filmed by the phone
with detector noise and lifted by the bundled recordings lifter. Each unit (repetition,
or 4-beat move) of each check gets a label: is an error of that kind and segment there
(a labelled run covering at least 30% of the shorter of the two)? One classifier and one
severity regressor per error kind and pose source are trained on those units.

Each kind's probability threshold and minimum 2D confidence are chosen on out-of-fold
probabilities of the training units (each from a classifier that never saw that unit's
clip, folds grouped by clip), with the same merit as the rule thresholds: best F1 less
ALARM_PENALTY times the share of clips correct in that kind (no error of it: an alarm on
a clip whose only error is another kind's is a false cue all the same) with a false
alarm. The training units
are far more numerous than the labels of a validation set, so that choice is stable;
thresholds chosen on a small validation set fit its few labels per kind and did not
hold on held-out clips (see docs/design-notes.md). The validation clips are now scored
once with the finished detector, as a check whose figures are recorded.

Scoring every training clip twice (lifting included) takes a long time; with a cache
folder the feature rows of each training folder are kept, keyed on its clips, the lifter,
the population model and the scoring code, so a refit scores only new or changed folders.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sklearn
from sklearn.model_selection import GroupKFold
from tqdm import tqdm

from lab.calibration import ALARM_PENALTY, score_clips
from lab.clips import MODE_NAMES, prepare_clip, prepare_clips, reference_for
from lab.detector_fitting import fit_classifier, fit_kind
from lab.tallies import f1_from_counts
from pose3d.archive import atomic_savez
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource, knee_net
from scoring.detector import FormErrorDetector, Unit, feature_names
from scoring.evidence import KNEE_MEASURES, MOVEMENTS, UnitEvidence
from scoring.features import FEATURE_NAMES
from scoring.session import session_evidence
from synthetic_data.clip import ErrorLabel, read_clip

if TYPE_CHECKING:
    from lab.real_training_units import RealUnits

MIN_OVERLAP = 0.3
THRESHOLDS = tuple(np.round(np.arange(0.1, 0.95, 0.05), 2))
MIN_CONFIDENCES = (0.2, 0.3, 0.5)  # hips are often hidden in a push-up, yet judged right
FOLDS = 4


def unit_labels(
    units: list[Unit], labels: list[ErrorLabel], kind: str, segment: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(U,)`` 1 where a label of ``kind`` on ``segment`` covers the unit (at least
    MIN_OVERLAP of the shorter of the two), and that label's severity (0 elsewhere)."""
    present, severity = np.zeros(len(units), dtype=int), np.zeros(len(units))
    for label in labels:
        if label.kind != kind or label.segment != segment:
            continue
        for index, unit in enumerate(units):
            overlap = min(unit.end, label.end_frame) - max(unit.start, label.start_frame)
            shorter = min(unit.end - unit.start, label.end_frame - label.start_frame)
            if overlap >= MIN_OVERLAP * shorter:
                present[index] = 1
                severity[index] = max(severity[index], label.severity)
    return present, severity


def trace_sources(kind: str) -> list[str]:
    """The traces behind one kind's feature rows, in row order (see scoring.evidence)."""
    if kind == "heels_lifting":
        return ["2d_heel_rise"]
    if kind == "off_beat":
        return ["beat"]
    return ["3d"] + [f"{source}_{name}" for source, name in KNEE_MEASURES.get(kind, ())]


@dataclass
class KindUnits:
    """Every training unit of one error kind, from one pose source.

    Attributes:
        rows: ``(N, C)`` feature rows (:func:`scoring.detector.unit_features`).
        present: ``(N,)`` 1 where a labelled error of this kind covers the unit.
        severity: ``(N,)`` that error's severity (0 elsewhere).
        clip: ``(N,)`` index of the unit's clip in the training list.
    """

    rows: np.ndarray
    present: np.ndarray
    severity: np.ndarray
    clip: np.ndarray

    @classmethod
    def joined(cls, rows: list, present: list, severity: list, clip: list) -> KindUnits:
        """The units of several clips (one array of each field per clip) as one set."""
        return cls(*(np.concatenate(part) for part in (rows, present, severity, clip)))


FIELDS = [f.name for f in fields(KindUnits)]


@dataclass
class UnitDataset:
    """The units of every error kind, and which clips are correct (no error at all)."""

    kinds: dict[str, KindUnits]
    correct: np.ndarray  # (clips,) bool

    def save(self, path: Path) -> None:
        arrays = {"correct": self.correct}
        for kind, units in self.kinds.items():
            arrays |= {f"{kind}/{name}": getattr(units, name) for name in FIELDS}
        atomic_savez(path, **arrays)

    @classmethod
    def concatenated(cls, parts: list[UnitDataset]) -> UnitDataset:
        """Several datasets as one, clips numbered in order (``parts[0]``'s first); a kind
        missing from a part has no units there."""
        offsets = np.cumsum([0] + [len(part.correct) for part in parts])
        kinds = {}
        for kind in sorted({kind for part in parts for kind in part.kinds}):
            pieces = [
                replace(part.kinds[kind], clip=part.kinds[kind].clip + offset)
                for part, offset in zip(parts, offsets, strict=False)
                if kind in part.kinds
            ]
            kinds[kind] = KindUnits.joined(*([getattr(p, f) for p in pieces] for f in FIELDS))
        return cls(kinds, np.concatenate([part.correct for part in parts]))

    @classmethod
    def load(cls, path: Path) -> UnitDataset:
        with np.load(path) as data:
            kinds = sorted({key.split("/")[0] for key in data.files if "/" in key})
            return cls(
                {kind: KindUnits(*(data[f"{kind}/{name}"] for name in FIELDS)) for kind in kinds},
                data["correct"],
            )


class UnitCollector:
    """A unit dataset built clip by clip: each clip's units per error kind, labelled."""

    def __init__(self) -> None:
        self.parts: dict[str, tuple[list, list, list, list]] = defaultdict(lambda: ([], [], [], []))
        self.correct: list[bool] = []

    def add(self, evidence: UnitEvidence, errors: list[ErrorLabel]) -> None:
        """The units of one scored clip (``evidence``), labelled from its ``errors``; the
        clip is numbered in the order clips are added."""
        number = len(self.correct)
        self.correct.append(not errors)
        for (kind, segment), unit_rows in evidence.rows.items():
            present, severity = unit_labels(evidence.units, errors, kind, segment)
            rows, labels, severities, clips = self.parts[kind]
            rows.append(unit_rows)
            labels.append(present)
            severities.append(severity)
            clips.append(np.full(len(present), number))

    def dataset(self) -> UnitDataset:
        """Every clip's units so far, per kind."""
        kinds = {kind: KindUnits.joined(*parts) for kind, parts in self.parts.items()}
        return UnitDataset(kinds, np.array(self.correct, dtype=bool))


def unit_dataset(
    paths: list[Path],
    source: PoseSource,
    lifter: Lifter,
    population: PopulationModel,
    first: int = 0,
) -> UnitDataset:
    """Every unit of every clip in ``paths``, from ``source`` poses, with its labels.
    ``first``: the filming number of ``paths[0]`` (a clip's detector noise and cameras are
    drawn from its number), so a folder scored after others films as it would in one list."""
    collector = UnitCollector()
    cache: dict = {}
    for number, path in enumerate(tqdm(paths, desc=f"units ({MODE_NAMES[source]})"), first):
        item = prepare_clip(read_clip(path), number, source, lifter)
        reference, _ = reference_for(item.clip.movement, cache)
        collector.add(session_evidence(item.observed, reference, population), item.clip.errors)
    return collector.dataset()


def model_digest(digest, source: str, lifter: Lifter, population: PopulationModel) -> None:
    """Add to ``digest`` (a hashlib object) what any unit depends on beside its clips: the
    source, the lifter, the population model's statistics, the scoring code and the knee
    network."""
    digest.update(
        f"{source};{lifter.metadata.version};{lifter.metadata.training_fingerprint}".encode()
    )
    digest.update(json.dumps([population.stats, population.exact_stats], sort_keys=True).encode())
    code = Path(__file__).resolve().parents[1] / "scoring"  # the scoring package, beside lab
    for source_file in sorted(code.glob("*.py")):
        digest.update(source_file.read_bytes())
    if knee_net.DEFAULT_PATH.is_file():
        digest.update(knee_net.DEFAULT_PATH.read_bytes())


def dataset_key(
    paths: list[Path],
    source: PoseSource,
    lifter: Lifter,
    population: PopulationModel,
    first: int = 0,
) -> str:
    """What a unit dataset depends on, hashed: the clip files (names and sizes), their
    first filming number and :func:`model_digest`."""
    digest = hashlib.sha256()
    if first:
        digest.update(f"first:{first};".encode())
    for path in paths:
        digest.update(f"{path.name}:{path.stat().st_size};".encode())
    model_digest(digest, source, lifter, population)
    return digest.hexdigest()[:16]


def cached_unit_dataset(
    paths: list[Path],
    source: PoseSource,
    lifter: Lifter,
    population: PopulationModel,
    cache: Path | None,
    first: int = 0,
) -> UnitDataset:
    """:func:`unit_dataset`, read from (or written to) ``cache`` when it is given."""
    if cache is None:
        return unit_dataset(paths, source, lifter, population, first)
    key = dataset_key(paths, source, lifter, population, first)
    path = cache / f"units-{source}-{key}.npz"
    if path.is_file():
        return UnitDataset.load(path)
    dataset = unit_dataset(paths, source, lifter, population, first)
    dataset.save(path)
    return dataset


MAX_FEEDBACK_WEIGHT = 100.0  # a user's verdict counts at most this many simulated units
# A real-motion unit counts as this many simulated ones: set before measuring, not tuned
# on the real evaluation (a few thousand real units against tens of thousands).
REAL_UNIT_WEIGHT = 5.0


@dataclass
class JoinedUnits:
    """Simulated training units followed by real-motion ones.

    Attributes:
        dataset: every clip's units, simulated clips first.
        origin: ``(clips,)`` 0 for a simulated clip, 1 for a real one.
        group: ``(clips,)`` the fold each clip's units share: its own index for a
            simulated clip, its take for a real one (a take's views and injected versions
            are one person's one performance).
    """

    dataset: UnitDataset
    origin: np.ndarray
    group: np.ndarray

    def unit_weight(self, units: KindUnits) -> np.ndarray | None:
        """``(N,)`` :data:`REAL_UNIT_WEIGHT` for real units, 1 for simulated ones; None
        without real units."""
        if not self.origin.any():
            return None
        return np.where(self.origin[units.clip] == 1, REAL_UNIT_WEIGHT, 1.0)


def join_real(
    simulated: UnitDataset, real: UnitDataset | None = None, take: np.ndarray | None = None
) -> JoinedUnits:
    """``simulated`` units with ``real`` ones after them (``take``: ``(real clips,)`` the
    take of each real clip); kinds the simulated units lack are left out."""
    count = len(simulated.correct)
    if real is None:
        return JoinedUnits(simulated, np.zeros(count, dtype=int), np.arange(count))
    kinds = {}
    for kind, units in simulated.kinds.items():
        extra = real.kinds.get(kind)
        if extra is None:
            kinds[kind] = units
            continue
        moved = replace(extra, clip=extra.clip + count)
        kinds[kind] = KindUnits.joined(*([getattr(units, f), getattr(moved, f)] for f in FIELDS))
    return JoinedUnits(
        UnitDataset(kinds, np.concatenate([simulated.correct, real.correct])),
        np.concatenate([np.zeros(count, dtype=int), np.ones(len(real.correct), dtype=int)]),
        np.concatenate([np.arange(count), count + np.asarray(take)]),
    )


def with_feedback(
    units: KindUnits,
    feedback: KindUnits | None,
    weight: float,
    unit_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One kind's training units with users' verdicts on that kind after them (``rows,
    present, severity, sample_weight``): a training unit weighs its ``unit_weight``
    ``(N,)`` (1 by default), a verdict's unit ``weight`` (in (0,
    :data:`MAX_FEEDBACK_WEIGHT`]); the weights are None when all would be 1, so the fit is
    the one without weights."""
    if not 0 < weight <= MAX_FEEDBACK_WEIGHT:
        raise ValueError(f"feedback weight {weight} is not in (0, {MAX_FEEDBACK_WEIGHT:g}]")
    if feedback is None or not len(feedback.present):
        return units.rows, units.present, units.severity, unit_weight
    if feedback.rows.shape[1] != units.rows.shape[1]:
        raise ValueError(
            f"feedback units have {feedback.rows.shape[1]} features, the training units "
            f"{units.rows.shape[1]}: export and fit with the same scoring code"
        )
    own = np.ones(len(units.present)) if unit_weight is None else unit_weight
    return (
        np.concatenate([units.rows, feedback.rows]),
        np.concatenate([units.present, feedback.present]),
        np.concatenate([units.severity, feedback.severity]),
        np.concatenate([own, np.full(len(feedback.present), weight)]),
    )


def out_of_fold(
    units: KindUnits,
    kind: str = "",
    folds: int = FOLDS,
    groups: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """``(N,)`` each unit's probability from a classifier trained on the other folds
    (folds grouped by ``groups`` ``(N,)``, by default the unit's clip, so no clip is
    judged by a model that saw it), each training unit weighing ``sample_weight``."""
    groups = units.clip if groups is None else groups
    probability = np.zeros(len(units.present))
    split = GroupKFold(n_splits=min(folds, len(np.unique(groups))))
    for train, test in split.split(units.rows, units.present, groups):
        if units.present[train].min() == units.present[train].max():
            probability[test] = units.present[train][0]  # one class only: it is the answer
            continue
        weight = None if sample_weight is None else sample_weight[train]
        model = fit_classifier(units.rows[train], units.present[train], kind, weight)
        probability[test] = model.predict_proba(units.rows[test])[:, 1]
    return probability


def correct_in_kind(units: KindUnits, clips: int) -> np.ndarray:
    """``(clips,)`` the clips none of whose ``units`` holds an error of their kind: those
    without any error, and those whose errors are of other kinds. Counting only clips
    without any error made labelling a real take's heel lifts take its squats out of the
    negatives of every other kind too, and loosened those kinds' thresholds
    (docs/design-notes.md, session 23's refit)."""
    correct = np.ones(clips, dtype=bool)
    correct[units.clip[units.present == 1]] = False
    return correct


def alarm_share(
    flagged: np.ndarray, units: KindUnits, correct: np.ndarray, origin: np.ndarray
) -> float:
    """The share of correct clips with a ``flagged`` ``(N,)`` unit, averaged over the
    clips' origins ``origin`` ``(clips,)`` (simulated, real): a few hundred real correct
    clips count as much as thousands of simulated ones."""
    alarmed = np.zeros(len(correct), dtype=bool)
    alarmed[units.clip[flagged]] = True
    shares = [
        alarmed[correct & (origin == group)].mean()
        for group in np.unique(origin)
        if (correct & (origin == group)).any()
    ]
    return float(np.mean(shares)) if shares else 0.0


def operating_point(
    flagged: np.ndarray, units: KindUnits, correct: np.ndarray, origin: np.ndarray
) -> tuple[float, float, float, float]:
    """Precision, recall and F1 over ``units`` of the ``flagged`` ``(N,)`` ones, and the
    false-alarm share of correct clips (:func:`alarm_share`)."""
    positive = units.present == 1
    found = int((flagged & positive).sum())
    precision, recall, f1 = f1_from_counts(flagged.sum(), found, positive.sum(), found)
    return float(precision), float(recall), float(f1), alarm_share(flagged, units, correct, origin)


def choose_threshold(
    probability: np.ndarray,
    units: KindUnits,
    confidence: np.ndarray,
    correct: np.ndarray,
    origin: np.ndarray | None = None,
) -> dict:
    """The probability threshold and minimum 2D confidence with the best merit: F1 over
    units less ALARM_PENALTY times the share of ``correct`` clips with any flagged unit
    (:func:`alarm_share`; ties: the stricter). A flagged unit seen below the minimum
    confidence is a note, not an event, so it neither finds an error nor alarms.

    Args:
        probability: ``(N,)`` out-of-fold probabilities of ``units``.
        confidence: ``(N,)`` mean 2D confidence of each unit's segment.
        correct: ``(clips,)`` which clips count as correct (:func:`correct_in_kind`).
        origin: ``(clips,)`` where each clip comes from (0 simulated, 1 real); all
            simulated by default.
    """
    origin = np.zeros(len(correct), dtype=int) if origin is None else origin
    best = None
    for threshold in THRESHOLDS:
        for min_confidence in MIN_CONFIDENCES:
            flagged = (probability >= threshold) & (confidence >= min_confidence)
            precision, recall, f1, alarms = operating_point(flagged, units, correct, origin)
            key = (round(f1 - ALARM_PENALTY * alarms, 6), float(threshold), min_confidence)
            if best is None or key > best[0]:
                figures = {
                    "threshold": float(threshold),
                    "min_confidence": min_confidence,
                    "precision": round(precision, 3),
                    "recall": round(recall, 3),
                    "f1": round(f1, 3),
                    "false_alarm_rate": round(alarms, 4),
                }
                best = (key, figures)
    return best[1]


def figures_at(
    chosen: dict,
    probability: np.ndarray,
    units: KindUnits,
    confidence: np.ndarray,
    correct: np.ndarray,
) -> dict:
    """F1 and false-alarm share of ``units`` at the ``chosen`` threshold and minimum
    confidence (out-of-fold ``probability``; e.g. the real units alone)."""
    flagged = (probability >= chosen["threshold"]) & (confidence >= chosen["min_confidence"])
    _, _, f1, alarms = operating_point(flagged, units, correct, np.zeros(len(correct), int))
    return {
        "units": len(units.present),
        "with_error": int(units.present.sum()),
        "f1": round(f1, 3),
        "false_alarm_rate": round(alarms, 4),
    }


def timed_movements() -> list[str]:
    """The movements done to music: their trainer has beats, so their sessions come with
    beat times and are judged move by move on the beat."""
    cache: dict = {}
    return [m for m in MOVEMENTS if reference_for(m, cache)[0].beats_per_rep]


def knee_net_summary() -> dict | None:
    """What the detector's knee evidence was read with: the bundled knee network's
    training clips, held-out AUC and file digest (``None`` without one)."""
    network = knee_net.bundled()
    if network is None:
        return None
    return {
        "sha256": hashlib.sha256(knee_net.DEFAULT_PATH.read_bytes()).hexdigest()[:16],
        "folders": network.info.get("folders"),
        "clips": network.info.get("clips"),
        "held_out_auc": network.info.get("held_out_auc"),
    }


def train_detector(
    training: list[Path],
    validation: Path,
    population: PopulationModel,
    cache: Path | None = None,
    feedback: dict[str, KindUnits] | None = None,
    feedback_weight: float = 1.0,
    real: RealUnits | None = None,
) -> FormErrorDetector:
    """Train on the clips in the ``training`` folders with thresholds chosen out of fold
    (:func:`choose_threshold`), then record its figures on the ``validation`` clips.
    ``cache``: a folder to keep the training units in (:func:`cached_unit_dataset`).
    ``feedback``: users' verdicts as lifted units per kind (:mod:`lab.feedback`), each
    weighing ``feedback_weight`` simulated units in the lifted models' fit; thresholds are
    still chosen on the simulated units, whose every unit is labelled. ``real``: units of
    real motion (:mod:`lab.real_training_units`), each weighing :data:`REAL_UNIT_WEIGHT`
    simulated ones, in the fit and in the choice of thresholds (false alarms on real
    correct clips count as much as on simulated ones)."""
    # Each folder's units are cached on their own, so adding a folder scores only its clips.
    folders = [sorted(folder.glob("*.clip.npz")) for folder in training]
    paths = [path for folder_paths in folders for path in folder_paths]
    firsts = np.cumsum([0] + [len(part) for part in folders[:-1]]).tolist()
    if not paths:
        raise ValueError(f"no clip files in {', '.join(map(str, training))}")
    lifter = Lifter.for_recordings()
    detector = FormErrorDetector(
        info={
            "training_clips": len(paths),
            "training_folders": [str(folder) for folder in training],
            "validation_folder": str(validation),
            "scikit_learn": sklearn.__version__,
            "lifter": lifter.metadata.version,
            "units": {},
            "out_of_fold": {},
            "timed_movements": timed_movements(),
            "knee_net": knee_net_summary(),
        }
    )
    if real is not None:
        detector.info["real_units"] = real.summary() | {"weight": REAL_UNIT_WEIGHT}
        detector.info["out_of_fold_real"] = {}
    for source in PoseSource:
        detector.models[source] = {}
        detector.info["units"][source] = {}
        detector.info["out_of_fold"][source] = {}
        simulated = UnitDataset.concatenated(
            [
                cached_unit_dataset(part, source, lifter, population, cache, first)
                for part, first in zip(folders, firsts, strict=True)
                if part
            ]
        )
        joined = (
            join_real(simulated, real.datasets[source], real.take) if real else join_real(simulated)
        )
        for kind, units in tqdm(sorted(joined.dataset.kinds.items()), desc=f"fit ({source})"):
            columns = feature_names(trace_sources(kind), MOVEMENTS, FEATURE_NAMES)
            verdicts = (feedback or {}).get(kind) if source is PoseSource.LIFTED else None
            unit_weight = joined.unit_weight(units)
            rows, present, severity, weight = with_feedback(
                units, verdicts, feedback_weight, unit_weight
            )
            model = fit_kind(rows, present, severity, columns, kind, weight)
            confidence = units.rows[:, columns.index("confidence")]
            groups = joined.group[units.clip]
            probability = out_of_fold(units, kind, groups=groups, sample_weight=unit_weight)
            correct, origin = correct_in_kind(units, len(joined.origin)), joined.origin
            chosen = choose_threshold(probability, units, confidence, correct, origin)
            model.threshold, model.min_confidence = chosen["threshold"], chosen["min_confidence"]
            detector.models[source][kind] = model
            detector.info["out_of_fold"][source][kind] = chosen
            detector.info["units"][source][kind] = {
                "units": len(units.present),
                "with_error": int(units.present.sum()),
            }
            is_real = origin[units.clip] == 1
            if is_real.any():
                real_units = KindUnits(*(getattr(units, f)[is_real] for f in FIELDS))
                figures = figures_at(
                    chosen,
                    probability[is_real],
                    real_units,
                    confidence[is_real],
                    correct & (origin == 1),
                )
                detector.info["out_of_fold_real"].setdefault(source.value, {})[kind] = figures
    if feedback:
        detector.info["feedback"] = {
            "weight": feedback_weight,
            "units": {
                kind: {"units": len(units.present), "confirmed": int(units.present.sum())}
                for kind, units in sorted(feedback.items())
            },
        }
    detector.info["validation"] = validation_figures(detector, validation, population, lifter)
    return detector


def validation_figures(
    detector: FormErrorDetector,
    validation: Path,
    population: PopulationModel,
    lifter: Lifter,
    strictness: str = "intermediate",
) -> dict[str, dict]:
    """Per pose source, the finished detector's figures on the labelled ``validation``
    clips (per kind, and the share of correct clips with any false alarm)."""
    paths = sorted(validation.glob("*.clip.npz"))
    if not paths:
        raise ValueError(f"no clip files in {validation}")
    cache: dict = {}
    trial = replace(population, detector=detector)
    figures = {}
    for source in PoseSource:
        result = score_clips(prepare_clips(paths, source, lifter), trial, strictness, cache)
        figures[source.value] = result.summary(len(paths))
    return figures
