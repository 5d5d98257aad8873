"""Helpers: generate a clip with and without one planned error from the same seed."""

from __future__ import annotations

import numpy as np

from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip


def clean_and_faulty(movement: str, plan: ErrorPlan, *, seed: int = 11, reps: int = 4, **kwargs):
    """Two clips identical but for ``plan`` (same body, timeline and cameras)."""
    base = {"seed": seed, "movement": movement, "num_reps": reps, "facing_deg": 0.0, **kwargs}
    clean = generate_clip(ClipRequest(errors=[], **base))
    faulty = generate_clip(ClipRequest(errors=[plan], **base))
    assert np.array_equal(clean.cameras[0].rotation, faulty.cameras[0].rotation)
    return clean, faulty


def peak_frame(clip, window) -> int:
    """The middle frame of repetition ``window``."""
    start, end = clip.reps[window]
    return (start + end) // 2
