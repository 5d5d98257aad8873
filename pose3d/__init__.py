"""2D -> 3D human pose lifting: layouts, camera maths, the temporal model, metrics, inference.

Names that need torch (the model, checkpoints, the Lifter, metrics) are imported on
first use, so numpy-only users (the simulator, the Beam workers) do not pay for torch.
"""

from importlib import import_module

from pose3d.camera import (
    Intrinsics,
    camera_to_world,
    image_coordinates,
    look_at,
    normalize_screen_coordinates,
    project,
    world_to_camera,
)
from pose3d.skeleton import COCO17, H36M17, MEDIAPIPE33, Layout, convert_layout, flip_lr, get_layout

_LAZY = {
    "LifterMetadata": "pose3d.checkpoint",
    "load_checkpoint": "pose3d.checkpoint",
    "save_checkpoint": "pose3d.checkpoint",
    "LiftStream": "pose3d.lifter",
    "lift_streams": "pose3d.lifter",
    "Lifter": "pose3d.lifter",
    "ModelNotBundledError": "pose3d.lifter",
    "mpjpe": "pose3d.metrics",
    "mpjve": "pose3d.metrics",
    "n_mpjpe": "pose3d.metrics",
    "p_mpjpe": "pose3d.metrics",
    "per_joint_error": "pose3d.metrics",
    "TemporalModel": "pose3d.model",
    "TemporalModelStrided": "pose3d.model",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pose3d' has no attribute {name!r}")


__all__ = [
    "COCO17",
    "H36M17",
    "MEDIAPIPE33",
    "Intrinsics",
    "Layout",
    "camera_to_world",
    "convert_layout",
    "flip_lr",
    "get_layout",
    "image_coordinates",
    "look_at",
    "normalize_screen_coordinates",
    "project",
    "world_to_camera",
    *_LAZY,
]
