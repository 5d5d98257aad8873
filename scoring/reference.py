"""The trainer's reference performance, prepared for comparisons.

From the trainer's 3D motion the reference keeps one *template* repetition (the median
one) and, per phase of it, how much the trainer varies from rep to rep. A session is
compared against the template repeated as many times as the user repeated it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.alignment import align, segment_reps
from scoring.features import compute_features, validate_poses
from scoring.image_activity import image_track

MIN_VARIABILITY_DEG = 1.0


@dataclass
class Reference:
    """A trainer's movement.

    Attributes:
        movement: Movement name (selects the checks, e.g. ``"squat"``).
        fps: Frame rate of ``poses``.
        poses: ``(T, 17, 3)`` the trainer's whole performance (metres).
        features: ``(T, F)`` its joint-angle features (degrees).
        template: ``[start, end)`` frames of the template repetition.
        variability: ``(L, F)`` per-phase standard deviation across the trainer's reps
            (at least ``MIN_VARIABILITY_DEG``), ``L`` = template length.
        beats_per_rep: Beats in one repetition for movements done to music (0 if none).
    """

    movement: str
    fps: float
    poses: np.ndarray
    features: np.ndarray
    template: tuple[int, int]
    variability: np.ndarray
    beats_per_rep: int = 0

    @property
    def template_features(self) -> np.ndarray:
        return self.features[self.template[0] : self.template[1]]

    @property
    def template_poses(self) -> np.ndarray:
        return self.poses[self.template[0] : self.template[1]]

    @property
    def rep_seconds(self) -> float:
        return (self.template[1] - self.template[0]) / self.fps

    @classmethod
    def from_poses(
        cls,
        poses: np.ndarray,
        fps: float,
        movement: str,
        *,
        rep_period_s: float | None = None,
        beats_per_rep: int = 0,
        beat_times: list[float] | None = None,
        reps: Sequence[tuple[int, int]] | None = None,
    ) -> Reference:
        """Build a reference from the trainer's ``(T, 17, 3)`` motion at ``fps``.

        ``rep_period_s`` fixes the repetition length (a dance routine's duration) instead
        of finding repetitions from the motion; the template then starts on the
        trainer's first beat (``beat_times``, seconds) or, without beats, where the
        trainer starts moving. ``reps``: the repetitions ``[start, end)`` (frames) when
        they were found with more than the poses (:func:`trainer_repetitions`); checked
        (ValueError naming the problem).
        """
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"reference fps must be positive, got {fps}")
        poses = validate_poses(poses, "reference poses")
        features = compute_features(poses)
        if rep_period_s is not None:
            start = None if not beat_times else round(beat_times[0] * fps)
            reps = _periodic_reps(features, fps, rep_period_s, start)
        elif reps is not None:
            reps = checked_reps(reps, len(poses))
        else:
            reps = segment_reps(features, fps)
        if not reps:
            raise ValueError("the reference shows no repetition (the trainer hardly moves)")
        lengths = [end - start for start, end in reps]
        template = reps[int(np.argsort(lengths)[len(lengths) // 2])]
        variability = _rep_variability(features, reps, template, fps)
        return cls(movement, float(fps), poses, features, template, variability, beats_per_rep)

    @classmethod
    def for_routine(
        cls,
        poses: np.ndarray,
        fps: float,
        movement: str,
        beat_times: Sequence[float] | None = None,
        beats_per_rep: int = 0,
        reps: Sequence[tuple[int, int]] | None = None,
    ) -> Reference:
        """A trainer's routine; one done to music (``beat_times``: seconds of the beats on
        the trainer's recording, ``beats_per_rep`` beats to one repetition of the routine)
        has repetitions of that many beats from the first beat, like the simulated dance.
        Without music its repetitions are ``reps`` when given (see :meth:`from_poses`),
        else found in the motion."""
        if not beat_times:
            return cls.from_poses(poses, fps, movement, reps=reps)
        if len(beat_times) < 2 or beats_per_rep < 1:
            raise ValueError("a routine to music needs at least 2 beat times and beats_per_rep")
        period = beats_per_rep * float(np.median(np.diff(np.asarray(beat_times, dtype=float))))
        return cls.from_poses(
            poses,
            fps,
            movement,
            rep_period_s=period,
            beats_per_rep=beats_per_rep,
            beat_times=list(beat_times),
        )

    def on_the_beat(self, beat_times: Sequence[float] | None) -> bool:
        """Whether a session with these beat times is judged on the beat: the routine is
        done to music and at least two of its beats are known."""
        return bool(self.beats_per_rep) and beat_times is not None and len(beat_times) > 1

    @property
    def template_length(self) -> int:
        return self.template[1] - self.template[0]

    def track(self, repetitions: int) -> tuple[np.ndarray, np.ndarray]:
        """The template repeated: features ``(K*L, F)`` and template phase index ``(K*L,)``."""
        repetitions = max(1, repetitions)
        length = self.template_length
        return np.tile(self.template_features, (repetitions, 1)), np.tile(
            np.arange(length), repetitions
        )


def trainer_repetitions(
    poses: np.ndarray, fps: float, landmarks: tuple[np.ndarray, np.ndarray] | None = None
) -> list[tuple[int, int]]:
    """The repetitions ``[start, end)`` (frames) of a trainer's lifted ``poses``
    ``(T, 17, 3)``; with the phone's MediaPipe-33 ``landmarks`` (``(T, 33, 2)`` pixels and
    ``(T, 33)`` scores), checked against the image (:func:`scoring.alignment.segment_reps`:
    the lifter blows dips between real repetitions up to half a squat, and can flatten
    a squat until it does not count)."""
    image = None if landmarks is None else image_track(*landmarks, fps)
    return segment_reps(compute_features(poses), fps, image=image)


def checked_reps(reps: Sequence[Sequence[int]], frames: int) -> list[tuple[int, int]]:
    """``reps`` as ``[start, end)`` frame pairs, each inside ``frames`` frames, non-empty
    and after the one before; ValueError naming the first that is not."""
    checked: list[tuple[int, int]] = []
    for number, rep in enumerate(reps):
        if len(rep) != 2:
            raise ValueError(f"repetition {number} is not a [start, end) pair: {list(rep)}")
        start, end = int(rep[0]), int(rep[1])
        after = checked[-1][1] if checked else 0
        if not after <= start < end <= frames:
            raise ValueError(
                f"repetition {number} [{start}, {end}) is not within frames [{after}, {frames})"
            )
        checked.append((start, end))
    return checked


def _periodic_reps(
    features: np.ndarray, fps: float, period_s: float, onset: int | None
) -> list[tuple[int, int]]:
    """Back-to-back repetitions of ``period_s`` from ``onset`` (default: motion onset)."""
    from scoring.alignment import activity

    if onset is None:
        signal = activity(features, fps)
        onset = int(np.argmax(signal > 0.2 * signal.max())) if signal.max() > 0 else 0
        onset = max(0, onset - int(0.1 * fps))
    length = round(period_s * fps)
    return [(s, s + length) for s in range(onset, len(features) - length + 1, length)]


def _rep_variability(
    features: np.ndarray, reps: list[tuple[int, int]], template: tuple[int, int], fps: float
) -> np.ndarray:
    """Per template frame, the spread of the trainer's other reps aligned onto it."""
    reference = features[template[0] : template[1]]
    aligned = []
    for start, end in reps:
        if (start, end) == template or end - start < 3:
            continue
        alignment = align(reference, fps, features[start:end], fps)  # ends anchored
        # For each template frame, the matched frame of this rep.
        aligned.append(features[start:end][alignment.ref_index])
    if not aligned:
        return np.full_like(reference, MIN_VARIABILITY_DEG)
    spread = np.std(np.stack([*aligned, reference]), axis=0)
    return np.maximum(spread, MIN_VARIABILITY_DEG)
