"""Public inference API: lift 2D keypoint sequences to 3D poses.

:class:`Lifter` lifts whole sequences (offline scoring); :class:`LiftStream` lifts one
frame at a time with a causal model (live feedback), and :func:`lift_streams` lifts the
new frames of many streams in one network pass (a live server's tick). All take pixels in
``coco17`` or ``mediapipe33`` and return H36M-17 root-relative camera-space poses in
metres.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from pose3d.cached_stream import CachedCausalModel, StreamMemory
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
from pose3d.skeleton import Layout, flip_lr, get_layout

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
    model: TemporalModel,
    normalised: np.ndarray,
    chunk_frames: int = 4096,
    frames: slice = slice(None),
) -> np.ndarray:
    """Run a dilated model over one complete sequence, one output per input frame.

    Args:
        model: A :class:`TemporalModel` in eval mode.
        normalised: ``(T, J_in, 2)`` normalised keypoints without gaps.
        chunk_frames: Output frames per forward pass (bounds memory, not the result).
        frames: The output frames wanted (a step-1 slice): only they are computed, from
            the input frames within a receptive field of them.

    Returns:
        ``(T', J_out, 3)`` float32 for the ``T'`` frames of ``frames`` (all ``T`` by
        default), with the root joint at the origin for pose models (more than one
        output joint). The sequence is edge-padded by repeating its end frames: half a
        receptive field each side, or all of it before the start for a causal model.
    """
    rf = model.receptive_field()
    before = rf - 1 if model.causal else (rf - 1) // 2
    pad = ((before, rf - 1 - before), (0, 0), (0, 0))
    padded = torch.from_numpy(np.pad(normalised.astype(np.float32), pad, mode="edge"))
    first, end, step = frames.indices(normalised.shape[0])
    if step != 1:
        raise ValueError("frames must be a slice of consecutive frames")
    outputs = [torch.zeros((0, model.num_joints_out, 3))]
    with torch.inference_mode():
        for start in range(first, end, chunk_frames):
            stop = min(start + chunk_frames, end)
            outputs.append(model(padded[start : stop + rf - 1].unsqueeze(0))[0])
    poses = torch.cat(outputs).numpy()
    if model.num_joints_out > 1:
        poses[:, 0] = 0.0  # outputs are root-relative: the root sits at the origin
    return poses


def lift_flip_averaged(
    model: TemporalModel,
    normalised: np.ndarray,
    input_layout: str,
    output_layout: str,
    chunk_frames: int = 4096,
    frames: slice = slice(None),
) -> np.ndarray:
    """:func:`lift_normalised` averaged with the lift of the mirrored input, mirrored back
    (test-time flip augmentation): ``(T, J_in, 2)`` -> ``(T', J_out, 3)`` for the
    frames of ``frames``. Twice the compute; the two lifts' left/right guesses average
    out."""
    poses = lift_normalised(model, normalised, chunk_frames, frames)
    mirrored = lift_normalised(model, flip_lr(normalised, input_layout), chunk_frames, frames)
    return (poses + flip_lr(mirrored, output_layout)) / 2


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

    def lift_sequence(self, sequence: KeypointSequence, frames: slice = slice(None)) -> np.ndarray:
        """:meth:`lift` a parsed phone sequence: ``(T', 17, 3)`` poses (metres) of the
        frames of ``frames`` (all by default)."""
        return self.lift(
            sequence.keypoints,
            sequence.scores,
            image_size=sequence.image_size,
            layout=sequence.layout,
            fps=sequence.fps,
            frames=frames,
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
        flip_augment: bool | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        chunk_frames: int = 4096,
        frames: slice = slice(None),
    ) -> np.ndarray:
        """Lift a 2D keypoint sequence to 3D.

        Args:
            keypoints: ``(T, J, 2)`` pixels in ``layout``; NaN for unseen joints.
            scores: ``(T, J)`` in [0, 1]; joints below ``min_score`` count as missing.
            image_size: ``(width, height)`` of the frames in pixels.
            layout: ``"coco17"`` or ``"mediapipe33"``.
            fps: Frame rate of the input; when it differs from the model's, the
                sequence is resampled to the model's rate and the result back.
            flip_augment: Average with the lift of the mirrored input; ``None`` takes
                the checkpoint's ``flip_test`` setting.
            chunk_frames: Output frames computed per forward pass (bounds memory; the
                result does not depend on it).
            frames: The frames whose poses are wanted (consecutive; all by default).
                At the model's fps only they are computed (a live check lifts a
                repetition with its neighbours as context); the result equals the
                whole sequence's lift sliced.

        Returns:
            ``(T', 17, 3)`` float32 root-relative camera-space poses (metres), one per
            frame of ``frames`` (sequence edges are padded by repeating the end frames).
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
        # Resampled, the wanted frames are not the model's: all are lifted, then sliced.
        computed = slice(None) if resampled else frames
        flip = self.metadata.flip_test if flip_augment is None else flip_augment
        if flip:
            layouts = (self.metadata.input_layout, self.metadata.output_layout)
            poses = lift_flip_averaged(self.model, normalised, *layouts, chunk_frames, computed)
        else:
            poses = lift_normalised(self.model, normalised, chunk_frames, computed)
        if resampled:
            model_times = np.arange(poses.shape[0]) / self.fps
            poses = resample_at(poses, model_times, np.arange(length) / float(fps))[frames]
        return poses.astype(np.float32)

    @cached_property
    def cached_model(self) -> CachedCausalModel:
        """The causal model folded for incremental lifting (built once, shared by this
        lifter's streams)."""
        return CachedCausalModel(self.model)

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
    """A :class:`LiftStream`'s memory: ``caches`` per network layer ``(H_l, C_l)`` float32,
    the layer's inputs of the last ``H_l`` frames, oldest first (``receptive_field - 1``
    frames in all; an empty list before the first frame), ``last_seen`` ``(J, 2)`` pixels
    the last frame as completed (``None`` before any joint was seen), and
    ``frames_seen``. About 80 KB for the bundled model: what a live stream saves to go
    on elsewhere."""

    caches: list[np.ndarray]
    last_seen: np.ndarray | None
    frames_seen: int


class _Prepared(NamedTuple):
    """One stream's pushed frames made ready for the network, without changing it yet."""

    inputs: np.ndarray  # (n, J_in * 2) the completed frames, normalised and flattened
    indices: list[int]  # which pushed frame each input row is
    pushed: int  # frames pushed, with those that gave no input
    last_seen: np.ndarray | None  # the stream's last completed frame after these


class _Queued(NamedTuple):
    """A batch queued for the network: its input rows (or, queued once the stream had
    seen a joint, the checked frames to complete at the lift) and which rows give a
    pose."""

    inputs: np.ndarray | None  # (n, J_in * 2) normalised and flattened
    checked: tuple[np.ndarray, np.ndarray, Layout] | None  # (N, J, 2), (N, J), layout
    posed: np.ndarray  # (n,) bool


class LiftStream:
    """Frame-by-frame causal lifting with bounded memory.

    Runs the model incrementally (:class:`~pose3d.cached_stream.CachedCausalModel`): each
    layer keeps the inputs of the last frames that its kernel still needs, and a frame
    costs one output per layer. Before ``receptive_field`` frames have come the past is
    the first frame repeated, which reproduces :meth:`Lifter.lift` on a causal model for
    complete keypoints. A joint missing in a frame keeps its last seen position (the
    future is not known yet); a joint not yet seen at all sits at the centre of the
    visible joints.

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
        self._network = lifter.cached_model
        self._memory: StreamMemory | None = None  # None until the first frame
        self._last_seen: np.ndarray | None = None
        self.frames_seen = 0
        # Batches taken in (:meth:`queue`) whose network pass is still to come.
        self._queued: list[_Queued] = []
        self._queue_lock = threading.Lock()  # queue() may run beside a lift's take

    def state(self) -> StreamState:
        """What the stream remembers, to be saved and :meth:`restore`-d elsewhere (its
        queued frames lifted first: :func:`lift_queued`)."""
        if self._queued:
            raise RuntimeError("lift the queued frames before saving the stream")
        caches = [] if self._memory is None else self._memory.caches()
        return StreamState(caches, self._last_seen, self.frames_seen)

    def restore(self, state: StreamState) -> None:
        """Take up where the stream ``state`` was saved from left off: the next pushes
        give what they would have given there. Raises ``ValueError`` if the caches do
        not fit this stream's model (saved with another one)."""
        caches = [np.asarray(cache, dtype=np.float32) for cache in state.caches]
        shapes = [cache.shape for cache in caches]
        if caches and shapes != self._network.cache_shapes:
            raise ValueError(
                f"the saved stream's caches {shapes} do not fit this model's "
                f"{self._network.cache_shapes}"
            )
        self._memory = StreamMemory(caches) if caches else None
        self._queued = []
        self._last_seen = None if state.last_seen is None else np.asarray(state.last_seen)
        self.frames_seen = int(state.frames_seen)

    def reset(self) -> None:
        """Forget all frames (a new person or a new clip)."""
        self._memory = None
        self._last_seen = None
        self.frames_seen = 0
        self._queued = []

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
        per frame, exactly as N calls of :meth:`push` would give, in one network pass."""
        return lift_streams([self], [(keypoints, scores)])[0]

    def queue(self, keypoints: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """Take in a batch of frames ``(N, J, 2)`` (+ scores ``(N, J)``) whose poses a later
        :func:`lift_queued` computes (with other streams' frames, in one pass). Checked
        here (``ValueError`` naming the problem, nothing taken in); returns ``(N,)`` bool,
        which frames will give a pose, as :meth:`push_many` would have answered.

        Once a joint was seen every frame gives an input (an unseen joint keeps its last
        position), so from then on only the check runs here and the frames are completed
        and normalised at the lift, off the caller's thread."""
        if self._last_seen is None:  # which frames give a pose needs them completed
            return self._enqueue(self._prepare(keypoints, scores))
        points, conf, layout = validate_keypoints(keypoints, scores, self.layout)
        posed = self._count_seen(len(points))
        with self._queue_lock:
            self._queued.append(_Queued(None, (points, conf, layout), posed))
        return posed

    @property
    def lift_lock(self) -> threading.Lock:
        """Held through every network pass of this stream's lifter (shared by its
        streams): whoever holds it from :meth:`take_queued` to :func:`lift_taken` lifts
        each stream's frames in order."""
        return self._network.lock

    def _prepare(self, keypoints: np.ndarray, scores: np.ndarray | None) -> _Prepared:
        """Validate, complete and normalise pushed frames; the stream is not changed."""
        points, conf, layout = validate_keypoints(keypoints, scores, self.layout)
        return self._complete(points, conf, layout)

    def _complete(self, points: np.ndarray, conf: np.ndarray, layout: Layout) -> _Prepared:
        """Checked frames ``(N, J, 2)`` (scores ``(N, J)``, in ``layout``) in the model's
        input layout, missing joints filled from the stream's last frame, normalised."""
        points, conf = to_input_layout(points, conf, layout, self.lifter.metadata.input_layout)
        present = ~missing_mask(points, conf, self.min_score)
        last_seen, completed, indices = self._last_seen, [], []
        for index in range(len(points)):
            current = _fill_from_history(points[index], present[index], last_seen)
            if current is None:
                continue
            last_seen = current
            completed.append(current)
            indices.append(index)
        frames = np.array(completed, dtype=np.float32).reshape(len(completed), *points.shape[1:])
        inputs = normalize_screen_coordinates(frames, self.width, self.height)
        flat = inputs.reshape(len(frames), frames.shape[1] * 2)  # (n, J_in * 2), n = 0 too
        return _Prepared(flat, indices, len(points), last_seen)

    def _count_seen(self, rows: int) -> np.ndarray:
        """Count ``rows`` more frames with an input; ``(rows,)`` which give a pose (none
        within the first ``warmup_frames`` frames seen)."""
        seen = self.frames_seen + 1 + np.arange(rows)
        self.frames_seen += rows
        return seen >= self.warmup_frames

    def _enqueue(self, prepared: _Prepared) -> np.ndarray:
        """Take in ``prepared`` frames for the next network pass; returns ``(N,)`` which
        pushed frames will give a pose (a frame with no input gives none)."""
        self._last_seen = prepared.last_seen
        posed = self._count_seen(len(prepared.indices))  # per input row
        gives = np.zeros(prepared.pushed, bool)
        gives[prepared.indices] = posed
        if len(prepared.inputs):
            with self._queue_lock:
                self._queued.append(_Queued(prepared.inputs, None, posed))
        return gives

    def take_queued(self) -> list[_Queued]:
        """The queued batches, removed from the queue: :func:`lift_taken` must lift them
        next, before any other frame of this stream."""
        with self._queue_lock:
            queued, self._queued = self._queued, []
        return queued

    def _inputs(self, taken: list[_Queued]) -> tuple[np.ndarray, np.ndarray]:
        """The input rows ``(n, J_in * 2)`` of batches :meth:`take_queued` took, those
        only checked when queued completed now, and which rows give a pose ``(n,)``."""
        inputs = []
        for batch in taken:
            if batch.inputs is None:
                prepared = self._complete(*batch.checked)
                self._last_seen = prepared.last_seen
                inputs.append(prepared.inputs)
            else:
                inputs.append(batch.inputs)
        if not inputs:
            return np.zeros((0, 0), np.float32), np.zeros(0, bool)
        return np.concatenate(inputs), np.concatenate([batch.posed for batch in taken])


def _fill_from_history(
    points: np.ndarray, present: np.ndarray, last_seen: np.ndarray | None
) -> np.ndarray | None:
    """Complete one frame ``(J, 2)`` from the last completed frame or the visible
    centroid; ``None`` if no joint was ever seen."""
    if present.all():
        return points
    if last_seen is not None:
        return np.where(present[:, None], points, last_seen)
    if not present.any():
        return None
    filled = points.copy()
    filled[~present] = points[present].mean(axis=0)
    return filled


def lift_streams(
    streams: Sequence[LiftStream],
    frames: Sequence[tuple[np.ndarray, np.ndarray | None]],
) -> list[list[np.ndarray | None]]:
    """Push new frames to many streams with one network pass for all of them.

    Each stream's result is exactly what its :meth:`LiftStream.push_many` would give, but
    the layers run once over the new frames of every stream together, which amortises
    the weights' memory traffic and the per-call overhead over the streams.

    Args:
        streams: Distinct streams of one lifter, with nothing queued.
        frames: Per stream its keypoints ``(k, J, 2)`` pixels (``k >= 1``, the stream's
            layout) and scores ``(k, J)`` or ``None``.

    Returns:
        Per stream, one ``(17, 3)`` float32 pose (metres) or ``None`` per pushed frame.

    Raises:
        ValueError: a stream's frames are invalid (naming the problem, as
            :meth:`LiftStream.push_many`), a stream is passed twice or the streams have
            different lifters. Every stream is checked before any changes.
    """
    if len(streams) != len(frames):
        raise ValueError(f"got {len(streams)} streams but {len(frames)} frame batches")
    _check_liftable_together(streams)
    prepared = [stream._prepare(*batch) for stream, batch in zip(streams, frames, strict=True)]
    gives = [stream._enqueue(ready) for stream, ready in zip(streams, prepared, strict=True)]
    results = []
    for posed, poses in zip(gives, lift_queued(streams), strict=True):
        result: list[np.ndarray | None] = [None] * len(posed)
        for index, pose in zip(np.flatnonzero(posed), poses, strict=True):
            result[index] = pose
        results.append(result)
    return results


def _check_liftable_together(streams: Sequence[LiftStream]) -> None:
    """``ValueError`` unless ``streams`` are distinct streams of one lifter."""
    if len({id(stream) for stream in streams}) != len(streams):
        raise ValueError("a stream may be pushed only once per call")
    if len({id(stream._network) for stream in streams}) > 1:
        raise ValueError("the streams lifted together must share one lifter")


def lift_queued(streams: Sequence[LiftStream]) -> list[np.ndarray]:
    """Lift the frames queued in ``streams`` (:meth:`LiftStream.queue`), one network pass
    for all of them. Passes of one lifter run one at a time (its ``lock``), so a stream's
    frames are lifted in the order they were queued whoever lifts them.

    Returns:
        Per stream, ``(n, 17, 3)`` float32 poses (metres) of its queued frames that give
        one, oldest first.
    """
    if not streams:
        return []
    with streams[0].lift_lock:
        return lift_taken(streams, [stream.take_queued() for stream in streams])


def lift_taken(streams: Sequence[LiftStream], taken: Sequence[list[_Queued]]) -> list[np.ndarray]:
    """Lift what :meth:`LiftStream.take_queued` took from each of ``streams`` (distinct,
    of one lifter), one network pass for all; the caller holds the lifter's ``lock``
    from the take on. Returns per stream ``(n, 17, 3)`` float32 poses of the taken
    frames that give one, oldest first."""
    _check_liftable_together(streams)
    if not streams:
        return []
    network = streams[0]._network
    rows = [stream._inputs(batches) for stream, batches in zip(streams, taken, strict=True)]
    poses = [np.zeros((0, network.num_joints_out, 3), np.float32) for _ in streams]
    lifted = [index for index, (inputs, _) in enumerate(rows) if len(inputs)]
    if not lifted:
        return poses
    fresh = [index for index in lifted if streams[index]._memory is None]
    if fresh:
        # A new stream's past is its first frame repeated (the padded window).
        first = np.stack([rows[index][0][0] for index in fresh])
        for index, caches in zip(fresh, network.initial_caches(first), strict=True):
            streams[index]._memory = StreamMemory(caches)
    outputs = network.advance(
        [streams[index]._memory for index in lifted], [rows[index][0] for index in lifted]
    )
    for index, output in zip(lifted, outputs, strict=True):
        # A copy per stream: a kept pose must not hold the other streams' alive.
        kept = output[rows[index][1]].copy()
        kept[:, 0] = 0.0  # root-relative, as in Lifter.lift
        poses[index] = kept
    return poses
