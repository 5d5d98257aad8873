"""Train the knee-error network (:mod:`scoring.knee_net`) on labelled simulated clips,
and real takes with caving knees injected (:mod:`lab.knee_net_real`).

Each clip is filmed ``views`` times with independent detector noise
(:func:`synthetic_data.detector.film`), by its own camera within 60 deg of the front
(``coverage="front"``, the bundled network's way) or by a camera anywhere around the
person (``"anywhere"``), encoded, and labelled frame by frame from its error labels (knees caving
in, per knee; knee over toes, per knee). Training reads random crops, mirrored half of
the time (image x negated, left and right swapped), with a binary cross-entropy per
labelled output (real takes label the caving outputs only). A share of the clips and of
the real takes is kept aside, and the epoch with the best mean area under the ROC curve
on them is kept.

The clips must not be those the learned detector is trained on (``coach fit-scoring
--training``): the detector reads this network's outputs and must see them as they come
on sessions the network never saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from tqdm import tqdm

from lab.front_end_eval import around_cameras, centred
from pose3d.shards import stable_hash
from pose3d.skeleton import MEDIAPIPE33
from scoring.knee_net import (
    JOINT_INDEX,
    JOINTS,
    NET_FPS,
    OUTPUTS,
    KneeErrorNet,
    KneeNet,
    KneeNetConfig,
    encode,
    resample,
)
from synthetic_data.cameras import COVERAGES
from synthetic_data.clip import Clip, read_clip
from synthetic_data.detector import film

LABELLED = {"knees_caving_in": "caving", "knee_over_toes": "over_toes"}
CAMERAS_AROUND = 4  # a clip filmed from anywhere: one of this many cameras around the person


@dataclass(frozen=True)
class KneeExample:
    """One filmed clip or take: the network's input ``(T, INPUTS)`` and targets
    ``(T, O)`` at :data:`~scoring.knee_net.NET_FPS`, which outputs are labelled ``(O,)``
    (1/0), and the source it came from (every filming of one take, on any body, shares
    it: held-out real examples are whole sources)."""

    encoded: np.ndarray
    targets: np.ndarray
    labelled: np.ndarray
    source: str


@dataclass(frozen=True)
class KneeNetTraining:
    """How the network is trained."""

    epochs: int = 12
    crop: int = 243
    batch: int = 64
    learning_rate: float = 2e-3
    views: int = 2
    held_out_share: float = 0.05
    seed: int = 0
    coverage: str = "front"  # where the simulated clips are filmed from (or "anywhere")
    real_repeat: int = 3  # each real example's crops per epoch


def frame_targets(clip: Clip, frames: int) -> np.ndarray:
    """``(frames, len(OUTPUTS))`` 1 where a labelled knee error covers the frame."""
    targets = np.zeros((frames, len(OUTPUTS)), dtype=np.float32)
    for label in clip.errors:
        if label.kind not in LABELLED:
            continue
        side = label.segment.split("_")[0]
        targets[
            label.start_frame : label.end_frame, OUTPUTS.index(f"{side}_{LABELLED[label.kind]}")
        ] = 1
    return targets


def clip_examples(
    clip: Clip, views: int, seed: int, coverage: str = "front"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``views`` noisy filmings of ``clip``: (encoded ``(T, INPUTS)``, targets ``(T, O)``)
    at the network's frame rate; by the clip's own camera (``coverage="front"``) or each
    by a camera drawn all around the person (``"anywhere"``)."""
    if coverage not in COVERAGES:
        raise ValueError(f"coverage must be one of {', '.join(COVERAGES)}, got {coverage!r}")
    examples = []
    if coverage == "anywhere":
        clip = centred(clip)
        cameras = around_cameras(clip, CAMERAS_AROUND, seed)
    for view in range(views):
        rng = np.random.default_rng([seed, view])
        camera = cameras[int(rng.integers(CAMERAS_AROUND))] if coverage == "anywhere" else None
        seen = film(clip, camera or clip.cameras[0], rng, layout="mediapipe33")
        encoded = resample(encode(seen.keypoints, seen.scores), clip.fps, NET_FPS)
        targets = frame_targets(clip, len(seen.keypoints))
        targets = (resample(targets, clip.fps, NET_FPS) > 0.5).astype(np.float32)
        examples.append((encoded, targets))
    return examples


def _mirror_permutations() -> tuple[np.ndarray, np.ndarray]:
    """Input column and output order of the mirrored person (left and right swapped)."""
    twin = MEDIAPIPE33.flip_permutation[JOINT_INDEX]  # each joint's twin, in MediaPipe-33
    swapped = np.array([list(JOINT_INDEX).index(joint) for joint in twin])
    columns = np.concatenate(
        [np.ravel([[2 * j, 2 * j + 1] for j in swapped]), 2 * len(JOINTS) + swapped]
    )
    other_side = {"left": "right", "right": "left"}
    outputs = [
        OUTPUTS.index("_".join([other_side[side], what]))
        for side, what in (name.split("_", 1) for name in OUTPUTS)
    ]
    return columns, np.array(outputs)


MIRROR_COLUMNS, MIRROR_OUTPUTS = _mirror_permutations()


def mirrored(encoded: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same session seen in a mirror: x negated, left and right swapped."""
    flipped = encoded[:, MIRROR_COLUMNS].copy()
    flipped[:, 0 : 2 * len(JOINTS) : 2] *= -1
    return flipped, targets[:, MIRROR_OUTPUTS]


ALL_OUTPUTS = np.ones(len(OUTPUTS), dtype=np.float32)


def _batch(examples: list[KneeExample], indices, crop: int, rng: np.random.Generator):
    """Random crops ``(B, INPUTS, crop)``, targets ``(B, O, crop)`` and a weight per
    output and frame ``(B, O, crop)``: 1 on frames of the clip (short clips are padded by
    repeating their last frame) for the outputs it labels, else 0."""
    inputs, targets, weights = [], [], []
    for index in indices:
        example = examples[index]
        encoded, target, labelled = example.encoded, example.targets, example.labelled
        if rng.random() < 0.5:
            encoded, target = mirrored(encoded, target)
            labelled = labelled[MIRROR_OUTPUTS]
        start = rng.integers(0, max(1, len(encoded) - crop + 1))
        x, y = encoded[start : start + crop], target[start : start + crop]
        weight = np.zeros((crop, len(OUTPUTS)), dtype=np.float32)
        weight[: len(x)] = labelled
        pad = crop - len(x)
        inputs.append(np.pad(x, ((0, pad), (0, 0)), mode="edge"))
        targets.append(np.pad(y, ((0, pad), (0, 0)), mode="edge"))
        weights.append(weight)
    return tuple(
        torch.from_numpy(np.stack(arrays).transpose(0, 2, 1).copy())
        for arrays in (inputs, targets, weights)
    )


@torch.no_grad()
def held_out_auc(
    model: KneeErrorNet, examples, outputs: Sequence[str] = OUTPUTS
) -> dict[str, float]:
    """Per output of ``outputs``, the area under the ROC curve over every frame of
    ``examples`` (``(encoded, targets)`` pairs)."""
    model.eval()
    scores, truth = [], []
    for encoded, target in examples:
        scores.append(model(torch.from_numpy(encoded.T[None].copy()))[0].numpy().T)
        truth.append(target)
    score, label = np.concatenate(scores), np.concatenate(truth)
    return {
        name: round(float(roc_auc_score(label[:, i], score[:, i])), 4)
        for i, name in enumerate(OUTPUTS)
        if name in outputs and 0 < label[:, i].sum() < len(label)
    }


def _split_real(
    real: Sequence[KneeExample], share: float, seed: int
) -> tuple[list[KneeExample], list[KneeExample]]:
    """Real examples for training and those kept aside: whole sources (every filming
    of one take, on every body, on one side), about ``share`` of them."""
    kept_aside = [
        stable_hash(f"{seed}:{example.source}") % 10_000 < share * 10_000 for example in real
    ]
    train = [example for example, aside in zip(real, kept_aside, strict=True) if not aside]
    check = [example for example, aside in zip(real, kept_aside, strict=True) if aside]
    return train, check


def train_knee_net(
    folders: list[Path],
    settings: KneeNetTraining = KneeNetTraining(),
    config: KneeNetConfig | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    real: Sequence[KneeExample] = (),
) -> KneeNet:
    """Train on every clip in ``folders`` and the ``real`` examples
    (:func:`lab.knee_net_real.real_knee_examples`); returns the epoch with the best mean
    held-out AUC over the outputs (the real takes' caving outputs as ``real_<output>``).
    ``on_epoch(epoch, metrics)`` hears each epoch's ``loss`` and held-out
    ``auc_<output>`` and ``auc_mean``."""
    paths = sorted(p for folder in folders for p in folder.glob("*.clip.npz"))
    if len(paths) < 2:
        raise ValueError(f"need at least 2 clip files in {', '.join(map(str, folders))}")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    held_out = rng.random(len(paths)) < settings.held_out_share
    held_out[-1] |= not held_out.any()  # a few clips: keep the last one aside
    train, check = [], []
    for number, path in enumerate(tqdm(paths, desc="film clips")):
        examples = clip_examples(
            read_clip(path), settings.views, settings.seed * 1_000_003 + number, settings.coverage
        )
        if held_out[number]:
            check.append(examples[0])
        else:
            train += [KneeExample(*example, ALL_OUTPUTS, path.name) for example in examples]
    real_train, real_check = _split_real(real, settings.held_out_share, settings.seed)
    train += real_train * settings.real_repeat
    real_outputs = [
        name for index, name in enumerate(OUTPUTS) if any(e.labelled[index] for e in real_check)
    ]
    real_pairs = [(example.encoded, example.targets) for example in real_check]
    model = KneeErrorNet(config or KneeNetConfig())
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
    batches = max(1, len(train) // settings.batch)  # per epoch; few clips: one smaller batch
    steps = settings.epochs * batches
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, settings.learning_rate, total_steps=steps
    )
    loss_function = nn.BCEWithLogitsLoss(reduction="none")
    best, history, started = None, [], time.time()
    for epoch in range(settings.epochs):
        model.train()
        order = rng.permutation(len(train))
        losses = []
        for batch in tqdm(range(batches), desc=f"epoch {epoch + 1}/{settings.epochs}", leave=False):
            chosen = order[batch * settings.batch : (batch + 1) * settings.batch]
            x, y, weight = _batch(train, chosen, settings.crop, rng)
            loss = (loss_function(model(x), y) * weight).sum() / weight.sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        auc = held_out_auc(model, check)
        if real_pairs:
            real_auc = held_out_auc(model, real_pairs, real_outputs)
            auc |= {f"real_{name}": value for name, value in real_auc.items()}
        # Without a labelled frame among the held-out clips, the latest epoch is kept.
        mean_auc = float(np.mean(list(auc.values()))) if auc else float(epoch)
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 5), "auc": auc})
        if on_epoch is not None:
            numbers = {"loss": float(np.mean(losses))} | {f"auc_{k}": v for k, v in auc.items()}
            on_epoch(epoch + 1, numbers | ({"auc_mean": mean_auc} if auc else {}))
        tqdm.write(f"epoch {epoch + 1}: loss {np.mean(losses):.4f} held-out AUC {auc}")
        if best is None or mean_auc > best[0]:
            best = (mean_auc, {k: v.clone() for k, v in model.state_dict().items()}, epoch + 1)
    model.load_state_dict(best[1])
    model.eval()
    info = {
        "clips": len(paths),
        "folders": [str(f) for f in folders],
        "held_out_clips": int(held_out.sum()),
        "real_examples": len(real_train),
        "real_held_out": len(real_check),
        "best_epoch": best[2],
        "held_out_auc": history[best[2] - 1]["auc"],
        "history": history,
        "training": asdict(settings),
        "train_minutes": round((time.time() - started) / 60, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return KneeNet(model, info)


def plot_history(info: dict, path: Path) -> Path:
    """The training loss and the held-out AUC per output, epoch by epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = info["history"]
    epochs = [entry["epoch"] for entry in history]
    figure, (loss_axis, auc_axis) = plt.subplots(1, 2, figsize=(9, 3.2))
    loss_axis.plot(epochs, [entry["loss"] for entry in history], marker="o")
    loss_axis.set(xlabel="epoch", ylabel="training loss (BCE)", title="knee network: loss")
    for name in history[-1]["auc"]:
        auc_axis.plot(epochs, [entry["auc"].get(name) for entry in history], marker="o", label=name)
    auc_axis.axvline(info["best_epoch"], color="grey", linestyle=":", label="kept")
    auc_axis.set(xlabel="epoch", ylabel="per-frame ROC AUC", title="held-out clips")
    auc_axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
