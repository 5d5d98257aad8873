"""What a caving knee leaves in each knee measure, from each side (issue 18): a diagnostic.

For the real squats of the agreed **train** split (CMU subject 14; HDM05 is evaluation
only and is not read here), the harness's knee-caving error is injected on both knees of
every repetition (:func:`lab.real_scoring_eval.injected_clip`, severities 0.5 and 1) and
the take, as captured and injected, is filmed by the real harness's four phone cameras
(front, the person's left, back, right: :func:`lab.front_end_eval.around_cameras`),
repaired by the 2D front end and lifted by the recordings lifter
(:func:`lab.clips.lift_clip`). At the bottom of each repetition (``depth`` > 0.9), per
knee and measure, pooled over the takes and then take by take, beside each camera's yaw
from the person's facing:

* ``exact 3D``: the capture's knee offset from the hip-ankle line towards the midline,
  per thigh length (:func:`scoring.knee_measures.pose_measures` ``inward``);
* ``lifted 3D``: the same of the lifted poses;
* ``image inward`` / ``image off line``: the 2D measures of
  :func:`scoring.knee_measures.image_measures` (per shank length / per hip-ankle length).

``change``: injected minus captured; ``z``: the change over the repetition-to-repetition
standard deviation of the captured bottoms, how far a caving rep
stands out from the person's own correct ones. Prints a markdown report.

    .venv/bin/python scripts/knee_signal.py --mocap data/mocap > docs/real-motion/knee-signal.md
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from lab.clips import lift_clip
from lab.front_end_eval import around_cameras, centred
from lab.real_exercise import RealSession, training_sessions
from lab.real_scoring_eval import PROFILE, VIEWS, injected_clip
from pose3d.lifter import Lifter
from scoring.knee_measures import image_measures, pose_measures
from synthetic_data.cameras import clip_camera_yaw_deg, mean_deg
from synthetic_data.clip import Clip
from synthetic_data.errors import ErrorPlan

SEVERITIES = (0.5, 1.0)
MEASURES = ("exact 3D", "lifted 3D", "image inward", "image off line")
KNEES = ("left", "right")
VIEW_NAMES = ("front", "their left", "back", "their right")
FILM_SEED = 3  # detector noise of the filming (any: the same for captured and injected)


def bottom_means(values: np.ndarray, session: RealSession) -> np.ndarray:
    """``(R,)`` mean of ``values`` ``(T,)`` over each repetition's frames past 0.9 depth."""
    return np.array(
        [np.nanmean(values[a:b][session.depth[a:b] > 0.9]) for a, b in session.clip.reps]
    )


def measures(clip: Clip, session: RealSession, lifter: Lifter) -> dict[tuple[str, str], np.ndarray]:
    """Each (knee, measure)'s ``(R,)`` bottoms of ``clip`` filmed by its camera."""
    poses, _, landmarks = lift_clip(clip, lifter, FILM_SEED, PROFILE)
    exact = clip.h36m17()
    out = {}
    for side in KNEES:
        image = image_measures(landmarks.keypoints, landmarks.scores, side, clip.fps)
        traces = {
            "exact 3D": pose_measures(exact, side)["inward"],
            "lifted 3D": pose_measures(poses, side)["inward"],
            "image inward": image["inward"],
            "image off line": image["off_line"],
        }
        for name, values in traces.items():
            out[(side, name)] = bottom_means(values, session)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mocap", type=Path, default=Path("data/mocap"))
    parser.add_argument("--manifest", type=Path, default=Path("../shared/mocap/MANIFEST.tsv"))
    args = parser.parse_args()
    lifter = Lifter.for_recordings()
    sessions = [
        s for s in training_sessions(args.mocap, args.manifest) if s.clip.movement == "squat"
    ]
    found: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    yaws: list[str] = []
    for session in sessions:
        session = replace(session, clip=centred(session.clip))
        base = session.clip
        cameras = around_cameras(base, VIEWS, 0)
        for name, camera in zip(VIEW_NAMES, cameras, strict=True):
            yaw = mean_deg(clip_camera_yaw_deg(base, camera))
            yaws.append(f"| {base.clip_id} | {name} | {yaw:+.0f} |")
        captured = [measures(replace(base, cameras=[c]), session, lifter) for c in cameras]
        for severity in SEVERITIES:
            plan = ErrorPlan("knees_caving_in", severity, "both", 0, len(base.reps) - 1)
            injected = injected_clip(session, plan, f"{base.clip_id}-knees")
            for view, camera in enumerate(cameras):
                caving = measures(replace(injected, cameras=[camera]), session, lifter)
                for key in caving:
                    change = float(np.mean(caving[key] - captured[view][key]))
                    variance = float(np.var(captured[view][key]))
                    found[(severity, VIEW_NAMES[view], *key)].append((change, variance))
                    found[(severity, VIEW_NAMES[view], f"{base.clip_id} {key[0]}", key[1])].append(
                        (change, variance)
                    )
    print("# What a caving knee leaves in each knee measure (CMU subject 14's squats)\n")
    print(f"Made by `scripts/knee_signal.py` ({len(sessions)} takes; see its docstring).\n")
    print("The cameras' yaw from the person's facing (circular mean over the take; 0: in front):\n")
    print("| take | view | yaw (deg) |")
    print("|---|---|---|")
    print("\n".join(yaws) + "\n")
    print("Both knees of every take pooled, then each take's knee:\n")
    print("| severity | view | knee | measure | change | z |")
    print("|---|---|---|---|---|---|")
    knees = list(KNEES) + sorted({k[2] for k in found if k[2] not in KNEES})
    for severity in SEVERITIES:
        for view in VIEW_NAMES:
            for knee in knees:
                for name in MEASURES:
                    values = np.array(found[(severity, view, knee, name)])
                    change = values[:, 0].mean()
                    z = change / (np.sqrt(values[:, 1].mean()) + 1e-6)
                    print(f"| {severity} | {view} | {knee} | {name} | {change:+.3f} | {z:+.1f} |")


if __name__ == "__main__":
    main()
