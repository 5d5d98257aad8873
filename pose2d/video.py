"""Server-side keypoints from an uploaded video (MediaPipe Pose Landmarker, video mode).

The pose model is not downloaded: the caller names a ``pose_landmarker*.task`` file (the
official one, or one assembled offline by :mod:`pose2d.task_builder`; the service's
``COACH_POSE_TASK``). Without it, extraction fails with that instruction.

Uploads are hostile input: a few MiB of video can decode to tens of GB of pixels. So
frames are decoded, downscaled and detected one at a time (memory is one decoded frame
plus the ``(T, P, 33, ...)`` outputs, whatever the video's length), and the pixels decoded
per upload are bounded twice: from the container's metadata before decoding anything,
then by counting while decoding, because metadata can be missing or lie.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pose2d.people import MAX_PEOPLE, choose_user, people_note, someone_else
from pose3d.sequence_json import MAX_FPS, MIN_FPS, KeypointSequence

if TYPE_CHECKING:
    import cv2

VIDEO_TYPES = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-msvideo": ".avi",
}

JOINTS = 33  # MediaPipe pose landmarks per person
MAX_FRAME_SIDE = 8192  # pixels; larger than any camera a user films with
# What a keypoint sequence may declare (as ``parse_sequence``): a camera's frame rates.
DEFAULT_FPS = 30.0  # when neither the container nor the frames' times say
# What FFmpeg states for a Matroska/WebM file that carries no frame rate: its millisecond
# time base. Browser recordings (MediaRecorder) are such files; Chromium's on a busy
# phone or machine state it (seen in the web app's camera test), so it means "unknown".
TIME_BASE_FPS = 1000.0
CROWD_CHECK_S = 0.5  # seconds between two searches for other people in view


class VideoError(ValueError):
    """The video cannot be turned into keypoints; the message says why."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container claims, before decoding: ``frame_count`` (0 when unknown),
    ``width`` and ``height`` in pixels (0 when unknown), ``fps`` in frames per second
    (None when unknown)."""

    frame_count: int
    width: int
    height: int
    fps: float | None

    @property
    def pace_fps(self) -> float:
        """The rate frames are handed to the detector at until their times are known."""
        return self.fps or DEFAULT_FPS


def extract_keypoints(
    path: Path,
    task: Path | None,
    max_frames: int,
    *,
    max_pixels: int = 180 * 30 * 1920 * 1080,
    max_side: int = 640,
    max_people: int = MAX_PEOPLE,
) -> KeypointSequence:
    """MediaPipe-33 keypoints of the person filmed in the video at ``path``.

    MediaPipe tracks one person from frame to frame (its landmarks are steadier so than
    found afresh in every frame), and twice a second it also looks afresh for up to
    ``max_people`` people. If it finds someone besides the person tracked (who may be a
    bystander it locked onto first), that pass stops and the video is decoded again from
    the start with everyone followed in every frame, the user among them
    (:func:`pose2d.people.choose_user`: the person seen longest and largest); frames
    that show only someone else then give no keypoints, and the sequence's ``notes``
    say so.

    At most ``max_frames`` frames are used (the rest is ignored). VideoError when the
    pose model ``task`` is missing, the video is unreadable, its metadata is absurd, it
    would decode to more than ``max_pixels`` pixels (frames x width x height, at the
    video's own resolution), or no person is seen. Frames are downscaled so their
    longest side is at most ``max_side`` pixels before detection; the sequence's
    keypoints ``(T, 33, 2)`` and image size are in those downscaled pixels.
    """
    # First, so that a misconfigured server spends nothing on decoding.
    if task is None or not Path(task).is_file():
        raise VideoError(
            "video processing is not configured: "
            "run `coach-api pose-task` or set COACH_POSE_TASK to a pose_landmarker .task file"
        )
    capture = _open(path)
    try:
        info = _probe(capture)
        _check_budget(info, max_frames, max_pixels)
        times_ms: list[float] = []
        frames = _frames(capture, max_frames, max_pixels, max_side, times_ms)
        check_every = max(1, round(info.pace_fps * CROWD_CHECK_S)) if max_people > 1 else 0
        detected = _detect(frames, Path(task), info.pace_fps, 1, check_every, max_people)
    finally:
        capture.release()
    keypoints, scores = detected.keypoints[:, 0], detected.scores[:, 0]
    notes: tuple[str, ...] = ()
    if detected.others_seen:  # someone else is in view: follow everyone, from the start
        capture = _open(path)
        try:
            times_ms = []
            frames = _frames(capture, max_frames, max_pixels, max_side, times_ms)
            everyone = _detect(frames, Path(task), info.pace_fps, max_people)
        finally:
            capture.release()
        fps = frame_rate(info.fps, times_ms)
        keypoints, scores, choice = choose_user(everyone.keypoints, everyone.scores, fps)
        notes = (note,) if (note := people_note(choice, fps)) else ()
    else:
        fps = frame_rate(info.fps, times_ms)
    if not np.isfinite(keypoints).any():
        raise VideoError("no person was found in the video")
    width, height = detected.size
    return KeypointSequence("mediapipe33", fps, width, height, keypoints, scores, notes)


def _open(path: Path) -> cv2.VideoCapture:
    """The opened capture of ``path``; VideoError when OpenCV cannot read it."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise VideoError("the video cannot be opened (corrupt file or unsupported codec)")
    return capture


def _probe(capture: cv2.VideoCapture) -> VideoInfo:
    """The container's metadata, checked for sanity; nothing is decoded.

    Unknown (0, NaN, negative) frame counts and sizes become 0: the decoder's own
    count catches those. Frame rates are refused outside [5, 240], except that 0, NaN and
    WebM's time base (the container does not say) are unknown: the frames' times decide.
    """
    import cv2

    frame_count = _known(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    width = _known(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = _known(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    _check_side(width, height)
    return VideoInfo(frame_count, width, height, _fps(capture.get(cv2.CAP_PROP_FPS)))


def _known(value: float) -> int:
    """A metadata count as an int; 0 when the container reports nothing usable."""
    return int(value) if math.isfinite(value) and value > 0 else 0


def frame_rate(stated: float | None, times_ms: list[float]) -> float:
    """The video's frame rate (frames per second): the one the decoded frames' times
    show (the median interval, to 0.001 fps), unless it is within 2% of the ``stated`` one, which is
    then kept exact. Browser recordings (MediaRecorder WebM) state none or a wrong one
    (Chromium's: 60 fps for ~15 frames a second), and their timing would otherwise be
    off by that factor. ``stated`` is kept when the times are unusable (fewer than two
    frames, not increasing, or a rate outside the accepted range); with no ``stated``
    rate, unusable times give DEFAULT_FPS, and a rate outside the range is a VideoError."""
    intervals = np.diff(np.asarray(times_ms, dtype=np.float64))
    if len(intervals) == 0 or not np.all(np.isfinite(intervals)) or (intervals <= 0).any():
        return stated or DEFAULT_FPS
    measured = round(1000.0 / float(np.median(intervals)), 3)  # no float noise in reports
    if stated is not None and abs(measured - stated) <= 0.02 * stated:
        return stated
    if not MIN_FPS <= measured <= MAX_FPS:
        if stated is not None:
            return stated
        raise VideoError(
            f"the video's frame rate must be in [{MIN_FPS:g}, {MAX_FPS:g}] fps, "
            f"its frames are {measured:.4g} a second"
        )
    return measured


def _fps(value: float) -> float | None:
    """The container's frame rate in frames per second (None: it does not say);
    VideoError if absurd."""
    if value == 0 or math.isnan(value) or value == TIME_BASE_FPS:
        return None
    if not MIN_FPS <= value <= MAX_FPS:  # also catches +-inf
        raise VideoError(
            f"the video's frame rate must be in [{MIN_FPS:g}, {MAX_FPS:g}] fps, got {value}"
        )
    return float(value)


def _check_side(width: int, height: int) -> None:
    """VideoError when a frame side (pixels) is over MAX_FRAME_SIDE."""
    if max(width, height) > MAX_FRAME_SIDE:
        raise VideoError(
            f"the video's frames are {width}x{height} pixels; "
            f"each side must be at most {MAX_FRAME_SIDE} pixels"
        )


def _check_budget(info: VideoInfo, max_frames: int, max_pixels: int) -> None:
    """VideoError when the metadata says the video decodes to more than ``max_pixels``.

    Only the first ``max_frames`` frames are ever decoded, so only they count.
    """
    frames = min(info.frame_count, max_frames)
    pixels = frames * info.width * info.height
    if pixels > max_pixels:
        raise VideoError(
            f"the video is too large: {frames} frames of {info.width}x{info.height} pixels "
            f"is {pixels} pixels, over the limit of {max_pixels} pixels per video"
        )


def _frames(
    capture: cv2.VideoCapture,
    max_frames: int,
    max_pixels: int,
    max_side: int,
    times_ms: list[float],
) -> Iterator[np.ndarray]:
    """Yield up to ``max_frames`` RGB frames ``(H, W, 3)`` uint8, one at a time, all
    downscaled to the first frame's size with its longest side at most ``max_side``;
    each frame's presentation time (ms, as the decoder gives it) is appended to
    ``times_ms``.

    Pixels are counted as decoded (at the video's own resolution), and VideoError is
    raised as soon as they pass ``max_pixels``: the metadata checked beforehand may be
    missing or wrong. VideoError too if the video has no decodable frame.
    """
    import cv2

    size: tuple[int, int] | None = None  # (width, height) of every yielded frame
    decoded = 0
    for index in range(max_frames):
        ok, frame = capture.read()
        if not ok:
            break
        times_ms.append(capture.get(cv2.CAP_PROP_POS_MSEC))
        height, width = frame.shape[:2]
        _check_side(width, height)
        decoded += width * height
        if decoded > max_pixels:
            raise VideoError(
                f"the video is too large: its first {index + 1} frames decode to "
                f"{decoded} pixels, over the limit of {max_pixels} pixels per video"
            )
        # The first frame's size for all, so that one image size describes every keypoint.
        size = size or _output_size(width, height, max_side)
        if (width, height) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if size is None:
        raise VideoError("the video has no decodable frames (corrupt or empty file)")


def _output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) in pixels, scaled so the longest side is at most ``max_side``,
    aspect ratio kept; never upscaled (detail the camera did not record cannot help)."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1 pixel, got {max_side}")
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


class _Detected(NamedTuple):
    """What the pose landmarker found in a video's frames: their ``size`` (width, height)
    in pixels, keypoints ``(T, P, 33, 2)`` float32 in those pixels (NaN for a slot with
    nobody), visibility scores ``(T, P, 33)``, and whether a frame searched afresh showed
    someone besides the person followed in it."""

    size: tuple[int, int]
    keypoints: np.ndarray
    scores: np.ndarray
    others_seen: bool


def _detect(
    frames: Iterator[np.ndarray],
    task: Path,
    fps: float,
    people: int,
    check_every: int = 0,
    check_people: int = 0,
) -> _Detected:
    """Run the pose landmarker (video mode: tracking from frame to frame) for up to
    ``people`` people over ``frames`` (RGB ``(H, W, 3)``, all the same size, ``fps``
    frames per second); with ``check_every``, every ``check_every``-th frame is also
    searched afresh for up to ``check_people`` people (image mode: no tracking), and
    the pass stops at the first that shows someone besides the person followed
    (:func:`pose2d.people.someone_else`): everyone is then followed in another pass."""
    import mediapipe as mp

    width = height = 0
    others_seen = False
    keypoints: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    with contextlib.ExitStack() as stack:
        landmarker = stack.enter_context(_landmarker(task, people, video=True))
        checker = stack.enter_context(_landmarker(task, check_people)) if check_every else None
        for index, frame in enumerate(frames):
            height, width = frame.shape[:2]
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
            # Video mode tracks across frames and needs strictly increasing times in ms;
            # fps <= 240 keeps consecutive frames >= 4 ms apart.
            result = landmarker.detect_for_video(image, int(index * 1000 / fps))
            points, visibility = _landmarks(result, width, height, people)
            keypoints.append(points)
            scores.append(visibility)
            if checker is not None and index % check_every == 0:
                found = _landmarks(checker.detect(image), width, height, check_people)
                if someone_else((points[0], visibility[0]), found):
                    others_seen = True  # the frames after are the next pass's
                    break
    return _Detected((width, height), np.stack(keypoints), np.stack(scores), others_seen)


def _landmarker(task: Path, people: int, video: bool = False):
    """A MediaPipe PoseLandmarker (a context manager) for up to ``people`` people, in
    video mode (tracking across frames) or image mode."""
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(task)),
        running_mode=RunningMode.VIDEO if video else RunningMode.IMAGE,
        num_poses=people,
    )
    return PoseLandmarker.create_from_options(options)


def _landmarks(result, width: int, height: int, people: int) -> tuple[np.ndarray, np.ndarray]:
    """One frame's people: keypoints ``(people, 33, 2)`` in pixels (NaN for a slot with
    nobody) and scores ``(people, 33)``, in MediaPipe's order.

    MediaPipe gives coordinates normalised to [0, 1] of the image it was given.
    """
    points = np.full((people, JOINTS, 2), np.nan, dtype=np.float32)
    scores = np.zeros((people, JOINTS), dtype=np.float32)
    for slot, person in enumerate(result.pose_landmarks[:people]):
        for joint, landmark in enumerate(person):
            points[slot, joint] = (landmark.x * width, landmark.y * height)
            scores[slot, joint] = landmark.visibility
    return points, scores
