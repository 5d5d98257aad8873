"""The work behind the endpoints: validate keypoints, repair them (the 2D front end,
:mod:`pose2d.front_end`), lift, build references, score.

CPU-heavy steps run in worker threads (a bounded pool) so the event loop stays free;
torch and BLAS (the live lifter's products are numpy's) are limited to one thread per
call so concurrent requests share the cores.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Literal, NamedTuple

import anyio
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from coach_api.errors import ApiError
from coach_api.served_models import (
    RECORDED_KINDS,
    ModelSet,
    bundled_set,
    registry_set,
    shadow_set,
)
from pose3d.keypoints import DEFAULT_MIN_SCORE
from pose3d.sequence_json import KeypointSequence, SequenceFormatError, sequence_from_array
from scoring import Reference
from scoring.keypoint_scoring import (
    Lifted,
    NoPersonError,
    judge_lifted,
    lift_keypoints,
    scored_input,
)
from scoring.reference import trainer_repetitions
from scoring.session_stats import session_statistics
from scoring.stored_motion import Motion, Music

REFERENCE_CACHE = 64  # prepared routine references kept in memory
Lane = Literal["work", "live", "checks"]  # where Engine.run runs a function
# Keypoints spanning less than this share of the image's longer side are no person (all
# joints at one point scored 96.7 before this check).
MIN_PERSON_EXTENT = 0.01


@dataclass(frozen=True)
class SequenceLimits:
    """What one request's keypoint sequence may be: frames, frame rate, duration (s)."""

    min_frames: int
    max_frames: int
    min_fps: float
    max_fps: float
    max_duration_s: float

    @classmethod
    def from_settings(cls, settings) -> SequenceLimits:
        return cls(
            settings.min_frames,
            settings.max_frames,
            settings.min_fps,
            settings.max_fps,
            settings.max_duration_s,
        )


class Engine:
    """The served models (:class:`~coach_api.served_models.ModelSet`) and the pool that
    runs them; with a ``shadow`` set, what a recorded session is also scored with.

    ``lifter`` is causal (live streaming); ``recordings`` lifts whole recorded sessions
    and routines: the non-causal offline model when one is bundled, else the same.
    """

    def __init__(
        self,
        models: ModelSet,
        workers: int,
        limits: SequenceLimits,
        metrics=None,
        shadow: ModelSet | None = None,
    ) -> None:
        torch.set_num_threads(1)  # concurrent requests share the cores
        # Likewise BLAS (the live lifter's products): a multi-threaded product waits for
        # every core, which a busy machine makes slow (docs/design-notes.md, pose3d).
        threadpool_limits(1, user_api="blas")
        self.models, self.shadow = models, shadow
        self.lifter, self.recordings = models.lifter, models.recordings
        self.population, self.metrics = models.population, metrics
        self._references: dict[str, Reference] = {}
        self.limiter = anyio.CapacityLimiter(workers)
        # The live sockets' lifting (all streams at once, coach_api.live_batcher) and their
        # repetition checks (segmenting and scoring a finished rep) get a thread each: a
        # long recorded session in the pool must not hold up a stream, nor a check the
        # streams' lifting.
        self.lanes = {
            "work": self.limiter,
            "live": anyio.CapacityLimiter(1),
            "checks": anyio.CapacityLimiter(1),
        }
        self.limits = limits

    def sequence(
        self, header, frames: np.ndarray | None, field: str = "keypoints"
    ) -> KeypointSequence:
        """The keypoint sequence of a request: ``header`` (layout, fps, image size; a
        validated ``KeypointSequenceIn``) and ``frames`` ``(T, J, 3)`` from
        :func:`~coach_api.json_body.read_body_with_frames`. 422 naming the field unless it
        is well formed, within the work one request may cause, and shows a person."""
        if frames is None:
            raise ApiError(422, "invalid_keypoints", "is required", f"{field}.frames")
        try:
            sequence = sequence_from_array(
                header.layout,
                header.fps,
                header.image_width,
                header.image_height,
                frames,
                min_frames=self.limits.min_frames,
                max_frames=self.limits.max_frames,
                min_fps=self.limits.min_fps,
                max_fps=self.limits.max_fps,
            )
        except SequenceFormatError as exc:
            raise ApiError(422, "invalid_keypoints", exc.message, f"{field}.{exc.field}") from None
        self._check_workload(sequence, field)
        self._check_person(sequence, field)
        return sequence

    def _check_workload(self, sequence: KeypointSequence, field: str) -> None:
        """Bound the work: the duration, and the frames the lifter will see after
        resampling to its own rate (a low fps multiplies them)."""
        seconds = sequence.num_frames / sequence.fps
        lifted = seconds * self.recordings.metadata.fps
        if seconds > self.limits.max_duration_s or lifted > self.limits.max_frames:
            raise ApiError(
                413,
                "too_long",
                f"{sequence.num_frames} frames at {sequence.fps:g} fps last {seconds:.0f} s; "
                f"at most {self.limits.max_duration_s:g} s per request",
                f"{field}.frames",
            )

    def _check_person(self, sequence: KeypointSequence, field: str) -> None:
        """Refuse what cannot be a person: no confident keypoint at all (the lifter would
        see nothing), or keypoints that span (almost) no image area."""
        min_score = DEFAULT_MIN_SCORE  # what the lifter treats as seen
        confident = sequence.scores >= min_score
        if not confident.any():
            raise ApiError(
                422,
                "no_person",
                f"no keypoint has a score of at least {min_score:g}: no person was seen",
                f"{field}.frames",
            )
        visible = confident.sum(axis=1) >= 2  # frames where an extent exists
        extent = np.zeros(1)
        if visible.any():
            points = np.where(confident[visible, :, None], sequence.keypoints[visible], np.nan)
            spans = np.nanmax(points, axis=1) - np.nanmin(points, axis=1)  # (T, 2) px
            extent = spans.max(axis=1)
        least = MIN_PERSON_EXTENT * max(sequence.image_size)
        if float(np.median(extent)) < least:
            raise ApiError(
                422,
                "no_person",
                f"the keypoints span {float(np.median(extent)):.1f} px (median over frames); "
                f"a person spans at least {least:.0f} px of this image",
                f"{field}.frames",
            )

    def lift(self, sequence: KeypointSequence, models: ModelSet | None = None) -> Lifted:
        """The sequence repaired by the 2D front end and lifted by the recordings lifter
        of ``models`` (default the served set); 422 when the camera followed someone else
        for most of it, or for input the lifter refuses (it raises ValueError only for
        bad input)."""
        models = models or self.models
        try:
            return lift_keypoints(models.recordings, sequence)
        except NoPersonError as exc:
            raise ApiError(422, "no_person", str(exc), "keypoints.frames") from None
        except ValueError as exc:
            raise ApiError(422, "invalid_keypoints", str(exc), "keypoints") from None

    async def run(self, function, *args, lane: Lane = "work"):
        """Run ``function(*args)`` in the worker pool, or on the thread of the live
        streams' lifting (``lane="live"``) or of their checks (``"checks"``); timed and
        counted in the metrics."""
        limiter = self.lanes[lane]
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
    ) -> tuple[Motion, int]:
        """Lift a trainer's routine and check it makes a reference; returns the motion to
        store and the number of repetitions found. The repetitions of a routine without
        music are found once, here, where the phone's landmarks can confirm them
        (:func:`~scoring.reference.trainer_repetitions`), and stored with the poses."""
        lifted = self.lift(sequence)
        landmarks = None
        if lifted.sequence.layout == "mediapipe33":
            landmarks = (lifted.sequence.keypoints, lifted.sequence.scores)
        reps = trainer_repetitions(lifted.poses, sequence.fps, landmarks)
        motion = Motion(lifted.poses, sequence.fps, music, None if music else reps)
        try:
            motion.reference(movement)
        except ValueError as exc:
            raise ApiError(422, "invalid_reference", str(exc), "keypoints") from None
        return motion, len(reps)

    def reference(self, blobs, routine) -> Reference:
        """The routine's prepared reference, built once per routine (routines never change)."""
        cached = self._references.get(routine.blob)
        if cached is None:
            cached = load_motion(blobs, routine.blob).reference(routine.movement)
            if len(self._references) >= REFERENCE_CACHE:
                self._references.pop(next(iter(self._references)))
            self._references[routine.blob] = cached
        return cached

    def forget_reference(self, blob: str) -> None:
        """Drop a deleted routine's prepared reference (the trainer's motion) from memory."""
        self._references.pop(blob, None)

    def score(
        self,
        sequence: KeypointSequence,
        reference: Reference,
        strictness: str,
        beat_times: list[float] | None = None,
        models: ModelSet | None = None,
    ) -> Scored:
        """Lift ``sequence`` with the recordings lifter of ``models`` (default the served
        set), score it against ``reference`` (the report's ``models`` naming the models
        that scored it) and measure it for drift monitoring (:mod:`scoring.session_stats`)."""
        models = models or self.models
        lifted = self.lift(sequence, models)
        report = judge_lifted(
            lifted,
            reference,
            strictness,
            models.population,
            models.recordings.metadata.version,
            beat_times,
        )
        data = report.to_dict() | {"models": models.names(RECORDED_KINDS)}
        received = scored_input(sequence, lifted)  # the front end's repairs counted apart
        stats = session_statistics(received, lifted.poses, data, report.detector_probabilities)
        return Scored(data, lifted.poses, stats)


def load_engine(settings, metrics=None) -> Engine:
    """The engine of ``settings``: the served models (bundled, or the registry's
    ``model_alias``; :class:`~coach_api.served_models.ModelSourceError` when the registry
    cannot serve them), the shadow set of ``shadow_alias``, and the pool. Call it on the
    event loop that will use it: the pool's limiters belong to that loop."""
    if settings.model_source == "registry":
        models = registry_set(settings.model_alias, settings)
    else:
        models = bundled_set(settings)
    return Engine(
        models,
        settings.worker_threads,
        SequenceLimits.from_settings(settings),
        metrics,
        shadow_set(settings, models),
    )


class Scored(NamedTuple):
    """A scored session: the report's JSON, the lifted poses ``(T, 17, 3)`` metres, and
    its statistics for drift monitoring (:func:`scoring.session_stats.session_statistics`)."""

    report: dict
    poses: np.ndarray
    stats: dict[str, float]


def music_of(beat_times: list[float] | None, beats_per_rep: int | None) -> Music | None:
    """A routine's music from its two fields (both or neither); 422 naming the missing one."""
    if (beat_times is None) != (beats_per_rep is None):
        missing = "beats_per_rep" if beats_per_rep is None else "beat_times"
        raise ApiError(
            422, "invalid_input", "a routine to music needs beat_times and beats_per_rep", missing
        )
    return Music(beat_times, beats_per_rep) if beat_times else None


def save_poses(blobs, name: str, poses: np.ndarray, fps: float, music: Music | None = None) -> str:
    """Store a motion blob (npz), with a routine's music; returns its name."""
    return save_motion(blobs, name, Motion(poses, fps, music))


def save_motion(blobs, name: str, motion: Motion) -> str:
    """Store ``motion`` as a blob (npz); returns its name."""
    buffer = io.BytesIO()
    extra = {}
    if motion.music is not None:
        extra = {
            "beat_times": np.asarray(motion.music.beat_times, dtype=np.float64),
            "beats_per_rep": np.int32(motion.music.beats_per_rep),
        }
    if motion.reps is not None:
        extra["reps"] = np.asarray(motion.reps, dtype=np.int32).reshape(-1, 2)
    poses = motion.poses.astype(np.float32)
    np.savez_compressed(buffer, poses=poses, fps=np.float32(motion.fps), **extra)
    blobs.put(name, buffer.getvalue())
    return name


def load_motion(blobs, name: str) -> Motion:
    """A motion blob as :func:`save_motion` stored it."""
    with np.load(io.BytesIO(blobs.get(name))) as data:
        music = None
        if "beat_times" in data.files:
            music = Music(data["beat_times"].tolist(), int(data["beats_per_rep"]))
        reps = None
        if "reps" in data.files:
            reps = [(int(start), int(end)) for start, end in data["reps"]]
        return Motion(data["poses"], float(data["fps"]), music, reps)


def load_poses(blobs, name: str) -> tuple[np.ndarray, float]:
    motion = load_motion(blobs, name)
    return motion.poses, motion.fps
