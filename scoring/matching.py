"""Matching a session to the trainer's reference: which of the trainer's frames each of
the user's frames performs.

The reference track is the trainer's template repetition repeated as often as the user
repeats it; the user is aligned to it with DTW (:mod:`scoring.alignment`), anchored on the
music's beats for routines done to music (when the beat times are known) and on the
user's repetition boundaries otherwise. Everything that judges a session (the rules in
:mod:`scoring.session`, the detector's evidence in :mod:`scoring.evidence`) reads the
:class:`MatchedSession` made here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.alignment import Alignment, align, segment_reps
from scoring.features import compute_features
from scoring.image_activity import ImageTrack, image_track
from scoring.image_depth import knee_bend_activity
from scoring.observed import ObservedSession, PoseSource
from scoring.reference import Reference

# Movements whose repetitions are knee bends: their repetitions are also looked for in the
# image's knee bend (measured on squats; a lunge bends the knees too, but nothing real was
# measured for it).
KNEE_BEND_MOVEMENTS = frozenset({"squat"})


@dataclass
class TrackPlan:
    """How the user's session maps onto the reference track.

    Attributes:
        reps: The user's repetitions ``[start, end)`` (frames).
        repetitions: Template repetitions in the reference track.
        anchors: ``(user_frames, track_frames)`` correspondences for the alignment.
        window: DTW window in track frames.
    """

    reps: list[tuple[int, int]]
    repetitions: int
    anchors: tuple[np.ndarray, np.ndarray]
    window: int


def plan_track(
    user_features: np.ndarray,
    fps: float,
    reference: Reference,
    beat_times: Sequence[float] | None,
    image: ImageTrack | None = None,
    knee_bend: np.ndarray | None = None,
) -> TrackPlan:
    """Anchor the session on the reference: beats for routines done to music (when the
    beat times are known), repetition boundaries otherwise (``image``, ``knee_bend``: see
    :func:`~scoring.alignment.segment_reps`)."""
    reps = segment_reps(user_features, fps, image=image, knee_bend=knee_bend)
    length = reference.template_length
    if reference.on_the_beat(beat_times):
        beats = np.asarray(beat_times, dtype=np.float64) * fps
        per_beat = length / reference.beats_per_rep
        repetitions = max(1, int(np.ceil(len(beats) / reference.beats_per_rep)))
        anchors = (beats, np.arange(len(beats)) * per_beat)
        return TrackPlan(reps, repetitions, anchors, max(3, int(0.75 * per_beat)))
    repetitions = max(1, len(reps))
    if reps:
        user = np.array([reps[0][0]] + [end for _, end in reps], dtype=np.float64)
        track = np.arange(len(reps) + 1, dtype=np.float64) * length
    else:
        user = np.array([0.0, len(user_features) - 1.0])
        track = np.array([0.0, length - 1.0])
    return TrackPlan(reps, repetitions, (user, track), max(3, int(0.1 * length)))


@dataclass(frozen=True)
class MatchedSession:
    """The user's session matched to the trainer's reference.

    Attributes:
        observed: What was observed of the session.
        features: ``(T, F)`` the user's joint angles (degrees).
        reference: The trainer's reference.
        reps: The user's repetitions ``[start, end)`` (frames).
        alignment: The user's frames matched to the reference track.
        track_phase: ``(L,)`` template frame of each track frame.
    """

    observed: ObservedSession
    features: np.ndarray
    reference: Reference
    reps: list[tuple[int, int]]
    alignment: Alignment
    track_phase: np.ndarray

    @property
    def fps(self) -> float:
        return self.observed.fps

    @property
    def track_index(self) -> np.ndarray:
        """``(T,)`` the template frame each user frame is matched to."""
        return self.track_phase[self.alignment.ref_index]

    @property
    def timed(self) -> bool:
        """Whether the session is judged on the music's beat."""
        return self.reference.on_the_beat(self.observed.beat_times)


def image_check(observed: ObservedSession) -> ImageTrack | None:
    """For lifted poses with the phone's landmarks: the body's displacement in the image,
    which the lifted repetitions are checked against (:mod:`scoring.image_activity`);
    exact 3D needs no check."""
    if observed.source is not PoseSource.LIFTED or observed.landmarks is None:
        return None
    return image_track(*observed.landmarks, observed.fps)


def knee_bend_check(observed: ObservedSession, movement: str) -> np.ndarray | None:
    """For lifted poses of a movement whose repetitions are knee bends
    (:data:`KNEE_BEND_MOVEMENTS`) with the phone's landmarks: the knees' bend in the image
    (:func:`scoring.image_depth.knee_bend_activity`), which finds the shallow repetitions
    the lift leaves uncounted. Exact 3D counts them itself."""
    if (
        observed.source is not PoseSource.LIFTED
        or observed.landmarks is None
        or movement not in KNEE_BEND_MOVEMENTS
    ):
        return None
    return knee_bend_activity(*observed.landmarks, observed.fps)


def match_session(observed: ObservedSession, reference: Reference) -> MatchedSession:
    """Plan the reference track, build it and align the user to it."""
    features = compute_features(observed.poses)
    image = image_check(observed)
    knee_bend = knee_bend_check(observed, reference.movement)
    plan = plan_track(features, observed.fps, reference, observed.beat_times, image, knee_bend)
    track, track_phase = reference.track(plan.repetitions)
    alignment = align(features, observed.fps, track, reference.fps, plan.anchors, plan.window)
    return MatchedSession(observed, features, reference, plan.reps, alignment, track_phase)
