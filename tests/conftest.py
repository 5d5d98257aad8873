"""Shared fixtures: small deterministic models and keypoint sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pose3d.checkpoint import LifterMetadata
from pose3d.lifter import Lifter
from pose3d.model import TemporalModel


def make_model(filter_widths=(3, 3), causal=False, channels=16, seed=0) -> TemporalModel:
    """A tiny randomly initialised TemporalModel with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    model = TemporalModel(17, 2, 17, list(filter_widths), causal=causal, channels=channels)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
    return model.eval()


def make_lifter(filter_widths=(3, 3), causal=False, fps=30.0) -> Lifter:
    model = make_model(filter_widths, causal)
    metadata = LifterMetadata(architecture=model.hyperparameters, fps=fps, version="test")
    return Lifter(model, metadata)


@pytest.fixture
def lifter() -> Lifter:
    return make_lifter()


@pytest.fixture
def causal_lifter() -> Lifter:
    return make_lifter(causal=True)


@pytest.fixture
def keypoints() -> np.ndarray:
    """A smooth (40, 17, 2) COCO-17 pixel sequence in a 1080x1920 portrait frame."""
    rng = np.random.default_rng(0)
    base = rng.uniform([300, 500], [800, 1500], size=(17, 2))
    t = np.arange(40)[:, None, None]
    motion = 40 * np.sin(t / 6 + rng.uniform(0, 6, size=(1, 17, 1)))
    return (base[None] + motion).astype(np.float32)
