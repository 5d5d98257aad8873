"""How well does the image read a squat's depth? (issue 18): the margins of
``scoring/image_depth.py``.

For every squat of the development data (CMU subject 14's squats, the agreed **train**
split, filmed by the real-motion evaluation's four cameras with ``mediapipe-real``
noise and two draws; and the simulated validation squats of ``--clips``, filmed by
their own camera with the original ``phone-v1`` noise and with ``mediapipe-real``),
both repaired by the 2D front end: the deepest knee bend of each repetition read off the
image (:func:`scoring.image_depth.knee_flexion_seen`) minus the capture's (deg).
Prints the error's percentiles per source. ``IMAGE_KNEE_MARGIN_DEG`` is the 95th
percentile of the over-read with ``mediapipe-real``; ``IMAGE_SHALLOW_MARGIN_DEG`` lies
past the worst under-read. Held-out people (HDM05) are never read here.

    .venv/bin/python scripts/image_knee_reading.py [--clips data/style-validation]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from lab.clips import phone_landmarks
from lab.front_end_eval import around_cameras, centred
from lab.real_exercise import training_sessions
from lab.real_scoring_eval import PROFILE, VIEWS
from scoring.checks import squat_depth
from scoring.features import compute_features
from scoring.image_depth import knee_flexion_seen, rep_bottoms_seen
from synthetic_data.clip import Clip, read_clip

SEEDS = (0, 5)


def reading_errors(clip: Clip, seed: int, profile: str) -> np.ndarray:
    """``(R,)`` each repetition's image-read bottom minus the capture's (deg; NaN where
    the repetition was not seen well enough) of ``clip`` filmed by its first camera."""
    exact = squat_depth(compute_features(clip.h36m17()))
    landmarks, _ = phone_landmarks(clip, seed, profile)
    seen = rep_bottoms_seen(knee_flexion_seen(*landmarks, clip.fps), clip.reps)
    return seen - np.array([exact[start:end].max() for start, end in clip.reps])


def real_errors(root: Path, manifest: Path) -> np.ndarray:
    """The errors over CMU 14's squats, every camera of :data:`SEEDS`' draws."""
    errors = []
    for session in training_sessions(root, manifest):
        if session.clip.movement != "squat":
            continue
        clip = centred(session.clip)
        for seed in SEEDS:
            for camera in around_cameras(clip, VIEWS, seed):
                errors.append(reading_errors(replace(clip, cameras=[camera]), seed, PROFILE))
    return np.concatenate(errors)


def simulated_errors(folder: Path, profile: str) -> np.ndarray:
    """The errors over the simulated squats in ``folder``."""
    paths = sorted(folder.glob("squat-*.clip.npz"))
    return np.concatenate([reading_errors(read_clip(p), n, profile) for n, p in enumerate(paths)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("data/mocap"))
    parser.add_argument("--manifest", type=Path, default=Path("../shared/mocap/MANIFEST.tsv"))
    parser.add_argument("--clips", type=Path, default=Path("data/style-validation"))
    args = parser.parse_args()
    sources = {
        "CMU 14, mediapipe-real": real_errors(args.root, args.manifest),
        "simulated, mediapipe-real": simulated_errors(args.clips, PROFILE),
        "simulated, phone-v1": simulated_errors(args.clips, "phone-v1"),
    }
    print("| source | repetitions | min | 5% | median | 95% | max |")
    print("|---|---|---|---|---|---|---|")
    for name, errors in sources.items():
        errors = errors[np.isfinite(errors)]
        cells = " | ".join(f"{v:.1f}" for v in np.percentile(errors, [0, 5, 50, 95, 100]))
        print(f"| {name} | {len(errors)} | {cells} |")


if __name__ == "__main__":
    main()
