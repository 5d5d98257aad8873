"""Where a lifter's error on held-out real people comes from (issue 16): a diagnostic.

Lifts the test split of a shard folder (as ``coach evaluate`` does, optionally with
test-time flip) and splits each dataset's error into parts:

* MPJPE, then after the best per-frame scale (N-MPJPE) and after the best per-frame
  similarity transform (P-MPJPE): what global size and orientation account for;
* depth against image plane: the error along the camera's optical axis and across it;
* bone lengths: the mean absolute difference of the predicted and true bone lengths
  (a body's proportions, which 2D alone leaves open);
* a constant offset per joint in the person's own frame (hips across, trunk up): the
  dataset's mean residual of each joint in that frame, and MPJPE once it is removed.
  Where a lab places its joints differently from the training data (hip centres, neck,
  head), this part is large. The offsets are measured on the very data they are removed
  from: an upper bound on what such a correction could buy, never a result.

    .venv/bin/python scripts/error_sources.py --checkpoint pose3d/models/offline.pt \
        --shards data/shards-real --flip-test --out docs/real-motion/error-sources.md
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from pose3d.checkpoint import load_checkpoint
from pose3d.evaluation import dataset_of, lift_inputs
from pose3d.metrics import n_mpjpe, p_mpjpe
from pose3d.shards import load_split
from pose3d.skeleton import H36M17

BONES = H36M17.bones  # (parent, child) index pairs


def body_frames(poses: np.ndarray) -> np.ndarray:
    """Per frame the rotation whose rows are the person's axes in camera space: x from
    the left hip to the right hip, y along the trunk (pelvis to thorax) made orthogonal
    to x, z their cross product. ``(T, 17, 3)`` metres -> ``(T, 3, 3)``."""
    joint = H36M17.index
    across = poses[:, joint("right_hip")] - poses[:, joint("left_hip")]
    up = poses[:, joint("thorax")] - poses[:, joint("pelvis")]
    x = across / np.linalg.norm(across, axis=-1, keepdims=True).clip(1e-9)
    y = up - (up * x).sum(-1, keepdims=True) * x
    y /= np.linalg.norm(y, axis=-1, keepdims=True).clip(1e-9)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def bone_lengths(poses: np.ndarray) -> np.ndarray:
    """``(T, 17, 3)`` -> ``(T, B)`` bone lengths (metres)."""
    return np.stack([np.linalg.norm(poses[:, c] - poses[:, p], axis=-1) for p, c in BONES], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--shards", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--flip-test", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    loaded = load_checkpoint(args.checkpoint)
    layouts = (loaded.metadata.input_layout, loaded.metadata.output_layout)
    groups: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    flip = layouts if args.flip_test else None
    for record in load_split(args.shards, args.split):
        predicted = lift_inputs(loaded.model, record.inputs_2d, flip)
        groups[dataset_of(record.body_id)].append((predicted, record.targets_3d))
    rows, offsets, bones = [], {}, {}
    for name in sorted(groups):
        predicted = np.concatenate([p for p, _ in groups[name]]).astype(np.float64)
        target = np.concatenate([t for _, t in groups[name]]).astype(np.float64)
        residual = predicted - target
        frames = body_frames(target)  # (T, 3, 3)
        in_body = np.einsum("tab,tjb->tja", frames, residual)  # residual in the body frame
        offset = in_body.mean(axis=0)  # (17, 3)
        corrected = predicted - np.einsum("tab,ja->tjb", frames, offset)
        offsets[name] = offset
        true_lengths = bone_lengths(target)
        bones[name] = (bone_lengths(predicted) - true_lengths).mean(0), true_lengths.mean(0)
        rows.append(
            {
                "dataset": name,
                "frames": len(target),
                "MPJPE": np.linalg.norm(residual, axis=-1).mean(),
                "N-MPJPE": n_mpjpe(predicted, target),
                "P-MPJPE": p_mpjpe(predicted, target),
                "depth |dz|": np.abs(residual[..., 2]).mean(),
                "image plane |dxy|": np.linalg.norm(residual[..., :2], axis=-1).mean(),
                "bone length |dl|": np.abs(bone_lengths(predicted) - bone_lengths(target)).mean(),
                "MPJPE less the joint offsets": np.linalg.norm(corrected - target, axis=-1).mean(),
                "mean joint offset": np.linalg.norm(offset, axis=-1).mean(),
            }
        )
    write(args, rows, offsets, bones)


def write(
    args: argparse.Namespace,
    rows: list[dict],
    offsets: dict[str, np.ndarray],
    bones: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """The markdown report: the parts per dataset, the largest joint offsets and the
    bones whose predicted length is most off on average."""
    columns = list(rows[0])
    lines = [
        "# Where the lifter's error comes from",
        "",
        f"`{args.checkpoint}` on the {args.split} split of `{args.shards}`"
        + (" with test-time flip" if args.flip_test else "")
        + " (scripts/error_sources.py: what each part means is in its docstring). mm.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [row["dataset"], str(row["frames"])]
        cells += [f"{1000 * row[c]:.1f}" for c in columns[2:]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Largest constant joint offsets in the person's frame (x right, y up, z = x cross y), mm:",
        "",
    ]
    lines += ["| dataset | joint | x | y | z | length |", "|---|---|---|---|---|---|"]
    for name, offset in offsets.items():
        for joint in np.argsort(-np.linalg.norm(offset, axis=-1))[:5]:
            x, y, z = 1000 * offset[joint]
            length = 1000 * np.linalg.norm(offset[joint])
            label = H36M17.joint_names[joint]
            lines.append(f"| {name} | {label} | {x:.0f} | {y:.0f} | {z:.0f} | {length:.0f} |")
    lines += ["", "Bones predicted too long (+) or too short (-) on average, mm:", ""]
    lines += ["| dataset | bone | mean true length | predicted less true |", "|---|---|---|---|"]
    for name, (difference, true_length) in bones.items():
        for bone in np.argsort(-np.abs(difference))[:5]:
            parent, child = (H36M17.joint_names[j] for j in BONES[bone])
            lines.append(
                f"| {name} | {parent}-{child} | {1000 * true_length[bone]:.0f} "
                f"| {1000 * difference[bone]:+.0f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
