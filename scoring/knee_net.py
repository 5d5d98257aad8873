"""A small temporal network that reads knee errors straight from the phone's 2D landmarks.

The lifter is trained to place joints, not to keep a knee's small sideways or forward
travel: a 10-degree valgus change comes out of it as 1-2 degrees (:mod:`scoring.knee_measures`).
The 2D landmarks still show the error, but how depends on the camera's view, the person's
proportions and the detector's noise, which hand-written image measures only partly undo.
This network is trained on labelled simulated sessions (``coach train-knee-net``) to say,
frame by frame, how likely each knee is caving in or travelling past the toes. Its
per-frame outputs are one more trace for the learned detector (:mod:`scoring.detector`),
which compares them between the user's own repetitions.

Input: 12 MediaPipe landmarks (shoulders, hips, knees, ankles, heels, toes), centred on the
mid-hip of each frame and scaled by the session's median torso length, with their scores:
``(T, 36)``. Architecture: dilated residual 1D convolutions over time (receptive field 81
frames at 30 fps, 2.7 s), non-causal, ``same`` padding, one logit per output per frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pose3d.skeleton import MEDIAPIPE33

NET_FPS = 30.0  # the network reads sessions resampled to this rate
JOINTS = tuple(
    f"{side}_{part}"
    for side in ("left", "right")
    for part in ("shoulder", "hip", "knee", "ankle", "heel", "foot_index")
)
JOINT_INDEX = np.array([MEDIAPIPE33.index(name) for name in JOINTS])  # in MediaPipe-33
INPUTS = 3 * len(JOINTS)  # x, y, score per joint
OUTPUTS = ("left_caving", "right_caving", "left_over_toes", "right_over_toes")
DEFAULT_PATH = Path(__file__).parent / "models" / "knee_net.pt"


@dataclass(frozen=True)
class KneeNetConfig:
    """Size of the network (kept in its checkpoint)."""

    channels: int = 96
    dilations: tuple[int, ...] = (1, 3, 9, 27)
    dropout: float = 0.1


class _Block(nn.Module):
    def __init__(self, channels: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, dilation=dilation, padding="same")
        self.mix = nn.Conv1d(channels, channels, 1)
        self.norm1, self.norm2 = nn.BatchNorm1d(channels), nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(torch.relu(self.norm1(self.conv(x))))
        return x + self.drop(torch.relu(self.norm2(self.mix(y))))


class KneeErrorNet(nn.Module):
    """``(B, INPUTS, T)`` encoded landmarks -> ``(B, len(OUTPUTS), T)`` logits."""

    def __init__(self, config: KneeNetConfig = KneeNetConfig()):
        super().__init__()
        self.config = config
        self.expand = nn.Conv1d(INPUTS, config.channels, 3, padding="same")
        self.blocks = nn.Sequential(
            *(_Block(config.channels, d, config.dropout) for d in config.dilations)
        )
        self.head = nn.Conv1d(config.channels, len(OUTPUTS), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(torch.relu(self.expand(x))))


def _filled(values: np.ndarray) -> np.ndarray:
    """``(T, C)`` with NaN runs interpolated per column (0 where a column is never seen)."""
    frames = np.arange(len(values))
    out = np.zeros_like(values)
    for column in range(values.shape[1]):
        seen = np.isfinite(values[:, column])
        if seen.any():
            out[:, column] = np.interp(frames, frames[seen], values[seen, column])
    return out


def encode(keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The network's input ``(T, INPUTS)`` float32 from MediaPipe-33 ``keypoints``
    ``(T, 33, 2)`` pixels (NaN where unseen) and ``scores`` ``(T, 33)``.

    Coordinates are centred on each frame's mid-hip and divided by the session's median
    shoulder-to-hip length (so distance and image size do not matter); unseen joints are
    interpolated over time (0 if never seen) and get score 0.
    """
    index = JOINT_INDEX
    points = _filled(keypoints[:, index].reshape(len(keypoints), -1)).reshape(-1, len(index), 2)
    hips = points[:, [JOINTS.index("left_hip"), JOINTS.index("right_hip")]].mean(axis=1)
    shoulders = points[:, [JOINTS.index("left_shoulder"), JOINTS.index("right_shoulder")]]
    torso = np.median(np.linalg.norm(shoulders.mean(axis=1) - hips, axis=1)) + 1e-6
    if torso < 1.0:  # shoulders or hips never seen (pixels): no scale, and scores are 0
        torso = 1.0
    centred = (points - hips[:, None]) / torso
    confidence = np.where(np.isfinite(keypoints[:, index, 0]), scores[:, index], 0.0)
    return np.concatenate([centred.reshape(len(points), -1), confidence], axis=1).astype(np.float32)


def resample(values: np.ndarray, fps: float, target_fps: float, length: int | None = None):
    """``values`` ``(T, C)`` at ``fps`` linearly resampled to ``target_fps`` (or to
    ``length`` frames when given)."""
    frames = len(values)
    count = length if length is not None else max(1, round(frames * target_fps / fps))
    if count == frames:
        return values
    source = np.linspace(0, frames - 1, count)
    return np.stack(
        [np.interp(source, np.arange(frames), values[:, c]) for c in range(values.shape[1])],
        axis=1,
    ).astype(values.dtype)


@dataclass
class KneeNet:
    """A trained :class:`KneeErrorNet` with what it was trained on (``info``)."""

    model: KneeErrorNet
    info: dict

    @torch.no_grad()
    def probabilities(self, keypoints: np.ndarray, scores: np.ndarray, fps: float) -> dict:
        """Per output name (:data:`OUTPUTS`), ``(T,)`` probability per frame that the
        error is there, for MediaPipe-33 ``keypoints`` ``(T, 33, 2)`` and ``scores``
        ``(T, 33)`` filmed at ``fps``."""
        if keypoints.ndim != 3 or keypoints.shape[1:] != (33, 2):
            raise ValueError(
                f"keypoints must be (T, 33, 2) MediaPipe pixels, got {keypoints.shape}"
            )
        if self.model.training:  # eval() walks every module: only when needed
            self.model.eval()
        encoded = resample(encode(keypoints, scores), fps, NET_FPS)
        logits = self.model(torch.from_numpy(encoded.T[None].copy()))[0].numpy().T
        probability = resample(1 / (1 + np.exp(-logits)), NET_FPS, fps, len(keypoints))
        return {name: probability[:, i] for i, name in enumerate(OUTPUTS)}

    def save(self, path: str | Path) -> Path:
        """Write the weights (float16) and ``info`` beside them as readable JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            k: v.half() if v.is_floating_point() else v for k, v in self.model.state_dict().items()
        }
        config = asdict(self.model.config)
        torch.save({"state": state, "config": config, "info": self.info}, path)
        path.with_suffix(".json").write_text(json.dumps(self.info, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> KneeNet | None:
        """The saved network, or ``None`` if there is none."""
        path = Path(path)
        if not path.is_file():
            return None
        saved = torch.load(path, map_location="cpu", weights_only=True)
        config = saved["config"]
        model = KneeErrorNet(KneeNetConfig(**config | {"dilations": tuple(config["dilations"])}))
        model.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in saved["state"].items()}
        )
        model.eval()
        return cls(model, saved["info"])


@cache
def bundled() -> KneeNet | None:
    """The network shipped with the package (loaded once), or ``None`` if there is none."""
    return KneeNet.load(DEFAULT_PATH)
