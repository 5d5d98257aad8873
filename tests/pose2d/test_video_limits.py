"""Hostile uploads: a video's decoded pixels are bounded, and decoding streams frame by frame.

The pose model is replaced by a fake landmarker (``PoseLandmarker.create_from_options``
patched), so these tests need neither the model file nor the mediapipe 0.10.21 wheel;
they still go through ``extract_keypoints`` and the real OpenCV decoder.
"""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

from pose2d.video import VideoError, extract_keypoints, frame_rate

cv2 = pytest.importorskip("cv2")
vision = pytest.importorskip("mediapipe.tasks.python.vision")

MB = 1 << 20


def write_video(path: Path, width: int, height: int, frames: int, fps: float = 30) -> Path:
    """A black MPEG-4 (mp4v) video: black frames compress to almost nothing on disk."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    frame = np.zeros((height, width, 3), np.uint8)
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="module")
def full_hd(videos) -> Path:
    """300 frames of 1920x1080: 1.9 GB once decoded, under 1 MB on disk."""
    return write_video(videos / "full_hd.mp4", 1920, 1080, 300)


@pytest.fixture(scope="module")
def small(videos) -> Path:
    """10 frames of 64x48 (30720 pixels in all)."""
    return write_video(videos / "small.mp4", 64, 48, 10)


@pytest.fixture
def task(tmp_path) -> Path:
    """A file where the pose model would be; the fake landmarker never reads it."""
    path = tmp_path / "pose_landmarker.task"
    path.write_bytes(b"not a model")
    return path


class FakeLandmarker:
    """Stands in for MediaPipe's PoseLandmarker in video mode: records what it is given
    and finds a person at ``point`` (normalised x, y) in every frame, or nobody."""

    def __init__(self, point: tuple[float, float] | None) -> None:
        self.point = point
        self.sizes: list[tuple[int, int]] = []  # (width, height) of each image seen
        self.timestamps_ms: list[int] = []

    def __enter__(self) -> FakeLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def detect_for_video(self, image, timestamp_ms: int) -> SimpleNamespace:
        self.sizes.append((image.width, image.height))
        self.timestamps_ms.append(timestamp_ms)
        return self.detect(image)

    def detect(self, image) -> SimpleNamespace:
        """Image mode (the search for other people in view): nothing is recorded."""
        if self.point is None:
            return SimpleNamespace(pose_landmarks=[])
        x, y = self.point
        return SimpleNamespace(pose_landmarks=[[SimpleNamespace(x=x, y=y, visibility=0.9)] * 33])


@pytest.fixture
def fake_landmarker(monkeypatch):
    """Install a FakeLandmarker; ``fake_landmarker(point)`` returns it."""

    def install(point: tuple[float, float] | None = (0.25, 0.5)) -> FakeLandmarker:
        fake = FakeLandmarker(point)
        monkeypatch.setattr(vision.PoseLandmarker, "create_from_options", lambda options: fake)
        return fake

    return install


@pytest.fixture
def capture(monkeypatch):
    """Replace ``cv2.VideoCapture`` with a wrapper that counts what is opened and decoded
    and reports the metadata in its ``metadata`` dict (property -> value) instead.

    A wrapper, not a subclass: subclassing OpenCV 5's VideoCapture crashes the
    interpreter when the subclass is garbage-collected.
    """
    real = cv2.VideoCapture

    class CountingCapture:
        opened = 0
        decoded = 0  # frames decoded (read or grab)
        metadata: ClassVar[dict[int, float]] = {}

        def __init__(self, *args) -> None:
            self.capture = real(*args)
            type(self).opened += 1

        def __getattr__(self, name: str):
            return getattr(self.capture, name)

        def read(self, *args):
            type(self).decoded += 1
            return self.capture.read(*args)

        def grab(self):
            type(self).decoded += 1
            return self.capture.grab()

        def get(self, prop: int) -> float:
            return self.metadata[prop] if prop in self.metadata else self.capture.get(prop)

    monkeypatch.setattr(cv2, "VideoCapture", CountingCapture)
    return CountingCapture


def test_without_a_task_nothing_is_decoded(small, capture):
    with pytest.raises(VideoError, match="not configured"):
        extract_keypoints(small, None, max_frames=1000)
    assert capture.opened == 0 and capture.decoded == 0


def test_video_over_the_pixel_budget_is_refused_before_decoding(
    small, task, capture, fake_landmarker
):
    fake = fake_landmarker()
    budget = 10 * 64 * 48 - 1
    with pytest.raises(VideoError, match=f"limit of {budget} pixels") as error:
        extract_keypoints(small, task, max_frames=1000, max_pixels=budget)
    assert "10 frames of 64x48" in str(error.value)
    assert capture.decoded == 0 and fake.sizes == []
    # Only the frames that would be used count: the first 5 fit in half the budget.
    sequence = extract_keypoints(small, task, max_frames=5, max_pixels=5 * 64 * 48)
    assert sequence.num_frames == 5


def test_budget_holds_while_decoding_when_the_metadata_under_reports(
    small, task, capture, fake_landmarker
):
    fake = fake_landmarker()
    capture.metadata[cv2.CAP_PROP_FRAME_COUNT] = 0  # some containers do not say
    budget = 3 * 64 * 48
    with pytest.raises(VideoError, match=f"limit of {budget} pixels"):
        extract_keypoints(small, task, max_frames=1000, max_pixels=budget)
    # Refused at the 4th frame, which was never shown to the model.
    assert capture.decoded == 4 and len(fake.sizes) == 3


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        (cv2.CAP_PROP_FPS, 500.0, "frame rate"),
        (cv2.CAP_PROP_FPS, math.inf, "frame rate"),
        (cv2.CAP_PROP_FPS, -25.0, "frame rate"),
        (cv2.CAP_PROP_FRAME_WIDTH, 10_000.0, "at most 8192 pixels"),
        (cv2.CAP_PROP_FRAME_HEIGHT, 10_000.0, "at most 8192 pixels"),
    ],
)
def test_absurd_metadata_is_refused_before_decoding(
    small, task, capture, fake_landmarker, prop, value, message
):
    fake_landmarker()
    capture.metadata[prop] = value
    with pytest.raises(VideoError, match=message):
        extract_keypoints(small, task, max_frames=1000)
    assert capture.decoded == 0


def test_an_unknown_frame_rate_is_the_frames_own(small, task, capture, fake_landmarker):
    fake = fake_landmarker()
    capture.metadata[cv2.CAP_PROP_FPS] = math.nan
    sequence = extract_keypoints(small, task, max_frames=1000)
    assert sequence.fps == 30 and fake.timestamps_ms == [int(i * 1000 / 30) for i in range(10)]


def test_a_wrong_stated_frame_rate_gives_way_to_the_frames_times(
    small, task, capture, fake_landmarker
):
    """A browser recording (MediaRecorder WebM) states 60 fps for frames ~15 a second
    apart; the frames' own times decide, or a session's timing is off by that factor."""
    fake_landmarker()
    capture.metadata[cv2.CAP_PROP_FPS] = 60.0  # the frames are 1/30 s apart
    assert extract_keypoints(small, task, max_frames=1000).fps == pytest.approx(30.0, rel=1e-3)


def test_a_webm_stating_its_time_base_is_timed_by_its_frames(small, task, capture, fake_landmarker):
    """Chromium's MediaRecorder WebM on a busy machine: FFmpeg states the container's
    millisecond time base, 1000 fps; the frames (1/30 s apart) say the real rate."""
    fake = fake_landmarker()
    capture.metadata[cv2.CAP_PROP_FPS] = 1000.0
    assert extract_keypoints(small, task, max_frames=1000).fps == pytest.approx(30.0, rel=1e-3)
    assert fake.timestamps_ms == [int(i * 1000 / 30) for i in range(10)]  # paced at 30 meanwhile


def test_the_frame_rate_is_the_stated_one_unless_the_times_say_otherwise():
    every_70_ms = [70.0 * i for i in range(20)]
    assert frame_rate(60.0, every_70_ms) == pytest.approx(1000 / 70, abs=1e-3)
    assert frame_rate(30.0, [1000 * i / 29.97 for i in range(20)]) == 30.0  # within 2%: kept
    for unusable in ([], [0.0], [0.0, 0.0, 0.0], [0.0, 40.0, 30.0], [0.0, 1.0, 2.0]):
        assert frame_rate(25.0, unusable) == 25.0  # one frame, stalled, backwards, 1000 fps
    for unusable in ([], [0.0], [0.0, 0.0, 0.0], [0.0, 40.0, 30.0]):
        assert frame_rate(None, unusable) == 30.0  # nothing stated: the default
    assert frame_rate(None, every_70_ms) == pytest.approx(1000 / 70, abs=1e-3)  # nothing stated
    with pytest.raises(VideoError, match="its frames are 1000 a second"):
        frame_rate(None, [0.0, 1.0, 2.0])  # nothing stated, and a camera cannot film that


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1280, 720), (640, 360)), ((720, 1280), (360, 640)), ((320, 240), (320, 240))],
)
def test_frames_are_downscaled_and_keypoints_are_in_their_pixels(
    videos, task, fake_landmarker, size, expected
):
    """Longest side at most max_side, aspect kept, never upscaled."""
    video = write_video(videos / f"{size[0]}x{size[1]}.mp4", *size, frames=3)
    fake = fake_landmarker((0.25, 0.5))
    sequence = extract_keypoints(video, task, max_frames=1000, max_side=640)
    width, height = expected
    assert fake.sizes == [expected] * 3
    assert (sequence.image_width, sequence.image_height) == expected
    assert sequence.keypoints.shape == (3, 33, 2)
    np.testing.assert_allclose(sequence.keypoints[..., 0], 0.25 * width)
    np.testing.assert_allclose(sequence.keypoints[..., 1], 0.5 * height)
    np.testing.assert_allclose(sequence.scores, 0.9)


@pytest.mark.slow
def test_memory_is_bounded_whatever_the_video_length(full_hd, task, fake_landmarker):
    """300 decoded 1080p frames are 1.9 GB; streaming them must stay far below."""
    fake = fake_landmarker(None)  # nobody in a black video
    tracemalloc.start()
    try:
        # Sanity: tracemalloc sees the numpy arrays OpenCV decodes into.
        frame_capture = cv2.VideoCapture(str(full_hd))
        _, frame = frame_capture.read()
        frame_capture.release()
        assert tracemalloc.get_traced_memory()[0] >= frame.nbytes == 1920 * 1080 * 3
        del frame
        tracemalloc.reset_peak()
        with pytest.raises(VideoError, match="no person"):
            extract_keypoints(full_hd, task, max_frames=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(fake.sizes) == 300
    assert peak < 100 * MB, f"peak traced memory {peak / MB:.0f} MB"


class FakeCrowd(FakeLandmarker):
    """MediaPipe finding two people in every frame, in turns of order: the user (a body
    a third of the image tall, at x = 0.6) and someone smaller (at x = 0.2); a tracker
    of one person finds the smaller one."""

    BODY = np.random.default_rng(0).uniform(-0.5, 0.5, (33, 2))  # one pose, normalised

    def __init__(self, people: int) -> None:
        super().__init__(None)
        self.people = people

    def detect(self, image) -> SimpleNamespace:
        user, other = (self._person(0.6, 0.33), self._person(0.2, 0.15))
        people = [user, other] if len(self.timestamps_ms) % 2 else [other, user]
        return SimpleNamespace(pose_landmarks=people[: self.people] if self.people > 1 else [other])

    def _person(self, x: float, height: float) -> list[SimpleNamespace]:
        points = self.BODY * height + [x, 0.5]
        return [SimpleNamespace(x=px, y=py, visibility=0.9) for px, py in points]


def test_the_user_is_followed_when_mediapipe_sees_several_people(videos, task, monkeypatch):
    """A tracker of one person follows the other; the search for people in view finds
    two, so every frame is searched for everyone, and whichever order MediaPipe lists
    them in, every frame's keypoints are the filmed person's (pose2d.people)."""
    made = []

    def create(options):
        made.append(FakeCrowd(options.num_poses))
        made[-1].mode = options.running_mode.name
        return made[-1]

    monkeypatch.setattr(vision.PoseLandmarker, "create_from_options", create)
    second = write_video(videos / "second.mp4", 64, 48, 30)  # longer than a glimpse
    sequence = extract_keypoints(second, task, max_frames=1000)
    assert [(fake.mode, fake.people) for fake in made] == [("VIDEO", 1), ("IMAGE", 3), ("VIDEO", 3)]
    # The tracking pass stopped at the first search (frame 0); the next saw every frame.
    assert len(made[0].timestamps_ms) == 1 and len(made[2].timestamps_ms) == 30
    expected = (FakeCrowd.BODY * 0.33 + [0.6, 0.5]) * [64, 48]
    np.testing.assert_allclose(
        sequence.keypoints, np.broadcast_to(expected, (30, 33, 2)), atol=1e-3
    )
    assert sequence.notes == (
        "Other people were in view; the coach followed you (the person in view longest).",
    )


def test_one_person_in_view_is_tracked_in_one_pass(small, task, monkeypatch):
    """Nobody else found: the tracker's keypoints as they are, the video decoded once."""
    made = []

    def create(options):
        made.append((options.running_mode.name, options.num_poses))
        return FakeLandmarker((0.25, 0.5))

    monkeypatch.setattr(vision.PoseLandmarker, "create_from_options", create)
    sequence = extract_keypoints(small, task, max_frames=1000)
    assert made == [("VIDEO", 1), ("IMAGE", 3)] and sequence.notes == ()
    np.testing.assert_allclose(sequence.keypoints[..., 0], 0.25 * 64)
    made.clear()
    extract_keypoints(small, task, max_frames=1000, max_people=1)
    assert made == [("VIDEO", 1)]  # no search for others at all
