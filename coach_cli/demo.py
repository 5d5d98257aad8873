"""``coach demo``: the whole product on a simulated workout, over HTTP.

A simulated trainer records a squat routine and a simulated user (a different body,
tempo and phone, with a rounded back in one repetition and caving knees in another)
does it in front of their phone. Their MediaPipe-33 keypoints (simulated detector, with
noise) go to the coach API, started here as a child process (``coach-api serve``) on a
free loopback port with a throw-away data folder, exactly as the app sends them. The API
lifts, aligns and scores; the demo prints the feedback, saves the HTML report, and
measures the lift against the simulator's ground truth.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console


def _lift_error_mm(clip, keypoints: dict) -> float:
    from pose3d import Lifter
    from pose3d.camera import world_to_camera
    from pose3d.metrics import mpjpe
    from pose3d.sequence_json import parse_sequence

    sequence = parse_sequence(keypoints)
    poses = Lifter.from_checkpoint().lift(
        sequence.keypoints,
        sequence.scores,
        image_size=sequence.image_size,
        layout="mediapipe33",
        fps=sequence.fps,
    )
    camera = clip.cameras[0]
    truth = world_to_camera(clip.h36m17().astype(np.float64), camera.rotation, camera.position)
    return 1000 * mpjpe(poses, (truth - truth[:, :1]).astype(np.float32))


def run_demo(out: Path, seed: int = 7) -> dict:
    """Run the demo; writes ``out/session.html``; returns the report JSON."""
    from coach_client.http_client import CoachClient
    from coach_client.local_server import free_port, grant_role, server_env, start_server
    from pose3d import Lifter
    from synthetic_data.detector import phone_json
    from synthetic_data.errors import ErrorPlan
    from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip

    console = Console()
    Lifter.from_checkpoint()  # fail early, with a clear message, if no model is bundled
    out.mkdir(parents=True, exist_ok=True)
    trainer = trainer_clip("squat")
    user = generate_clip(
        ClipRequest(
            seed=seed,
            movement="squat",
            num_reps=4,
            num_cameras=1,
            errors=[
                ErrorPlan("rounded_back", 0.9, "both", 1, 1),
                ErrorPlan("knees_caving_in", 0.9, "both", 3, 3),
            ],
        )
    )
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        server = start_server(Path(data_dir), port)
        url = f"http://127.0.0.1:{port}"
        try:
            console.print(f"coach API on {url} (data in a temporary folder)")
            coach, athlete = CoachClient(url), CoachClient(url)
            coach.register("trainer@example.com", "demo password 1")
            # What the operator does once: `coach-api users grant EMAIL --role trainer`.
            grant_role("trainer@example.com", "trainer", server_env(Path(data_dir)))
            coach.login("trainer@example.com", "demo password 1")
            routine = coach.create_routine(
                "Bodyweight squats", "squat", phone_json(trainer, 0), published=True
            )
            console.print(
                f"trainer created routine {routine['id']}: "
                f"{routine['reps']} reps at {routine['fps']:.0f} fps"
            )
            athlete.register("athlete@example.com", "demo password 2")
            athlete.login("athlete@example.com", "demo password 2")
            keypoints = phone_json(user, seed)
            session = athlete.submit_session(routine["id"], keypoints)
            report_path = out / "session.html"
            report_path.write_text(athlete.report_html(session["id"]))
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = session["report"]
    console.print(
        f"[bold]Score {report['score']:.0f}/100[/bold], {report['reps']} reps, "
        f"tempo {report['tempo']['mean']:.2f}x "
        f"(user: {user.body.height:.2f} m, tempo {user.tempo:.2f}x)"
    )
    for error in report["errors"]:
        console.print(
            f"  - {error['cue']}  ({error['start_s']:.1f}-{error['end_s']:.1f} s, "
            f"{error['segment']}, severity {error['severity']:.2f})"
        )
    for note in report["notes"]:
        console.print(f"  - note: {note['message']}")
    truth = sorted(
        {
            (e.kind, round(e.start_frame / user.fps, 1), round(e.end_frame / user.fps, 1))
            for e in user.errors
        }
    )
    console.print(f"injected: {', '.join(f'{k} {a}-{b} s' for k, a, b in truth)}")
    console.print(f"3D lift error on this session: {_lift_error_mm(user, keypoints):.1f} mm MPJPE")
    console.print(f"HTML report: {report_path}")
    return report
