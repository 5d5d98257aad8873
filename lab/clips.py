"""Clips made ready for scoring: the trainer's reference, what the phone sees, lifted.

A labelled clip is scored from one of two pose sources (:data:`MODE_NAMES`): its exact 3D, or
filmed by its first phone camera with MediaPipe-33 detector noise and lifted by the
bundled recordings lifter. Both modes see the phone's 2D landmarks. Fitting, calibration,
detector training and evaluation all prepare their clips here, so they judge the same
inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pose2d import clean_keypoints
from pose3d.keypoints import h36m_scores
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence
from scoring import Landmarks, ObservedSession, PoseSource, Reference
from scoring.reference import trainer_repetitions
from synthetic_data.clip import Clip, read_clip
from synthetic_data.detector import Observation, film
from synthetic_data.generator import trainer_clip

MODE_NAMES = {  # how reports name the poses each source scores
    PoseSource.EXACT: "ground-truth 3D",
    PoseSource.LIFTED: "lifted from noisy 2D",
}


@dataclass
class Performance:
    """3D motion ready for scoring, with where it came from."""

    poses: np.ndarray
    fps: float
    movement: str | None
    scores: np.ndarray | None = None
    beat_times: list[float] | None = None
    rep_period_s: float | None = None
    beats_per_rep: int = 0
    model_version: str = ""
    landmarks: Landmarks | None = None

    def observed(self) -> ObservedSession:
        """The performance as scoring takes it."""
        return ObservedSession(
            self.poses,
            self.fps,
            scores=self.scores,
            landmarks=self.landmarks,
            beat_times=self.beat_times,
        )


def clip_paths(folder: Path, limit: int) -> list[Path]:
    """At most ``limit`` clip files of ``folder``, spread evenly over its sorted names so
    that every movement (the names' prefix) is in a small sample."""
    paths = sorted(Path(folder).glob("*.clip.npz"))
    if len(paths) <= limit:
        return paths
    step = len(paths) / limit
    return [paths[int(number * step)] for number in range(limit)]


def clip_performance(clip: Clip) -> Performance:
    """A clip's exact 3D motion; for routines done to music, its repetition length and
    beats (from the clip's first repetition and beat times)."""
    performance = Performance(
        clip.h36m17(), clip.fps, clip.movement, beat_times=clip.beat_times or None
    )
    if clip.beat_times and clip.reps:
        start, end = clip.reps[0]
        beats = [b for b in clip.beat_times if start / clip.fps <= b < end / clip.fps]
        performance.rep_period_s = (end - start) / clip.fps
        performance.beats_per_rep = len(beats)
    return performance


def reference_from(trainer: Performance, movement: str) -> Reference:
    """The trainer's performance prepared as a scoring reference; lifted with the phone's
    landmarks, its repetitions are those the image shows too, as the API stores them."""
    reps = None
    lifted = trainer.scores is not None and trainer.landmarks is not None
    if lifted and trainer.rep_period_s is None:
        reps = trainer_repetitions(trainer.poses, trainer.fps, trainer.landmarks)
    return Reference.from_poses(
        trainer.poses,
        trainer.fps,
        movement,
        rep_period_s=trainer.rep_period_s,
        beats_per_rep=trainer.beats_per_rep,
        beat_times=trainer.beat_times,
        reps=reps,
    )


def reference_for(movement: str, cache: dict) -> tuple[Reference, Clip]:
    """The trainer's reference of ``movement`` (built once)."""
    if movement not in cache:
        trainer = trainer_clip(movement)
        cache[movement] = (reference_from(clip_performance(trainer), movement), trainer)
    return cache[movement]


def film_phone(clip: Clip, seed: int, profile: str = "phone-v1") -> Observation:
    """What the phone sees of ``clip``: its first camera, MediaPipe-33, the detector
    noise of ``profile`` (see :func:`synthetic_data.detector.film`)."""
    rng = np.random.default_rng(seed)
    return film(clip, clip.cameras[0], rng, layout="mediapipe33", profile=profile)


def phone_landmarks(
    clip: Clip, seed: int, profile: str = "phone-v1", seen: Observation | None = None
) -> tuple[Landmarks, tuple[int, int]]:
    """What the phone sees of ``clip`` (:func:`film_phone`, or ``seen`` when it was filmed
    already) after the 2D front end, as the API repairs it before lifting
    (:func:`pose2d.clean_keypoints`); and the image size."""
    seen = film_phone(clip, seed, profile) if seen is None else seen
    cleaned = clean_keypoints(seen.keypoints, seen.scores, clip.fps, "mediapipe33")
    return Landmarks(cleaned.keypoints, cleaned.scores), seen.image_size


def lift_clip(
    clip: Clip, lifter: Lifter, seed: int, profile: str = "phone-v1"
) -> tuple[np.ndarray, np.ndarray, Landmarks]:
    """Film ``clip`` as the phone would (:func:`phone_landmarks`) and lift it.

    Returns the lifted poses ``(T, 17, 3)``, their H36M-order 2D scores ``(T, 17)`` and
    the MediaPipe keypoints and scores (for the 2D-only checks).
    """
    landmarks, image_size = phone_landmarks(clip, seed, profile)
    poses, scores = lift_landmarks(landmarks, image_size, clip.fps, lifter)
    return poses, scores, landmarks


def lift_landmarks(
    landmarks: Landmarks, image_size: tuple[int, int], fps: float, lifter: Lifter
) -> tuple[np.ndarray, np.ndarray]:
    """Lift MediaPipe-33 ``landmarks`` of an image ``(width, height)`` pixels: the poses
    ``(T, 17, 3)`` and their H36M-order 2D scores ``(T, 17)``."""
    sequence = KeypointSequence("mediapipe33", fps, *image_size, *landmarks)
    return lifter.lift_sequence(sequence), h36m_scores(landmarks.scores, "mediapipe33")


@dataclass
class PreparedClip:
    """One labelled clip with what scoring is given of it from one pose source."""

    clip: Clip
    observed: ObservedSession


def observe_clip(
    clip: Clip,
    number: int,
    lifter: Lifter,
    profile: str = "phone-v1",
    sources: tuple[PoseSource, ...] = tuple(PoseSource),
    seen: Observation | None = None,
) -> dict[PoseSource, ObservedSession]:
    """What scoring is given of ``clip`` from each of ``sources``: the phone's 2D
    landmarks (filmed once, seeded by ``number``, detector noise of ``profile``, or
    ``seen`` when the caller filmed it; repaired by the front end) with the exact 3D, or
    with their lift (lifted only when asked for). Both sources see the 2D (the heel and
    knee image measures have no exact-3D counterpart)."""
    landmarks, image_size = phone_landmarks(clip, number, profile, seen)
    beats = clip.beat_times or None
    observed = {}
    if PoseSource.EXACT in sources:
        observed[PoseSource.EXACT] = ObservedSession(
            clip.h36m17(), clip.fps, landmarks=landmarks, beat_times=beats
        )
    if PoseSource.LIFTED in sources:
        poses, scores = lift_landmarks(landmarks, image_size, clip.fps, lifter)
        observed[PoseSource.LIFTED] = ObservedSession(
            poses, clip.fps, scores=scores, landmarks=landmarks, beat_times=beats
        )
    return observed


def prepare_clip(
    clip: Clip, number: int, source: PoseSource, lifter: Lifter, profile: str = "phone-v1"
) -> PreparedClip:
    """``clip`` with what scoring is given of it from ``source`` (:func:`observe_clip`)."""
    return PreparedClip(clip, observe_clip(clip, number, lifter, profile, (source,))[source])


def prepare_clips(paths: list[Path], source: PoseSource, lifter: Lifter) -> list[PreparedClip]:
    """Read and prepare (:func:`prepare_clip`) every clip."""
    desc = f"prepare ({MODE_NAMES[source]})"
    return [
        prepare_clip(read_clip(path), number, source, lifter)
        for number, path in enumerate(tqdm(paths, desc=desc, leave=False))
    ]
