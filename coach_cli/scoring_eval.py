"""``coach fit-scoring`` and ``coach evaluate-scoring``: the form-error detector, measured.

Fitting: correct (error-free) simulated sessions of many bodies, flexibilities, tempos
and cameras, filmed with detector noise and lifted by the bundled lifter, give the
population model of correct-form variation (:mod:`scoring.population`).

Evaluation: held-out simulated clips with labelled errors, scored from the exact 3D
and from the bundled lifter on noisy 2D. Per error kind: precision, recall and F1 of
(kind, segment) events against labels (an event counts when it overlaps a label of the
same kind and segment), the timing IoU of detected labels, and the share of correct
clips with any false alarm.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coach_cli.score import clip_performance, reference_from
from pose3d.keypoints import h36m_scores
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence
from scoring import PopulationModel, Reference, fit_population, score_session
from scoring.report import ErrorEvent
from synthetic_data.clip import Clip, read_clip
from synthetic_data.detector import film
from synthetic_data.errors import ERROR_KINDS
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip
from synthetic_data.movements import MOVEMENTS

ALL_KINDS = tuple(ERROR_KINDS)


def reference_for(movement: str, cache: dict) -> tuple[Reference, Clip]:
    """The trainer's reference of ``movement`` (built once)."""
    if movement not in cache:
        trainer = trainer_clip(movement)
        cache[movement] = (reference_from(clip_performance(trainer), movement), trainer)
    return cache[movement]


def film_phone(clip: Clip, seed: int):
    """What the phone sees of ``clip``: its first camera, MediaPipe-33, detector noise."""
    return film(clip, clip.cameras[0], np.random.default_rng(seed), layout="mediapipe33")


def lift_clip(clip: Clip, lifter: Lifter, seed: int):
    """Film ``clip`` as the phone would (:func:`film_phone`) and lift it.

    Returns the lifted poses ``(T, 17, 3)``, their H36M-order 2D scores ``(T, 17)`` and
    the MediaPipe keypoints and scores (for the 2D-only checks).
    """
    seen = film_phone(clip, seed)
    sequence = KeypointSequence(
        "mediapipe33", clip.fps, *seen.image_size, seen.keypoints, seen.scores
    )
    poses = lifter.lift_sequence(sequence)
    return poses, h36m_scores(seen.scores, "mediapipe33"), (seen.keypoints, seen.scores)


def fit_scoring(
    sessions: int,
    seed: int,
    validation: Path | None = None,
    out: Path | None = None,
    training: list[Path] | None = None,
    units_cache: Path | None = None,
) -> Path:
    """Fit and save the population model from ``sessions`` correct sessions (lifted, and
    their exact 3D); with labelled ``validation`` clips, calibrate its decision
    thresholds on them; with labelled ``training`` clip folders too, train the learned
    detector (:mod:`coach_cli.detector_training`, its units kept in ``units_cache``) and
    measure it on ``validation``."""
    if training and validation is None:
        raise ValueError("training the detector needs validation clips to calibrate it on")
    lifter = Lifter.for_recordings()
    cache: dict = {}
    movements = list(MOVEMENTS)

    sessions_lifted, sessions_exact = [], []
    for index in tqdm(range(sessions), desc="correct sessions"):
        clip = generate_clip(
            ClipRequest(seed=seed + index, movement=movements[index % len(movements)], errors=[])
        )
        reference, _ = reference_for(clip.movement, cache)
        poses, _, _ = lift_clip(clip, lifter, seed + index)
        beats = clip.beat_times or None
        sessions_lifted.append((reference, poses, clip.fps, beats))
        sessions_exact.append((reference, clip.h36m17(), clip.fps, beats))
    model = fit_population(sessions_lifted)
    model.exact_stats = fit_population(sessions_exact).stats
    if validation is not None:
        model.thresholds = calibrate_thresholds(validation, model)
    if training:
        from coach_cli.detector_training import train_detector

        model.detector = train_detector(training, validation, model, units_cache)
    return model.save(out) if out else model.save()


def f1_from_counts(events, true_events, labels, found_labels):
    """Precision, recall and F1 of events against labels (numbers or equal-shape arrays)."""
    events, true_events, labels, found_labels = map(
        np.asarray, (events, true_events, labels, found_labels)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(events > 0, true_events / events, 0.0)
        recall = np.where(labels > 0, found_labels / labels, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    return precision, recall, f1


@dataclass
class KindTally:
    """Counts for one error kind."""

    events: int = 0
    true_events: int = 0
    labels: int = 0
    found_labels: int = 0
    ious: list[float] = field(default_factory=list)

    def add(self, other: KindTally) -> None:
        self.events += other.events
        self.true_events += other.true_events
        self.labels += other.labels
        self.found_labels += other.found_labels
        self.ious += other.ious

    def counts(self) -> tuple[int, int, int, int]:
        """``(events, true events, labels, found labels)``, what F1 is made of."""
        return self.events, self.true_events, self.labels, self.found_labels

    def metrics(self) -> dict:
        precision, recall, f1 = (float(v) for v in f1_from_counts(*self.counts()))
        return {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "timing_iou": round(float(np.mean(self.ious)), 3) if self.ious else 0.0,
            "labels": self.labels,
            "events": self.events,
        }


def _intervals(clip: Clip) -> dict[tuple[str, str], list[tuple[float, float]]]:
    spans = defaultdict(list)
    for label in clip.errors:
        spans[(label.kind, label.segment)].append(
            (label.start_frame / clip.fps, label.end_frame / clip.fps)
        )
    return spans


def tally(clip: Clip, errors: list[ErrorEvent], tallies: dict[str, KindTally]) -> bool:
    """Add one clip's events and labels to ``tallies``; True if it raised any event."""
    labels = _intervals(clip)
    for event in errors:
        tallies[event.kind].events += 1
        spans = labels.get((event.kind, event.segment), [])
        tallies[event.kind].true_events += any(
            a < event.end_s and event.start_s < b for a, b in spans
        )
    for (kind, segment), spans in labels.items():
        events = [e for e in errors if e.kind == kind and e.segment == segment]
        for a, b in spans:
            tallies[kind].labels += 1
            hits = [e for e in events if a < e.end_s and e.start_s < b]
            if hits:
                tallies[kind].found_labels += 1
                lo, hi = min(e.start_s for e in hits), max(e.end_s for e in hits)
                overlap = sum(max(0.0, min(b, e.end_s) - max(a, e.start_s)) for e in hits)
                tallies[kind].ious.append(min(1.0, overlap / (max(b, hi) - min(a, lo))))
    return bool(errors)


MODES = ("ground-truth 3D", "lifted from noisy 2D")
BOOTSTRAP_RESAMPLES = 1000


@dataclass
class PreparedClip:
    """One labelled clip with the poses to score in one mode (``scores`` None: exact)."""

    clip: Clip
    poses: np.ndarray
    scores: np.ndarray | None
    keypoints_2d: tuple[np.ndarray, np.ndarray] | None

    def observed(self) -> dict:
        """What the phone and the music add to the poses, as scoring's keyword arguments
        (``score_session`` and ``session_evidence`` take the same ones)."""
        return {
            "scores": self.scores,
            "beat_times": self.clip.beat_times or None,
            "keypoints_2d": self.keypoints_2d,
        }


def prepare_clip(clip: Clip, number: int, mode: str, lifter: Lifter) -> PreparedClip:
    """Film ``clip`` (seeded by ``number``) and, for the lifted mode, lift it. Both modes
    see the phone's 2D landmarks (the heel and knee image measures have no exact-3D
    counterpart)."""
    if mode == MODES[0]:
        seen = film_phone(clip, number)
        return PreparedClip(clip, clip.h36m17(), None, (seen.keypoints, seen.scores))
    return PreparedClip(clip, *lift_clip(clip, lifter, number))


def prepare_clips(paths: list[Path], mode: str, lifter: Lifter) -> list[PreparedClip]:
    """Read and prepare (:func:`prepare_clip`) every clip."""
    return [
        prepare_clip(read_clip(path), number, mode, lifter)
        for number, path in enumerate(tqdm(paths, desc=f"prepare ({mode})", leave=False))
    ]


@dataclass
class ModeResult:
    """Tallies of one pass over the clips: per kind, and false alarms on correct clips."""

    tallies: dict[str, KindTally] = field(default_factory=lambda: defaultdict(KindTally))
    correct: int = 0
    alarms: int = 0  # correct clips with any event
    alarms_by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_clip: list[dict[str, tuple[int, int, int, int]]] = field(default_factory=list)

    def add_clip(self, clip: Clip, errors: list[ErrorEvent], correct: bool) -> None:
        """Tally the ``errors`` reported for ``clip`` against its labels; a ``correct``
        clip (no error at all) with any error reported is a false alarm."""
        tallies: dict[str, KindTally] = defaultdict(KindTally)
        flagged = tally(clip, errors, tallies)
        self.add_tallies(tallies)
        if correct:
            self.correct += 1
            self.alarms += flagged
            for kind in {e.kind for e in errors}:
                self.alarms_by_kind[kind] += 1

    def add_tallies(self, tallies: dict[str, KindTally]) -> None:
        """Add one clip's tallies (kept per clip too, for :meth:`f1_intervals`)."""
        for kind, counts in tallies.items():
            self.tallies[kind].add(counts)
        self.per_clip.append({kind: counts.counts() for kind, counts in tallies.items()})

    def f1_intervals(
        self, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
    ) -> tuple[dict[str, list[float]], list[float]]:
        """90% bootstrap intervals of each kind's F1 and of the macro F1, resampling
        clips: how far the figures could move on another draw of as many clips."""
        kinds = sorted(k for k, t in self.tallies.items() if t.labels)
        if not kinds or not self.per_clip:
            return {}, [0.0, 0.0]
        counts = np.array(
            [[clip.get(kind, (0, 0, 0, 0)) for kind in kinds] for clip in self.per_clip], float
        )  # (clips, kinds, 4)
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, len(counts), size=(resamples, len(counts)))
        sums = counts[draws].sum(axis=1)  # (resamples, kinds, 4)
        f1 = f1_from_counts(*np.moveaxis(sums, -1, 0))[2]  # (resamples, kinds)
        low, high = np.percentile(f1, [5, 95], axis=0).round(3).tolist()
        macro = np.percentile(f1.mean(axis=1), [5, 95]).round(3).tolist()
        return {kind: [low[i], high[i]] for i, kind in enumerate(kinds)}, macro

    def summary(self, clips: int) -> dict:
        per_kind = {kind: t.metrics() for kind, t in sorted(self.tallies.items())}
        intervals, macro_interval = self.f1_intervals()
        for kind, interval in intervals.items():
            per_kind[kind]["f1_interval"] = interval
        labelled = [m for m in per_kind.values() if m["labels"]]
        ious = [m["timing_iou"] for m in labelled if m["timing_iou"]] or [0]
        return {
            "per_kind": per_kind,
            "macro_f1": round(float(np.mean([m["f1"] for m in labelled])), 3) if labelled else 0.0,
            "macro_f1_interval": macro_interval,
            "timing_iou": round(float(np.mean(ious)), 3),
            "false_alarm_rate": round(self.alarms / self.correct, 3) if self.correct else 0.0,
            "correct_clips": self.correct,
            "clips": clips,
        }


def score_clips(
    prepared: list[PreparedClip],
    population: PopulationModel | None,
    strictness: str,
    cache: dict,
) -> ModeResult:
    """Score every prepared clip against its movement's trainer and tally the events."""
    result = ModeResult()
    for item in prepared:
        reference, _ = reference_for(item.clip.movement, cache)
        report = score_session(
            item.poses,
            item.clip.fps,
            reference,
            **item.observed(),
            strictness=strictness,
            population=population,
            include_ghost=False,
        )
        result.add_clip(item.clip, report.errors, correct=not item.clip.errors)
    return result


Z_SCALES = (0.4, 0.55, 0.7, 0.85, 1.0, 1.25, 1.5, 2.0, 3.0)
SEVERITY_SCALES = (0.2, 0.4, 0.7, 1.0, 1.5)
CONFIDENCE_SCALES = (0.6, 1.0)  # minimum 2D confidence 0.3 or 0.5 for a cue
ALARM_PENALTY = 10.0  # F1 given up per unit false-alarm rate when choosing thresholds


def calibrate_thresholds(
    clips_dir: Path, population: PopulationModel, strictness: str = "intermediate"
) -> dict[str, dict[str, list[float]]]:
    """Per pose source and error kind, the threshold factors with the best F1 on the
    labelled clips in ``clips_dir`` (a validation set: never the held-out clips), less
    ALARM_PENALTY times the share of correct clips on which that kind alarms. Ties go to
    the stricter (higher) thresholds."""
    paths = sorted(clips_dir.glob("*.clip.npz"))
    if not paths:
        raise ValueError(f"no clip files in {clips_dir}")
    lifter = Lifter.for_recordings()
    cache: dict = {}
    thresholds = {}
    for mode, source in zip(MODES, ("exact", "lifted"), strict=True):
        prepared = prepare_clips(paths, mode, lifter)
        best: dict[str, tuple] = {}
        grid = [(z, s, c) for z in Z_SCALES for s in SEVERITY_SCALES for c in CONFIDENCE_SCALES]
        for scales in tqdm(grid, desc=f"calibrate ({source})"):
            kinds = {kind: list(scales) for kind in ALL_KINDS}
            trial = replace(population, thresholds={source: kinds})
            result = score_clips(prepared, trial, strictness, cache)
            for kind, counts in result.tallies.items():
                if not counts.labels:
                    continue
                alarms = result.alarms_by_kind.get(kind, 0) / max(1, result.correct)
                merit = counts.metrics()["f1"] - ALARM_PENALTY * alarms
                key = (round(merit, 6), float(np.prod(scales)))
                if kind not in best or key > best[kind][0]:
                    best[kind] = (key, list(scales))
        thresholds[source] = {kind: scales for kind, (_, scales) in sorted(best.items())}
    return thresholds


def evaluate_scoring(
    clips_dir: Path,
    out: Path,
    strictness: str,
    limit: int | None,
    population_path: Path | None = None,
    live: bool = False,
) -> Path:
    """Score every clip in ``clips_dir`` both ways and write ``report.md`` + ``metrics.json``
    (with the bundled population model and detector, or the one at ``population_path``);
    with ``live``, also the live socket's cues (:mod:`coach_cli.live_eval`)."""
    paths = sorted(clips_dir.glob("*.clip.npz"))[:limit]
    if not paths:
        raise ValueError(f"no clip files in {clips_dir}")
    lifter = Lifter.for_recordings()
    population = (
        PopulationModel.load(population_path) if population_path else PopulationModel.load()
    )
    cache: dict = {}
    results = {}
    for mode in MODES:
        prepared = prepare_clips(paths, mode, lifter)
        results[mode] = score_clips(prepared, population, strictness, cache).summary(len(paths))
    if live:
        from coach_cli.live_eval import LIVE_MODE, live_result

        clips = [read_clip(path) for path in paths]
        results[LIVE_MODE] = live_result(clips, population, strictness).summary(len(paths))
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=1) + "\n")
    fitted = f"fitted on {population.sessions} correct sessions" if population else "none"
    detector = population.detector if population else None
    learned = (
        f"learned per-repetition detector trained on {detector.info.get('training_clips')} "
        "labelled clips (kinds it knows; rules for the rest)"
        if detector
        else "rules only"
    )
    lines = [
        f"# Form-error detection on {len(paths)} held-out clips ({clips_dir})",
        "",
        f"Strictness: {strictness}; lifter: {lifter.metadata.version}; population model: {fitted}; "
        f"decisions: {learned}.",
        "",
    ]
    for mode, result in results.items():
        lines += [
            f"## {mode}",
            "",
            f"Macro F1 {result['macro_f1']} "
            f"(90% interval {_interval(result['macro_f1_interval'])}), "
            f"timing IoU {result['timing_iou']}, false alarms on "
            f"{100 * result['false_alarm_rate']:.1f}% of {result['correct_clips']} correct clips.",
            "",
            "| error kind | precision | recall | F1 | F1 90% interval | timing IoU | labels "
            "| events |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for kind, m in result["per_kind"].items():
            lines.append(
                f"| {kind} | {m['precision']} | {m['recall']} | {m['f1']} "
                f"| {_interval(m.get('f1_interval'))} | {m['timing_iou']} "
                f"| {m['labels']} | {m['events']} |"
            )
        lines.append("")
    lines += [
        "Intervals: 5th to 95th percentile over 1000 bootstrap resamples of the clips; a kind "
        "with few labels can move that far on another draw of clips.",
        "",
    ]
    plot_f1(results, out / "f1.png")
    lines += ["![F1 per error kind](f1.png)", ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"


def _interval(interval: list[float] | None) -> str:
    return f"{interval[0]}-{interval[1]}" if interval else "-"


def plot_f1(results: dict[str, dict], path: Path) -> Path:
    """Bar chart of F1 per error kind, one bar per mode (whiskers: the 90% bootstrap
    interval), with the 0.9 target line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({kind for result in results.values() for kind in result["per_kind"]})
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / max(1, len(results))
    for number, (mode, result) in enumerate(results.items()):
        metrics = [result["per_kind"].get(kind, {}) for kind in kinds]
        f1 = np.array([m.get("f1", 0.0) for m in metrics])
        low, high = np.array([m.get("f1_interval", [m.get("f1", 0.0)] * 2) for m in metrics]).T
        ax.bar(
            np.arange(len(kinds)) + (number - (len(results) - 1) / 2) * width,
            f1,
            width,
            yerr=[f1 - low, high - f1],
            error_kw={"elinewidth": 0.8, "capsize": 2},
            label=f"{mode} (macro {result['macro_f1']:.2f})",
        )
    ax.axhline(0.9, color="grey", linestyle="--", linewidth=1, label="target 0.9")
    ax.set_xticks(np.arange(len(kinds)), [k.replace("_", " ") for k in kinds], rotation=25)
    ax.set_ylabel("F1")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
