"""Evaluating lifters on held-out sequences, with baselines and breakdowns.

Metrics (millimetres in reports): MPJPE, P-MPJPE, N-MPJPE, MPJVE, per joint, and the
prediction's bone drift (:func:`~pose3d.metrics.bone_length_drift`); broken down by
movement, camera yaw relative to the person, body height and detector noise level.
Averages weight every frame equally (MPJVE every frame pair).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose3d.lifter import lift_flip_averaged, lift_normalised
from pose3d.metrics import bone_length_drift, mpjpe, mpjve, n_mpjpe, p_mpjpe, per_joint_error
from pose3d.model import TemporalModel
from pose3d.shards import SequenceRecord
from pose3d.skeleton import H36M17

METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "bone_drift")
# Camera yaw from the person's facing direction: front (the product's old training
# cameras covered 0-60°), side and back (real users film themselves from anywhere).
YAW_BUCKETS = (
    (0, 30, "front 0-30°"),
    (30, 60, "front 30-60°"),
    (60, 120, "side 60-120°"),
    (120, 181, "back 120-180°"),
)
HEIGHT_BUCKETS = (
    (0, 1.6, "<1.60 m"),
    (1.6, 1.75, "1.60-1.75 m"),
    (1.75, 1.9, "1.75-1.90 m"),
    (1.9, 9, "≥1.90 m"),
)
NOISE_BUCKETS = ((0, 0.83, "low"), (0.83, 1.17, "medium"), (1.17, 99, "high"))


@dataclass
class SequenceResult:
    """Errors of one sequence (metres), with what it is broken down by."""

    key: str
    movement: str
    dataset: str
    frames: int
    camera_yaw_deg: float
    body_height: float
    noise_level: float
    mpjpe: float
    p_mpjpe: float
    n_mpjpe: float
    mpjve: float
    bone_drift: float
    per_joint: list[float]


REAL_DATASETS = {"cmu": "CMU (real)", "hdm05": "HDM05 (real)"}


def dataset_of(body_id: str) -> str:
    """Where a sequence's person comes from: a real motion-capture database (its subjects
    are named ``cmu_002``, ``hdm05_bd``) or the simulator."""
    return REAL_DATASETS.get(body_id.split("_", 1)[0], "simulated")


def _bucket(value: float, buckets) -> str:
    for low, high, name in buckets:
        if low <= value < high:
            return name
    return buckets[-1][2]


def score_sequence(record: SequenceRecord, predicted: np.ndarray) -> SequenceResult:
    """Compare ``predicted`` ``(T, 17, 3)`` with the record's targets."""
    target = record.targets_3d
    return SequenceResult(
        key=record.key,
        movement=record.movement,
        dataset=dataset_of(record.body_id),
        frames=record.num_frames,
        camera_yaw_deg=record.camera_yaw_deg,
        body_height=record.body_height,
        noise_level=record.noise_level,
        mpjpe=mpjpe(predicted, target),
        p_mpjpe=p_mpjpe(predicted, target),
        n_mpjpe=n_mpjpe(predicted, target),
        mpjve=mpjve(predicted, target) if record.num_frames > 1 else 0.0,
        bone_drift=bone_length_drift(predicted),
        per_joint=per_joint_error(predicted, target).tolist(),
    )


def lift_inputs(
    model: TemporalModel, inputs_2d: np.ndarray, flip: tuple[str, str] | None = None
) -> np.ndarray:
    """Lift one whole normalised sequence, ``(T, J_in, 2)`` -> ``(T, J_out, 3)`` metres;
    with ``flip`` (the model's input and output layouts) averaged with the lift of the
    mirrored input (:func:`~pose3d.lifter.lift_flip_averaged`)."""
    if flip is None:
        return lift_normalised(model, inputs_2d)
    return lift_flip_averaged(model, inputs_2d, *flip)


def evaluate_model(
    model: TemporalModel, records: list[SequenceRecord], flip: tuple[str, str] | None = None
) -> list[SequenceResult]:
    """Lift every record's whole sequence with ``model`` (:func:`lift_inputs`, ``flip``
    as there) and score it."""
    model.eval()
    return [score_sequence(r, lift_inputs(model, r.inputs_2d, flip)) for r in records]


def mean_training_pose(records: list[SequenceRecord]) -> np.ndarray:
    """The average root-relative pose ``(17, 3)`` over all frames of ``records``."""
    total = sum(r.targets_3d.sum(axis=0, dtype=np.float64) for r in records)
    return (total / sum(r.num_frames for r in records)).astype(np.float32)


def evaluate_constant(pose: np.ndarray, records: list[SequenceRecord]) -> list[SequenceResult]:
    """The baseline that answers ``pose`` ``(17, 3)`` for every frame."""
    return [score_sequence(r, np.broadcast_to(pose, r.targets_3d.shape)) for r in records]


def summarise(results: list[SequenceResult]) -> dict:
    """Frame-weighted metrics in millimetres: overall, per joint, and per breakdown."""

    def average(items: list[SequenceResult]) -> dict:
        frames = np.array([r.frames for r in items], dtype=np.float64)
        pairs = np.maximum(frames - 1, 0)
        out = {
            m: 1000 * float(np.average([getattr(r, m) for r in items], weights=frames))
            for m in METRICS
            if m != "mpjve"
        }
        velocity = [r.mpjve for r in items]
        out["mpjve"] = 1000 * float(np.average(velocity, weights=pairs)) if pairs.sum() else 0.0
        out["frames"] = int(frames.sum())
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}

    groups: dict[str, Callable[[SequenceResult], str]] = {
        "dataset": lambda r: r.dataset,
        "movement": lambda r: r.movement,
        "camera_yaw": lambda r: _bucket(abs(r.camera_yaw_deg), YAW_BUCKETS),
        "body_height": lambda r: _bucket(r.body_height, HEIGHT_BUCKETS),
        "noise": lambda r: _bucket(r.noise_level, NOISE_BUCKETS),
    }
    summary = {"overall": average(results)}
    for name, key in groups.items():
        buckets = defaultdict(list)
        for result in results:
            buckets[key(result)].append(result)
        summary[name] = {bucket: average(items) for bucket, items in sorted(buckets.items())}
    frames = np.array([r.frames for r in results], dtype=np.float64)
    joints = np.average(np.array([r.per_joint for r in results]), axis=0, weights=frames)
    names = H36M17.joint_names
    summary["per_joint"] = {
        n: round(1000 * float(e), 2) for n, e in zip(names, joints, strict=True)
    }
    return summary


def write_report(
    summaries: dict[str, dict], out: str | Path, title: str, notes: list[str] | None = None
) -> Path:
    """``report.md``, ``metrics.json`` and PNG plots comparing ``summaries`` (name -> summary).

    The first entry is the model under test; the others are baselines.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(summaries, indent=1, ensure_ascii=False) + "\n")
    names = list(summaries)
    main = summaries[names[0]]
    lines = [f"# {title}", ""]
    lines += [f"- {note}" for note in notes or []]
    lines += [
        "",
        "## Overall (mm)",
        "",
        "| model | MPJPE | P-MPJPE | N-MPJPE | MPJVE | bone drift | frames |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        o = summaries[name]["overall"]
        cells = [o["mpjpe"], o["p_mpjpe"], o["n_mpjpe"], o["mpjve"], o["bone_drift"], o["frames"]]
        lines.append(f"| {name} | " + " | ".join(map(str, cells)) + " |")
    for baseline in names[1:]:
        gain = 1 - main["overall"]["mpjpe"] / summaries[baseline]["overall"]["mpjpe"]
        lines.append(f"\n{names[0]} vs {baseline}: MPJPE {100 * gain:+.1f}% better")
    for group in ("dataset", "movement", "camera_yaw", "body_height", "noise"):
        lines += ["", f"## MPJPE / P-MPJPE by {group.replace('_', ' ')} (mm)", ""]
        lines.append("| " + group + " | " + " | ".join(names) + " | frames |")
        lines.append("|---" * (len(names) + 2) + "|")
        for bucket, values in main[group].items():
            cells = [
                f"{s[group][bucket]['mpjpe']} / {s[group][bucket]['p_mpjpe']}"
                if bucket in s[group]
                else "-"
                for s in summaries.values()
            ]
            lines.append(f"| {bucket} | " + " | ".join(cells) + f" | {values['frames']} |")
    lines += ["", "## Bone drift by dataset (mm; a true body's is 0)", ""]
    lines.append("| dataset | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for bucket in main["dataset"]:
        cells = [
            str(s["dataset"].get(bucket, {}).get("bone_drift", "-")) for s in summaries.values()
        ]
        lines.append(f"| {bucket} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![MPJPE by movement](mpjpe_by_movement.png)",
        "",
        "![MPJPE per joint](mpjpe_per_joint.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    _plot(summaries, out)
    return out / "report.md"


def _plot(summaries: dict[str, dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    plots = (("movement", "mpjpe_by_movement.png"), ("per_joint", "mpjpe_per_joint.png"))
    for group, filename in plots:
        main = summaries[names[0]][group]
        labels = list(main)
        width = 0.8 / len(names)
        fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(labels) * len(names)), 3.8))
        for i, name in enumerate(names):
            values = [summaries[name][group].get(label, {}) for label in labels]
            values = [v["mpjpe"] if isinstance(v, dict) else v for v in values]
            ax.bar(np.arange(len(labels)) + i * width, values, width, label=name)
        ax.set_xticks(np.arange(len(labels)) + width * (len(names) - 1) / 2)
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("MPJPE (mm)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / filename, dpi=100)
        plt.close(fig)
