"""What the Flutter app does, as a script: python examples/client.py [BASE_URL [VIDEO]]

Against a running API (``make run``, from this folder): registers a trainer (granted the
role on the API's database, as the operator's ``coach-api users grant`` does) and a user,
creates and publishes a routine from a simulated trainer's keypoints, submits a simulated
session and prints the report. With a VIDEO (.mp4/.mov/.webm of a squat), the user also
uploads it: the server extracts the keypoints (MediaPipe), scores them in a background
job, and the report is printed.
"""

import json
import sys
from pathlib import Path

import numpy as np

from coach_client.http_client import CoachClient
from coach_client.local_server import grant_role
from synthetic_data.detector import phone_json
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip


def main(base_url: str = "http://127.0.0.1:8000", video: str | None = None) -> None:
    suffix = np.random.default_rng().integers(1_000_000)
    trainer, user = CoachClient(base_url), CoachClient(base_url)
    trainer.register(f"trainer{suffix}@example.com", "example password")
    grant_role(f"trainer{suffix}@example.com", "trainer")  # the server's settings: the default
    trainer.login(f"trainer{suffix}@example.com", "example password")
    keypoints = phone_json(trainer_clip("squat"))
    routine = trainer.create_routine("Squats", "squat", keypoints, published=True)
    user.register(f"user{suffix}@example.com", "example password")
    user.login(f"user{suffix}@example.com", "example password")
    session = user.submit_session(
        routine["id"], phone_json(generate_clip(ClipRequest(seed=5, movement="squat")))
    )
    print(json.dumps(session["report"], indent=1))
    if video:
        job = user.wait_for_job(user.upload_video(routine["id"], Path(video))["id"])
        print(json.dumps(user.get_session(job["session_id"])["report"], indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
