"""What the knee network reads of a real caving knee, view by view (issue 18): a diagnostic.

For the real squats of the scoring harness (:func:`lab.knee_net_real.harness_caving_clips`:
CMU subject 14, the detector's training person and never the network's, and HDM05, the
test people, evaluation only), each network given on the command line is measured two
ways, by the camera's view of the person (front: within 30 deg of their facing, back:
within 30 deg of their back, side: between):

* ``AUC``: the caving outputs' per-frame ROC AUC over the frames past half the squat's
  depth, both knees and every clip pooled (:func:`lab.knee_net_real.caving_auc_by_view`):
  can one threshold tell caving frames from the others across people and cameras;
* ``rise``: per injected knee, its mean probability over the labelled frames past half
  depth minus the same knee's on the same frames of the correct take filmed by the same
  camera with the same detector noise; the mean, and the share of knee-views where it
  rose. The detector compares a user's repetitions with each other, so a rise that is
  small but the right way is what it can use.

Prints a markdown report.

    .venv/bin/python scripts/knee_net_signal.py runs/knee26/before.pt scoring/models/knee_net.pt \\
        > docs/real-motion/knee-net-signal.md
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from lab.clips import phone_landmarks
from lab.knee_net_real import VIEW_BANDS, caving_auc_by_view, harness_caving_clips, view_band
from lab.knee_net_training import frame_targets
from lab.real_exercise import RealSession, real_exercise_sessions, training_sessions
from lab.real_scoring_eval import PROFILE
from scoring.knee_net import OUTPUTS, KneeNet
from synthetic_data.cameras import clip_camera_yaw_deg, mean_deg

NOISE_SEED = 7  # the same detector noise for a correct take and its injected version
BANDS = ("all", *(name for _, _, name in VIEW_BANDS))


def rises(networks: dict[str, KneeNet], sessions: list[RealSession]) -> dict[tuple, list]:
    """Per (network, band), each injected knee-view's rise over the correct take."""
    found: dict[tuple, list] = defaultdict(list)
    for session in sessions:
        bottom = session.depth > 0.5
        clips = harness_caving_clips(session)
        correct = {clip.cameras[0].name: clip for clip in clips if not clip.errors}
        for clip in clips:
            if not clip.errors:
                continue
            band = view_band(mean_deg(clip_camera_yaw_deg(clip, clip.cameras[0])))
            injected, _ = phone_landmarks(clip, NOISE_SEED, PROFILE)
            captured, _ = phone_landmarks(correct[clip.cameras[0].name], NOISE_SEED, PROFILE)
            targets = frame_targets(clip, clip.num_frames)
            for name, network in networks.items():
                after = network.probabilities(injected.keypoints, injected.scores, clip.fps)
                before = network.probabilities(captured.keypoints, captured.scores, clip.fps)
                for side in ("left", "right"):
                    frames = (targets[:, OUTPUTS.index(f"{side}_caving")] > 0) & bottom
                    if frames.sum() < 3:
                        continue
                    output = f"{side}_caving"
                    rise = float(after[output][frames].mean() - before[output][frames].mean())
                    found[(name, band)].append(rise)
                    found[(name, "all")].append(rise)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("networks", nargs="+", type=Path, help="knee_net.pt files")
    parser.add_argument("--mocap", type=Path, default=Path("data/mocap"))
    args = parser.parse_args()
    networks = {str(path): KneeNet.load(path) for path in args.networks}
    manifest = args.mocap / "MANIFEST.tsv"
    groups = {
        "CMU 14 (the detector's training person)": training_sessions(args.mocap, manifest),
        "HDM05 (test people)": real_exercise_sessions(args.mocap, manifest),
    }
    print("# What the knee network reads of a real caving knee, view by view\n")
    print("Made by `scripts/knee_net_signal.py` (see its docstring).\n")
    print("| people | network | measure | " + " | ".join(BANDS) + " |")
    print("|---|---|---|" + "---|" * len(BANDS))
    for group, sessions in groups.items():
        squats = [session for session in sessions if session.clip.movement == "squat"]
        found = rises(networks, squats)
        for name, network in networks.items():
            auc = caving_auc_by_view(network, squats)
            print(f"| {group} | `{name}` | AUC | " + " | ".join(f"{auc[b]}" for b in BANDS) + " |")
            cells = []
            for band in BANDS:
                values = np.array(found[(name, band)])
                cells.append(
                    f"{values.mean():+.3f} ({np.mean(values > 0):.0%} of {len(values)})"
                    if len(values)
                    else "-"
                )
            print(f"| {group} | `{name}` | rise | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
