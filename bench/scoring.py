"""Scoring speed: a 60-s session (1800 frames, 30 fps) against a 60-s reference.

Lifting excluded. Measures ``score_session`` end to end (features, repetitions,
anchored DTW, checks, ghost): with the rules alone on exact 3D, and as the API scores a
phone session (lifted poses with 2D scores and MediaPipe keypoints) with the bundled
population model's learned detector; and, in the same run, the DTW step alone with
dtaidistance's C implementation against a pure-numpy DTW (anti-diagonal vectorised,
same features, same window) as the baseline. Target: scoring <= 100 ms.

Run: ``python -m bench.scoring``. Writes ``bench/results/scoring.json`` and ``.md``.
"""

from __future__ import annotations

import numpy as np

from bench.common import report, time_calls
from pose3d.camera import world_to_camera
from scoring import Landmarks, ObservedSession, PopulationModel, Reference, score_session
from scoring.alignment import FEATURE_SCALE_DEG, align
from scoring.features import compute_features
from synthetic_data.detector import film
from synthetic_data.errors import ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip

COLUMNS = ["step", "implementation", "frames", "p50_ms", "p90_ms", "vs_baseline"]


def numpy_dtw(a: np.ndarray, b: np.ndarray, window: int) -> float:
    """DTW distance with a Sakoe-Chiba window, one anti-diagonal at a time (numpy only)."""
    n, m = len(a), len(b)
    cost = np.full((n + 1, m + 1), np.inf)
    cost[0, 0] = 0.0
    for d in range(2, n + m + 1):  # cells with i + j == d (1-based)
        i = np.arange(max(1, d - m), min(n, d - 1) + 1)
        j = d - i
        keep = np.abs(i - j) <= window
        i, j = i[keep], j[keep]
        if not len(i):
            continue
        local = ((a[i - 1] - b[j - 1]) ** 2).sum(axis=1)
        best = np.minimum(np.minimum(cost[i - 1, j], cost[i, j - 1]), cost[i - 1, j - 1])
        cost[i, j] = local + best
    return float(np.sqrt(cost[n, m]))


def main(argv: list[str] | None = None) -> None:
    trainer = generate_clip(ClipRequest(seed=0, movement="squat", role="trainer", duration_s=60.0))
    user = generate_clip(
        ClipRequest(
            seed=5,
            movement="squat",
            duration_s=60.0,
            tempo=1.1,
            errors=[ErrorPlan("rounded_back", 0.8, "both", 3, 5)],
        )
    )
    reference = Reference.from_poses(trainer.h36m17(), trainer.fps, "squat")
    poses = user.h36m17()
    features = compute_features(poses)
    ref_features = compute_features(trainer.h36m17())[: len(features)]
    window = int(0.1 * len(ref_features))
    rows = []
    full = time_calls(lambda: score_session(ObservedSession(poses, user.fps), reference), 10)
    population = PopulationModel.load()
    seen = film(user, user.cameras[0], np.random.default_rng(0), layout="mediapipe33")
    camera = user.cameras[0]
    in_camera = world_to_camera(poses, camera.rotation, camera.position)  # as lifted
    scores = np.full(poses.shape[:2], 0.9)
    observed = ObservedSession(
        in_camera, user.fps, scores=scores, landmarks=Landmarks(seen.keypoints, seen.scores)
    )
    phone = time_calls(
        lambda: score_session(observed, reference, population=population),
        10,
    )
    dtw_c = time_calls(
        lambda: align(features, user.fps, ref_features, trainer.fps, window=window), 10
    )
    scaled_u, scaled_r = features / FEATURE_SCALE_DEG, ref_features / FEATURE_SCALE_DEG
    dtw_np = time_calls(lambda: numpy_dtw(scaled_u, scaled_r, window), 3)
    base = float(np.median(dtw_np))
    for step, implementation, times in (
        ("score_session, exact 3D (rules)", "dtaidistance C", full),
        ("score_session, phone session (learned detector)", "dtaidistance C", phone),
        ("DTW alignment", "dtaidistance C", dtw_c),
        ("DTW alignment", "pure numpy (baseline)", dtw_np),
    ):
        rows.append(
            {
                "step": step,
                "implementation": implementation,
                "frames": len(features),
                "p50_ms": round(1000 * float(np.median(times)), 1),
                "p90_ms": round(1000 * float(np.percentile(times, 90)), 1),
                "vs_baseline": f"{base / float(np.median(times)):.1f}x faster"
                if "C" in implementation
                else "1.0x",
            }
        )
    report(
        "scoring",
        "Scoring a 60-s session against a 60-s reference (lifting excluded)",
        rows,
        COLUMNS,
    )


if __name__ == "__main__":
    main()
