"""Why does the lifter read a real deep squat as a shallow one? (issue 18): a diagnostic.

The real training squatter (CMU subject 14, the agreed **train** split; held-out people
are not read) is filmed by four phone cameras around them (the real-motion evaluation's
cameras and ``mediapipe-real`` noise, repaired by the 2D front end) and lifted by the
bundled recordings lifter. Per view it prints, at each squat's bottom (means over the
squats): the knee flexion (deg) of the capture and of the lift; the lifted thigh's length
against its median over the take, and the thigh's image length against its 95th
percentile (how far the thigh points out of the picture); and what a depth re-solved
from that foreshortening gives (:func:`foreshortened_depth`): each leg bone keeps the
lift's median length and sign of depth, and takes its in-picture direction and its
out-of-picture angle from the image wherever the image shortens it by more than 5%.
The last column is the error of the legs (hips, knees, ankles; mm, pelvis-centred in
the camera's axes) of both poses. ``--checkpoint`` lifts with a candidate instead;
``--held-out`` reads the held-out people's squats (HDM05) instead, to measure a
candidate once it is chosen, never to choose it.

    .venv/bin/python scripts/lifted_squat_depth.py [--checkpoint runs/RUN/best.pt] [--held-out]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from lab.clips import lift_landmarks, phone_landmarks
from lab.front_end_eval import around_cameras, centred
from lab.real_exercise import hdm05_squat_sessions, training_sessions
from lab.real_scoring_eval import PROFILE, VIEWS
from pose3d.angles import knee_flexion
from pose3d.camera import world_to_camera
from pose3d.lifter import Lifter
from pose3d.skeleton import convert_layout
from synthetic_data.mocap import load_manifest

# Each leg's bones from the hip down: (H36M-17 parent, child, COCO-17 parent, child).
LEG_BONES = (((1, 2, 12, 14), (2, 3, 14, 16)), ((4, 5, 11, 13), (5, 6, 13, 15)))
LEG_JOINTS = [0, 1, 2, 3, 4, 5, 6]  # pelvis, hips, knees, ankles (H36M-17)
FULL_SHARE = 0.95  # an image length past this share of the bone's longest is in the picture
BLEND_SHARE = 0.80  # ... below this the image's foreshortening decides the depth alone


def foreshortened_depth(lifted: np.ndarray, coco: np.ndarray) -> np.ndarray:
    """``lifted`` ``(T, 17, 3)`` (metres, camera axes) with each leg bone turned to the
    direction its image ``coco`` ``(T, 17, 2)`` (pixels) shows: in-picture direction from
    the image, out-of-picture angle ``arccos(image length / longest image length)``,
    the lift's sign of depth and its median length, blended into the lift's own
    direction where the bone is almost in the picture."""
    out = lifted.copy()
    for chain in LEG_BONES:
        for parent, child, image_parent, image_child in chain:
            seen = coco[:, image_child] - coco[:, image_parent]
            bone = lifted[:, child] - lifted[:, parent]
            axes = np.sign(np.nansum(seen * bone[:, :2], axis=0))  # image y down, or up
            seen = seen * axes
            longest = np.nanpercentile(np.linalg.norm(seen, axis=1), 95)
            length = np.median(np.linalg.norm(bone, axis=1))
            share = np.linalg.norm(seen, axis=1) / longest
            depth = np.sign(bone[:, 2]) * np.sqrt(1 - np.clip(share, 0, 1) ** 2)
            image_direction = np.concatenate([seen / longest, depth[:, None]], axis=1)
            lifted_direction = bone / np.linalg.norm(bone, axis=1, keepdims=True)
            usable = np.isfinite(image_direction).all(axis=1)
            image_direction[~usable] = lifted_direction[~usable]
            image_direction /= np.linalg.norm(image_direction, axis=1, keepdims=True)
            weight = np.clip((FULL_SHARE - share) / (FULL_SHARE - BLEND_SHARE), 0, 1)
            weight = np.where(usable, weight, 0.0)[:, None]
            direction = weight * image_direction + (1 - weight) * lifted_direction
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            out[:, child] = out[:, parent] + direction * length
    return out


def _knees(poses: np.ndarray) -> np.ndarray:
    return (knee_flexion(poses, "left") + knee_flexion(poses, "right")) / 2


def _legs_error_mm(poses: np.ndarray, truth: np.ndarray) -> float:
    poses = poses[:, LEG_JOINTS] - poses[:, :1]
    truth = truth[:, LEG_JOINTS] - truth[:, :1]
    return float(np.linalg.norm(poses - truth, axis=2).mean() * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap", type=Path, default=Path("data/mocap"), help="unpacked mocap")
    parser.add_argument("--seed", type=int, default=0, help="cameras and detector noise")
    parser.add_argument("--checkpoint", type=Path, help="a candidate lifter (default: bundled)")
    parser.add_argument("--held-out", action="store_true", help="HDM05's squats instead")
    args = parser.parse_args()
    lifter = Lifter.from_checkpoint(args.checkpoint) if args.checkpoint else Lifter.for_recordings()
    manifest = args.mocap / "MANIFEST.tsv"
    if args.held_out:
        sessions = hdm05_squat_sessions(args.mocap, load_manifest(manifest))
    else:
        sessions = training_sessions(args.mocap, manifest)
    print(
        "take | view | bottom: capture, lifted, re-solved (deg) | lifted thigh length, "
        "thigh image length (share) | legs error: lifted, re-solved (mm)"
    )
    rows = []
    for session in sessions:
        if session.clip.movement != "squat":
            continue
        clip = centred(session.clip)
        exact = clip.h36m17()
        bottoms = [a + int(np.argmax(_knees(exact)[a:b])) for a, b in clip.reps]
        for view, camera in enumerate(around_cameras(clip, VIEWS, args.seed)):
            landmarks, image_size = phone_landmarks(
                replace(clip, cameras=[camera]), args.seed, PROFILE
            )
            lifted, _ = lift_landmarks(landmarks, image_size, clip.fps, lifter)
            coco = convert_layout(landmarks.keypoints, "mediapipe33", "coco17")
            resolved = foreshortened_depth(lifted, coco)
            truth = world_to_camera(exact, camera.rotation, camera.position)
            thigh = np.linalg.norm(lifted[:, 2] - lifted[:, 1], axis=1)
            image_thigh = np.linalg.norm(coco[:, 14] - coco[:, 12], axis=1)
            row = [_knees(p)[bottoms].mean() for p in (exact, lifted, resolved)]
            row += [
                (thigh[bottoms] / np.median(thigh)).mean(),
                np.nanmean(image_thigh[bottoms] / np.nanpercentile(image_thigh, 95)),
                _legs_error_mm(lifted, truth),
                _legs_error_mm(resolved, truth),
            ]
            rows.append(row)
            print(f"{clip.clip_id} | cam{view} | {_cells(row)}")
    print(f"mean of {len(rows)} views | | {_cells(np.mean(rows, axis=0))}")


def _cells(row) -> str:
    """A row's bottoms (deg), length shares and errors (mm), as the header names them."""
    return (
        ", ".join(f"{value:.0f}" for value in row[:3])
        + f" | {row[3]:.2f}, {row[4]:.2f} | {row[5]:.0f}, {row[6]:.0f}"
    )


if __name__ == "__main__":
    main()
