"""Training windows sampled from shard sequences.

All sequences of a split are edge-padded (like :func:`pose3d.lifter.lift_normalised`
pads at inference) and concatenated, so a batch of receptive-field windows is one
fancy-indexing gather. Flip augmentation mirrors inputs, targets and cameras together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose3d.pose_rarity import rare_pose_weights
from pose3d.shards import SequenceRecord, stable_fraction
from pose3d.skeleton import COCO17, H36M17


@dataclass
class WindowSet:
    """Padded, concatenated sequences of one split (or part of it).

    Attributes:
        inputs: ``(P, 17, 2)`` padded normalised 2D of all sequences.
        targets: ``(F, 17, 3)`` root-relative 3D per real frame (metres).
        roots: ``(F, 3)`` camera-space root positions (metres).
        intrinsics: ``(F, 9)`` normalised intrinsics of each frame's camera.
        window_starts: ``(F,)`` index into ``inputs`` of each frame's window start.
        receptive_field: Window length.
        cumulative_weights: ``(F,)`` running sum of each frame's draw probability
            (:func:`~pose3d.pose_rarity.rare_pose_weights`), or ``None``: every frame
            equally likely.
    """

    inputs: np.ndarray
    targets: np.ndarray
    roots: np.ndarray
    intrinsics: np.ndarray
    window_starts: np.ndarray
    receptive_field: int
    cumulative_weights: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return len(self.targets)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` frame indices drawn at random (by the frames' weights, if any)."""
        if self.cumulative_weights is None:
            return rng.integers(0, self.num_frames, size=size)
        picks = np.searchsorted(self.cumulative_weights, rng.random(size), side="right")
        return np.minimum(picks, self.num_frames - 1)  # float rounding at the top end

    def batch(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """Windows ``(B, rf, 17, 2)``, targets ``(B, 1, 17, 3)``, roots ``(B, 1, 1, 3)``,
        intrinsics ``(B, 9)`` of the given frame indices."""
        offsets = self.window_starts[frames][:, None] + np.arange(self.receptive_field)
        return {
            "inputs": self.inputs[offsets],
            "targets": self.targets[frames][:, None],
            "roots": self.roots[frames][:, None, None],
            "intrinsics": self.intrinsics[frames],
        }


@dataclass
class WindowMix:
    """Training windows from several sources (shard folders) in fixed shares per batch.

    Without shares every frame of every source is equally likely, so a large source
    drowns a small one; with shares each batch draws ``shares[i]`` of its windows from
    source ``i`` (real motion capture keeps its weight beside far more simulated frames).

    Attributes:
        sources: One :class:`WindowSet` per source.
        shares: Share of each batch per source (normalised), or ``None``: in proportion
            to the sources' frames.
    """

    sources: list[WindowSet]
    shares: list[float] | None = None

    def __post_init__(self) -> None:
        if self.shares is None:
            self.shares = [float(source.num_frames) for source in self.sources]
        if len(self.shares) != len(self.sources):
            raise ValueError(
                f"{len(self.shares)} source shares for {len(self.sources)} shard folders"
            )
        if min(self.shares) < 0 or sum(self.shares) <= 0:
            raise ValueError(f"source shares must be >= 0 and not all 0: {self.shares}")
        total = sum(self.shares)
        self.shares = [share / total for share in self.shares]

    @property
    def num_frames(self) -> int:
        return sum(source.num_frames for source in self.sources)

    @property
    def receptive_field(self) -> int:
        return self.sources[0].receptive_field

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """A batch of ``size`` windows (see :meth:`WindowSet.batch`), drawn at random."""
        if len(self.sources) == 1:  # one draw of frame indices, as a single pool always had
            source = self.sources[0]
            return source.batch(source.draw(rng, size))
        counts = rng.multinomial(size, self.shares)
        parts = [
            source.batch(source.draw(rng, count))
            for source, count in zip(self.sources, counts, strict=True)
            if count
        ]
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def build_window_set(
    records: list[SequenceRecord],
    receptive_field: int,
    causal: bool,
    rare_pose_power: float = 0.0,
    rare_posture: str = "limbs",
) -> WindowSet:
    """Pad and concatenate ``records`` for window sampling; with ``rare_pose_power`` > 0
    rare postures are drawn more often (:func:`~pose3d.pose_rarity.rare_pose_weights`,
    bins cut on ``rare_posture``)."""
    if not records:
        raise ValueError("no sequences to train on")
    before = receptive_field - 1 if causal else (receptive_field - 1) // 2
    after = receptive_field - 1 - before
    inputs, starts = [], []
    position = 0
    for record in records:
        padded = np.pad(record.inputs_2d, ((before, after), (0, 0), (0, 0)), mode="edge")
        inputs.append(padded)
        starts.append(position + np.arange(record.num_frames))
        position += len(padded)
    targets = np.concatenate([r.targets_3d for r in records]).astype(np.float32)
    cumulative = None
    if rare_pose_power:
        cumulative = np.cumsum(rare_pose_weights(targets, rare_pose_power, rare_posture))
    return WindowSet(
        inputs=np.concatenate(inputs).astype(np.float32),
        targets=targets,
        roots=np.concatenate([r.root_camera for r in records]).astype(np.float32),
        intrinsics=np.concatenate(
            [np.repeat(r.intrinsics[None], r.num_frames, axis=0) for r in records]
        ).astype(np.float32),
        window_starts=np.concatenate(starts),
        receptive_field=receptive_field,
        cumulative_weights=cumulative,
    )


def flip_batch(batch: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Mirror the samples where ``mask`` is True: x negated, left and right swapped.

    Cameras mirror too: principal point ``cx -> -cx`` and tangential ``p2 -> -p2`` keep
    the projection of the mirrored 3D equal to the mirrored 2D.
    """
    out = {k: v.copy() for k, v in batch.items()}
    out["inputs"][mask] = out["inputs"][mask][..., COCO17.flip_permutation, :]
    out["inputs"][mask, ..., 0] *= -1
    out["targets"][mask] = out["targets"][mask][..., H36M17.flip_permutation, :]
    out["targets"][mask, ..., 0] *= -1
    out["roots"][mask, ..., 0] *= -1
    out["intrinsics"][mask, 2] *= -1
    out["intrinsics"][mask, 8] *= -1
    return out


def split_labelled(
    records: list[SequenceRecord], fraction: float
) -> tuple[list[SequenceRecord], list[SequenceRecord]]:
    """Split by body into (labelled, unlabelled): about ``fraction`` of the bodies keep 3D."""
    if not 0 < fraction <= 1:
        raise ValueError(f"labelled fraction must be in (0, 1], got {fraction}")
    labelled = [r for r in records if stable_fraction(f"label:{r.body_id}") < fraction]
    unlabelled = [r for r in records if stable_fraction(f"label:{r.body_id}") >= fraction]
    return labelled, unlabelled
