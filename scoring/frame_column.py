"""A live stream's per-frame values, kept in fixed blocks as the stream grows.

A live session keeps every frame's phone keypoints and lifted pose until its summary.
Kept as a Python list of per-frame arrays (views into each lifted batch), a frame cost
~1.6 KB where its numbers are ~0.7 KB: each view, and the tuple pairing a frame's
keypoints with their scores, is a Python object of ~60-110 bytes. A growing array that
doubles would copy what it holds at each growth and hold up to twice the frames. Fixed
blocks do neither: a frame costs its bytes, and a block is never copied or moved.
"""

from __future__ import annotations

import numpy as np

BLOCK_FRAMES = 256  # rows per block: ~8.5 s at 30 fps


class FrameColumn:
    """Rows of shape ``row_shape`` and type ``dtype``, one per frame, appended in order.

    ``len()`` is the number of rows; :meth:`rows` copies a range of them out. Appending
    and reading from two threads needs the caller's lock (a live session holds one).
    """

    def __init__(self, row_shape: tuple[int, ...], dtype: type = np.float32) -> None:
        self.row_shape, self.dtype = tuple(row_shape), np.dtype(dtype)
        self._blocks: list[np.ndarray] = []
        self._size = 0

    @classmethod
    def holding(cls, values: np.ndarray, dtype: type = np.float32) -> FrameColumn:
        """A column holding ``values`` ``(N, ...)``, one row per frame."""
        column = cls(values.shape[1:], dtype)
        column.extend(values)
        return column

    def __len__(self) -> int:
        return self._size

    def extend(self, rows: np.ndarray) -> None:
        """Append ``rows`` ``(N, *row_shape)`` (cast to the column's type)."""
        rows = np.asarray(rows)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"rows must be (N, {self.row_shape}), got {rows.shape}")
        done = 0
        while done < len(rows):
            used = self._size % BLOCK_FRAMES
            if used == 0:
                self._blocks.append(np.empty((BLOCK_FRAMES, *self.row_shape), self.dtype))
            taken = min(BLOCK_FRAMES - used, len(rows) - done)
            self._blocks[-1][used : used + taken] = rows[done : done + taken]
            done += taken
            self._size += taken

    def rows(self, start: int | None = None, end: int | None = None) -> np.ndarray:
        """A copy of rows ``[start, end)``: ``(N, *row_shape)``, read as a slice reads
        (negative or out-of-range bounds clipped)."""
        start, end, _ = slice(start, end).indices(self._size)
        if end <= start:
            return np.empty((0, *self.row_shape), self.dtype)
        first, last = start // BLOCK_FRAMES, (end - 1) // BLOCK_FRAMES
        offset = first * BLOCK_FRAMES
        if first == last:
            return self._blocks[first][start - offset : end - offset].copy()
        joined = np.concatenate(self._blocks[first : last + 1])  # a copy already
        return joined[start - offset : end - offset]
