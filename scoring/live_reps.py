"""Finished repetitions of a live stream, found by looking at the new frames only.

:func:`scoring.alignment.segment_reps` segments a whole recording: features, activity,
its peak level and the peaks, all over every frame. A live session asks every half
second which repetitions finished; segmenting its whole buffer each time made the cost of
a check grow with the session (39 ms at 10 minutes against 0.7 ms at 10 s), so the cost
of a session grew with its square. :class:`RepTracker` applies the same rules
incrementally: features and activity are computed for the new poses only, the peak level
(98th percentile of the activity) is kept from a sorted list, and peaks are looked for
from the last finished repetition's peak on. A repetition once reported is never
revisited (the whole-buffer segmentation could renumber earlier ones as the level grew).
"""

from __future__ import annotations

import numpy as np

from scoring.activity_track import GrowingArray, SmoothedActivity
from scoring.alignment import (
    MIN_ACTIVITY_DEG,
    first_rep_start,
    rep_peaks,
    trough_middle,
)
from scoring.features import compute_features
from scoring.image_activity import ImageTrack


class RepTracker:
    """The repetitions of a growing stream of poses, finished ones reported once.

    Same rules as :func:`scoring.alignment.segment_reps` (peaks of the activity, trough
    middles between them, the first repetition starting in the calm before it), applied
    to the frames since the last finished repetition's peak. The cost of a call grows
    with the frames since then, not with the session.
    """

    def __init__(self, fps: float, min_rep_s: float = 0.4, image: bool = False) -> None:
        self.fps, self.min_rep_s = fps, min_rep_s
        self.rest_frames = max(3, int(0.3 * fps))  # the rest pose: their median
        self.frames = 0  # poses seen
        # Their feature rows until the rest pose is known (their first rest_frames'
        # median); after it each frame's activity is all that is kept of them.
        self._early: list[np.ndarray] = []
        self.activity = SmoothedActivity()  # deg from the rest pose, from its first frame
        self.rest: np.ndarray | None = None
        # With ``image``, the phone's MediaPipe-33 landmarks come with the poses: a peak
        # counts only where the image shows the body move (scoring.image_activity), and
        # the image's own peaks where they are more.
        self.image = ImageTrack(fps) if image else None
        self.peaks: list[int] = []  # peaks of the finished repetitions, in order
        self.bounds: list[tuple[int, int]] = []  # their [start, end) frames

    @property
    def signal(self) -> GrowingArray:
        """``(T,)`` the smoothed activity (deg); its last two values provisional."""
        return self.activity.signal

    def extend(
        self, poses: np.ndarray, landmarks: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Add the next poses ``(N, 17, 3)`` metres, with the phone's landmarks of the same
        frames (``(N, 33, 2)`` pixels and ``(N, 33)`` scores) when tracking the image."""
        if len(poses) == 0:
            return
        if self.image is not None:
            if landmarks is None or len(landmarks[0]) != len(poses):
                raise ValueError("an image-checked tracker needs the landmarks of every pose")
            self.image.extend(*landmarks)
        # compute_features wants 2 frames; each frame's features are its own.
        rows = compute_features(np.concatenate([poses[:1], poses]))[1:]
        self.frames += len(rows)
        if self.rest is None:
            self._early.append(rows)
            if self.frames < self.rest_frames:
                return
            rows, self._early = np.concatenate(self._early), []  # every frame's so far
            self.rest = np.median(rows[: self.rest_frames], axis=0)
        self.activity.extend(np.linalg.norm(rows - self.rest, axis=1))

    def level(self) -> float:
        """The 98th percentile of the (final) activity, as ``np.percentile`` computes it."""
        return self.activity.level()

    def finished(self) -> list[tuple[int, int]]:
        """The ``[start, end)`` frames of the repetitions finished since the last call
        (one is finished once the next one has peaked), oldest first."""
        level = self.level()
        if self.rest is None or level < MIN_ACTIVITY_DEG:
            return []
        signal = self.signal.view
        start = self.peaks[-1] if self.peaks else 0
        found = rep_peaks(signal[start:], level, self.fps, self.min_rep_s) + start
        if self.peaks:
            found = found[found > start]
        if self.image is not None:
            found = self.image.shown(found)
            # Where the image's own peaks since the last repetition hold the lifted ones
            # and more, they are the repetitions, cut on its displacement (segment_reps).
            after = start + int(self.min_rep_s * self.fps) - 1 if self.peaks else -1
            seen = self.image.peaks_beyond(found, self.min_rep_s, after)
            if seen is not None:
                found, signal, level = seen, self.image.activity.signal.view, self.image.level()
        peaks = self.peaks + [int(p) for p in found]
        new = []
        for number in range(len(self.peaks), len(peaks) - 1):
            peak, following = peaks[number], peaks[number + 1]
            if number == 0:
                first = first_rep_start(signal, peak, level, self.fps)
            else:
                first = self.bounds[-1][1]
            end = trough_middle(signal, peak, following, level)
            self.peaks.append(peak)
            self.bounds.append((first, end))
            new.append((first, end))
        return new
