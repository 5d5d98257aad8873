"""The work behind the endpoints: validate keypoints, lift, build references, score.

CPU-heavy steps run in worker threads (a bounded pool) so the event loop stays free;
torch is limited to one thread per call so concurrent requests share the cores.
"""

from __future__ import annotations

import io
import time
from typing import NamedTuple

import anyio
import numpy as np
import torch

from coach_api.errors import ApiError
from pose3d.keypoints import h36m_scores
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence, SequenceFormatError, parse_sequence
from scoring import PopulationModel, Reference, score_session
from scoring.alignment import segment_reps
from scoring.features import compute_features

REFERENCE_CACHE = 64  # prepared routine references kept in memory


class Engine:
    """The loaded lifters and population model, and the pool that runs them.

    ``lifter`` is causal (live streaming); ``recordings`` lifts whole recorded sessions
    and routines: the non-causal offline model when one is bundled, else the same.
    """

    def __init__(
        self,
        lifter: Lifter,
        recordings: Lifter,
        population: PopulationModel | None,
        workers: int,
        min_frames: int,
        max_frames: int,
        metrics=None,
    ) -> None:
        torch.set_num_threads(1)  # concurrent requests share the cores
        self.lifter, self.recordings = lifter, recordings
        self.population, self.metrics = population, metrics
        self._references: dict[str, Reference] = {}
        self.limiter = anyio.CapacityLimiter(workers)
        # Live repetition checks get their own thread: a check (segmenting and scoring a
        # finished rep) must never hold up another stream's lifting.
        self.check_limiter = anyio.CapacityLimiter(1)
        self.min_frames, self.max_frames = min_frames, max_frames

    def parse(self, payload: dict, field: str) -> KeypointSequence:
        try:
            return parse_sequence(payload, min_frames=self.min_frames, max_frames=self.max_frames)
        except SequenceFormatError as exc:
            raise ApiError(422, "invalid_keypoints", exc.message, f"{field}.{exc.field}") from None

    def lift(self, sequence: KeypointSequence) -> tuple[np.ndarray, np.ndarray]:
        """(poses ``(T, 17, 3)``, H36M-order scores ``(T, 17)``)."""
        return self.recordings.lift_sequence(sequence), h36m_scores(
            sequence.scores, sequence.layout
        )

    async def run(self, function, *args, checks: bool = False):
        """Run ``function(*args)`` in the worker pool (``checks``: the live-check thread),
        timed and counted in the metrics."""
        limiter = self.check_limiter if checks else self.limiter
        if self.metrics is None:
            return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
        self.metrics.queue.inc()
        started = time.perf_counter()
        try:
            return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
        finally:
            self.metrics.queue.dec()
            self.metrics.work.labels(function.__name__).observe(time.perf_counter() - started)

    def build_reference(
        self, sequence: KeypointSequence, movement: str, music: Music | None = None
    ) -> tuple[np.ndarray, int]:
        """Lift a trainer's routine and check it makes a reference; returns the poses and
        the repetitions found."""
        poses, _ = self.lift(sequence)
        try:
            Reference.for_routine(poses, sequence.fps, movement, *(music or ()))
        except ValueError as exc:
            raise ApiError(422, "invalid_reference", str(exc), "keypoints") from None
        return poses, len(segment_reps(compute_features(poses), sequence.fps))

    def reference(self, blobs, routine) -> Reference:
        """The routine's prepared reference, built once per routine (routines never change)."""
        cached = self._references.get(routine.blob)
        if cached is None:
            poses, fps, music = load_motion(blobs, routine.blob)
            cached = Reference.for_routine(poses, fps, routine.movement, *(music or ()))
            if len(self._references) >= REFERENCE_CACHE:
                self._references.pop(next(iter(self._references)))
            self._references[routine.blob] = cached
        return cached

    def score(
        self,
        sequence: KeypointSequence,
        reference: Reference,
        strictness: str,
        beat_times: list[float] | None = None,
    ) -> tuple[dict, np.ndarray]:
        poses, scores = self.lift(sequence)
        feet = (sequence.keypoints, sequence.scores) if sequence.layout == "mediapipe33" else None
        report = score_session(
            poses,
            sequence.fps,
            reference,
            scores=scores,
            strictness=strictness,
            population=self.population,
            model_version=self.recordings.metadata.version,
            include_ghost=False,
            keypoints_2d=feet,
            beat_times=beat_times,
        )
        return report.to_dict(), poses


class Music(NamedTuple):
    """A routine's music: its beats on the trainer's recording (s), beats per repetition."""

    beat_times: list[float]
    beats_per_rep: int


def save_poses(blobs, name: str, poses: np.ndarray, fps: float, music: Music | None = None) -> str:
    """Store a motion blob (npz), with a routine's music; returns its name."""
    buffer = io.BytesIO()
    extra = {}
    if music is not None:
        extra = {
            "beat_times": np.asarray(music.beat_times, dtype=np.float64),
            "beats_per_rep": np.int32(music.beats_per_rep),
        }
    np.savez_compressed(buffer, poses=poses.astype(np.float32), fps=np.float32(fps), **extra)
    blobs.put(name, buffer.getvalue())
    return name


def load_motion(blobs, name: str) -> tuple[np.ndarray, float, Music | None]:
    """A motion blob's poses ``(T, 17, 3)``, fps and music (``None`` without beats)."""
    with np.load(io.BytesIO(blobs.get(name))) as data:
        music = None
        if "beat_times" in data.files:
            music = Music(data["beat_times"].tolist(), int(data["beats_per_rep"]))
        return data["poses"], float(data["fps"]), music


def load_poses(blobs, name: str) -> tuple[np.ndarray, float]:
    poses, fps, _ = load_motion(blobs, name)
    return poses, fps
