"""2D -> 3D human pose lifting: layouts, camera maths, the temporal model, metrics, inference."""

from pose3d.camera import (
    Intrinsics,
    camera_to_world,
    image_coordinates,
    look_at,
    normalize_screen_coordinates,
    project,
    world_to_camera,
)
from pose3d.checkpoint import LifterMetadata, load_checkpoint, save_checkpoint
from pose3d.lifter import Lifter, LiftStream, ModelNotBundledError
from pose3d.metrics import mpjpe, mpjve, n_mpjpe, p_mpjpe, per_joint_error
from pose3d.model import TemporalModel, TemporalModelStrided
from pose3d.skeleton import COCO17, H36M17, MEDIAPIPE33, Layout, convert_layout, flip_lr, get_layout

__all__ = [
    "COCO17",
    "H36M17",
    "MEDIAPIPE33",
    "Intrinsics",
    "Layout",
    "LiftStream",
    "Lifter",
    "LifterMetadata",
    "ModelNotBundledError",
    "TemporalModel",
    "TemporalModelStrided",
    "camera_to_world",
    "convert_layout",
    "flip_lr",
    "get_layout",
    "image_coordinates",
    "load_checkpoint",
    "look_at",
    "mpjpe",
    "mpjve",
    "n_mpjpe",
    "normalize_screen_coordinates",
    "p_mpjpe",
    "per_joint_error",
    "project",
    "save_checkpoint",
    "world_to_camera",
]
