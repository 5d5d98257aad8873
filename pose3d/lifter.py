"""Public inference API: lift 2D keypoint sequences to 3D poses.

:class:`Lifter` lifts whole sequences (offline scoring); :class:`LiftStream` lifts one
frame at a time with a causal model (live feedback). Both take pixels in ``coco17`` or
``mediapipe33`` and return H36M-17 root-relative camera-space poses in metres.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from pose3d.camera import normalize_screen_coordinates
from pose3d.checkpoint import LifterMetadata, load_checkpoint
from pose3d.keypoints import (
    DEFAULT_MIN_SCORE,
    fill_missing,
    missing_mask,
    resample,
    resample_at,
    to_input_layout,
    validate_keypoints,
)
from pose3d.model import TemporalModel, TemporalModelStrided
from pose3d.sequence_json import KeypointSequence
from pose3d.skeleton import flip_lr, get_layout

BUNDLED_MODEL_DIR = Path(__file__).parent / "models"
DEFAULT_CHECKPOINT = BUNDLED_MODEL_DIR / "default.pt"  # causal: live streaming and fallback
OFFLINE_CHECKPOINT = BUNDLED_MODEL_DIR / "offline.pt"  # non-causal: recorded sessions, if bundled


class ModelNotBundledError(FileNotFoundError):
    """Raised when the default model is asked for but none ships with the package."""


def _check_image_size(image_size: tuple[float, float]) -> tuple[float, float]:
    try:
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (width, height), got {image_size!r}") from None
    if not (np.isfinite(width) and np.isfinite(height)) or width <= 0 or height <= 0:
        raise ValueError(f"image_size must be two positive numbers, got {image_size!r}")
    return width, height


def lift_normalised(
    model: TemporalModel, normalised: np.ndarray, chunk_frames: int = 4096
) -> np.ndarray:
    """Run a dilated model over one complete sequence, one output per input frame.

    Args:
        model: A :class:`TemporalModel` in eval mode.
        normalised: ``(T, J_in, 2)`` normalised keypoints without gaps.
        chunk_frames: Output frames per forward pass (bounds memory, not the result).

    Returns:
        ``(T, J_out, 3)`` float32, with the root joint at the origin for pose models
        (more than one output joint). The sequence is edge-padded by repeating its end
        frames: half a receptive field each side, or all of it before the start for a
        causal model.
    """
    rf = model.receptive_field()
    before = rf - 1 if model.causal else (rf - 1) // 2
    pad = ((before, rf - 1 - before), (0, 0), (0, 0))
    padded = torch.from_numpy(np.pad(normalised.astype(np.float32), pad, mode="edge"))
    length = normalised.shape[0]
    outputs = []
    with torch.inference_mode():
        for start in range(0, length, chunk_frames):
            stop = min(start + chunk_frames, length)
            outputs.append(model(padded[start : stop + rf - 1].unsqueeze(0))[0])
    poses = torch.cat(outputs).numpy()
    if model.num_joints_out > 1:
        poses[:, 0] = 0.0  # outputs are root-relative: the root sits at the origin
    return poses


class Lifter:
    """A loaded lifter model with its metadata.

    Args:
        model: A dilated :class:`TemporalModel` (put in eval mode here).
        metadata: What the checkpoint says about the model (layouts, fps, version).
    """

    def __init__(self, model: TemporalModel, metadata: LifterMetadata) -> None:
        if get_layout(metadata.output_layout).num_joints != model.num_joints_out:
            raise ValueError("model output joints do not match the metadata's output layout")
        self.model = model.eval()
        self.metadata = metadata
        self.receptive_field = model.receptive_field()

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None) -> Lifter:
        """Load a checkpoint; ``None`` loads the model bundled with the package."""
        if path is None:
            if not DEFAULT_CHECKPOINT.is_file():
                raise ModelNotBundledError(
                    f"no default lifter is bundled ({DEFAULT_CHECKPOINT} is missing); "
                    "train one with `coach train` or pass a checkpoint path"
                )
            path = DEFAULT_CHECKPOINT
        loaded = load_checkpoint(path)
        return cls(loaded.model, loaded.metadata)

    def lift_sequence(self, sequence: KeypointSequence) -> np.ndarray:
        """:meth:`lift` a parsed phone sequence: ``(T, 17, 3)`` poses (metres)."""
        return self.lift(
            sequence.keypoints,
            sequence.scores,
            image_size=sequence.image_size,
            layout=sequence.layout,
            fps=sequence.fps,
        )

    @classmethod
    def for_recordings(cls) -> Lifter:
        """The bundled lifter for whole recorded sessions: the non-causal offline model
        when one ships (it sees each frame's future too), else the default one."""
        return cls.from_checkpoint(OFFLINE_CHECKPOINT if OFFLINE_CHECKPOINT.is_file() else None)

    @property
    def causal(self) -> bool:
        return self.model.causal

    @property
    def fps(self) -> float:
        return float(self.metadata.fps)

    def prepare(
        self,
        keypoints: np.ndarray,
        scores: np.ndarray | None,
        *,
        image_size: tuple[float, float],
        layout: str,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> np.ndarray:
        """Validate, convert to the input layout, fill gaps and normalise.

        Returns ``(T, J_in, 2)`` float32 normalised coordinates.
        """
        width, height = _check_image_size(image_size)
        points, conf, lay = validate_keypoints(keypoints, scores, layout)
        points, conf = to_input_layout(points, conf, lay, self.metadata.input_layout)
        filled = fill_missing(points, missing_mask(points, conf, min_score))
        return normalize_screen_coordinates(filled, width, height)

    def lift(
        self,
        keypoints: np.ndarray,
        scores: np.ndarray | None = None,
        *,
        image_size: tuple[float, float],
        layout: str = "coco17",
        fps: float | None = None,
        flip_augment: bool = False,
        min_score: float = DEFAULT_MIN_SCORE,
        chunk_frames: int = 4096,
    ) -> np.ndarray:
        """Lift a 2D keypoint sequence to 3D.

        Args:
            keypoints: ``(T, J, 2)`` pixels in ``layout``; NaN for unseen joints.
            scores: ``(T, J)`` in [0, 1]; joints below ``min_score`` count as missing.
            image_size: ``(width, height)`` of the frames in pixels.
            layout: ``"coco17"`` or ``"mediapipe33"``.
            fps: Frame rate of the input; when it differs from the model's, the
                sequence is resampled to the model's rate and the result back.
            flip_augment: Average with the lift of the mirrored input.
            chunk_frames: Output frames computed per forward pass (bounds memory; the
                result does not depend on it).

        Returns:
            ``(T, 17, 3)`` float32 root-relative camera-space poses (metres), one per
            input frame (sequence edges are padded by repeating the end frames).
        """
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps}")
        normalised = self.prepare(
            keypoints, scores, image_size=image_size, layout=layout, min_score=min_score
        )
        length = normalised.shape[0]
        resampled = fps is not None and float(fps) != self.fps
        if resampled:
            normalised = resample(normalised, float(fps), self.fps)
        poses = lift_normalised(self.model, normalised, chunk_frames)
        if flip_augment:
            input_layout = self.metadata.input_layout
            mirrored = lift_normalised(self.model, flip_lr(normalised, input_layout), chunk_frames)
            poses = (poses + flip_lr(mirrored, self.metadata.output_layout)) / 2
        if resampled:
            model_times = np.arange(poses.shape[0]) / self.fps
            poses = resample_at(poses, model_times, np.arange(length) / float(fps))
        return poses.astype(np.float32)

    def strided_model(self) -> TemporalModelStrided:
        """The strided twin with this model's weights (eval mode): one output per window."""
        twin = TemporalModelStrided(**self.model.hyperparameters)
        twin.load_state_dict(self.model.state_dict())
        return twin.eval()

    def stream(
        self,
        *,
        image_size: tuple[float, float],
        layout: str = "coco17",
        min_score: float = DEFAULT_MIN_SCORE,
        warmup_frames: int | None = None,
    ) -> LiftStream:
        """A :class:`LiftStream` over this model (which must be causal)."""
        return LiftStream(
            self,
            image_size=image_size,
            layout=layout,
            min_score=min_score,
            warmup_frames=warmup_frames,
        )


class StreamState(NamedTuple):
    """A :class:`LiftStream`'s memory: ``window`` ``(W, J, 2)`` the last normalised frames
    (``W`` up to the receptive field; ``J`` the model's input joints), ``last_seen``
    ``(J, 2)`` pixels the last frame as completed (``None`` before any joint was seen),
    and ``frames_seen``. A few kilobytes: what a live stream saves to go on elsewhere."""

    window: np.ndarray
    last_seen: np.ndarray | None
    frames_seen: int


class LiftStream:
    """Frame-by-frame causal lifting with bounded memory.

    Keeps the last ``receptive_field`` normalised frames. Before the window is full it is
    padded with the first frame, which reproduces :meth:`Lifter.lift` on a causal model
    exactly for complete keypoints. A joint missing in a frame keeps its last seen
    position (the future is not known yet); a joint not yet seen at all sits at the
    centre of the visible joints.

    Args:
        lifter: A lifter whose model is causal.
        image_size: ``(width, height)`` in pixels.
        layout: Layout of pushed keypoints.
        warmup_frames: Frames to receive before the first pose is returned; ``None``
            waits for a full receptive field, 1 answers from the first frame.
    """

    def __init__(
        self,
        lifter: Lifter,
        *,
        image_size: tuple[float, float],
        layout: str = "coco17",
        min_score: float = DEFAULT_MIN_SCORE,
        warmup_frames: int | None = None,
    ) -> None:
        if not lifter.causal:
            raise ValueError("LiftStream needs a causal model; this checkpoint is not causal")
        self.width, self.height = _check_image_size(image_size)
        self.layout = get_layout(layout)
        self.min_score = min_score
        self.lifter = lifter
        self.receptive_field = lifter.receptive_field
        self.warmup_frames = self.receptive_field if warmup_frames is None else warmup_frames
        if not 1 <= self.warmup_frames <= self.receptive_field:
            raise ValueError(f"warmup_frames must be in 1..{self.receptive_field}")
        self._model = lifter.strided_model()
        self._window: deque[np.ndarray] = deque(maxlen=self.receptive_field)
        self._last_seen: np.ndarray | None = None
        self.frames_seen = 0

    def state(self) -> StreamState:
        """What the stream remembers, to be saved and :meth:`restore`-d elsewhere."""
        window = np.stack(self._window) if self._window else np.zeros((0, 0, 2), np.float32)
        return StreamState(window, self._last_seen, self.frames_seen)

    def restore(self, state: StreamState) -> None:
        """Take up where the stream ``state`` was saved from left off: the next pushes
        give what they would have given there."""
        self._window.clear()
        self._window.extend(np.asarray(state.window, dtype=np.float32))
        self._last_seen = None if state.last_seen is None else np.asarray(state.last_seen)
        self.frames_seen = int(state.frames_seen)

    def reset(self) -> None:
        """Forget all frames (a new person or a new clip)."""
        self._window.clear()
        self._last_seen = None
        self.frames_seen = 0

    def push(
        self, frame_keypoints: np.ndarray, scores: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Add one frame ``(J, 2)`` pixels (+ scores ``(J,)``); return the newest pose.

        Returns ``(17, 3)`` float32 metres, or ``None`` while warming up or while no
        joint has been seen yet.
        """
        frame = np.asarray(frame_keypoints, dtype=np.float32)
        if frame.ndim != 2:
            raise ValueError(f"a frame must have shape (J, 2), got {frame.shape}")
        frame_scores = None if scores is None else np.asarray(scores, dtype=np.float32)[None]
        return self.push_many(frame[None], frame_scores)[0]

    def push_many(
        self, keypoints: np.ndarray, scores: np.ndarray | None = None
    ) -> list[np.ndarray | None]:
        """Add a batch of frames ``(N, J, 2)`` (+ scores ``(N, J)``): one pose (or ``None``)
        per frame, exactly as N calls of :meth:`push` would give, with one forward pass
        for the whole batch (what a live server wants for small batches)."""
        points, conf, lay = validate_keypoints(keypoints, scores, self.layout)
        points, conf = to_input_layout(points, conf, lay, self.lifter.metadata.input_layout)
        present = ~missing_mask(points, conf, self.min_score)
        windows, ready = [], []
        for index in range(len(points)):
            current = self._fill_from_history(points[index], present[index])
            if current is None:
                continue
            self._last_seen = current
            normalised = normalize_screen_coordinates(current, self.width, self.height)
            if not self._window:
                self._window.extend([normalised] * (self.receptive_field - 1))
            self._window.append(normalised)
            self.frames_seen += 1
            if self.frames_seen >= self.warmup_frames:
                windows.append(np.stack(self._window))
                ready.append(index)
        results: list[np.ndarray | None] = [None] * len(points)
        if windows:
            with torch.inference_mode():
                poses = self._model(torch.from_numpy(np.stack(windows)))[:, -1].numpy().copy()
            poses[:, 0] = 0.0  # root-relative, as in Lifter.lift
            for index, pose in zip(ready, poses, strict=True):
                results[index] = pose
        return results

    def _fill_from_history(self, points: np.ndarray, present: np.ndarray) -> np.ndarray | None:
        """Complete one frame ``(J, 2)`` from the last frame or the visible centroid."""
        if present.all():
            return points
        if self._last_seen is not None:
            return np.where(present[:, None], points, self._last_seen)
        if not present.any():
            return None
        filled = points.copy()
        filled[~present] = points[present].mean(axis=0)
        return filled
