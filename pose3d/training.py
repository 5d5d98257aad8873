"""Training the lifter: supervised MPJPE and, optionally, semi-supervised (Pavllo et al.).

The recipe follows the VideoPose3D paper: the strided twin trains on batches of
receptive-field windows (its weights are interchangeable with the dilated model used
for inference), Adam with AMSGrad, learning rate decayed every epoch, BatchNorm
momentum decayed from 0.1 to 0.001, horizontal-flip augmentation.

Semi-supervised mode: only bodies in ``labelled_fraction`` keep their 3D; after
``warmup_epochs`` of supervised training, the poses of unlabelled windows are placed in
the camera (depth from a trajectory model of the same architecture, whose one output
joint's z is the root depth; sideways position from the observed 2D hip centre, see
:func:`pose3d.losses.root_from_hips`), projected with the clip's intrinsics and compared
with the input 2D, plus a bone-length loss tying unlabelled to labelled bone lengths.

Everything is seeded; checkpoints are written every epoch (``last.pt``, ``best.pt``),
with the optimizer state for ``resume``; ``metrics.jsonl`` and ``loss.png`` record the
run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pose3d.checkpoint import LifterMetadata, load_checkpoint, save_checkpoint
from pose3d.lifter import lift_normalised
from pose3d.losses import (
    COCO17_HIPS,
    bone_length_loss,
    labelled_bone_loss,
    reprojection_loss,
    root_from_hips,
)
from pose3d.metrics import mpjpe, mpjpe_torch
from pose3d.model import (
    TemporalModel,
    TemporalModelStrided,
    grow_receptive_field,
    widen_channels,
)
from pose3d.pose_rarity import POSTURES
from pose3d.shards import SequenceRecord, load_split
from pose3d.training_data import (
    WindowMix,
    WindowSet,
    build_window_set,
    flip_batch,
    split_labelled,
)


@dataclass
class TrainConfig:
    """Everything that determines a training run.

    Attributes:
        shards: Folder with ``train-*`` (and ``val-*``) shards and ``summary.json``.
        out: Folder for checkpoints, metrics and plots.
        filter_widths: Temporal filter widths (``[3, 3, 3, 3]`` = 81 frames).
        channels: Convolution channels.
        causal: Train a causal model (live streaming).
        dropout: Dropout probability.
        epochs: Passes; each draws ``samples_per_epoch`` random windows.
        samples_per_epoch: Windows per epoch (0: every training frame once).
        batch_size: Windows per step.
        lr, lr_decay: Initial learning rate and its factor per epoch.
        bn_momentum_start, bn_momentum_end: BatchNorm momentum, decayed exponentially.
        flip_augment: Mirror half of each batch.
        labelled_fraction: Share of training bodies whose 3D is used (1.0 = all).
        semi_supervised: Use the unlabelled rest with reprojection and bone losses.
        bone_weight: Weight of the labelled windows' bone-length loss
            (:func:`~pose3d.losses.labelled_bone_loss`) beside MPJPE; 0: MPJPE alone.
        warmup_epochs: Supervised-only epochs before the semi-supervised losses.
        seed: Seeds numpy and torch.
        threads: torch intra-op threads.
        version: Model version written into the checkpoint.
        extra_shards: More shard folders whose training sequences join ``shards``' (for
            instance clips rich in the errors the lifter must keep); validation stays on
            ``shards``.
        init_from: Checkpoint whose weights start the run (fine-tuning); its architecture
            must be the configured one, its first blocks (a wider receptive field) or
            the same blocks with fewer channels (a wider model).
        source_shares: Share of each batch drawn from ``shards`` and each of
            ``extra_shards``, in that order (normalised); empty: every training frame
            equally likely, whatever its folder.
        rare_pose_power: Draw a labelled frame with weight ``count(posture bin) **
            -power`` within its source (:func:`~pose3d.pose_rarity.rare_pose_weights`):
            0 every frame alike, 0.5 a real deep squat several times as often.
        rare_posture: What the posture bins are cut on: ``limbs`` (knees, hips, upper
            arms) or ``legs`` (knees and hips).
    """

    shards: str
    out: str
    filter_widths: list[int] = field(default_factory=lambda: [3, 3, 3, 3])
    channels: int = 256
    causal: bool = True
    dropout: float = 0.25
    epochs: int = 20
    samples_per_epoch: int = 200_000
    batch_size: int = 512
    lr: float = 1e-3
    lr_decay: float = 0.9
    bn_momentum_start: float = 0.1
    bn_momentum_end: float = 0.001
    flip_augment: bool = True
    labelled_fraction: float = 1.0
    semi_supervised: bool = False
    bone_weight: float = 0.0
    warmup_epochs: int = 2
    seed: int = 0
    threads: int = 2
    version: str = "dev"
    extra_shards: list[str] = field(default_factory=list)
    init_from: str = ""
    source_shares: list[float] = field(default_factory=list)
    rare_pose_power: float = 0.0
    rare_posture: str = "limbs"

    def __post_init__(self) -> None:
        # Checked here, before any shard is read: a misspelt posture would otherwise
        # only fail once the training windows are built.
        if self.rare_posture not in POSTURES:
            raise ValueError(f"rare_posture must be one of {POSTURES}, got {self.rare_posture!r}")

    def source_folders(self) -> list[str]:
        """``shards`` and then ``extra_shards``: the training sources, in order."""
        return [self.shards, *self.extra_shards]

    def bn_momentum(self, epoch: int) -> float:
        if self.epochs <= 1:
            return self.bn_momentum_start
        ratio = self.bn_momentum_end / self.bn_momentum_start
        return self.bn_momentum_start * ratio ** (epoch / (self.epochs - 1))


def shards_fingerprint(shards: str) -> str:
    """The data fingerprint recorded in the shards' ``summary.json`` ("" if absent)."""
    summary = Path(shards) / "summary.json"
    if not summary.is_file():
        return ""
    return json.loads(summary.read_text()).get("fingerprint", "")


def training_fingerprint(config: TrainConfig) -> str:
    """The fingerprint of all the run's shards (one folder: that folder's own)."""
    prints = [shards_fingerprint(folder) for folder in [config.shards, *config.extra_shards]]
    if len(prints) == 1:
        return prints[0]
    return hashlib.sha256("+".join(prints).encode()).hexdigest()


def _models(config: TrainConfig, joints_out: int) -> tuple[TemporalModelStrided, TemporalModel]:
    arch = dict(
        num_joints_in=17,
        in_features=2,
        num_joints_out=joints_out,
        filter_widths=config.filter_widths,
        causal=config.causal,
        channels=config.channels,
    )
    return TemporalModelStrided(**arch, dropout=config.dropout), TemporalModel(**arch, dropout=0)


def evaluate_mpjpe(model: TemporalModel, records: list[SequenceRecord]) -> float:
    """MPJPE (metres) of ``model`` lifting whole ``records`` sequences."""
    model.eval()
    errors, frames = 0.0, 0
    for record in records:
        predicted = lift_normalised(model, record.inputs_2d)
        errors += mpjpe(predicted, record.targets_3d) * record.num_frames
        frames += record.num_frames
    return errors / max(frames, 1)


EpochCallback = Callable[[int, dict[str, float]], None]


class Trainer:
    """Runs :class:`TrainConfig`; call :meth:`run`. ``on_epoch(epoch, metrics)`` hears each
    finished epoch's numbers (e.g. to track them; the trainer knows no tracker)."""

    def __init__(self, config: TrainConfig, on_epoch: EpochCallback | None = None) -> None:
        self.config = config
        self.on_epoch = on_epoch
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        torch.set_num_threads(config.threads)
        self.rng = np.random.default_rng(config.seed)
        sources = [load_split(folder, "train") for folder in config.source_folders()]
        for folder, records in zip(config.source_folders(), sources, strict=True):
            if not records:
                raise ValueError(f"no training shards (train-*.npz) in {folder}")
        self.val_records = load_split(config.shards, "val")
        self.fps = sources[0][0].fps
        splits = [split_labelled(records, config.labelled_fraction) for records in sources]
        if not any(labelled for labelled, _ in splits):
            raise ValueError("no labelled training sequences; raise labelled_fraction")
        unlabelled = [record for _, rest in splits for record in rest]
        self.train_pos, self.infer_pos = _models(config, 17)
        if config.init_from:
            self._start_from(config.init_from)
        rf = self.train_pos.receptive_field()

        def labelled_windows(records: list[SequenceRecord]) -> WindowSet:
            return build_window_set(
                records, rf, config.causal, config.rare_pose_power, config.rare_posture
            )

        if config.source_shares:  # one window set per source, drawn in fixed shares
            labelled_sets = []
            for folder, (labelled, _) in zip(config.source_folders(), splits, strict=True):
                if not labelled:
                    raise ValueError(f"no labelled training sequences in {folder}")
                labelled_sets.append(labelled_windows(labelled))
            self.labelled = WindowMix(labelled_sets, config.source_shares)
        else:  # one pool: whatever its folder, a frame is drawn by its posture (or alike)
            pool = [record for labelled, _ in splits for record in labelled]
            self.labelled = WindowMix([labelled_windows(pool)])
        self.unlabelled: WindowMix | None = None
        self.train_traj = self.infer_traj = None
        parameters = list(self.train_pos.parameters())
        if config.semi_supervised:
            if not unlabelled:
                raise ValueError("semi-supervised training needs unlabelled sequences")
            self.unlabelled = WindowMix([build_window_set(unlabelled, rf, config.causal)])
            self.train_traj, self.infer_traj = _models(config, 1)
            parameters += list(self.train_traj.parameters())
        self.optimizer = torch.optim.Adam(parameters, lr=config.lr, amsgrad=True)
        self.epoch = 0
        self.best_val = float("inf")
        self.history: list[dict] = []

    def _start_from(self, path: str) -> None:
        """Load the pose model's weights from the checkpoint at ``path`` (fine-tuning); a
        checkpoint with fewer blocks of the same kind starts a wider receptive field
        (:func:`~pose3d.model.grow_receptive_field`), one with fewer channels a wider
        model (:func:`~pose3d.model.widen_channels`)."""
        loaded = load_checkpoint(path)
        wanted = self.infer_pos.hyperparameters
        if loaded.model.hyperparameters == wanted:
            self.train_pos.load_state_dict(loaded.model.state_dict())
            self.infer_pos.load_state_dict(loaded.model.state_dict())
            return
        for start in (grow_receptive_field, widen_channels):
            try:
                start(loaded.model, self.infer_pos)
            except ValueError:  # not this kind of growth
                continue
            self.train_pos.load_state_dict(self.infer_pos.state_dict())
            return
        raise ValueError(
            f"{path} has architecture {loaded.model.hyperparameters}; this run is {wanted}"
        )

    # -- steps -----------------------------------------------------------------------

    def _tensors(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v) for k, v in batch.items()}

    def _sample(self, windows: WindowMix, size: int) -> dict[str, torch.Tensor]:
        batch = windows.sample(self.rng, size)
        if self.config.flip_augment:
            batch = flip_batch(batch, self.rng.random(size) < 0.5)
        return self._tensors(batch)

    def _step(self, semi: bool) -> dict[str, float]:
        config = self.config
        batch = self._sample(self.labelled, config.batch_size)
        predicted = self.train_pos(batch["inputs"])
        loss_3d = mpjpe_torch(predicted, batch["targets"])
        loss = loss_3d
        logs = {"mpjpe": loss_3d.item()}
        if config.bone_weight:
            loss_lengths = labelled_bone_loss(predicted, batch["targets"])
            loss = loss + config.bone_weight * loss_lengths
            logs["bone_lengths"] = loss_lengths.item()
        if self.train_traj is not None:
            depth = self.train_traj(batch["inputs"])[..., 0, 2]
            true_depth = batch["roots"][..., 0, 2]
            loss_traj = ((depth - true_depth).abs() / true_depth.clamp_min(0.5)).mean()
            loss = loss + loss_traj
            logs["trajectory"] = loss_traj.item()
        if semi:
            unlabelled = self._sample(self.unlabelled, config.batch_size)
            poses_u = self.train_pos(unlabelled["inputs"])
            depth_u = self.train_traj(unlabelled["inputs"])[..., 0, 2].clamp_min(0.5)
            observed = unlabelled["inputs"][:, self._centre()]  # (N, 1, 17, 2)
            hips_2d = observed[..., COCO17_HIPS, :].mean(dim=-2)
            root_u = root_from_hips(depth_u, poses_u, hips_2d, unlabelled["intrinsics"])
            loss_2d = reprojection_loss(poses_u, root_u, unlabelled["intrinsics"], observed)
            loss_bone = bone_length_loss(poses_u, predicted)
            loss = loss + loss_2d + loss_bone
            logs |= {"reprojection": loss_2d.item(), "bone": loss_bone.item()}
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return logs

    def _centre(self) -> slice:
        """The input frame a window's output belongs to (last for causal models)."""
        rf = self.labelled.receptive_field
        index = rf - 1 if self.config.causal else (rf - 1) // 2
        return slice(index, index + 1)

    # -- epochs ----------------------------------------------------------------------

    def run(self) -> dict:
        """Train the remaining epochs; returns the last epoch's metrics."""
        config = self.config
        steps = max(1, (config.samples_per_epoch or self.labelled.num_frames) // config.batch_size)
        while self.epoch < config.epochs:
            started = time.perf_counter()
            lr = config.lr * config.lr_decay**self.epoch
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            momentum = config.bn_momentum(self.epoch)
            for model in filter(None, (self.train_pos, self.train_traj)):
                model.set_bn_momentum(momentum)
                model.train()
            semi = config.semi_supervised and self.epoch >= config.warmup_epochs
            sums: dict[str, float] = {}
            bar = tqdm(range(steps), desc=f"epoch {self.epoch + 1}/{config.epochs}", leave=False)
            for _ in bar:
                for key, value in self._step(semi).items():
                    sums[key] = sums.get(key, 0.0) + value
                bar.set_postfix(mpjpe_mm=f"{1000 * sums['mpjpe'] / (bar.n + 1):.1f}")
            self.infer_pos.load_state_dict(self.train_pos.state_dict())
            if self.train_traj is not None:
                self.infer_traj.load_state_dict(self.train_traj.state_dict())
            entry = {
                "epoch": self.epoch + 1,
                "lr": lr,
                "bn_momentum": momentum,
                "semi_supervised": semi,
                **{f"train_{k}": v / steps for k, v in sums.items()},
                "train_mpjpe_mm": 1000 * sums["mpjpe"] / steps,
            }
            if self.val_records:
                entry["val_mpjpe_mm"] = 1000 * evaluate_mpjpe(self.infer_pos, self.val_records)
            entry["seconds"] = time.perf_counter() - started
            self.epoch += 1
            self.history.append(entry)
            self._save(entry)
            if self.on_epoch is not None:
                numbers = {k: float(v) for k, v in entry.items() if k != "epoch"}
                self.on_epoch(entry["epoch"], numbers)
            tqdm.write(
                f"epoch {entry['epoch']}: train {entry['train_mpjpe_mm']:.1f} mm"
                + (f", val {entry['val_mpjpe_mm']:.1f} mm" if "val_mpjpe_mm" in entry else "")
                + f" ({entry['seconds']:.0f} s)"
            )
        self._plot()
        return self.history[-1] if self.history else {}

    def metadata(self, metrics: dict | None = None) -> LifterMetadata:
        fingerprint = training_fingerprint(self.config)
        return LifterMetadata(
            architecture=self.infer_pos.hyperparameters,
            fps=self.fps,
            version=self.config.version,
            training_fingerprint=fingerprint,
            metrics=metrics or {},
            extra={"train_config": asdict(self.config)},
        )

    def _save(self, entry: dict) -> None:
        with (self.out / "metrics.jsonl").open("a") as log:
            log.write(json.dumps(entry) + "\n")
        metrics = {k: round(v, 3) for k, v in entry.items() if k.endswith("_mm")}
        state = {
            "epoch": self.epoch,
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "best_val": self.best_val,
            "history": self.history,
        }
        save_checkpoint(
            self.out / "last.pt",
            self.infer_pos,
            self.metadata(metrics),
            model_traj=self.infer_traj,
            **state,
        )
        val = entry.get("val_mpjpe_mm", -entry["epoch"])
        if val < self.best_val:
            self.best_val = val
            save_checkpoint(
                self.out / "best.pt",
                self.infer_pos,
                self.metadata(metrics),
                model_traj=self.infer_traj,
            )

    def resume(self) -> None:
        """Continue from ``out/last.pt`` (weights, optimizer, epoch, random states)."""
        path = self.out / "last.pt"
        raw = torch.load(path, map_location="cpu", weights_only=True)
        loaded = load_checkpoint(path)
        self.train_pos.load_state_dict(loaded.model.state_dict())
        self.infer_pos.load_state_dict(loaded.model.state_dict())
        if self.train_traj is not None and "model_traj" in raw:
            self.train_traj.load_state_dict(raw["model_traj"])
            self.infer_traj.load_state_dict(raw["model_traj"])
        self.optimizer.load_state_dict(raw["optimizer"])
        self.rng.bit_generator.state = raw["rng"]
        torch.set_rng_state(raw["torch_rng"])
        self.epoch = raw["epoch"]
        self.best_val = raw["best_val"]
        self.history = raw["history"]

    def _plot(self) -> None:
        if not self.history:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = [h["epoch"] for h in self.history]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(epochs, [h["train_mpjpe_mm"] for h in self.history], "o-", label="train MPJPE")
        if "val_mpjpe_mm" in self.history[-1]:
            ax.plot(epochs, [h["val_mpjpe_mm"] for h in self.history], "s-", label="val MPJPE")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mm")
        ax.set_title("Lifter training")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(self.out / "loss.png", dpi=100)
        plt.close(fig)


def train(config: TrainConfig, resume: bool = False, on_epoch: EpochCallback | None = None) -> Path:
    """Train as configured; returns the path of the best checkpoint. ``on_epoch(epoch,
    metrics)`` is called after each epoch (``train_mpjpe_mm``, ``val_mpjpe_mm``, ``lr``...)."""
    trainer = Trainer(config, on_epoch)
    if resume and (Path(config.out) / "last.pt").is_file():
        trainer.resume()
    trainer.run()
    return Path(config.out) / "best.pt"
