"""An activity signal that grows frame by frame, smoothed and levelled as a whole
recording's is (:func:`scoring.alignment.activity`, :func:`~scoring.alignment.activity_level`),
at a cost per call that does not grow with the session.

The live repetition tracker keeps one for the lifted poses' distance from their rest pose
(:mod:`scoring.live_reps`) and one for the body's displacement in the phone's image
(:mod:`scoring.image_activity`).
"""

from __future__ import annotations

import bisect

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


class SmoothedActivity:
    """Per-frame distances (``distance``, unsmoothed), their centred moving average over
    SMOOTHING frames with the ends padded by their values (``signal``, as
    :func:`scoring.alignment.moving_average`), and the level of its final values."""

    def __init__(self) -> None:
        self.distance = GrowingArray(())  # (T,) unsmoothed
        self.signal = GrowingArray(())  # (T,) smoothed; its last SMOOTHING // 2 provisional
        self.sorted_signal: list[float] = []  # the final values of signal, sorted

    def extend(self, distances: np.ndarray) -> None:
        """Add the next frames' distances ``(N,)``."""
        if len(distances) == 0:
            return
        self.distance.extend(distances)
        self._smooth()

    def _smooth(self) -> None:
        """Bring ``signal`` up to ``distance``. Its last ``SMOOTHING // 2`` values depend on
        frames still to come: they are recomputed on the next call, and only final values
        join the sorted ones."""
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
        """The LEVEL_PERCENTILE-th percentile of the final values, as ``np.percentile``
        computes it (0 before any)."""
        values = self.sorted_signal
        if not values:
            return 0.0
        position = (len(values) - 1) * LEVEL_PERCENTILE / 100
        low = int(position)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (position - low)
