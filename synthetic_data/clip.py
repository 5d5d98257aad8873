"""The simulated clip: one performance of one movement by one body, seen by cameras.

In memory a :class:`Clip`; on disk one ``.clip.npz`` file (a zip holding
``meta.json`` and ``joints.npy``), written deterministically (fixed zip timestamps,
sorted JSON keys) so that the same seed gives byte-identical files, and atomically
(temp file, then rename). ``meta.json`` carries a schema name and version; readers
refuse files they do not understand with an error naming the file and the problem.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pose3d.archive import atomic_write, json_bytes, npy_bytes, pack, read_npy, unpack
from pose3d.camera import Intrinsics
from synthetic_data.body import BODY_JOINT_NAMES, BodyParams, J

SCHEMA = "coach.clip"
SCHEMA_VERSION = 1
CLIP_SUFFIX = ".clip.npz"

# Full-body joint -> lifter layouts. H36M "neck/nose" is the nose, "head" the head top.
BODY_TO_H36M17 = [J[n] for n in (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "nose", "head_top", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)]  # fmt: skip
BODY_TO_COCO17 = [J[n] for n in (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)]  # fmt: skip


class ClipFormatError(ValueError):
    """A clip file or folder that cannot be read: the message names it and the problem."""


@dataclass(frozen=True)
class ErrorLabel:
    """An injected form error over frames ``[start_frame, end_frame)``.

    Attributes:
        kind: Error name (``"rounded_back"``).
        segment: Body segment (``"spine"``, ``"left_leg"``, ``"timing"`` ...).
        severity: 0 (barely) .. 1 (gross) at its peak.
        detail: Extra qualifier (``"late"`` / ``"early"`` for off-beat moves).
    """

    kind: str
    segment: str
    start_frame: int
    end_frame: int
    severity: float
    detail: str = ""


@dataclass(frozen=True)
class CameraSpec:
    """A phone camera: intrinsics, pose and how it was placed.

    ``rotation`` is world-to-camera ``(3, 3)``, ``position`` the camera centre in world
    metres (see :mod:`pose3d.camera`).
    """

    name: str
    intrinsics: Intrinsics
    rotation: np.ndarray
    position: np.ndarray
    placement: str = "tripod"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "intrinsics": self.intrinsics.to_dict(),
            "rotation": np.asarray(self.rotation).round(9).tolist(),
            "position": np.asarray(self.position).round(9).tolist(),
            "placement": self.placement,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CameraSpec:
        return cls(
            name=data["name"],
            intrinsics=Intrinsics(**data["intrinsics"]),
            rotation=np.array(data["rotation"], dtype=np.float64).reshape(3, 3),
            position=np.array(data["position"], dtype=np.float64).reshape(3),
            placement=data.get("placement", "unknown"),
        )


@dataclass
class Clip:
    """One performance.

    Attributes:
        clip_id: Unique, stable identifier.
        fps: Frames per second of ``joints``.
        joints: ``(T, 28, 3)`` float32 world positions (metres, y up, floor y = 0) in
            the :data:`~synthetic_data.body.BODY28` layout.
        body: Who performs it.
        cameras: Phone cameras filming it.
        movement: Movement name (``"squat"``).
        tempo: Speed relative to the trainer (1.0 = same speed).
        errors: Injected form errors with their frames.
        role: ``"trainer"`` (reference) or ``"user"``.
        generator: ``{"name", "version", "seed"}`` of what produced it (and
            ``"style_variation"`` when the posture was varied).
        reps: ``[start, end)`` frames of each repetition.
        beat_times: Beat instants in seconds, for movements done to music.
    """

    clip_id: str
    fps: float
    joints: np.ndarray
    body: BodyParams
    cameras: list[CameraSpec]
    movement: str
    tempo: float = 1.0
    errors: list[ErrorLabel] = field(default_factory=list)
    role: str = "user"
    generator: dict = field(default_factory=dict)
    reps: list[tuple[int, int]] = field(default_factory=list)
    beat_times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        joints = np.asarray(self.joints, dtype=np.float32)
        if joints.ndim != 3 or joints.shape[1:] != (len(BODY_JOINT_NAMES), 3):
            raise ValueError(
                f"clip {self.clip_id}: joints must be (T, {len(BODY_JOINT_NAMES)}, 3), "
                f"got {joints.shape}"
            )
        if not np.isfinite(joints).all():
            raise ValueError(f"clip {self.clip_id}: joints contain NaN or infinite values")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"clip {self.clip_id}: fps must be positive, got {self.fps}")
        self.joints = joints

    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    def h36m17(self) -> np.ndarray:
        """World positions in the lifter's output layout, ``(T, 17, 3)``."""
        return self.joints[:, BODY_TO_H36M17]

    def coco17(self) -> np.ndarray:
        """World positions of the COCO-17 joints, ``(T, 17, 3)``."""
        return self.joints[:, BODY_TO_COCO17]

    def error_mask(self, kind: str | None = None) -> np.ndarray:
        """``(T,)`` bool: frames inside any label (of ``kind`` if given)."""
        mask = np.zeros(self.num_frames, dtype=bool)
        for label in self.errors:
            if kind is None or label.kind == kind:
                mask[label.start_frame : label.end_frame] = True
        return mask

    def metadata(self) -> dict:
        """Everything but the joint array, JSON-ready."""
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "clip_id": self.clip_id,
            "fps": self.fps,
            "num_frames": self.num_frames,
            "joint_names": list(BODY_JOINT_NAMES),
            "body": self.body.to_dict(),
            "cameras": [camera.to_dict() for camera in self.cameras],
            "movement": self.movement,
            "tempo": self.tempo,
            "errors": [asdict(label) for label in self.errors],
            "role": self.role,
            "generator": self.generator,
            "reps": [list(r) for r in self.reps],
            "beat_times": [round(float(b), 6) for b in self.beat_times],
        }


def clip_bytes(clip: Clip) -> bytes:
    """The file contents of ``clip``: a deterministic zip of meta.json and joints.npy."""
    return pack({"meta.json": json_bytes(clip.metadata()), "joints.npy": npy_bytes(clip.joints)})


def write_clip(clip: Clip, path: str | os.PathLike) -> Path:
    """Write ``clip`` to ``path`` (``.clip.npz``) atomically and deterministically."""
    return atomic_write(path, clip_bytes(clip))


def read_clip(path: str | os.PathLike) -> Clip:
    """Read a clip file; :class:`ClipFormatError` names the file and the problem."""
    path = Path(path)
    return clip_from_bytes(path.read_bytes(), str(path))


def clip_from_bytes(data: bytes, source: str) -> Clip:
    """Parse clip file contents; ``source`` names the file in error messages."""
    try:
        members = unpack(data)
        missing = {"meta.json", "joints.npy"} - set(members)
        if missing:
            raise ClipFormatError(f"{source}: not a clip file (missing {sorted(missing)})")
        meta = json.loads(members["meta.json"])
        joints = read_npy(members["joints.npy"])
    except ClipFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise ClipFormatError(f"{source}: broken or truncated clip file ({exc})") from exc
    return clip_from_parts(meta, joints, source=source)


def clip_from_parts(meta: dict, joints: np.ndarray, source: str) -> Clip:
    """Build a :class:`Clip` from its metadata dict and joint array, checking the schema."""
    if meta.get("schema") != SCHEMA:
        raise ClipFormatError(f"{source}: unknown schema {meta.get('schema')!r}")
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ClipFormatError(
            f"{source}: schema version {version} is not supported (this reader: {SCHEMA_VERSION})"
        )
    if meta.get("joint_names") != list(BODY_JOINT_NAMES):
        raise ClipFormatError(f"{source}: joint names differ from the body28 layout")
    if joints.shape[0] != meta.get("num_frames"):
        raise ClipFormatError(
            f"{source}: {joints.shape[0]} frames stored, metadata says {meta.get('num_frames')}"
        )
    try:
        return Clip(
            clip_id=meta["clip_id"],
            fps=float(meta["fps"]),
            joints=joints,
            body=BodyParams.from_dict(meta["body"]),
            cameras=[CameraSpec.from_dict(c) for c in meta["cameras"]],
            movement=meta["movement"],
            tempo=float(meta["tempo"]),
            errors=[ErrorLabel(**e) for e in meta["errors"]],
            role=meta["role"],
            generator=meta["generator"],
            reps=[tuple(r) for r in meta["reps"]],
            beat_times=list(meta["beat_times"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ClipFormatError(f"{source}: invalid clip contents ({exc})") from exc
