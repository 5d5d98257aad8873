"""``coach fit-scoring`` and ``coach evaluate-scoring``: the form-error detector, measured.

Fitting: correct (error-free) simulated sessions of many bodies, flexibilities, tempos
and cameras, filmed with detector noise and lifted by the bundled lifter, give the
population model of correct-form variation (:mod:`scoring.population`, fitted by
:mod:`lab.population_fitting`); labelled validation clips calibrate its thresholds
(:mod:`lab.calibration`) and labelled training clips train the learned detector
(:mod:`lab.detector_training`).

Evaluation: held-out simulated clips with labelled errors, scored from the exact 3D
and from the bundled lifter on noisy 2D. Per error kind: precision, recall and F1 of
(kind, segment) events against labels (an event counts when it overlaps a label of the
same kind and segment), the timing IoU of detected labels, and the share of correct
clips with any false alarm (counted by :mod:`lab.tallies`); with ``--live``, also the
cues the live socket sends (:mod:`lab.live_eval`).
"""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from lab.calibration import calibrate_thresholds, score_clips
from lab.clips import MODE_NAMES, lift_clip, prepare_clips, reference_for
from lab.detector_training import train_detector
from lab.f1_chart import interval_text, plot_f1
from lab.feedback import feedback_dataset, load_feedback
from lab.live_eval import LIVE_MODE, live_result
from lab.population_fitting import fit_population
from lab.real_training_units import cached_real_units
from lab.tallies import severity_cells, severity_header
from pose3d.lifter import Lifter
from scoring import PopulationModel
from synthetic_data.clip import read_clip
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.movements import MOVEMENTS


def fit_scoring(
    sessions: int,
    seed: int,
    validation: Path | None = None,
    out: Path | None = None,
    training: list[Path] | None = None,
    units_cache: Path | None = None,
    feedback: Path | None = None,
    feedback_weight: float = 1.0,
    real_mocap: Path | None = None,
    style_variation: float = 0.0,
    stance_variation: float = 0.0,
) -> Path:
    """Fit and save the population model from ``sessions`` correct sessions (lifted, and
    their exact 3D; their posture differing from the trainer's by ``style_variation`` and
    their toes turned out by ``stance_variation``, :mod:`synthetic_data.style`); with
    labelled ``validation`` clips, calibrate its decision thresholds on them; with
    labelled ``training`` clip folders too, train the learned detector
    (:mod:`lab.detector_training`, its units kept in ``units_cache``) and measure it on
    ``validation``. ``feedback``: a ``coach-api export-feedback`` folder whose verdicts
    join the detector's training, each unit weighing ``feedback_weight`` simulated ones
    (:mod:`lab.feedback`). ``real_mocap``: the unpacked motion-capture archives (with
    their ``MANIFEST.tsv``) whose train-split exercise takes join the
    detector's training (:mod:`lab.real_training_units`)."""
    if training and validation is None:
        raise ValueError("training the detector needs validation clips to calibrate it on")
    if feedback is not None and not training:
        raise ValueError("feedback joins the detector's training: give --training too")
    if real_mocap is not None and not training:
        raise ValueError("real motion joins the detector's training: give --training too")
    verdicts = load_feedback(feedback) if feedback is not None else []
    lifter = Lifter.for_recordings()
    cache: dict = {}
    movements = list(MOVEMENTS)

    sessions_lifted, sessions_exact = [], []
    for index in tqdm(range(sessions), desc="correct sessions"):
        clip = generate_clip(
            ClipRequest(
                seed=seed + index,
                movement=movements[index % len(movements)],
                errors=[],
                style_variation=style_variation,
                stance_variation=stance_variation,
            )
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
        # Verdicts are scored against this fit's population, as the simulated units are.
        units = feedback_dataset(verdicts, lifter, model) if verdicts else None
        real = cached_real_units(real_mocap, lifter, model, units_cache) if real_mocap else None
        model.detector = train_detector(
            training, validation, model, units_cache, units, feedback_weight, real
        )
    return model.save(out) if out else model.save()


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
    with ``live``, also the live socket's cues (:mod:`lab.live_eval`)."""
    paths = sorted(clips_dir.glob("*.clip.npz"))[:limit]
    if not paths:
        raise ValueError(f"no clip files in {clips_dir}")
    lifter = Lifter.for_recordings()
    population = (
        PopulationModel.load(population_path) if population_path else PopulationModel.load()
    )
    cache: dict = {}
    results = {}
    for source, name in MODE_NAMES.items():
        prepared = prepare_clips(paths, source, lifter)
        results[name] = score_clips(prepared, population, strictness, cache).summary(len(paths))
    if live:
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
            f"(90% interval {interval_text(result['macro_f1_interval'])}), "
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
                f"| {interval_text(m.get('f1_interval'))} | {m['timing_iou']} "
                f"| {m['labels']} | {m['events']} |"
            )
        header, rule = severity_header()
        lines += ["", f"| error kind {header}|", f"|---{rule}|"]
        lines += [
            f"| {kind} {severity_cells(m)}|"
            for kind, m in result["per_kind"].items()
            if m["labels"]
        ]
        lines.append("")
    lines += [
        "Intervals: 5th to 95th percentile over 1000 bootstrap resamples of the clips; a kind "
        "with few labels can move that far on another draw of clips. Recall by severity: "
        "the labels of each band of peak severity (0.2 barely there .. 1 gross) and the "
        "share found.",
        "",
    ]
    plot_f1(results, out / "f1.png")
    lines += ["![F1 per error kind](f1.png)", ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"
