"""Clips -> training records: film with phone cameras, normalise, split, window.

Pure functions of one element each. Cameras and detector noise come from a generator
seeded by ``(seed, clip id, camera index)``, so the same inputs and options always
give the same records, whatever order the runner processes them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose3d.camera import normalize_screen_coordinates, world_to_camera
from pose3d.keypoints import DEFAULT_MIN_SCORE, fill_missing, missing_mask
from pose3d.shards import SequenceRecord, stable_hash
from synthetic_data.body import J
from synthetic_data.cameras import camera_yaw_deg, frame_subject
from synthetic_data.clip import Clip
from synthetic_data.detector import film
from synthetic_data.errors import ERROR_KINDS

ERROR_KIND_NAMES = list(ERROR_KINDS)
SPLIT_SHARES = (("train", 80), ("val", 10), ("test", 10))


def split_for(body_id: str) -> str:
    """Train / val / test (80 / 10 / 10) by a hash of the body: a person is never in two
    splits, nor are their cameras (each clip's cameras are its own)."""
    bucket = stable_hash(f"split:{body_id}") % 100
    for split, share in SPLIT_SHARES:
        if bucket < share:
            return split
        bucket -= share
    return SPLIT_SHARES[-1][0]


# Splits a source may fix for its clips (real motion capture has an agreed split by person).
FIXED_SPLITS = {"train": "train", "validation": "val", "val": "val", "test": "test"}


def clip_split(clip: Clip) -> str:
    """The clip's split: the one its source fixed (``body.extra["split"]``: real motion
    capture, split by person once and for all), else by a hash of the body."""
    fixed = clip.body.extra.get("split")
    if fixed is not None:
        if fixed not in FIXED_SPLITS:
            raise ValueError(f"clip {clip.clip_id}: unknown split {fixed!r}")
        return FIXED_SPLITS[fixed]
    return split_for(clip.body.body_id)


def shard_index(key: str, num_shards: int) -> int:
    return stable_hash(f"shard:{key}") % num_shards


def facing_deg(clip: Clip) -> float:
    """Direction the person faces in the first frame, degrees about the vertical (0 = +z)."""
    hips = clip.joints[0, J["left_hip"]] - clip.joints[0, J["right_hip"]]
    forward = np.cross(hips, [0.0, 1.0, 0.0])
    return float(np.degrees(np.arctan2(forward[0], forward[2])))


def error_severity(clip: Clip) -> np.ndarray:
    """``(T, K)`` float32: the largest labelled severity of each error kind per frame."""
    dense = np.zeros((clip.num_frames, len(ERROR_KIND_NAMES)), dtype=np.float32)
    for label in clip.errors:
        column = ERROR_KIND_NAMES.index(label.kind)
        frames = slice(label.start_frame, label.end_frame)
        dense[frames, column] = np.maximum(dense[frames, column], label.severity)
    return dense


@dataclass(frozen=True)
class Filming:
    """How clips are filmed: where the cameras stand (``"front"``: within 60° of the
    person's facing, the seed's setup; ``"anywhere"``: all around, floor to head height,
    1.5-6 m), the detector's noise (``"phone-v1"``, or ``"mediapipe-real"`` with the
    left/right swaps, self-occlusion and identity switches of real MediaPipe; ``"exact"``:
    the true projection, to measure what the detector's noise costs), and whether people
    may be partly out of frame."""

    coverage: str = "front"
    profile: str = "phone-v1"
    allow_partial: bool = False


def film_clip(
    clip: Clip, cameras: int, seed: int, filming: Filming = Filming()
) -> list[SequenceRecord]:
    """Film ``clip`` with ``cameras`` sampled phone cameras: one record per camera."""
    split = clip_split(clip)
    severity = error_severity(clip)
    labels = [
        {k: getattr(label, k) for k in ("kind", "segment", "start_frame", "end_frame", "severity")}
        for label in clip.errors
    ]
    h36m_world = clip.h36m17().astype(np.float64)
    facing = facing_deg(clip)
    records = []
    for index in range(cameras):
        rng = np.random.default_rng([seed, stable_hash(clip.clip_id), index])
        camera = frame_subject(
            rng,
            clip.joints,
            subject_height=clip.body.height,
            facing_deg=facing,
            name=f"cam{index}",
            coverage=filming.coverage,
            allow_partial=filming.allow_partial,
        )
        noise_level = float(rng.uniform(0.5, 1.5))
        profile = filming.profile
        if profile == "exact":  # the same cameras, perfect 2D
            noise_level, profile = 0.0, "phone-v1"
        observation = film(
            clip, camera, rng, layout="coco17", noise_level=noise_level, profile=profile
        )
        width, height = observation.image_size
        missing = missing_mask(observation.keypoints, observation.scores, DEFAULT_MIN_SCORE)
        filled = fill_missing(observation.keypoints, missing)
        cam_3d = world_to_camera(h36m_world, camera.rotation, camera.position)
        records.append(
            SequenceRecord(
                key=f"{clip.clip_id}/cam{index}",
                clip_id=clip.clip_id,
                camera_id=f"{clip.clip_id}/cam{index}",
                body_id=clip.body.body_id,
                movement=clip.movement,
                fps=float(clip.fps),
                split=split,
                inputs_2d=normalize_screen_coordinates(filled, width, height).astype(np.float32),
                scores=np.where(missing, 0.0, observation.scores).astype(np.float32),
                targets_3d=(cam_3d - cam_3d[:, :1]).astype(np.float32),
                root_camera=cam_3d[:, 0].astype(np.float32),
                error_severity=severity,
                intrinsics=camera.intrinsics.normalized(),
                image_size=(width, height),
                camera_yaw_deg=camera_yaw_deg(camera, facing, clip.joints[0, J["pelvis"]]),
                body_height=clip.body.height,
                noise_level=noise_level,
                labels=labels,
            )
        )
    return records


def window_record(record: SequenceRecord, window: int) -> list[SequenceRecord]:
    """Cut a record into consecutive windows of ``window`` frames (0: keep it whole).

    The last window keeps the remainder if it has at least half a window of frames.
    Labels are kept per window with frames relative to the window start.
    """
    if window <= 0 or record.num_frames <= window:
        return [record]
    pieces = []
    for number, start in enumerate(range(0, record.num_frames, window)):
        stop = min(start + window, record.num_frames)
        if stop - start < window // 2 and number > 0:
            break
        labels = [
            {
                **label,
                "start_frame": max(label["start_frame"], start) - start,
                "end_frame": min(label["end_frame"], stop) - start,
            }
            for label in record.labels
            if label["start_frame"] < stop and label["end_frame"] > start
        ]
        frames = slice(start, stop)
        pieces.append(
            SequenceRecord(
                **{
                    **record.__dict__,
                    "key": f"{record.key}/w{number:04d}",
                    "inputs_2d": record.inputs_2d[frames],
                    "scores": record.scores[frames],
                    "targets_3d": record.targets_3d[frames],
                    "root_camera": record.root_camera[frames],
                    "error_severity": record.error_severity[frames],
                    "labels": labels,
                }
            )
        )
    return pieces
