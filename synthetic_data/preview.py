"""Contact-sheet previews of clips: what the phone sees beside the 3D skeleton.

Each column is one frame: on top the camera's 2D view (projected joints, image frame
drawn), below the 3D skeleton seen from 45 degrees to the person's front. Bones of a
body segment with a labelled error on that frame are drawn red and the error is named
under the frame.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pose3d.camera import project, world_to_camera
from synthetic_data.body import BODY28, J
from synthetic_data.clip import Clip

# Labelled segment -> body-28 joints whose bones light up.
SEGMENT_JOINTS = {
    "spine": ("pelvis", "spine", "thorax", "neck_top"),
    "hips": ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee"),
    "left_leg": ("left_hip", "left_knee", "left_ankle", "left_heel", "left_toe"),
    "right_leg": ("right_hip", "right_knee", "right_ankle", "right_heel", "right_toe"),
    "left_arm": ("left_shoulder", "left_elbow", "left_wrist", "left_hand"),
    "right_arm": ("right_shoulder", "right_elbow", "right_wrist", "right_hand"),
    "timing": tuple(BODY28.joint_names),
}


def _flagged_bones(clip: Clip, frame: int) -> tuple[set[tuple[int, int]], list[str]]:
    bones, names = set(), []
    for label in clip.errors:
        if label.start_frame <= frame < label.end_frame:
            joints = {J[n] for n in SEGMENT_JOINTS.get(label.segment, ())}
            bones |= {b for b in BODY28.bones if b[0] in joints and b[1] in joints}
            names.append(f"{label.kind} ({label.segment}) {label.severity:.2f}")
    return bones, sorted(set(names))


def _draw(ax, points: np.ndarray, flagged: set[tuple[int, int]]) -> None:
    for bone in BODY28.bones:
        colour, width = ("red", 2.5) if bone in flagged else ("tab:blue", 1.5)
        ax.plot(points[list(bone), 0], points[list(bone), 1], color=colour, lw=width)
    ax.scatter(points[:, 0], points[:, 1], s=4, color="black", zorder=3)


def oblique_view(joints: np.ndarray) -> np.ndarray:
    """Orthographic view ``(T, J, 2)`` from 45 degrees to the person's front-left.

    The horizontal screen axis mixes the person's left (from the first frame's hips)
    and forward directions equally, so sideways and forward-backward movement both
    show; the vertical axis is height.
    """
    left = joints[0, J["left_hip"]] - joints[0, J["right_hip"]]
    left = np.array([left[0], 0.0, left[2]]) / max(np.hypot(left[0], left[2]), 1e-9)
    forward = np.cross(left, [0.0, 1.0, 0.0])
    axis = (left + forward) / np.sqrt(2)
    return np.stack([joints @ axis, joints[..., 1]], axis=-1)


def pick_frames(clip: Clip, count: int) -> np.ndarray:
    """``count`` frames spread over the clip, including the middle of each error label."""
    chosen = set(np.linspace(0, clip.num_frames - 1, count).round().astype(int).tolist())
    for label in clip.errors[: count // 2]:
        chosen.add((label.start_frame + label.end_frame) // 2)
    frames = sorted(chosen)
    step = max(1, len(frames) // count + (len(frames) % count > 0))
    return np.array(frames[::step][:count] if len(frames) > count else frames)


def contact_sheet(clip: Clip, out: str | Path, frames: int = 8, camera: int = 0) -> Path:
    """Draw ``frames`` frames of ``clip`` to a PNG at ``out`` and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cam = clip.cameras[camera]
    intr = cam.intrinsics
    picked = pick_frames(clip, frames)
    fig, axes = plt.subplots(2, len(picked), figsize=(2.2 * len(picked), 6.2), squeeze=False)
    cam_points = world_to_camera(clip.joints.astype(np.float64), cam.rotation, cam.position)
    uv = project(np.maximum(cam_points, [-np.inf, -np.inf, 0.05]), intr)
    side = oblique_view(clip.joints)
    for column, frame in enumerate(picked):
        flagged, names = _flagged_bones(clip, int(frame))
        top, bottom = axes[0, column], axes[1, column]
        top.add_patch(plt.Rectangle((0, 0), intr.width, intr.height, fill=False, color="grey"))
        _draw(top, uv[frame], flagged)
        top.set_xlim(-0.1 * intr.width, 1.1 * intr.width)
        top.set_ylim(1.05 * intr.height, -0.05 * intr.height)
        top.set_aspect("equal")
        top.set_title(f"t={frame / clip.fps:.1f}s", fontsize=8)
        _draw(bottom, side[frame], flagged)
        bottom.axhline(0, color="grey", lw=0.8)
        centre = side[frame].mean(axis=0)
        bottom.set_xlim(centre[0] - 1.1, centre[0] + 1.1)
        bottom.set_ylim(-0.1, 2.2)
        bottom.set_aspect("equal")
        bottom.set_xlabel(
            "\n".join(names) or "correct", fontsize=6, color="red" if names else "black"
        )
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    title = (
        f"{clip.movement} | {clip.role} | body {clip.body.height:.2f} m {clip.body.build} | "
        f"tempo {clip.tempo:.2f} | {cam.placement} camera {intr.width}x{intr.height}"
    )
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
