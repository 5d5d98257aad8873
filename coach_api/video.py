"""Server-side keypoints from an uploaded video (MediaPipe Pose Landmarker, video mode).

The pose model is not downloaded: ``COACH_POSE_TASK`` must name a
``pose_landmarker*.task`` file (the official one, or one assembled offline as
``../shared/STACK.md`` describes). Without it, video jobs fail with that instruction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose3d.sequence_json import KeypointSequence

VIDEO_TYPES = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-msvideo": ".avi",
}


class VideoError(ValueError):
    """The video cannot be turned into keypoints; the message says why."""


def read_frames(path: Path, max_frames: int) -> tuple[list[np.ndarray], float]:
    """Decode up to ``max_frames`` RGB frames and the frame rate; VideoError if unreadable."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError("the video cannot be opened (corrupt file or unsupported codec)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while len(frames) < max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        raise VideoError("the video has no decodable frames (corrupt or empty file)")
    return frames, float(fps)


def extract_keypoints(path: Path, task: Path | None, max_frames: int) -> KeypointSequence:
    """MediaPipe-33 keypoints of the person in the video at ``path``."""
    frames, fps = read_frames(path, max_frames)
    if task is None or not Path(task).is_file():
        raise VideoError(
            "video processing is not configured: "
            "run `coach pose-task` or set COACH_POSE_TASK to a pose_landmarker .task file"
        )
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    height, width = frames[0].shape[:2]
    keypoints = np.full((len(frames), 33, 2), np.nan, dtype=np.float32)
    scores = np.zeros((len(frames), 33), dtype=np.float32)
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(task)),
        running_mode=RunningMode.VIDEO,
        num_poses=1,
    )
    with PoseLandmarker.create_from_options(options) as landmarker:
        for index, frame in enumerate(frames):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
            result = landmarker.detect_for_video(image, int(index * 1000 / fps))
            if result.pose_landmarks:
                for joint, landmark in enumerate(result.pose_landmarks[0]):
                    keypoints[index, joint] = (landmark.x * width, landmark.y * height)
                    scores[index, joint] = landmark.visibility
    if not np.isfinite(keypoints).any():
        raise VideoError("no person was found in the video")
    return KeypointSequence("mediapipe33", fps, width, height, keypoints, scores)
