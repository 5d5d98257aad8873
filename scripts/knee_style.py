"""Where a squatter's knees are at the bottom, real against simulated (issue 18): a diagnostic.

For the real squats of the agreed **train** split (CMU subject 14; HDM05 is evaluation
only and is not read here) and a few simulated users, at the bottom of the repetitions
(``depth`` > 0.9), from the body-28 joints of the capture or the generator:

* ``toes out``: the foot's (heel to toe) angle outward from the direction the hips face;
* ``off line``: the knee's offset from the hip-ankle line towards the midline, per thigh
  length (:func:`scoring.knee_measures.pose_measures`' ``inward``; negative: outward);
* ``over toes``: the knee's sideways distance inside (+) or outside (-) the toe, per
  shank length, what "knees track over the toes" wants at about zero or below;

for the take as captured and with the harness's knee-caving error injected on both knees
of every repetition at severities 0.2, 0.5 and 1
(:func:`lab.real_scoring_eval.injected_clip`). Prints a markdown report.

    .venv/bin/python scripts/knee_style.py --mocap data/mocap > docs/real-motion/knee-style.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lab.real_exercise import squat_depth_share, training_sessions
from lab.real_scoring_eval import ErrorPlan, injected_clip
from scoring.knee_measures import pose_measures
from synthetic_data.clip import Clip
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.style import stance_measures

SEVERITIES = (0.2, 0.5, 1.0)
# (seed, posture variation, deep style, stance variation) of the simulated users shown
SIM_USERS = (
    (1, 0.0, 0.0, 0.0),
    (2, 0.0, 0.0, 0.0),
    (3, 1.0, 0.0, 0.0),
    (4, 1.0, 0.0, 0.0),
    (5, 0.0, 1.0, 0.0),
    (1, 0.0, 0.0, 1.0),
    (2, 0.0, 0.0, 1.0),
    (3, 1.0, 0.0, 1.0),
)
BOTTOM = 0.9  # depth share from which a frame counts as the bottom of its repetition


def knee_positions(clip: Clip, depth: np.ndarray) -> tuple[float, float, float]:
    """``clip``'s mean toes-out angle (deg), knee offset from the hip-ankle line (per
    thigh) and knee position over the toes (per shank) at the bottom of its repetitions,
    over both legs; ``depth`` ``(T,)`` 0..1 into each repetition."""
    bottom = np.zeros(clip.num_frames, bool)
    for start, end in clip.reps:
        bottom[start:end] = depth[start:end] > BOTTOM
    poses = clip.h36m17()
    off_line = np.mean([pose_measures(poses, side)["inward"] for side in ("left", "right")], 0)
    toes_out, over_toes = stance_measures(clip.joints)
    return tuple(float(values[bottom].mean()) for values in (toes_out, off_line, over_toes))


def _row(name: str, clip: Clip, depth: np.ndarray) -> str:
    toes, line, over = knee_positions(clip, depth)
    return f"| {name} | {toes:.0f} | {line:+.2f} | {over:+.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mocap", type=Path, default=Path("data/mocap"))
    args = parser.parse_args()
    print("# Knees at the bottom of a squat: real (train split) against simulated\n")
    print("Made by `scripts/knee_style.py`; means over both legs and every repetition.\n")
    columns = ("squats", "toes out (deg)", "off line (per thigh, + inward)")
    columns += ("over toes (per shank, + inside)",)
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|")
    sessions = training_sessions(args.mocap, args.mocap / "MANIFEST.tsv")
    for session in (s for s in sessions if s.clip.movement == "squat"):
        print(_row(f"{session.clip.clip_id}, as captured", session.clip, session.depth))
        for severity in SEVERITIES:
            plan = ErrorPlan("knees_caving_in", severity, "both", 0, len(session.clip.reps) - 1)
            injected = injected_clip(session, plan, f"{session.clip.clip_id}-knees")
            print(_row(f"... knees caving in, severity {severity}", injected, session.depth))
    for seed, style, deep, stance in SIM_USERS:
        request = ClipRequest(
            seed=seed,
            movement="squat",
            duration_s=8.0,
            style_variation=style,
            deep_squat=deep,
            stance_variation=stance,
        )
        clip = generate_clip(request)
        depth = squat_depth_share(clip.joints, clip.reps)
        name = f"simulated user {seed}: posture {style:g}, deep style {deep:g}, stance {stance:g}"
        print(_row(name, clip, depth))


if __name__ == "__main__":
    main()
