"""The learned form-error detector: per repetition (or dance move), is this error there?

The rule-based judgement in :mod:`scoring.session` thresholds one z-score per frame.
That works on exact 3D, but a lifter trained on natural motion shrinks small deviations
(a knee caving in by 10 degrees comes out as 1-2), the timing of a range's top moves the
frame-by-frame difference more than a lower arm does, and the deviation from the trainer
alone cannot tell a stiff body from a shallow squat. A coach judges a repetition as a
whole, against the trainer *and* against the person's own other repetitions: the lifter's
bias is the same in every repetition of one person filmed by one camera, so it cancels.

For each check (:mod:`scoring.checks`) and *unit* of the session (a repetition, or a
4-beat move of a routine done to music), :func:`unit_features` describes the check's
signal in that unit: its level against the trainer, its z-score against the population
of correct performers, the same after taking the local peaks (robust to small timing
errors), relative to the user's other units, the other side's same evidence, every joint
angle's deviation (:func:`posture_features`), the 2D confidence and the camera view.
Knee errors add the knee measures of :mod:`scoring.knee_measures` (3D and 2D) and the
per-frame probabilities of :mod:`scoring.knee_net`, heels the 2D heel rise, routines the
lead or lag on the beat. A gradient-boosted classifier per
error kind (scikit-learn's, fitted by :mod:`lab.detector_fitting`), trained on labelled
simulated sessions lifted like real ones (``coach fit-scoring``), turns that into a
probability; a regressor trained on the same units gives the severity on the simulator's
0-1 scale (de-biased: the lifter's shrinkage is learned, not reported). Both are kept and
stored as flattened trees (:mod:`scoring.tree_ensembles`): judging needs no scikit-learn.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.special import expit

from scoring.tree_ensembles import FlatTrees, MalformedTrees, TreeBank

MOVE_BEATS = 4  # routines are judged per 4-count move
MIN_UNIT_S = 0.3


@dataclass(frozen=True)
class Unit:
    """Frames ``[start, end)`` of the user's session matched to one repetition or move.

    ``part`` is the move's index within a repetition (0 when units are repetitions):
    units with the same ``part`` show the same move, so they can be compared.
    """

    start: int
    end: int
    part: int


def session_units(
    track_index: np.ndarray,
    matched: np.ndarray,
    template_length: int,
    parts: int,
    fps: float,
) -> list[Unit]:
    """The user's units: runs of matched frames aligned to the same template repetition
    (or the same ``1/parts`` of it).

    Args:
        track_index: ``(T,)`` matched frame of the repeated template track.
        matched: ``(T,)`` frames inside the alignment.
        template_length: Frames of one template repetition.
        parts: Units per repetition (moves of a routine, else 1).
    """
    part_length = template_length / parts
    unit_id = np.where(matched, (track_index // part_length).astype(int), -1)
    units = []
    start = 0
    for t in range(1, len(unit_id) + 1):
        if t == len(unit_id) or unit_id[t] != unit_id[start]:
            if unit_id[start] >= 0 and (t - start) / fps >= MIN_UNIT_S:
                units.append(Unit(start, t, int(unit_id[start]) % parts))
            start = t
    return units


@dataclass
class Trace:
    """One check over the session, per frame (all ``(T,)``).

    Attributes:
        signal: Deviation from the trainer in the error's direction (check units).
        z: ``signal`` over its tolerance (trainer variability, population, floor).
        peak: The signal between local peaks (each side's maximum over a short window):
            a range of motion compared top to top, robust to a slightly early or late top.
        trough: The same between local minima.
        confidence: How well the camera shows this segment (2D scores, view).
        substantial: Frames where the check is meaningful (for ranges: near the top).
        source: What the trace measures: "3d" (the check's joint-angle signal), a knee
            measure ("3d_inward", "2d_bend", ...), "2d_heel_rise" or "beat" (the lead
            on the music).
    """

    kind: str
    segment: str
    signal: np.ndarray
    z: np.ndarray
    peak: np.ndarray
    trough: np.ndarray
    confidence: np.ndarray
    substantial: np.ndarray
    source: str = "3d"


def local_extremes(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Running maximum and minimum of ``values`` ``(T, F)`` over ``window`` frames."""
    window = max(1, window)
    return (
        maximum_filter1d(values, window, axis=0, mode="nearest"),
        minimum_filter1d(values, window, axis=0, mode="nearest"),
    )


STAT_NAMES = (
    "mean",
    "p90",
    "p10",
    "z_mean",
    "z_p90",
    "peak_p90",
    "trough_p10",
    "top_mean",
    "top_share",
    "key_mean",
)
KEY_SHARE = 0.9  # key frames: the user at least this far into the movement


def _unit_stats(traces: Sequence[Trace], unit: Unit, progress: np.ndarray) -> np.ndarray:
    """``(len(traces), len(STAT_NAMES))`` summary of each trace over ``unit``;
    ``progress`` ``(T,)`` is how far into the movement the user is (its key frames: the
    bottom of a squat, the top of a raise)."""
    frames = slice(unit.start, unit.end)
    series = np.stack(
        [np.stack([t.signal, t.z, t.peak, t.trough])[:, frames] for t in traces]
    )  # (traces, 4, L)
    low, high = np.percentile(series, [10, 90], axis=2)  # each (traces, 4)
    signal = series[:, 0]
    top = np.stack([t.substantial[frames] for t in traces])
    key = progress[frames] >= KEY_SHARE * progress[frames].max()
    top_share = top.mean(axis=1)
    top_mean = np.where(top.any(axis=1), (signal * top).sum(axis=1) / np.maximum(1, top.sum(1)), 0)
    return np.stack(
        [
            signal.mean(axis=1),
            high[:, 0],
            low[:, 0],
            series[:, 1].mean(axis=1),
            high[:, 1],
            high[:, 2],
            low[:, 3],
            top_mean,
            top_share,
            signal[:, key].mean(axis=1),
        ],
        axis=1,
    )


def _relative(stats: np.ndarray, units: Sequence[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's stats minus the median, and minus the minimum, over units showing the
    same move (``stats`` is ``(U, S)``): how this repetition differs from the user's own."""
    to_median, to_min = np.zeros_like(stats), np.zeros_like(stats)
    parts = np.array([u.part for u in units])
    for part in np.unique(parts):
        rows = parts == part
        to_median[rows] = stats[rows] - np.median(stats[rows], axis=0)
        to_min[rows] = stats[rows] - stats[rows].min(axis=0)
    return to_median, to_min


def feature_names(
    sources: Sequence[str], movements: Sequence[str], angles: Sequence[str]
) -> list[str]:
    """Column names of :func:`unit_features` rows for traces from ``sources``, with
    ``angles`` the joint-angle features (:data:`scoring.features.FEATURE_NAMES`)."""
    names = []
    for source in sources:
        stats = [f"{source}_{s}" for s in STAT_NAMES]
        names += stats + [f"{s}_vs_median" for s in stats] + [f"{s}_vs_min" for s in stats]
    return (
        names
        + [f"other_{name}" for name in names]
        + [f"{a}_{s}" for s in POSTURE_STATS for a in angles]
        + ["confidence", "facing", "side_on", "units", "unit_s"]
        + [f"is_{m}" for m in movements]
    )


POSTURE_STATS = ("p90", "p10", "p90_vs_median", "p10_vs_median")


@dataclass(frozen=True)
class UnitSummary:
    """What one unit shows on its own, before it is compared with the user's other units
    (:func:`unit_rows`). A live session keeps the summaries of its earlier repetitions
    instead of judging them again with each new one.

    Attributes:
        unit: The unit's frames (of the session or stretch it was summarised in).
        stats: Per (kind, segment), ``(traces, len(STAT_NAMES))``: each trace's summary.
        confidence: Per (kind, segment), the first trace's mean confidence over the unit.
        posture_high, posture_low: ``(F,)`` 90th and 10th percentiles of every joint
            angle's deviation from the trainer (degrees).
        facing, side_on: Mean ``|cos|`` and ``|sin|`` of the person's yaw to the camera.
        seconds: The unit's duration.
    """

    unit: Unit
    stats: dict[tuple[str, str], np.ndarray]
    confidence: dict[tuple[str, str], float]
    posture_high: np.ndarray
    posture_low: np.ndarray
    facing: float
    side_on: float
    seconds: float


def summarise_units(
    traces: Sequence[Trace],
    deviation: np.ndarray,
    progress: np.ndarray,
    units: Sequence[Unit],
    yaw_deg: np.ndarray,
    fps: float,
) -> list[UnitSummary]:
    """Each unit's :class:`UnitSummary`. ``deviation`` ``(T, F)`` is the user's joint
    angles minus the trainer's at the matched frames; ``progress`` ``(T,)`` how far into
    the movement the user is; ``yaw_deg`` ``(T,)`` the person's facing relative to the
    camera (0 facing it). Traces of the same kind and segment (3D, then 2D) share one
    row; the first one's confidence is the row's."""
    groups: dict[tuple[str, str], list[Trace]] = {}
    for trace in traces:
        groups.setdefault((trace.kind, trace.segment), []).append(trace)
    ordered = [trace for members in groups.values() for trace in members]
    yaw = np.radians(yaw_deg)
    summaries = []
    for unit in units:
        frames = slice(unit.start, unit.end)
        per_trace = _unit_stats(ordered, unit, progress)  # (traces, S)
        stats, index = {}, 0
        for key, members in groups.items():
            stats[key] = per_trace[index : index + len(members)]
            index += len(members)
        summaries.append(
            UnitSummary(
                unit=unit,
                stats=stats,
                confidence={k: float(m[0].confidence[frames].mean()) for k, m in groups.items()},
                posture_high=np.percentile(deviation[frames], 90, axis=0),
                posture_low=np.percentile(deviation[frames], 10, axis=0),
                facing=float(np.abs(np.cos(yaw[frames])).mean()),
                side_on=float(np.abs(np.sin(yaw[frames])).mean()),
                seconds=(unit.end - unit.start) / fps,
            )
        )
    return summaries


def unit_rows(
    summaries: Sequence[UnitSummary], movement: str, movements: Sequence[str]
) -> dict[tuple[str, str], np.ndarray]:
    """Per (kind, segment), the ``(U, len(feature_names))`` feature rows of the units
    ``summaries``: each unit's own evidence, the same relative to the user's other units
    (all of ``summaries``), the other side's, every joint angle's deviation
    (:func:`posture_features`), the 2D confidence and the camera view."""
    if not summaries:
        return {}
    units = [s.unit for s in summaries]
    keys = list(summaries[0].stats)
    blocks = {}
    for key in keys:
        stacked = np.stack([s.stats[key] for s in summaries])  # (U, traces, S)
        parts = []
        for member in range(stacked.shape[1]):
            stats = stacked[:, member]
            parts += [stats, *_relative(stats, units)]
        blocks[key] = np.concatenate(parts, axis=1)
    context = np.array([[s.facing, s.side_on, len(units), s.seconds] for s in summaries])
    onehot = np.tile([float(movement == m) for m in movements], (len(units), 1))
    posture = posture_features(
        np.stack([s.posture_high for s in summaries]),
        np.stack([s.posture_low for s in summaries]),
        units,
    )
    rows = {}
    for key in keys:
        # The other side's evidence, whole: a knee that travels further than its partner
        # in the same repetition, or both caving together, shows better than the
        # partner's mean and 90th percentile alone (docs/design-notes.md, scoring).
        other = [k for k in keys if k[0] == key[0] and k != key]
        partner = blocks[other[0]] if other else np.zeros_like(blocks[key])
        confidence = np.array([[s.confidence[key]] for s in summaries])
        rows[key] = np.concatenate(
            [blocks[key], partner, posture, confidence, context, onehot], axis=1
        )
    return rows


def posture_features(high: np.ndarray, low: np.ndarray, units: Sequence[Unit]) -> np.ndarray:
    """``(U, 4 F)`` how every joint angle differs from the trainer's in each unit: the
    90th and 10th percentiles of the deviation (user minus trainer, degrees; ``high`` and
    ``low`` ``(U, F)``) and the same relative to the user's other units. The whole
    posture tells errors from look-alikes: a knee bent further in a deeper repetition is
    depth, not the knee travelling past the toes."""
    high_vs, _ = _relative(high, units)
    low_vs, _ = _relative(low, units)
    return np.concatenate([high, low, high_vs, low_vs], axis=1)


def unit_features(
    traces: Sequence[Trace],
    deviation: np.ndarray,
    progress: np.ndarray,
    units: Sequence[Unit],
    movement: str,
    movements: Sequence[str],
    yaw_deg: np.ndarray,
    fps: float,
) -> dict[tuple[str, str], np.ndarray]:
    """Per (kind, segment) of ``traces``, the ``(U, len(feature_names))`` unit features
    of a whole session: :func:`summarise_units` then :func:`unit_rows` (arguments as
    there)."""
    summaries = summarise_units(traces, deviation, progress, units, yaw_deg, fps)
    return unit_rows(summaries, movement, movements)


STRICTNESS = {  # factor on the calibrated probability threshold, minimum severity
    "beginner": (1.4, 0.4),
    "intermediate": (1.0, 0.0),
    "expert": (0.7, 0.0),
}


@dataclass
class KindModel:
    """The detector of one error kind from one pose source.

    Attributes:
        classifier: P(error in this unit) from a :func:`unit_features` row (the logit:
            gradient-boosted trees, flattened).
        severity: The error's severity (0-1, the simulator's scale) where it is present
            (regression trees, flattened).
        threshold: Probability above which a unit is flagged (calibrated on validation
            clips for the "intermediate" strictness).
        columns: The feature names the models were trained on.
        min_confidence: Below this mean 2D confidence of the segment a flagged unit gets
            a note instead of a cue, and a session a "not judged" note (calibrated too).
    """

    classifier: FlatTrees
    severity: FlatTrees
    threshold: float
    columns: list[str]
    min_confidence: float = 0.5


@dataclass
class FormErrorDetector:
    """Per pose source and error kind, a :class:`KindModel`; ``info`` records how the
    detector was trained and measured."""

    models: dict[str, dict[str, KindModel]] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    # Per source: its models' trees joined once into one TreeBank (walked together: a
    # check's kinds cost about one kind's), and where each kind's are in it.
    _banks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def knows(self, source: str, kind: str) -> bool:
        return kind in self.models.get(source, {})

    @property
    def timed_movements(self) -> set[str]:
        """Movements done to music: trained on sessions with the beat times."""
        return set(self.info.get("timed_movements", ()))

    def fits(self, movement: str, timed: bool) -> bool:
        """Whether a session of ``movement``, with (``timed``) or without the music's beat
        times, looks like what the detector was trained on. Routines done to music were
        trained judged move by move on the beat; without beats their units are whole
        routines, which it never saw (a correct dance then looks like low arms)."""
        return timed == (movement in self.timed_movements)

    def judge(
        self, source: str, kind: str, rows: np.ndarray, strictness: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``rows`` ``(U, C)`` of one (kind, segment): ``(U,)`` flagged, probability
        and severity."""
        return self.judge_many(source, [(kind, rows)], strictness)[0]

    def judge_many(
        self, source: str, checks: Sequence[tuple[str, np.ndarray]], strictness: str
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`judge` for each ``(kind, rows)`` of ``checks``, every model's trees
        walked in the same numpy steps (a check's six kinds cost about one kind's)."""
        factor, min_severity = STRICTNESS[strictness]
        bank, first_tree = self._tree_bank(source)
        walks = []
        for kind, rows in checks:
            columns = self.models[source][kind].columns
            if rows.shape[1] != len(columns):
                raise ValueError(
                    f"{kind} detector expects {len(columns)} features per unit, got "
                    f"{rows.shape[1]}: retrain it (coach fit-scoring) after changing the features"
                )
            walks += [(first_tree[kind], rows), (first_tree[kind] + 1, rows)]
        raw = bank.raw(walks)
        judged = []
        for number, (kind, _) in enumerate(checks):
            probability = expit(raw[2 * number])
            severity = np.clip(raw[2 * number + 1], 0.0, 1.0)
            threshold = min(0.95, self.models[source][kind].threshold * factor)
            judged.append(
                ((probability >= threshold) & (severity >= min_severity), probability, severity)
            )
        return judged

    def _tree_bank(self, source: str) -> tuple[TreeBank, dict[str, int]]:
        """All of ``source``'s models in one :class:`TreeBank` (made on first use, again
        when the models change), and where each kind's classifier is in it (its severity
        model follows)."""
        kinds = sorted(self.models[source])
        models = [self.models[source][kind] for kind in kinds]
        trees = [tree for model in models for tree in (model.classifier, model.severity)]
        kept = self._banks.get(source)
        if kept is None or kept[0] != trees:  # flattened trees compare by identity
            bank = TreeBank(trees)
            kept = self._banks[source] = (trees, bank, {k: 2 * i for i, k in enumerate(kinds)})
        return kept[1], kept[2]

    def save(self, path: str | Path) -> Path:
        """Write the models (an ``.npz`` of plain arrays, see :meth:`load`) and ``info``
        beside them as readable JSON; the file is whole or absent (written aside, then
        renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays, described = {}, {}
        for source, kinds in self.models.items():
            described[source] = {}
            for kind, model in sorted(kinds.items()):
                described[source][kind] = {
                    "threshold": model.threshold,
                    "columns": list(model.columns),
                    "min_confidence": model.min_confidence,
                }
                for role in ("classifier", "severity"):
                    for name, values in getattr(model, role).to_arrays().items():
                        arrays[f"{source}/{kind}/{role}/{name}"] = values
        meta = {"format": DETECTOR_FORMAT, "models": described, "info": self.info}
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as file:
            np.savez_compressed(file, meta=np.array(json.dumps(meta)), **arrays)
        partial.replace(path)
        path.with_suffix(".json").write_text(json.dumps(self.info, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> FormErrorDetector | None:
        """The saved detector, or ``None`` if there is none; MalformedDetector naming what
        is wrong with a file that is not one. Plain arrays only (no pickle): reading a
        model file runs no code, whoever wrote it."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise MalformedDetector(f"{path} is not a detector file: {error}") from error
        try:
            meta = json.loads(str(arrays.pop("meta")))
            found = meta.get("format")
        except (KeyError, ValueError, AttributeError) as error:
            raise MalformedDetector(f"{path} has no readable description: {error}") from error
        if found != DETECTOR_FORMAT:
            raise MalformedDetector(f"{path} is detector format {found}, not {DETECTOR_FORMAT}")
        try:
            models = {
                source: {
                    kind: _kind_model(arrays, f"{source}/{kind}", described)
                    for kind, described in kinds.items()
                }
                for source, kinds in meta["models"].items()
            }
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise MalformedDetector(f"{path}: {error}") from error
        return cls(models, meta.get("info", {}))


DETECTOR_FORMAT = 1  # FormErrorDetector.save's layout; a change makes old files refused


class MalformedDetector(ValueError):
    """A detector file that cannot be read (what is wrong is said)."""


def _kind_model(arrays: dict[str, np.ndarray], prefix: str, described: dict) -> KindModel:
    """One kind's stored model: its trees under ``prefix`` and ``described`` (threshold,
    columns, minimum confidence); MalformedTrees if its trees cannot be walked."""
    columns = [str(column) for column in described["columns"]]
    trees = {}
    for role in ("classifier", "severity"):
        start = f"{prefix}/{role}/"
        stored = {
            key[len(start) :]: values for key, values in arrays.items() if key.startswith(start)
        }
        try:
            trees[role] = FlatTrees.from_arrays(stored, len(columns))
        except MalformedTrees as error:
            raise MalformedTrees(f"{prefix} {role}: {error}") from error
    return KindModel(
        trees["classifier"],
        trees["severity"],
        float(described["threshold"]),
        columns,
        float(described["min_confidence"]),
    )
