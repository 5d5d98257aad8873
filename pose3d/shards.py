"""Training shards: the contract between the data pipelines and lifter training.

A shard (``train-00003-of-00016.npz``) holds many sequences, concatenated along time,
as a deterministic zip (see :mod:`pose3d.archive`):

=====================  ==================  =============================================
member                 shape               meaning
=====================  ==================  =============================================
``inputs_2d``          (F, 17, 2) f32      COCO-17 keypoints, gaps filled, normalised
                                           with ``X / w * 2 - [1, h / w]``
``scores``             (F, 17) f32         detector confidences (0 where missing)
``targets_3d``         (F, 17, 3) f32      H36M-17, camera space, root-relative, metres
``root_camera``        (F, 3) f32          pelvis in camera space, metres (trajectory)
``error_severity``     (F, K) f16          per-frame severity of each error kind
``offsets``            (S + 1,) i64        sequence s is frames ``offsets[s]:offsets[s+1]``
``intrinsics``         (S, 9) f32          normalised intrinsics (``Intrinsics.normalized``)
``image_size``         (S, 2) i32          width, height in pixels
``meta.json``          list of S dicts     key, clip_id, camera_id, body_id, movement, fps,
                                           split, camera_yaw_deg, body_height, noise_level,
                                           labels; plus ``error_kinds`` (the K columns)
=====================  ==================  =============================================
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pose3d.archive import json_bytes, npy_bytes, pack, read_npy, unpack

SHARD_SCHEMA = "coach.shard"
SHARD_VERSION = 1
SPLITS = ("train", "val", "test")


@dataclass
class SequenceRecord:
    """One filmed sequence (or window of one) ready for training.

    Array shapes as in the module table with ``F = T`` frames of this sequence.
    """

    key: str
    clip_id: str
    camera_id: str
    body_id: str
    movement: str
    fps: float
    split: str
    inputs_2d: np.ndarray
    scores: np.ndarray
    targets_3d: np.ndarray
    root_camera: np.ndarray
    error_severity: np.ndarray
    intrinsics: np.ndarray
    image_size: tuple[int, int]
    camera_yaw_deg: float = 0.0
    body_height: float = 0.0
    noise_level: float = 0.0
    labels: list[dict] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return self.inputs_2d.shape[0]

    def meta(self) -> dict:
        return {
            "key": self.key,
            "clip_id": self.clip_id,
            "camera_id": self.camera_id,
            "body_id": self.body_id,
            "movement": self.movement,
            "fps": self.fps,
            "split": self.split,
            "camera_yaw_deg": round(float(self.camera_yaw_deg), 4),
            "body_height": round(float(self.body_height), 4),
            "noise_level": round(float(self.noise_level), 4),
            "labels": self.labels,
        }


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def stable_fraction(text: str) -> float:
    """A number in [0, 1) from ``text``, the same in every process and run."""
    return stable_hash(text) / 2**64


def shard_name(split: str, index: int, count: int) -> str:
    """``train-00003-of-00016.npz``."""
    return f"{split}-{index:05d}-of-{count:05d}.npz"


def shard_bytes(records: list[SequenceRecord], error_kinds: list[str]) -> bytes:
    """Encode ``records`` (in the given order) as one shard."""
    if not records:
        raise ValueError("a shard needs at least one sequence")
    lengths = [r.num_frames for r in records]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    meta = {
        "schema": SHARD_SCHEMA,
        "schema_version": SHARD_VERSION,
        "error_kinds": list(error_kinds),
        "sequences": [r.meta() for r in records],
    }
    members = {
        "inputs_2d": np.concatenate([r.inputs_2d for r in records]).astype(np.float32),
        "scores": np.concatenate([r.scores for r in records]).astype(np.float32),
        "targets_3d": np.concatenate([r.targets_3d for r in records]).astype(np.float32),
        "root_camera": np.concatenate([r.root_camera for r in records]).astype(np.float32),
        "error_severity": np.concatenate([r.error_severity for r in records]).astype(np.float16),
        "offsets": offsets,
        "intrinsics": np.stack([r.intrinsics for r in records]).astype(np.float32),
        "image_size": np.array([r.image_size for r in records], dtype=np.int32),
    }
    packed = {f"{name}.npy": npy_bytes(array) for name, array in members.items()}
    packed["meta.json"] = json_bytes(meta)
    return pack(packed, compresslevel=1)


def records_from_bytes(data: bytes, source: str) -> tuple[list[SequenceRecord], list[str]]:
    """Decode a shard; returns its records and the error-kind column names."""
    try:
        members = unpack(data)
        meta = json.loads(members["meta.json"])
        arrays = {n[:-4]: read_npy(b) for n, b in members.items() if n.endswith(".npy")}
    except Exception as exc:  # zip, JSON and npy errors all mean the same here
        raise ValueError(f"{source}: unreadable shard ({exc})") from exc
    if meta.get("schema") != SHARD_SCHEMA or meta.get("schema_version") != SHARD_VERSION:
        raise ValueError(f"{source}: not a v{SHARD_VERSION} training shard")
    offsets = arrays["offsets"]
    records = []
    for s, info in enumerate(meta["sequences"]):
        frames = slice(int(offsets[s]), int(offsets[s + 1]))
        records.append(
            SequenceRecord(
                **{k: info[k] for k in ("key", "clip_id", "camera_id", "body_id", "movement")},
                fps=float(info["fps"]),
                split=info["split"],
                inputs_2d=arrays["inputs_2d"][frames],
                scores=arrays["scores"][frames],
                targets_3d=arrays["targets_3d"][frames],
                root_camera=arrays["root_camera"][frames],
                error_severity=arrays["error_severity"][frames],
                intrinsics=arrays["intrinsics"][s],
                image_size=tuple(int(v) for v in arrays["image_size"][s]),
                camera_yaw_deg=info["camera_yaw_deg"],
                body_height=info["body_height"],
                noise_level=info["noise_level"],
                labels=info["labels"],
            )
        )
    return records, meta["error_kinds"]


def load_split(directory: str | Path, split: str) -> list[SequenceRecord]:
    """Every sequence of ``split`` in a local shard directory, in shard order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    paths = sorted(Path(directory).glob(f"{split}-*-of-*.npz"))
    records: list[SequenceRecord] = []
    for path in paths:
        records += records_from_bytes(path.read_bytes(), str(path))[0]
    return records
