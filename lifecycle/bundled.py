"""The models that ship with the package, as registry folders.

The bundled files (``pose3d/models``, ``scoring/models``) stay the offline default of
``make run``; :func:`bundled_folder` lays one out as a version folder (the kind's file
names, :mod:`lifecycle.registry`) so ``coach models seed`` can register it as the first
champion of an empty registry.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lifecycle.registry import DETECTOR_FIGURES, ModelCard, check_folder, kind_of


def bundled_files(kind: str) -> dict[str, Path]:
    """The bundled file behind each of ``kind``'s version files (name -> path)."""
    from pose3d.lifter import DEFAULT_CHECKPOINT, OFFLINE_CHECKPOINT
    from scoring.knee_net import DEFAULT_PATH as KNEE_NET
    from scoring.population import DEFAULT_PATH as POPULATION
    from scoring.population import detector_path

    kind_of(kind)
    if kind == "lifter-causal":
        return {"lifter.pt": DEFAULT_CHECKPOINT}
    if kind == "lifter-recordings":
        return {"lifter.pt": OFFLINE_CHECKPOINT}
    if kind == "detector":
        detector = detector_path(POPULATION)
        return {
            "population.json": POPULATION,
            "population.detector.npz": detector,
            "population.detector.json": detector.with_suffix(".json"),
        }
    return {"knee_net.pt": KNEE_NET, "knee_net.json": KNEE_NET.with_suffix(".json")}


def bundled_folder(kind: str, into: Path) -> Path:
    """Copy the bundled files of ``kind`` into ``into`` under the version's file names."""
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    for name, source in bundled_files(kind).items():
        shutil.copy2(source, into / name)
    check_folder(kind, into)
    return into


def bundled_label(kind: str) -> str:
    """The bundled model's own version label (the lifter checkpoint's ``version``)."""
    if kind.startswith("lifter"):
        from pose3d.checkpoint import load_checkpoint

        return str(load_checkpoint(bundled_files(kind)["lifter.pt"]).metadata.version)
    return f"bundled-{kind}"


def bundled_figures(kind: str) -> dict[str, float]:
    """The figures recorded beside a bundled model when it was made: a lifter's
    checkpoint metrics (mm, on the evaluation it was bundled with), the detector's on its
    validation clips (``validation.<pose source>.*``), the knee network's held-out AUC per
    output (none where the file is missing). What ``GET /v1/models`` shows for it, served
    bundled or from the registry."""
    files = bundled_files(kind)
    if not all(path.is_file() for path in files.values()):
        return {}
    if kind.startswith("lifter"):
        from pose3d.checkpoint import load_checkpoint

        metrics = load_checkpoint(files["lifter.pt"]).metadata.metrics
        return {name: float(value) for name, value in metrics.items()}
    if kind == "knee-net":
        aucs = json.loads(files["knee_net.json"].read_text()).get("held_out_auc", {})
        return {f"held_out_auc.{name}": float(value) for name, value in aucs.items()}
    validation = json.loads(files["population.detector.json"].read_text()).get("validation", {})
    return {
        f"validation.{source}.{name}": float(figures[name])
        for source, figures in validation.items()
        for name in DETECTOR_FIGURES
        if name in figures
    }


def bundled_card(kind: str, metrics: dict[str, float] | None = None) -> ModelCard:
    """The card of a bundled model: ``metrics`` (default the figures recorded beside it,
    :func:`bundled_figures`)."""
    return ModelCard(
        kind=kind,
        label=bundled_label(kind),
        metrics=bundled_figures(kind) if metrics is None else dict(metrics),
        command="bundled with the package (see its REPORT / json beside it)",
        min_app_version="1.0.0" if kind == "lifter-causal" else "",
    )
