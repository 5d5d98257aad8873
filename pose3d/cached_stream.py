"""Cached causal inference: a causal :class:`~pose3d.model.TemporalModel` run one step at a
time, for many streams in one pass.

Lifting a stream's newest frame with the strided twin recomputes the whole receptive
field (81 frames for widths 3,3,3,3) although every layer's older outputs were computed
for the previous frames already. Here each layer keeps a cache of its recent inputs,
exactly the taps its dilated kernel still needs (``(width - 1) * dilation`` steps), and
computes only its outputs for the new frames: 1.7 MFLOP per frame instead of 8.3 for the
bundled model. In causal mode a block's residual is its newest input, so it needs no
cache of its own.

At load the eval-mode network is folded into plain float32 matrices (each BatchNorm into
the convolution before it; dropout is the identity), and a step is a few matrix products
per layer over the new frames of all the streams passed together: one product per layer
for the whole batch, which is what amortises the weights' memory traffic when a server
lifts hundreds of phones per tick. The taps are gathered in numpy and the products of a
pass of many rows run in torch on the same memory: torch's float32 GEMM was never more
than 1.2x slower than numpy's OpenBLAS on batches of 20 streams or more, and 2.0-2.4x
faster on a slower host (``bench.stream_lifter``, docs/design-notes.md); a pass of a few
rows stays in numpy, where torch's per-call dispatch costs more than it saves.

A stream's caches are a list of per-layer arrays ``(H_l, C_l)``, oldest step first
(``H_l`` the history of layer ``l``, ``C_l`` its input channels); together they hold
``receptive_field - 1`` steps. A :class:`StreamMemory` keeps them between steps, in
buffers that the steps append to.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from pose3d.model import TemporalModel


class _CausalLayer(NamedTuple):
    """One temporal convolution with BatchNorm folded in, as matrices.

    ``taps`` ``(width * C_in, C_out)`` stacks the kernel's taps oldest first, so that the
    rows ``[x[t - (width-1)*dilation], ..., x[t - dilation], x[t]]`` concatenated times
    ``taps`` is the convolution's output at ``t``. A residual block adds ``pointwise``
    (the folded 1x1 convolution, ``(C_out, C_out)`` and its bias) and the residual.
    """

    taps: np.ndarray
    bias: np.ndarray
    lags: np.ndarray  # (width,) steps back of each tap: (width - 1) * dilation, ..., 0
    pointwise: tuple[np.ndarray, np.ndarray] | None

    @property
    def history(self) -> int:
        """Past steps of its input this layer needs besides the current one."""
        return int(self.lags[0])


def _fold(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> tuple[np.ndarray, np.ndarray]:
    """An eval-mode conv (no bias) + BatchNorm as ``(width * C_in, C_out)`` tap matrix and
    ``(C_out,)`` bias, folded in float64 so that the float32 result rounds once."""
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    bias = bn.bias.double() - bn.running_mean.double() * scale
    weight = conv.weight.double() * scale[:, None, None]  # (C_out, C_in, width)
    taps = weight.permute(2, 1, 0).reshape(-1, weight.shape[0])  # row = tap * C_in + channel
    return taps.float().numpy().copy(), bias.float().numpy().copy()


class CachedCausalModel:
    """A causal :class:`TemporalModel` for incremental lifting of many streams.

    Args:
        model: A causal dilated model; its weights are copied (later changes to it are
            not seen) with BatchNorm's running statistics folded in, as in eval mode.
    """

    # Passes of fewer rows than this (one phone's few new frames) multiply in numpy, the
    # others in torch: the crossover of ``bench.stream_lifter``'s backends table.
    torch_min_rows = 16

    def __init__(self, model: TemporalModel) -> None:
        if not model.causal:
            raise ValueError("cached inference needs a causal model")
        self.num_joints_out = model.num_joints_out
        # Held by whoever lifts streams of this model (pose3d.lifter.lift_queued): a
        # stream's layer caches move on one pass at a time, in the order of its frames.
        self.lock = threading.Lock()
        with torch.no_grad():
            convs = [(model.expand_conv, model.expand_bn)]
            convs += zip(model.layers_conv[::2], model.layers_bn[::2], strict=True)
            pointwise = [None] + [
                _fold(conv, bn)
                for conv, bn in zip(model.layers_conv[1::2], model.layers_bn[1::2], strict=True)
            ]
            self.layers: list[_CausalLayer] = []
            for (conv, bn), point in zip(convs, pointwise, strict=True):
                width, dilation = conv.kernel_size[0], conv.dilation[0]
                lags = np.arange(width - 1, -1, -1) * dilation
                self.layers.append(_CausalLayer(*_fold(conv, bn), lags, point))
            self.shrink = (
                model.shrink.weight[:, :, 0].T.float().numpy().copy(),
                model.shrink.bias.float().numpy().copy(),
            )
        # The layers' matrices as tensors on the same memory, for the products.
        self._tensors = [
            (
                torch.from_numpy(layer.taps),
                torch.from_numpy(layer.bias),
                None if layer.pointwise is None else tuple(map(torch.from_numpy, layer.pointwise)),
            )
            for layer in self.layers
        ]

    @property
    def cache_shapes(self) -> list[tuple[int, int]]:
        """``(H_l, C_l)`` of each layer's cache."""
        return [(layer.history, layer.taps.shape[0] // len(layer.lags)) for layer in self.layers]

    def initial_caches(self, first: np.ndarray) -> list[list[np.ndarray]]:
        """The caches of streams whose past is their first frame repeated forever.

        A stream's window before it is full is padded with its first frame; a constant
        input makes every layer's activations constant in time, so each layer's cache is
        its input for that constant past, repeated: one step of the network per stream.

        Args:
            first: ``(B, J_in * F)`` each stream's first normalised frame, flattened.

        Returns:
            Per stream, its per-layer caches ``(H_l, C_l)``, oldest step first.
        """
        x = np.asarray(first, dtype=np.float32)
        caches: list[list[np.ndarray]] = [[] for _ in x]
        for index, layer in enumerate(self.layers):
            for cache, current in zip(caches, x, strict=True):
                cache.append(np.repeat(current[None], layer.history, axis=0))
            x = self._layer(index, np.tile(x, len(layer.lags)), x)
        return caches

    def advance(
        self, memories: Sequence[StreamMemory], frames: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Lift the new frames of ``B`` streams in one pass; their memories move on.

        Args:
            memories: Per stream its layer caches (distinct streams).
            frames: Per stream its ``k_b >= 1`` new frames ``(k_b, J_in * F)``, normalised
                and flattened, oldest first.

        Returns:
            Per stream its ``(k_b, J_out, 3)`` poses (metres, the model's raw output: the
            root joint is not moved).
        """
        counts = [len(f) for f in frames]
        if len(memories) != len(counts) or min(counts, default=1) < 1:
            raise ValueError("need one memory and at least one frame per stream")
        ends = np.cumsum(counts).tolist()
        rows = list(zip([0, *ends[:-1]], ends, strict=True))  # stream b's rows of x
        x = np.concatenate(frames).astype(np.float32, copy=False)
        for index, layer in enumerate(self.layers):
            # Row i of a step reads the steps ``lags`` before its own.
            reach = np.arange(max(counts))[:, None] - layer.lags
            taps = []
            for (start, end), memory in zip(rows, memories, strict=True):
                buffer, first = memory.append(index, x[start:end])
                taps.append(buffer[reach[: end - start] + first])
            x = self._layer(index, np.concatenate(taps).reshape(len(x), -1), x)
        poses = (x @ self.shrink[0] + self.shrink[1]).reshape(len(x), self.num_joints_out, 3)
        return [poses[start:end] for start, end in rows]

    def _layer(self, index: int, taps: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Layer ``index`` on ``(N, width * C_in)`` gathered taps; ``x`` ``(N, C_in)`` its
        current input (the residual of a block). Returns ``(N, C_out)``."""
        if len(taps) < self.torch_min_rows:
            return _numpy_layer(self.layers[index], taps, x)
        weights, bias, pointwise = self._tensors[index]
        with torch.inference_mode():
            y = torch.addmm(bias, torch.from_numpy(taps), weights).relu_()
            if pointwise is not None:
                y = torch.addmm(pointwise[1], y, pointwise[0]).relu_().add_(torch.from_numpy(x))
        return y.numpy()


def _numpy_layer(layer: _CausalLayer, taps: np.ndarray, x: np.ndarray) -> np.ndarray:
    """:meth:`CachedCausalModel._layer` in numpy (a few rows: torch's dispatch would
    cost more than its faster products save)."""
    y = np.maximum(taps @ layer.taps + layer.bias, 0.0)
    if layer.pointwise is None:
        return y
    weight, bias = layer.pointwise
    return x + np.maximum(y @ weight + bias, 0.0)


class StreamMemory:
    """One stream's layer caches, kept so that a step appends to them in place.

    Layer ``l``'s history lives in a buffer with room after it: a step writes its new
    inputs after the last ``H_l`` steps, so that the taps of every new row are one gather
    from one array, and nothing is copied or allocated per step until the room is used
    up (then the last ``H_l`` steps move to a fresh buffer's start).

    Args:
        caches: Per layer ``(H_l, C_l)`` its last inputs, oldest first (copied).
    """

    def __init__(self, caches: Sequence[np.ndarray]) -> None:
        self.histories = [len(cache) for cache in caches]
        self._buffers = [self._fresh(cache, 0) for cache in caches]
        self._ends = list(self.histories)  # buffer row after the newest step, per layer

    @staticmethod
    def _fresh(history: np.ndarray, incoming: int) -> np.ndarray:
        """A buffer starting with ``history`` ``(H, C)`` and room for ``H + max(incoming,
        16)`` more rows: ``incoming`` fit, and the move is paid once per H steps or more."""
        rows = len(history)
        buffer = np.empty((2 * rows + max(incoming, 16), history.shape[1]), np.float32)
        buffer[:rows] = history
        return buffer

    def caches(self) -> list[np.ndarray]:
        """Per layer ``(H_l, C_l)`` its last inputs, oldest first (copies)."""
        return [
            buffer[end - history : end].copy()
            for buffer, end, history in zip(self._buffers, self._ends, self.histories, strict=True)
        ]

    def append(self, layer: int, new: np.ndarray) -> tuple[np.ndarray, int]:
        """Append layer ``layer``'s inputs ``(k, C)`` for the new steps; returns the buffer
        and the row of the first new step in it (``H_l`` past steps sit before it)."""
        buffer, end, history = self._buffers[layer], self._ends[layer], self.histories[layer]
        if end + len(new) > len(buffer):
            buffer = self._buffers[layer] = self._fresh(buffer[end - history : end], len(new))
            end = history
        buffer[end : end + len(new)] = new
        self._ends[layer] = end + len(new)
        return buffer, end
