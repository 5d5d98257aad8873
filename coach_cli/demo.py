"""``coach demo``: the whole product on a simulated workout, over HTTP.

A simulated trainer records a squat routine and a simulated user (a different body,
tempo and phone, with a rounded back in one repetition and caving knees in another)
does it in front of their phone. Their MediaPipe-33 keypoints (simulated detector, with
noise) go to the coach API, started here on a free loopback port with a throw-away data
folder, exactly as the app sends them. The API lifts, aligns and scores; the demo
prints the feedback, saves the HTML report, and measures the lift against the
simulator's ground truth.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console


def _start_server(data_dir: Path):
    import uvicorn

    from coach_api.main import create_app
    from coach_api.settings import Settings
    from coach_cli.server_process import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(data_dir=data_dir)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            return server, thread, f"http://127.0.0.1:{port}"
        if not thread.is_alive():
            break
        time.sleep(0.05)
    raise RuntimeError("the API did not start (see the log above)")


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
    from coach_api.accounts import grant_role_in
    from coach_api.settings import Settings
    from coach_cli.http_client import CoachClient
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
        server, thread, url = _start_server(Path(data_dir))
        try:
            console.print(f"coach API on {url} (data in a temporary folder)")
            coach, athlete = CoachClient(url), CoachClient(url)
            coach.register("trainer@example.com", "demo password 1")
            # What the operator does once: `coach users grant trainer@example.com --role trainer`.
            grant_role_in(
                Settings(data_dir=Path(data_dir)).resolved_database_url,
                "trainer@example.com",
                "trainer",
            )
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
            server.should_exit = True
            thread.join(timeout=10)
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
