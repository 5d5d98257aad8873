"""Server-side video with other people in view: one person tracked against the user
followed among everyone (pose2d.people), time and who was followed.

Two synthetic videos of a real photo of a person (960x720, 30 fps, 5 s): **alone**, the
person bobbing 60 px once a second at the right; **with someone**, the same, plus the
photo at 300 px standing at the bottom left from the first frame, the filmed person
stepping in at frame :data:`USER_FROM` (a one-person tracker has locked onto the other
by then). Each is extracted by :func:`pose2d.video.extract_keypoints` (decoding,
MediaPipe, the choice of the user) with ``max_people`` 1 (the extraction before
pose2d.people: one person tracked) and :data:`pose2d.people.MAX_PEOPLE` (the same
tracking, a search for others twice a second, and a second pass following everyone
when someone else is found), taking turns (ABBA over ``--repeats``). Rows: wall
milliseconds per frame (min and median, ratio to one person) and the share of the
frames after :data:`USER_FROM` whose keypoints are the filmed person's (the nose within
their columns) and the other's.

    python -m bench.video_people --task coach-data/models/pose_landmarker.task
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import report

WIDTH, HEIGHT, FPS = 960, 720, 30
USER_X = (400, 912)  # the filmed person's columns on the canvas
OTHER_X = (20, 320)  # someone smaller, standing to the side
USER_FROM = 10  # the frame the filmed person steps in at (with someone)
FRAMES = 90  # a video's frames unless told (3 s)
COLUMNS = ["measure", "video", "one_min", "one_median", "many_min", "many_median", "ratio"]


def write_people_video(path: Path, frames: int = FRAMES, someone_else: bool = True) -> Path:
    """``frames`` at 30 fps (MPEG-4): a photo of a person (512 px) bobbing 60 px once a
    second in columns :data:`USER_X`; with ``someone_else``, the same photo at 300 px
    standing still at the bottom left in :data:`OTHER_X` all along, and the first
    person only from frame :data:`USER_FROM` on."""
    import cv2
    from skimage.data import astronaut

    photo = astronaut()
    small = cv2.resize(photo, (OTHER_X[1] - OTHER_X[0],) * 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for frame_index in range(frames):
        frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        top = int(100 + 60 * np.sin(2 * np.pi * frame_index / FPS))
        if frame_index >= USER_FROM or not someone_else:
            frame[top : top + 512, USER_X[0] : USER_X[1]] = photo
        if someone_else:
            frame[HEIGHT - len(small) - 40 : HEIGHT - 40, OTHER_X[0] : OTHER_X[1]] = small
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _extract(video: Path, task: Path, num_poses: int) -> dict:
    """Extract ``video`` for up to ``num_poses`` people: ms per frame and the
    shares of the frames from USER_FROM on that show the filmed person or the other."""
    from pose2d.video import extract_keypoints
    from pose3d.skeleton import MEDIAPIPE33

    started = time.perf_counter()
    sequence = extract_keypoints(video, task, max_frames=10_000, max_people=num_poses)
    seconds = time.perf_counter() - started
    scale = sequence.image_width / WIDTH
    nose = sequence.keypoints[USER_FROM:, MEDIAPIPE33.index("nose"), 0] / scale
    return {
        "ms per frame": 1000 * seconds / sequence.num_frames,
        "filmed person's share": float(np.mean((nose > USER_X[0]) & (nose < USER_X[1]))),
        "other person's share": float(np.mean((nose > OTHER_X[0]) & (nose < OTHER_X[1]))),
    }


def main(argv: list[str] | None = None) -> None:
    from pose2d.people import MAX_PEOPLE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=Path("coach-data/models/pose_landmarker.task"))
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant and video")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each video")
    args = parser.parse_args(argv)
    frames = round(args.seconds * FPS)
    runs: dict[tuple[str, str], dict[int, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        videos = {
            "alone": write_people_video(Path(folder) / "alone.mp4", frames, someone_else=False),
            "with someone": write_people_video(Path(folder) / "two.mp4", frames),
        }
        for repeat in range(args.repeats):
            order = (1, MAX_PEOPLE) if repeat % 2 == 0 else (MAX_PEOPLE, 1)
            for name, video in videos.items():
                for num_poses in order:
                    for measure, value in _extract(video, args.task, num_poses).items():
                        by_variant = runs.setdefault((measure, name), {1: [], MAX_PEOPLE: []})
                        by_variant[num_poses].append(value)
                    print(f"repeat {repeat + 1}/{args.repeats}: {name}, max_people {num_poses}")
    rows = []
    for (measure, name), by_variant in runs.items():
        one, many = (np.asarray(by_variant[k]) for k in (1, MAX_PEOPLE))
        ratio = round(float(np.median(many) / np.median(one)), 2) if np.median(one) else "-"
        rows.append(
            {
                "measure": measure,
                "video": name,
                "one_min": round(float(one.min()), 3),
                "one_median": round(float(np.median(one)), 3),
                "many_min": round(float(many.min()), 3),
                "many_median": round(float(np.median(many)), 3),
                "ratio": ratio,
            }
        )
    title = f"Video extraction: max_people 1 (one) against {MAX_PEOPLE} (many)"
    context = {"repeats": args.repeats, "seconds": args.seconds, "max_people": MAX_PEOPLE}
    report("video_people", title, rows, COLUMNS, context)


if __name__ == "__main__":
    main()
