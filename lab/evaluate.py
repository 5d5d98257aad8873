"""``coach evaluate`` and ``coach bundle``: lifter reports and the shipped default model.

Lives in the lab because evaluating on BVH needs both the simulator's cameras, filmed
as the training shards are (synthetic_data / dataflow_jobs), and pose3d's evaluation,
which must not import them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pose3d import lifter as lifter_module
from pose3d.checkpoint import load_checkpoint, save_checkpoint
from pose3d.evaluation import (
    evaluate_constant,
    evaluate_model,
    mean_training_pose,
    summarise,
    write_report,
)
from pose3d.shards import SequenceRecord, load_split

FLIP_SUFFIX = " + test-time flip"  # the report row of a model lifted flip-averaged


def _label(path: Path) -> str:
    loaded = load_checkpoint(path)
    widths = ",".join(map(str, loaded.metadata.architecture["filter_widths"]))
    return f"{loaded.metadata.version} ({widths})"


def bvh_records(paths: list[Path], cameras: int, seed: int = 0) -> list[SequenceRecord]:
    """Film BVH motion with sampled phone cameras (never used for training)."""
    from dataflow_jobs.records import film_clip
    from synthetic_data.bvh import read_bvh

    return [r for path in paths for r in film_clip(read_bvh(path), cameras, seed)]


def run_evaluation(
    checkpoint: Path,
    out: Path,
    shards: Path | None,
    baselines: list[Path],
    split: str,
    bvh: list[Path],
    cameras: int,
    flip_test: bool = False,
) -> Path:
    """Evaluate ``checkpoint`` and baselines on shards and/or filmed BVH; write a report.
    With ``flip_test`` each model is also reported with test-time flip averaging."""
    records: list[SequenceRecord] = []
    notes = []
    if shards is not None:
        records += load_split(shards, split)
        notes.append(f"{split} split of {shards}: held-out bodies and their cameras")
    if bvh:
        records += bvh_records(bvh, cameras)
        notes.append(f"{len(bvh)} BVH file(s) filmed with {cameras} phone cameras each")
    if not records:
        raise ValueError("nothing to evaluate on")
    summaries = {}
    for path in [checkpoint, *baselines]:
        loaded = load_checkpoint(path)
        summaries[_label(path)] = summarise(evaluate_model(loaded.model, records))
        if flip_test:
            layouts = (loaded.metadata.input_layout, loaded.metadata.output_layout)
            results = evaluate_model(loaded.model, records, flip=layouts)
            summaries[f"{_label(path)}{FLIP_SUFFIX}"] = summarise(results)
    training = load_split(shards, "train") if shards is not None else []
    if training:  # an evaluation-only shard folder has no training poses to average
        mean_pose = mean_training_pose(training)
        summaries["mean training pose"] = summarise(evaluate_constant(mean_pose, records))
    notes.append(f"{len(records)} sequences, {sum(r.num_frames for r in records)} frames")
    return write_report(summaries, out, f"Lifter evaluation: {checkpoint}", notes)


def bundle_default(
    checkpoint: Path,
    report: Path,
    target: Path | None = None,
    command: str = "scripts/train_default.sh",
    extra_reports: list[Path] | None = None,
    flip_test: bool = False,
) -> Path:
    """Copy a checkpoint (weights and metadata only) to a bundled model file.

    ``target`` defaults to the package's default (causal) model. The metadata gets the
    main ``report``'s overall metrics; ``<name>.json`` beside it holds the full metrics of
    every report (``extra_reports`` keyed by folder name, e.g. the synthetic split beside
    real people) and the ``command`` that made the weights; the reports and the run's loss
    curve go to ``REPORT.md`` and ``loss.png`` (``REPORT-<name>.md`` and ``<name>-*.png``
    for other names), so they ship with the weights. With ``flip_test`` the bundled
    lifter lifts whole sequences averaged with their mirror image (measure its reports
    with ``coach evaluate --flip-test``: its flip-averaged row is the one recorded).

    Raises:
        ValueError: ``flip_test`` and the report has no flip-averaged row.
    """
    loaded = load_checkpoint(checkpoint)
    metrics = json.loads((Path(report) / "metrics.json").read_text())
    rows = [name for name in metrics if name.endswith(FLIP_SUFFIX) == flip_test]
    if not rows:
        raise ValueError(f"{report} has no row lifted with test-time flip: --flip-test it")
    main = metrics[rows[0]]
    loaded.metadata.metrics = {f"{k}_mm": v for k, v in main["overall"].items() if k != "frames"}
    loaded.metadata.flip_test = flip_test
    target = Path(target or lifter_module.DEFAULT_CHECKPOINT)
    save_checkpoint(target, loaded.model, loaded.metadata)
    prefix = "" if target.stem == "default" else f"{target.stem}-"
    extra_reports = [Path(folder) for folder in extra_reports or []]
    (target.parent / f"{target.stem}.json").write_text(
        json.dumps(
            {
                "version": loaded.metadata.version,
                "architecture": loaded.metadata.architecture,
                "training_fingerprint": loaded.metadata.training_fingerprint,
                "flip_test": flip_test,
                "metrics": metrics,
                "more_metrics": {
                    folder.name: json.loads((folder / "metrics.json").read_text())
                    for folder in extra_reports
                },
                "command": command,
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    report_name = "REPORT.md" if not prefix else f"REPORT-{target.stem}.md"
    texts = [_copy_report(Path(report), target.parent, prefix)]
    texts += [_copy_report(f, target.parent, f"{prefix}{f.name}-") for f in extra_reports]
    (target.parent / report_name).write_text("\n\n".join(texts))
    curve = Path(checkpoint).parent / "loss.png"  # the training run's loss curve
    if curve.is_file():
        shutil.copy(curve, target.parent / f"{prefix}loss.png")
    return target


def _copy_report(report: Path, folder: Path, prefix: str) -> str:
    """``report``'s markdown, its images copied into ``folder`` as ``<prefix><name>``."""
    text = (report / "report.md").read_text()
    for png in report.glob("*.png"):
        shutil.copy(png, folder / f"{prefix}{png.name}")
        text = text.replace(f"({png.name})", f"({prefix}{png.name})")
    return text
