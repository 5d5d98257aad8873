"""The row-wise NaN median gives np.nanmedian's numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pose3d.nan_median import nan_median_rows


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(5, 7), (40, 8), (3, 700), (1, 2), (17,), (4, 3, 9)])
def test_the_same_numbers_as_numpy(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    for trial in range(10):
        values = rng.normal(size=shape).astype(dtype)
        values[rng.random(shape) < trial / 10] = np.nan  # none missing up to most
        values[..., -1] = np.inf if trial == 3 else values[..., -1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's all-NaN rows
            expected = np.nanmedian(values, axis=-1)
        got = nan_median_rows(values)
        assert got.dtype == values.dtype
        np.testing.assert_array_equal(got, expected)


def test_rows_without_a_value_are_nan_and_integers_are_taken():
    values = np.array([[np.nan, np.nan], [1.0, np.nan]])
    np.testing.assert_array_equal(nan_median_rows(values), [np.nan, 1.0])
    np.testing.assert_array_equal(nan_median_rows(np.array([[1, 2, 3, 4]])), [2.5])
    assert nan_median_rows(np.zeros((3, 0))).shape == (3,)
