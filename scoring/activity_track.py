"""An activity signal that grows frame by frame, smoothed and levelled as a whole
recording's is (:func:`scoring.alignment.activity`, :func:`~scoring.alignment.activity_level`),
at a cost per call that does not grow with the session.

The live repetition tracker keeps one for the lifted poses' distance from their rest pose
(:mod:`scoring.live_reps`) and one for the body's displacement in the phone's image
(:mod:`scoring.image_activity`).
"""

from __future__ import annotations

import heapq

import numpy as np

SMOOTHING = 5  # frames: the activity's centred moving average (scoring.alignment.activity)
LEVEL_PERCENTILE = 98  # the session's peak activity (a stray frame does not set it)


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


class RunningPercentile:
    """The ``percentile``-th percentile of a growing set of values, as ``np.percentile``
    computes it (linear between the two order statistics around ``(n - 1) * q``), at
    O(log n) an added value: the smallest ``floor((n - 1) * q) + 1`` values in a max-heap,
    the others in a min-heap, so the two order statistics are the heaps' tops. (A sorted
    list's insertion moves O(n) items: ~1% of a lone stream's CPU at 10 minutes of
    session, growing with its length.)"""

    def __init__(self, percentile: float) -> None:
        self.percentile = percentile
        self._lower: list[float] = []  # negated: a max-heap of the smallest values
        self._upper: list[float] = []  # a min-heap of the others

    def __len__(self) -> int:
        return len(self._lower) + len(self._upper)

    def _wanted_lower(self, count: int) -> int:
        return int((count - 1) * self.percentile / 100) + 1

    def add(self, values: list[float]) -> None:
        """Take in ``values``; many at once (a resumed stream's) are merged in one sort."""
        if len(values) > 64:
            merged = sorted([-v for v in self._lower] + self._upper + values)
            split = self._wanted_lower(len(merged))
            self._lower = [-v for v in reversed(merged[:split])]  # descending: a heap
            self._upper = merged[split:]  # ascending: a heap
            return
        for value in values:
            if self._lower and value <= -self._lower[0]:
                heapq.heappush(self._lower, -value)
            else:
                heapq.heappush(self._upper, value)
            wanted = self._wanted_lower(len(self))
            while len(self._lower) > wanted:
                heapq.heappush(self._upper, -heapq.heappop(self._lower))
            while len(self._lower) < wanted:
                heapq.heappush(self._lower, -heapq.heappop(self._upper))

    def value(self) -> float:
        """The percentile (0 before any value)."""
        if not self._lower:
            return 0.0
        position = (len(self) - 1) * self.percentile / 100
        low = -self._lower[0]
        high = self._upper[0] if self._upper else low
        return low + (high - low) * (position - int(position))


class SmoothedActivity:
    """Per-frame distances (``distance``, unsmoothed), their centred moving average over
    SMOOTHING frames with the ends padded by their values (``signal``, as
    :func:`scoring.alignment.moving_average`), and the level of its final values."""

    def __init__(self) -> None:
        self.distance = GrowingArray(())  # (T,) unsmoothed
        self.signal = GrowingArray(())  # (T,) smoothed; its last SMOOTHING // 2 provisional
        self.final_level = RunningPercentile(LEVEL_PERCENTILE)  # over signal's final values

    def extend(self, distances: np.ndarray) -> None:
        """Add the next frames' distances ``(N,)``."""
        if len(distances) == 0:
            return
        self.distance.extend(distances)
        self._smooth()

    def _smooth(self) -> None:
        """Bring ``signal`` up to ``distance``. Its last ``SMOOTHING // 2`` values depend on
        frames still to come: they are recomputed on the next call, and only final values
        join the level's."""
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
        self.final_level.add(smoothed[: max(0, total - half - first)].tolist())

    def level(self) -> float:
        """The LEVEL_PERCENTILE-th percentile of the final values, as ``np.percentile``
        computes it (0 before any)."""
        return self.final_level.value()
