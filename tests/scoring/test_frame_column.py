"""A live stream's per-frame column reads back exactly what was appended, across the
blocks it keeps them in."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.frame_column import BLOCK_FRAMES, FrameColumn


def test_rows_read_back_what_was_appended_across_blocks():
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(n, 17, 3)).astype(np.float32) for n in (5, 250, 1, 300, 7)]
    column = FrameColumn((17, 3))
    for batch in batches:
        column.extend(batch)
    every = np.concatenate(batches)
    assert len(column) == len(every) > 2 * BLOCK_FRAMES
    for start, end in [(0, None), (3, 9), (250, 262), (100, 540), (BLOCK_FRAMES, 2 * BLOCK_FRAMES)]:
        np.testing.assert_array_equal(column.rows(start, end), every[start:end])
    assert column.rows(-4).shape == (4, 17, 3)  # read as a slice reads
    assert column.rows(600, 700).shape == (0, 17, 3)


def test_rows_are_copies_and_values_take_the_columns_type():
    column = FrameColumn.holding(np.arange(12, dtype=np.float64).reshape(4, 3))
    assert column.dtype == np.float32 and column.row_shape == (3,)
    read = column.rows(1, 3)
    read[:] = -1.0  # a copy: what the column holds does not change
    np.testing.assert_array_equal(column.rows(1, 3), [[3, 4, 5], [6, 7, 8]])


def test_rows_of_another_shape_are_refused():
    column = FrameColumn((33, 2))
    with pytest.raises(ValueError, match="rows must be"):
        column.extend(np.zeros((2, 17, 2)))
    assert len(column) == 0
