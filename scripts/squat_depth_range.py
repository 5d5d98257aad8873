"""How deep do correct squatters go against their trainer, and how bent is their back at
the bottom? (issue 18): a diagnostic.

The detector's shallow-squat check compares a user's depth with the trainer's, and its
correct users come from the simulator (``coach synth --style-variation 1``) and from the
one real squatter of the agreed **train** split (CMU subject 14). This prints the bottom
knee flexion (deg, mean of both knees, at each repetition's deepest) of the simulator's
squat trainer, the spread of the correct simulated users' median bottom against it, and
the real training squatter's bottoms; and the back's bend at the bottoms (spine flexion,
deg, :func:`pose3d.angles.spine_flexion`) of the simulated squatters as deep as the real
one and of the others, against the real squatter's. Held-out people (HDM05) are not read.

    .venv/bin/python scripts/squat_depth_range.py --clips data/style-train
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from lab.real_exercise import training_sessions
from pose3d.angles import knee_flexion, spine_flexion
from synthetic_data.clip import read_clip
from synthetic_data.generator import trainer_clip

MIN_BEND_DEG = 30.0  # a repetition's bottom stands at least this far out of its standing
DEEP_DEG = 130.0  # a squat bottoming past this knee flexion is as deep as real squatters'


def bottoms_deg(poses: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """At each squat bottom of ``poses`` ``(T, 17, 3)``: the knee flexion (deg, both
    knees' mean) and the spine flexion (deg), each ``(B,)``."""
    flexion = (knee_flexion(poses, "left") + knee_flexion(poses, "right")) / 2
    peaks, _ = find_peaks(flexion, prominence=MIN_BEND_DEG, distance=max(1, int(0.8 * fps)))
    return flexion[peaks], spine_flexion(poses)[peaks]


def _spread(values: list[float]) -> str:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return f"p5 {p5:.1f}, median {p50:.1f}, p95 {p95:.1f} ({len(values)} clips)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=Path, required=True, help="simulated clips (coach synth)")
    parser.add_argument("--mocap", type=Path, default=Path("data/mocap"), help="unpacked mocap")
    args = parser.parse_args()
    trainer = trainer_clip("squat")
    knees, back = bottoms_deg(trainer.h36m17(), trainer.fps)
    trainer_bottom = float(np.median(knees))
    print(f"simulator's squat trainer: bottom {trainer_bottom:.1f} deg")
    print(f"simulator's squat trainer: back at the bottom {float(np.median(back)):.1f} deg")
    offsets, backs = [], {"deep": [], "other": []}
    for path in sorted(args.clips.glob("squat-*.clip.npz")):
        clip = read_clip(path)
        if clip.errors:
            continue
        knees, back = bottoms_deg(clip.h36m17(), clip.fps)
        if len(knees):
            offsets.append(float(np.median(knees)) - trainer_bottom)
            depth = "deep" if np.median(knees) >= DEEP_DEG else "other"
            backs[depth].append(float(np.median(back)))
    if offsets:
        p5, p25, p50, p75, p95 = np.percentile(offsets, [5, 25, 50, 75, 95])
        print(
            f"correct simulated squatters ({len(offsets)}), median bottom - trainer's (deg): "
            f"p5 {p5:.1f}, p25 {p25:.1f}, median {p50:.1f}, p75 {p75:.1f}, p95 {p95:.1f}"
        )
    for depth, values in backs.items():
        if values:
            label = f"bottom >= {DEEP_DEG:.0f} deg" if depth == "deep" else "shallower"
            print(f"correct simulated squatters, {label}: back at the bottom {_spread(values)}")
    for session in training_sessions(args.mocap, args.mocap / "MANIFEST.tsv"):
        if session.clip.movement == "squat":
            knees, back = bottoms_deg(session.clip.h36m17(), session.clip.fps)
            print(
                f"real training squatter {session.clip.clip_id}: bottoms {np.round(knees, 1)} deg, "
                f"{float(np.median(knees)) - trainer_bottom:+.1f} against the trainer; back at "
                f"the bottoms {np.round(back, 1)} deg"
            )


if __name__ == "__main__":
    main()
