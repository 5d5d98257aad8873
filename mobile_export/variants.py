"""The lifter in the two shapes the phone runs it.

* :class:`StreamingLifter`: one receptive-field window of normalised 2D keypoints in
  ``(1, R, 17, 2)``, the newest frame's 3D pose out ``(1, 17, 3)``: the strided twin,
  which computes exactly that one output (live feedback).
* :class:`WindowedLifter`: ``(1, T, 17, 2)`` in, ``(1, T - R + 1, 17, 3)`` out: the
  dilated model over a window of frames (offline analysis of a recorded set).

Both take shapes as constants (no Python shape arithmetic at run time), so they trace
cleanly for Core ML and ONNX, and both put the root joint at the origin, as
:class:`pose3d.Lifter` does.
"""

from __future__ import annotations

import torch
from torch import nn

from pose3d.model import TemporalModel, TemporalModelStrided


class _RootRelative(nn.Module):
    def __init__(self, joints_out: int) -> None:
        super().__init__()
        mask = torch.ones(1, 1, joints_out, 1)
        mask[..., 0, :] = 0
        self.register_buffer("root_mask", mask)


class StreamingLifter(_RootRelative):
    """Newest pose of one window: ``(1, R, J_in, 2)`` -> ``(1, J_out, 3)`` (metres)."""

    def __init__(self, model: TemporalModel) -> None:
        super().__init__(model.num_joints_out)
        self.strided = TemporalModelStrided(**model.hyperparameters)
        self.strided.load_state_dict(model.state_dict())
        self.strided.eval()
        self.window = model.receptive_field()
        self.flat_in = model.num_joints_in * model.in_features
        self.joints_out = model.num_joints_out

    def forward(self, keypoints: torch.Tensor) -> torch.Tensor:
        x = keypoints.reshape(1, self.window, self.flat_in).permute(0, 2, 1)
        y = self.strided._forward_blocks(x).reshape(1, 1, self.joints_out, 3)
        return (y * self.root_mask).reshape(1, self.joints_out, 3)


class WindowedLifter(_RootRelative):
    """Every pose of a window: ``(1, T, J_in, 2)`` -> ``(1, T - R + 1, J_out, 3)``.

    With ``frames`` the window length is a constant (Core ML); with ``None`` it is
    whatever the input has (ONNX with a dynamic time axis).
    """

    def __init__(self, model: TemporalModel, frames: int | None) -> None:
        super().__init__(model.num_joints_out)
        self.model = model.eval()
        self.frames = frames
        if frames is not None and frames < model.receptive_field():
            raise ValueError(f"a window needs at least {model.receptive_field()} frames")
        self.flat_in = model.num_joints_in * model.in_features
        self.joints_out = model.num_joints_out

    def forward(self, keypoints: torch.Tensor) -> torch.Tensor:
        if self.frames is None:
            return self.model(keypoints) * self.root_mask
        outputs = self.frames - self.model.receptive_field() + 1
        x = keypoints.reshape(1, self.frames, self.flat_in).permute(0, 2, 1)
        y = self.model._forward_blocks(x).permute(0, 2, 1)
        return y.reshape(1, outputs, self.joints_out, 3) * self.root_mask
