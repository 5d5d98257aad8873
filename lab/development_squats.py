"""The development squats that the image's own-repetition rules are set on (issue 18).

CMU subject 14's squats (the agreed **train** split) as the real-motion evaluation draws
them (every error kind, :data:`DRAW_SEEDS`), per take (2 squats) and joined into 4-squat
sessions as HDM05's cuts are (:func:`lab.real_exercise.joined_squat_sessions`), and the
simulated squats of a folder. Held-out people (HDM05) are never read here. Used by
``scripts/image_knee_reading.py``, ``scripts/image_lean_reading.py`` and
``scripts/development_false_cues.py``; each session comes with the seed that films it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lab.real_exercise import RealSession, joined_squat_sessions, training_sessions
from lab.real_scoring_eval import labelled_clips
from synthetic_data.clip import Clip, read_clip

DRAW_SEEDS = (0, 1, 2, 3, 5, 11)  # the real evaluation's draws on CMU 14
TRAIN_CLIPS = 400  # simulated training squats read (~1-2 min a script)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options every development script takes: ``--root``, ``--manifest``
    (the real motion), ``--clips`` (simulated validation) and ``--train-clips``."""
    parser.add_argument("--root", type=Path, default=Path("data/mocap"))
    parser.add_argument("--manifest", type=Path, default=Path("../shared/mocap/MANIFEST.tsv"))
    parser.add_argument("--clips", type=Path, default=Path("data/style-validation"))
    parser.add_argument("--train-clips", type=Path, default=Path("data/style-train"))


def cmu_squats(root: Path, manifest: Path) -> list[RealSession]:
    """CMU 14's squat sessions, one a take (train split)."""
    return [s for s in training_sessions(root, manifest) if s.clip.movement == "squat"]


def drawn(sessions: list[RealSession]) -> list[tuple[Clip, int]]:
    """The real evaluation's clips of ``sessions`` for each of :data:`DRAW_SEEDS` (every
    error kind, each filmed by one of the harness's cameras), with their seed."""
    return [
        (clip, seed)
        for session in sessions
        for seed in DRAW_SEEDS
        for clip in labelled_clips(session, seed)
    ]


def real_draws(root: Path, manifest: Path) -> dict[str, list[tuple[Clip, int]]]:
    """CMU 14's drawn clips, per take and with the four squats joined, by source name."""
    squats = cmu_squats(root, manifest)
    return {
        "CMU 14 draws, 2-squat takes": drawn(squats),
        "CMU 14 draws, the 4 squats joined": drawn(joined_squat_sessions(squats)),
    }


def simulated(folder: Path, limit: int | None = None) -> list[tuple[Clip, int]]:
    """The simulated squats in ``folder`` (the first ``limit``, those with repetitions),
    each with its number as the seed."""
    clips = (read_clip(p) for p in sorted(folder.glob("squat-*.clip.npz"))[:limit])
    return [(clip, number) for number, clip in enumerate(clips) if clip.reps]


def labelled_reps(clip: Clip, kind: str) -> np.ndarray:
    """``(R,)`` bool: the repetitions of ``clip`` that a ``kind`` label overlaps."""
    labels = [(e.start_frame, e.end_frame) for e in clip.errors if e.kind == kind]
    return reps_overlapping(clip, labels)


def reps_overlapping(clip: Clip, spans: list[tuple[float, float]]) -> np.ndarray:
    """``(R,)`` bool: the repetitions of ``clip`` that any ``[first, last)`` of ``spans``
    (frames) overlaps."""
    return np.array(
        [any(first < end and last > start for first, last in spans) for start, end in clip.reps],
        dtype=bool,
    )
