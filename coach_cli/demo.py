"""``coach demo``: the end-to-end path that exists so far, on a simulated workout.

A simulated person squats (with a form error) in front of a phone; the phone's detector
(simulated, MediaPipe-33 layout, with noise) gives 2D keypoints; the bundled lifter
turns them into 3D; the result is compared with the simulator's ground truth and drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table


def run_demo(out: Path, seed: int = 7) -> dict:
    """Run the demo, write its pictures under ``out``; returns the measured errors (mm)."""
    from pose3d import Lifter
    from pose3d.camera import world_to_camera
    from pose3d.metrics import mpjpe, p_mpjpe
    from synthetic_data.detector import film
    from synthetic_data.errors import ErrorPlan
    from synthetic_data.generator import ClipRequest, generate_clip
    from synthetic_data.preview import contact_sheet

    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    lifter = Lifter.from_checkpoint()
    clip = generate_clip(
        ClipRequest(
            seed=seed,
            movement="squat",
            num_reps=4,
            num_cameras=1,
            errors=[ErrorPlan("knees_caving_in", 0.8, "both", 2, 2)],
        )
    )
    camera = clip.cameras[0]
    observation = film(clip, camera, np.random.default_rng(seed), layout="mediapipe33")
    poses = lifter.lift(
        observation.keypoints,
        observation.scores,
        image_size=observation.image_size,
        layout="mediapipe33",
        fps=clip.fps,
    )
    truth = world_to_camera(clip.h36m17().astype(np.float64), camera.rotation, camera.position)
    truth = (truth - truth[:, :1]).astype(np.float32)
    errors = {"mpjpe_mm": 1000 * mpjpe(poses, truth), "p_mpjpe_mm": 1000 * p_mpjpe(poses, truth)}
    sheet = contact_sheet(clip, out / "clip.png", frames=6)
    plot = _plot_lift(poses, truth, clip.fps, out / "lifted_vs_truth.png")

    table = Table(title="coach demo: a simulated squat, filmed, detected and lifted")
    table.add_column("what")
    table.add_column("value")
    table.add_row("person", f"{clip.body.height:.2f} m, {clip.body.build}, tempo {clip.tempo:.2f}x")
    table.add_row(
        "phone", f"{camera.placement}, {camera.intrinsics.width}x{camera.intrinsics.height}"
    )
    table.add_row("frames", f"{clip.num_frames} at {clip.fps:.0f} fps")
    table.add_row("missing 2D joints", f"{np.isnan(observation.keypoints[..., 0]).mean():.1%}")
    table.add_row("lifter", f"{lifter.metadata.version} ({lifter.receptive_field} frames)")
    table.add_row("3D error (MPJPE)", f"{errors['mpjpe_mm']:.1f} mm")
    table.add_row("3D error after alignment (P-MPJPE)", f"{errors['p_mpjpe_mm']:.1f} mm")
    table.add_row("injected errors", ", ".join(sorted({e.kind for e in clip.errors})) or "none")
    console.print(table)
    console.print(f"pictures: {sheet}, {plot}")
    return errors


def _plot_lift(poses: np.ndarray, truth: np.ndarray, fps: float, path: Path) -> Path:
    """Left knee and wrist height over time: lifted vs ground truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = np.arange(len(poses)) / fps
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for joint, name in ((5, "left knee"), (13, "left wrist")):
        ax.plot(seconds, -truth[:, joint, 1], label=f"{name} (truth)", lw=2, alpha=0.6)
        ax.plot(seconds, -poses[:, joint, 1], "--", label=f"{name} (lifted)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("height above pelvis, camera axis (m)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
