"""How well does the image read a squat's depth? (issue 18): the margins of
``scoring/image_depth.py``.

Development data only (:mod:`lab.development_squats`; held-out people, HDM05, are never
read here): CMU subject 14's squats (the agreed **train** split) filmed by the real-motion
evaluation's four cameras with ``mediapipe-real`` noise, and simulated squats
(``--clips``, default the validation squats, and ``--train-clips``, the detector's
training squats) filmed by their own camera, all repaired by the 2D front end. Two
tables:

1. The deepest knee bend of each repetition read off the image
   (:func:`scoring.image_depth.rep_bottoms_seen`) minus the capture's (deg), per source.
   ``IMAGE_KNEE_MARGIN_DEG`` is about the 95th percentile of the over-read with
   ``mediapipe-real``.
2. The own-repetition rule of :func:`scoring.session.judge_depth_seen` at several
   margins: a repetition read under the coach's depth and that far short of the same
   session's deepest other repetition. CMU 14's sessions are the real evaluation's
   draws (every error kind, six seeds), per take (2 squats) and the four joined into
   sessions as HDM05's cuts are (three other repetitions to compare with); recall is
   over the labelled shallow repetitions, false alarms over the sessions without any
   label.
   ``IMAGE_SHALLOW_MARGIN_DEG`` is the least margin no correct session crosses.

    .venv/bin/python scripts/image_knee_reading.py [--clips data/style-validation]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lab.clips import phone_landmarks
from lab.development_squats import (
    TRAIN_CLIPS,
    add_arguments,
    cmu_squats,
    labelled_reps,
    real_draws,
    simulated,
)
from lab.front_end_eval import around_cameras, centred
from lab.real_scoring_eval import PROFILE, VIEWS
from scoring.checks import squat_depth
from scoring.features import compute_features
from scoring.image_depth import own_reaches, rep_bottoms_seen, short_of_own_reach
from synthetic_data.clip import Clip

SEEDS = (0, 5)
MARGINS_DEG = (12.5, 15.0, 17.5, 20.0, 25.0)


@dataclass
class Reading:
    """One session's repetitions: the capture's and the image's bottoms (``(R,)`` deg),
    which are labelled shallow, and whether the session has any label at all."""

    exact: np.ndarray
    seen: np.ndarray
    shallow: np.ndarray
    correct: bool


def read_session(clip: Clip, seed: int, profile: str) -> Reading:
    """``clip`` filmed by its first camera (seeded by ``seed``, detector noise of
    ``profile``) and read."""
    exact = squat_depth(compute_features(clip.h36m17()))
    landmarks, _ = phone_landmarks(clip, seed, profile)
    return Reading(
        np.array([exact[a:b].max() for a, b in clip.reps]),
        rep_bottoms_seen(*landmarks, clip.fps, clip.reps),
        labelled_reps(clip, "shallow_squat"),
        not clip.errors,
    )


def real_correct(root: Path, manifest: Path) -> list[Reading]:
    """CMU 14's correct squats, every camera of :data:`SEEDS`' draws (table 1)."""
    readings = []
    for session in cmu_squats(root, manifest):
        clip = centred(session.clip)
        for seed in SEEDS:
            for camera in around_cameras(clip, VIEWS, seed):
                readings.append(read_session(replace(clip, cameras=[camera]), seed, PROFILE))
    return readings


def read_all(pairs: list[tuple[Clip, int]], profile: str = PROFILE) -> list[Reading]:
    """Each ``(clip, seed)`` of ``pairs`` read with ``profile``'s noise."""
    return [read_session(clip, seed, profile) for clip, seed in pairs]


def fires(reading: Reading, margin: float) -> np.ndarray:
    """``(R,)`` the repetitions the own-reach rule cues at ``margin``."""
    return short_of_own_reach(reading.seen, own_reaches(reading.seen), margin)


def print_reading_errors(sources: dict[str, list[Reading]]) -> None:
    print("| source | repetitions | min | 5% | median | 95% | max |")
    print("|---|---|---|---|---|---|---|")
    for name, readings in sources.items():
        errors = np.concatenate([r.seen - r.exact for r in readings])
        errors = errors[np.isfinite(errors)]
        cells = " | ".join(f"{v:.1f}" for v in np.percentile(errors, [0, 5, 50, 95, 100]))
        print(f"| {name} | {len(errors)} | {cells} |")


def print_margins(sources: dict[str, list[Reading]]) -> None:
    print("| source | margin (deg) | shallow repetitions found | correct sessions cued |")
    print("|---|---|---|---|")
    for name, readings in sources.items():
        labelled = sum(int(r.shallow.sum()) for r in readings)
        correct = [r for r in readings if r.correct]
        for margin in MARGINS_DEG:
            found = sum(int((fires(r, margin) & r.shallow).sum()) for r in readings)
            alarms = sum(bool(fires(r, margin).any()) for r in correct)
            share = f"{found / labelled:.0%} of {labelled}" if labelled else "-"
            print(f"| {name} | {margin} | {share} | {alarms} of {len(correct)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    validation_clips = simulated(args.clips)
    validation = read_all(validation_clips)
    print_reading_errors(
        {
            "CMU 14, mediapipe-real": real_correct(args.root, args.manifest),
            "simulated, mediapipe-real": validation,
            "simulated, phone-v1": read_all(validation_clips, "phone-v1"),
        }
    )
    print()
    real = {name: read_all(pairs) for name, pairs in real_draws(args.root, args.manifest).items()}
    print_margins(
        real
        | {
            "simulated validation, mediapipe-real": validation,
            f"simulated training ({TRAIN_CLIPS}), mediapipe-real": read_all(
                simulated(args.train_clips, TRAIN_CLIPS)
            ),
        }
    )


if __name__ == "__main__":
    main()
