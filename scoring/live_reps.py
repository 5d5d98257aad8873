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

import bisect

import numpy as np

from scoring.alignment import (
    MIN_ACTIVITY_DEG,
    first_rep_start,
    rep_peaks,
    trough_middle,
)
from scoring.features import compute_features

SMOOTHING = 5  # frames: activity's moving average (scoring.alignment.activity)


class GrowingArray:
    """Rows appended at amortised constant cost (capacity doubles); ``view`` is the rows
    so far, without copying."""

    def __init__(self, row_shape: tuple[int, ...], dtype: type = np.float64) -> None:
        self._data = np.zeros((256, *row_shape), dtype)
        self.size = 0

    def extend(self, rows: np.ndarray) -> None:
        needed = self.size + len(rows)
        if needed > len(self._data):
            grown = np.zeros(
                (max(needed, 2 * len(self._data)), *self._data.shape[1:]), self._data.dtype
            )
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = rows
        self.size = needed

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.size]


class RepTracker:
    """The repetitions of a growing stream of poses, finished ones reported once.

    Same rules as :func:`scoring.alignment.segment_reps` (peaks of the activity, trough
    middles between them, the first repetition starting in the calm before it), applied
    to the frames since the last finished repetition's peak. The cost of a call grows
    with the frames since then, not with the session.
    """

    def __init__(self, fps: float, min_rep_s: float = 0.4) -> None:
        self.fps, self.min_rep_s = fps, min_rep_s
        self.rest_frames = max(3, int(0.3 * fps))  # the rest pose: their median
        self.features: GrowingArray | None = None
        self.distance = GrowingArray(())  # (T,) deg from the rest pose, unsmoothed
        self.signal = GrowingArray(())  # (T,) smoothed; its last SMOOTHING // 2 provisional
        self.sorted_signal: list[float] = []  # the final values of signal, sorted
        self.rest: np.ndarray | None = None
        self.peaks: list[int] = []  # peaks of the finished repetitions, in order
        self.bounds: list[tuple[int, int]] = []  # their [start, end) frames

    @property
    def frames(self) -> int:
        return 0 if self.features is None else self.features.size

    def extend(self, poses: np.ndarray) -> None:
        """Add the next poses ``(N, 17, 3)`` metres."""
        if len(poses) == 0:
            return
        # compute_features wants 2 frames; each frame's features are its own.
        rows = compute_features(np.concatenate([poses[:1], poses]))[1:]
        if self.features is None:
            self.features = GrowingArray(rows.shape[1:])
        self.features.extend(rows)
        if self.rest is None:
            if self.features.size < self.rest_frames:
                return
            self.rest = np.median(self.features.view[: self.rest_frames], axis=0)
            rows = self.features.view  # the distances of every frame so far
        self.distance.extend(np.linalg.norm(rows - self.rest, axis=1))
        self._smooth()

    def _smooth(self) -> None:
        """Bring ``signal`` up to ``distance``: a centred moving average with the ends
        padded by their values, as :func:`scoring.alignment.moving_average`. Its last
        ``SMOOTHING // 2`` values depend on frames still to come: they are recomputed on
        the next call, and only final values join the sorted ones."""
        half = SMOOTHING // 2
        distance, total = self.distance.view, self.distance.size
        first = max(0, self.signal.size - half)  # every value before it is final
        low = max(0, first - half)
        context = distance[low:total]
        padded = np.concatenate(
            [np.full(half - (first - low), context[0]), context, np.full(half, context[-1])]
        )
        smoothed = np.convolve(padded, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
        self.signal.size = first
        self.signal.extend(smoothed)
        final = smoothed[: max(0, total - half - first)].tolist()
        if len(final) > 64:  # a resumed stream's poses at once: one merge (Timsort runs)
            self.sorted_signal = sorted(self.sorted_signal + final)
        else:
            for value in final:
                bisect.insort(self.sorted_signal, value)

    def level(self) -> float:
        """The 98th percentile of the (final) activity, as ``np.percentile`` computes it."""
        values = self.sorted_signal
        if not values:
            return 0.0
        position = (len(values) - 1) * 0.98
        low = int(position)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (position - low)

    def finished(self) -> list[tuple[int, int]]:
        """The ``[start, end)`` frames of the repetitions finished since the last call
        (one is finished once the next one has peaked), oldest first."""
        level = self.level()
        if self.rest is None or level < MIN_ACTIVITY_DEG:
            return []
        signal = self.signal.view
        start = self.peaks[-1] if self.peaks else 0
        found = rep_peaks(signal[start:], level, self.fps, self.min_rep_s) + start
        peaks = self.peaks + [int(p) for p in found if p > start or not self.peaks]
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
