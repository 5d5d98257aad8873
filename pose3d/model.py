"""The temporal convolution lifter (VideoPose3D architecture, Pavllo et al., CVPR 2019).

Written from the paper's description. A stack of 1D convolutions over time turns a
window of 2D poses into the 3D pose of one frame:

* ``expand_conv`` (width ``filter_widths[0]``) + ``expand_bn`` lifts the flattened 2D
  joints to ``channels`` features;
* each residual block ``i`` is a dilated conv (width ``filter_widths[i]``, dilation the
  product of the earlier widths) and a 1x1 conv, each followed by BatchNorm, ReLU and
  dropout; ``layers_conv``/``layers_bn`` hold them in that order (two per block);
* ``shrink`` (1x1 conv) maps features to ``num_joints_out * 3`` coordinates.

Two interchangeable implementations share parameter names and shapes:

* :class:`TemporalModel` uses dilated convolutions and lifts a whole sequence at once
  (``T`` input frames -> ``T - receptive_field + 1`` outputs).
* :class:`TemporalModelStrided` (the paper's training twin) replaces dilation by stride
  and computes exactly one output per receptive-field window; it is much cheaper when
  only one frame is needed (training batches, streaming).

In causal mode each output depends only on the current and past frames: the residual
connections take the last frame of each window instead of the centre one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class _TemporalModelBase(nn.Module):
    """Shared layers and shape handling; subclasses define the convolution blocks."""

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool = False,
        dropout: float = 0.25,
        channels: int = 1024,
    ) -> None:
        super().__init__()
        filter_widths = [int(w) for w in filter_widths]
        if not filter_widths:
            raise ValueError("filter_widths must not be empty")
        for width in filter_widths:
            if width < 1 or width % 2 == 0:
                raise ValueError(f"filter widths must be odd and >= 1, got {filter_widths}")
        if min(num_joints_in, in_features, num_joints_out, channels) < 1:
            raise ValueError("joint counts, in_features and channels must be positive")
        self.num_joints_in = num_joints_in
        self.in_features = in_features
        self.num_joints_out = num_joints_out
        self.filter_widths = filter_widths
        self.causal = causal
        self.channels = channels

        self.drop = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        self.shrink = nn.Conv1d(channels, num_joints_out * 3, 1)

        # pad[i]: frames consumed on each side by layer i (half its dilated span);
        # causal_shift[i]: how far layer i's residual moves from the window centre to
        # its end in causal mode (in the layer's own time units).
        self.pad = [filter_widths[0] // 2]
        self.causal_shift = [0]
        self.expand_conv = self._conv(num_joints_in * in_features, filter_widths[0], 1)
        layers_conv, layers_bn = [], []
        dilation = filter_widths[0]
        for width in filter_widths[1:]:
            self.pad.append((width - 1) * dilation // 2)
            self.causal_shift.append(self._shift(width, dilation) if causal else 0)
            layers_conv += [
                self._conv(channels, width, dilation),
                nn.Conv1d(channels, channels, 1, bias=False),
            ]
            layers_bn += [
                nn.BatchNorm1d(channels, momentum=0.1),
                nn.BatchNorm1d(channels, momentum=0.1),
            ]
            dilation *= width
        self.layers_conv = nn.ModuleList(layers_conv)
        self.layers_bn = nn.ModuleList(layers_bn)

    @property
    def hyperparameters(self) -> dict:
        """Constructor arguments (without dropout), for checkpoints and export."""
        return {
            "num_joints_in": self.num_joints_in,
            "in_features": self.in_features,
            "num_joints_out": self.num_joints_out,
            "filter_widths": list(self.filter_widths),
            "causal": self.causal,
            "channels": self.channels,
        }

    def set_bn_momentum(self, momentum: float) -> None:
        """Set the momentum of every BatchNorm layer (decayed during training)."""
        for module in self.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.momentum = momentum

    def receptive_field(self) -> int:
        """Number of input frames that determine one output frame."""
        return 1 + 2 * sum(self.pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Lift 2D pose windows to 3D.

        Args:
            x: ``(N, T, num_joints_in, in_features)`` normalised 2D keypoints.

        Returns:
            ``(N, T_out, num_joints_out, 3)`` root-relative poses (metres), where
            ``T_out`` is ``T - receptive_field() + 1`` for :class:`TemporalModel`, and 1
            for :class:`TemporalModelStrided` fed windows of exactly
            ``receptive_field()`` frames.
        """
        if x.ndim != 4:
            raise ValueError(f"expected input (N, T, J, F), got shape {tuple(x.shape)}")
        n, t, joints, features = x.shape
        if (joints, features) != (self.num_joints_in, self.in_features):
            raise ValueError(
                f"expected {self.num_joints_in} joints x {self.in_features} features, "
                f"got {joints} x {features}"
            )
        if t < self.receptive_field():
            raise ValueError(
                f"need at least {self.receptive_field()} frames (the receptive field), got {t}"
            )
        x = x.reshape(n, t, joints * features).permute(0, 2, 1)
        x = self._forward_blocks(x)
        x = x.permute(0, 2, 1)
        return x.reshape(n, -1, self.num_joints_out, 3)

    def _block(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Conv -> BatchNorm -> ReLU -> dropout for ``layers_conv[index]``."""
        return self.drop(self.relu(self.layers_bn[index](self.layers_conv[index](x))))

    def _conv(self, in_channels: int, width: int, dilation: int) -> nn.Conv1d:
        """The temporal convolution of a block spanning ``width`` taps ``dilation`` apart."""
        raise NotImplementedError

    def _shift(self, width: int, dilation: int) -> int:
        """Causal residual offset of a block (see ``causal_shift``)."""
        raise NotImplementedError

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class TemporalModel(_TemporalModelBase):
    """Dilated-convolution lifter for whole sequences (inference, evaluation)."""

    def _conv(self, in_channels: int, width: int, dilation: int) -> nn.Conv1d:
        return nn.Conv1d(in_channels, self.channels, width, dilation=dilation, bias=False)

    def _shift(self, width: int, dilation: int) -> int:
        return (width - 1) * dilation // 2

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for i in range(len(self.pad) - 1):
            pad, shift = self.pad[i + 1], self.causal_shift[i + 1]
            residual = x[:, :, pad + shift : x.shape[2] - pad + shift]
            x = self._block(2 * i, x)
            x = residual + self._block(2 * i + 1, x)
        return self.shrink(x)


class TemporalModelStrided(_TemporalModelBase):
    """Strided twin of :class:`TemporalModel`: one output per receptive-field window.

    Feed it windows of exactly ``receptive_field()`` frames (a batch of them for
    training). Its state_dict is interchangeable with :class:`TemporalModel`'s.
    """

    def _conv(self, in_channels: int, width: int, dilation: int) -> nn.Conv1d:
        return nn.Conv1d(in_channels, self.channels, width, stride=width, bias=False)

    def _shift(self, width: int, dilation: int) -> int:
        return width // 2  # in stride units the residual sits at width // 2 or width - 1

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for i in range(len(self.pad) - 1):
            width = self.filter_widths[i + 1]
            residual = x[:, :, self.causal_shift[i + 1] + width // 2 :: width]
            x = self._block(2 * i, x)
            x = residual + self._block(2 * i + 1, x)
        return self.shrink(x)


GROWN_BLOCK_SCALE = 1e-3  # a new block's output scale when a receptive field is grown


def grow_receptive_field(source: TemporalModel, target: _TemporalModelBase) -> None:
    """Start ``target`` as ``source`` with its receptive field widened: ``target`` has the
    same blocks first (same filter widths, channels, joints, causality) and more after
    them. The shared layers take ``source``'s weights and the new blocks start next to
    the identity (the BatchNorm after each new block's last convolution scales it to
    :data:`GROWN_BLOCK_SCALE`: a block adds almost nothing to its residual, and the ReLU
    after it still passes gradients, which a scale of zero would stop), so ``target``
    lifts as ``source`` did until training uses the wider context.

    Raises:
        ValueError: When ``target`` does not begin with ``source``'s blocks.
    """
    shared = len(source.filter_widths)
    begins = target.hyperparameters | {"filter_widths": list(target.filter_widths[:shared])}
    if begins != source.hyperparameters or len(target.filter_widths) <= shared:
        raise ValueError(
            f"cannot grow {source.hyperparameters} into {target.hyperparameters}: "
            "the wider model must begin with the same blocks"
        )
    target.load_state_dict(target.state_dict() | source.state_dict())  # copies the values
    with torch.no_grad():
        for block in range(shared - 1, len(target.filter_widths) - 1):
            last = target.layers_bn[2 * block + 1]
            last.weight.fill_(GROWN_BLOCK_SCALE)
            last.bias.zero_()


def widen_channels(source: _TemporalModelBase, target: _TemporalModelBase) -> None:
    """Start ``target`` as ``source`` with more channels (same blocks otherwise): each
    layer keeps ``source``'s weights for its first channels, its new channels read every
    input from a fresh initialisation, no old channel reads a new one, and ``shrink``
    reads the new channels with zero weights, so ``target`` lifts exactly as ``source``
    did until training gives the new channels a say (``shrink``'s gradient on them is
    not zero, as their activations are not).

    Raises:
        ValueError: When ``target`` differs from ``source`` in more than having more
            channels.
    """
    old, new = source.channels, target.channels
    same = target.hyperparameters | {"channels": old}
    if same != source.hyperparameters or new <= old:
        raise ValueError(
            f"cannot widen {source.hyperparameters} into {target.hyperparameters}: "
            "the wider model must have more channels and the same blocks"
        )
    weights = source.state_dict()
    with torch.no_grad():
        for name, value in target.state_dict().items():
            known = weights[name]
            if name.startswith("shrink.") and name.endswith("weight"):
                value.zero_()  # (J*3, channels, 1): new channels unheard
            elif value.ndim == 3:  # a convolution's (out, in, width)
                value[:old, known.shape[1] :] = 0  # old channels ignore new inputs
            value[tuple(slice(0, size) for size in known.shape)] = known
