"""Cached causal lifting equals the dilated model it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pose3d.cached_stream import CachedCausalModel, StreamMemory
from tests.conftest import make_model


@pytest.mark.parametrize(
    "widths", [(3,), (3, 3), (3, 3, 3), (3, 1, 5), (5, 3), (1,)], ids=lambda w: str(w)
)
def test_cached_model_equals_the_dilated_model_over_the_padded_window(widths):
    model = make_model(widths, causal=True, channels=24)
    network = CachedCausalModel(model)
    rf = model.receptive_field()
    inputs = np.random.default_rng(0).uniform(-1, 1, (60, 17, 2)).astype(np.float32)
    padded = np.concatenate([np.repeat(inputs[:1], rf - 1, axis=0), inputs])
    with torch.inference_mode():
        expected = model(torch.from_numpy(padded)[None])[0].numpy()
    rows = inputs.reshape(len(inputs), -1)
    memory = StreamMemory(network.initial_caches(rows[:1])[0])
    assert [c.shape for c in memory.caches()] == network.cache_shapes
    assert sum(shape[0] for shape in network.cache_shapes) == rf - 1
    got, start = [], 0
    for count in (1, 2, 5, 1, 17, 3, 31):  # steps of any size, past the buffers' room
        got.append(network.advance([memory], [rows[start : start + count]])[0])
        start += count
    np.testing.assert_allclose(np.concatenate(got), expected, atol=1e-5)
