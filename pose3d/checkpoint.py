"""Lifter checkpoints: the original VideoPose3D dict plus our metadata under ``coach``.

A checkpoint is a ``torch.save`` dict::

    {"model_pos": state_dict, "model_traj": state_dict (optional), ..., "coach": {...}}

``model_pos`` uses the parameter names of :mod:`pose3d.model`, which are those of the
original project, so its checkpoints load as they are. A checkpoint without ``coach``
metadata is taken to be in that original format: COCO-17 2D input, H36M-17 3D output,
filter widths and channels inferred from the weight shapes, non-causal, 50 fps.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from pose3d.archive import atomic_write
from pose3d.model import TemporalModel

FORMAT_VERSION = 1
NORMALIZATION = "X / w * 2 - [1, h / w]"


@dataclass
class LifterMetadata:
    """What a checkpoint says about its model, beyond the weights.

    Attributes:
        architecture: :class:`~pose3d.model.TemporalModel` constructor arguments.
        input_layout: Layout of the 2D input (``"coco17"``).
        output_layout: Layout of the 3D output (``"h36m17"``).
        fps: Frame rate the model was trained at (frames per second).
        normalization: Formula applied to pixel inputs.
        version: Model version string shown to users and the app.
        training_fingerprint: Fingerprint of the training shards (empty if unknown).
        metrics: Evaluation figures (e.g. ``{"mpjpe_mm": 41.0}``).
        extra: Anything else worth keeping (training command, dates).
        flip_test: Whole sequences are lifted averaged with the lift of their mirror
            image by default (test-time flip augmentation: twice the lifting cost, set
            on a recordings lifter whose scoring was fitted on such lifts).
    """

    architecture: dict[str, Any]
    input_layout: str = "coco17"
    output_layout: str = "h36m17"
    fps: float = 50.0
    normalization: str = NORMALIZATION
    version: str = "unversioned"
    training_fingerprint: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    flip_test: bool = False
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LifterMetadata:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown checkpoint metadata keys: {sorted(unknown)}")
        if "architecture" not in data:
            raise ValueError("checkpoint metadata lacks 'architecture'")
        return cls(**data)


@dataclass
class LoadedCheckpoint:
    """A checkpoint read from disk: the model (eval mode), its metadata and the raw dict."""

    model: TemporalModel
    metadata: LifterMetadata
    raw: dict[str, Any]


def infer_architecture(state_dict: dict[str, torch.Tensor], in_features: int = 2) -> dict:
    """Recover TemporalModel arguments from a state_dict's weight shapes.

    ``expand_conv.weight`` is ``(channels, joints_in * in_features, width0)``; each
    dilated conv ``layers_conv.{2i}.weight`` is ``(channels, channels, width_i)``;
    ``shrink.weight`` is ``(joints_out * 3, channels, 1)``. Causality is not visible in
    the weights and is reported as ``False``.
    """
    required = ("expand_conv.weight", "shrink.weight")
    missing = [key for key in required if key not in state_dict]
    if missing:
        raise ValueError(f"not a TemporalModel state_dict: missing {missing}")
    expand = state_dict["expand_conv.weight"]
    channels, flat_in, first_width = expand.shape
    if flat_in % in_features:
        raise ValueError(f"expand_conv input size {flat_in} is not a multiple of {in_features}")
    block_keys = sorted(
        (int(m.group(1)), key)
        for key in state_dict
        if (m := re.fullmatch(r"layers_conv\.(\d+)\.weight", key))
    )
    widths = [int(first_width)]
    widths += [int(state_dict[key].shape[2]) for index, key in block_keys if index % 2 == 0]
    return {
        "num_joints_in": flat_in // in_features,
        "in_features": in_features,
        "num_joints_out": int(state_dict["shrink.weight"].shape[0]) // 3,
        "filter_widths": widths,
        "causal": False,
        "channels": int(channels),
    }


def build_model(architecture: dict[str, Any], dropout: float = 0.25) -> TemporalModel:
    """Instantiate the dilated :class:`TemporalModel` described by ``architecture``."""
    return TemporalModel(dropout=dropout, **architecture)


def save_checkpoint(
    path: str | os.PathLike,
    model_pos: torch.nn.Module,
    metadata: LifterMetadata,
    *,
    model_traj: torch.nn.Module | None = None,
    **extra: Any,
) -> Path:
    """Write a checkpoint atomically (temp file then rename) and return its path.

    ``extra`` entries (``epoch``, ``optimizer``, ``lr`` ...) are stored at the top level,
    as in the original format.
    """
    payload: dict[str, Any] = dict(extra)
    payload["model_pos"] = model_pos.state_dict()
    if model_traj is not None:
        payload["model_traj"] = model_traj.state_dict()
    payload["coach"] = metadata.to_dict()
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Read a checkpoint (ours or the original project's) and build its model.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a readable lifter checkpoint (message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(raw, dict) or "model_pos" not in raw:
        raise ValueError(f"{path} is not a lifter checkpoint: no 'model_pos' entry")
    state_dict = raw["model_pos"]
    if "coach" in raw:
        metadata = LifterMetadata.from_dict(raw["coach"])
    else:
        metadata = LifterMetadata(
            architecture=infer_architecture(state_dict), version=f"original:{path.name}"
        )
    model = build_model(metadata.architecture)
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not match the architecture: {exc}") from exc
    model.eval()
    return LoadedCheckpoint(model=model, metadata=metadata, raw=raw)
