"""What the training and evaluation commands hand to the model life cycle: the figures of
their reports as flat metrics, their outputs as artifacts, and ``--register``'s new
version (:mod:`lifecycle.registry`) with a card naming the run, data and command."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from lifecycle.registry import DETECTOR_FIGURES, ModelCard, register
from lifecycle.tracking import Tracker, command_line


def mode_figures(results: dict[str, dict], prefix: str) -> dict[str, float]:
    """``{"<prefix>.<mode>.macro_f1": ...}`` from ``{mode: ModeResult.summary()}``; modes
    named in words (``"lifted from noisy 2D"``) keep only their first word."""
    return {
        f"{prefix}.{mode.split()[0]}.{name}": float(summary[name])
        for mode, summary in results.items()
        for name in DETECTOR_FIGURES
        if name in summary
    }


def lifter_report_figures(metrics_json: Path) -> dict[str, float]:
    """The overall figures (mm) of each model in a ``coach evaluate`` report, named
    ``<label>.<figure>_mm`` (label: the model's version and widths)."""
    report = json.loads(Path(metrics_json).read_text())
    return {
        f"{label.split()[0]}.{name}_mm": float(value)
        for label, summary in report.items()
        for name, value in summary["overall"].items()
        if name != "frames"
    }


def real_scoring_figures(metrics_json: Path) -> dict[str, float]:
    """The headline figures of a ``coach evaluate-scoring-real`` report per group, pose
    source and decision maker (``real.held-out.lifted.learned.macro_f1``)."""
    groups = json.loads(Path(metrics_json).read_text())["groups"]
    figures: dict[str, float] = {}
    for group, by_source in groups.items():
        for source, by_decider in by_source.items():
            named = {decider.split()[0]: summary for decider, summary in by_decider.items()}
            figures |= mode_figures(named, f"real.{group.split()[0]}.{source.split()[0]}")
    return figures


def detector_files(population_json: Path) -> dict[str, Path]:
    """The files ``fit-scoring`` wrote, under a detector version's names (the learned
    detector's only when it trained one)."""
    from scoring.population import detector_path

    detector = detector_path(Path(population_json))
    files = {
        "population.json": Path(population_json),
        "population.detector.npz": detector,
        "population.detector.json": detector.with_suffix(".json"),
    }
    return {name: path for name, path in files.items() if path.is_file()}


def validation_figures(population_json: Path) -> dict[str, float]:
    """The learned detector's figures on the validation clips it was calibrated on
    (``validation.<mode>.macro_f1``...); none without a detector."""
    info = detector_files(population_json).get("population.detector.json")
    if info is None:
        return {}
    return mode_figures(json.loads(info.read_text()).get("validation", {}), "validation")


def log_outputs(tracker: Tracker, paths: list[Path]) -> None:
    """Log each of ``paths`` that exists (file or folder) as an artifact of the run."""
    for path in paths:
        if Path(path).exists():
            tracker.log_artifact(Path(path))


def register_files(
    kind: str,
    files: dict[str, Path],
    tracker: Tracker,
    metrics: dict[str, float],
    data: dict[str, str],
    label: str = "",
) -> str:
    """Register ``files`` (the kind's version file name -> where it was written) as a new
    version of ``kind`` from the tracked run (a run of its own when tracking is off);
    returns the version. No alias moves: ``coach models promote`` does that."""
    card = ModelCard(kind, label=label, metrics=metrics, data=data, command=command_line())
    with tempfile.TemporaryDirectory() as staging:
        for name, source in files.items():
            shutil.copy2(source, Path(staging) / name)
        return register(kind, Path(staging), card, tracker.run_id or None)
