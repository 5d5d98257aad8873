"""Server-side video: peak memory and wall time of keypoint extraction against length.

Each run extracts MediaPipe-33 keypoints (:func:`pose2d.video.extract_keypoints`, the
video jobs' own call) from a synthetic 640x360, 30-fps video in a child process of its
own and reads that child's peak RSS from the kernel. Short and long videos alternate
(``--repeats`` times each); a row gives min and median, and the long video's ratio to
the short one's median. Flat memory means frames are decoded, downscaled and detected
one at a time: nothing buffers the video.

The synthetic video shows moving shapes, not a person, so MediaPipe finds no pose and
the extraction ends with "no person" after decoding and detecting every frame (the
figures cover decoding and detection; the landmark outputs it would keep are
``(T, 33, 3)`` floats, 0.7 MB per minute at 30 fps).

    python -m bench.video_memory --task coach-data/models/pose_landmarker.task
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import report

FPS, WIDTH, HEIGHT = 30, 640, 360
CHILD = """
import json, sys
from pathlib import Path
from pose2d.video import VideoError, extract_keypoints
try:
    sequence = extract_keypoints(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
    print(json.dumps({"frames": sequence.num_frames}))
except VideoError as error:
    print(json.dumps({"error": str(error)}))
"""


def write_video(path: Path, seconds: float) -> Path:
    """A ``seconds``-long mp4 of a bouncing disc on a gradient (``FPS``, ``WIDTH`` x ``HEIGHT``)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    background = np.tile(np.linspace(40, 200, WIDTH, dtype=np.uint8), (HEIGHT, 1))
    background = np.dstack([background] * 3)
    for frame in range(int(seconds * FPS)):
        image = background.copy()
        x = int(WIDTH / 2 + 200 * np.sin(frame / 15))
        y = int(HEIGHT / 2 + 100 * np.cos(frame / 10))
        cv2.circle(image, (x, y), 40, (30, 90, 220), -1)
        writer.write(image)
    writer.release()
    return path


def extract_in_child(video: Path, task: Path, max_frames: int) -> tuple[float, float, dict]:
    """Peak RSS (MiB) and wall time (s) of one extraction in a fresh child process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(video), str(task), str(max_frames)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"the extraction child exited with status {status}")
    return usage.ru_maxrss / 1024, wall, json.loads(output)  # ru_maxrss: KiB on Linux


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", type=Path, default=Path("coach-data/models/pose_landmarker.task"))
    parser.add_argument("--short-s", type=float, default=10.0)
    parser.add_argument("--long-s", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.task.is_file():
        raise SystemExit(f"no pose model at {args.task}: run `coach-api pose-task` first")
    runs: dict[float, list[tuple[float, float]]] = {args.short_s: [], args.long_s: []}
    answers = {}
    with tempfile.TemporaryDirectory() as folder:
        videos = {s: write_video(Path(folder) / f"{s:g}s.mp4", s) for s in runs}
        for _ in range(args.repeats):  # interleaved: the machine is shared and noisy
            for seconds, video in videos.items():
                peak, wall, answer = extract_in_child(video, args.task, int(seconds * FPS) + 1)
                runs[seconds].append((peak, wall))
                answers[seconds] = answer
    short_peak = float(np.median([p for p, _ in runs[args.short_s]]))
    rows = []
    for seconds, values in runs.items():
        peaks, walls = np.array([p for p, _ in values]), np.array([w for _, w in values])
        rows.append(
            {
                "video": f"{seconds:g} s, {int(seconds * FPS)} frames",
                "peak RSS MiB (min / median)": f"{peaks.min():.0f} / {np.median(peaks):.0f}",
                "ratio to short": f"{np.median(peaks) / short_peak:.2f}",
                "wall s (min / median)": f"{walls.min():.1f} / {np.median(walls):.1f}",
                "ms per frame": f"{1000 * np.median(walls) / (seconds * FPS):.1f}",
                "answer": answers[seconds].get("error", answers[seconds].get("frames")),
            }
        )
    report(
        "video_memory",
        f"Keypoint extraction from video, {WIDTH}x{HEIGHT} {FPS} fps, {args.repeats} runs each",
        rows,
        list(rows[0]),
    )


if __name__ == "__main__":
    main()
