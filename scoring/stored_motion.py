"""A routine's motion as it is stored: what the API keeps in a blob and an export carries.

The API stores a routine's lifted poses with its music and the repetitions found when it
was stored (:mod:`coach_api.services`); the offline export carries the same with the
routine's movement (:mod:`scoring.exported`). Both make the reference a session is
judged against from it, the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from scoring.reference import Reference


class Music(NamedTuple):
    """A routine's music: its beats on the trainer's recording (s), beats per repetition."""

    beat_times: list[float]
    beats_per_rep: int


class Motion(NamedTuple):
    """A stored motion: poses ``(T, 17, 3)`` metres at ``fps``; for a routine, its music
    and its repetitions ``[start, end)`` (frames) when they were found as it was stored
    (routines stored before that, and routines to music, have ``None``)."""

    poses: np.ndarray
    fps: float
    music: Music | None = None
    reps: list[tuple[int, int]] | None = None

    def reference(self, movement: str) -> Reference:
        """The routine's prepared reference for ``movement`` (ValueError when it makes
        none)."""
        return Reference.for_routine(
            self.poses, self.fps, movement, *(self.music or ()), reps=self.reps
        )
