"""Shared fixtures: small deterministic models and keypoint sequences."""

from __future__ import annotations

import os
from pathlib import Path

# The commands' error panels (typer's rich output) are wrapped at the terminal's width,
# 80 columns under a test runner: a long temporary path (longer still under
# pytest-xdist's per-worker folders) could break the word a test looks for across two
# lines. Read by typer when it is first imported, so set before any test imports it.
os.environ.setdefault("TERMINAL_WIDTH", "400")

import numpy as np
import pytest
import torch

from pose3d.checkpoint import LifterMetadata, save_checkpoint
from pose3d.lifter import Lifter
from pose3d.model import TemporalModel


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files for pytest-xdist (``make test`` runs it with
    ``--no-loadscope-reorder``, so files are handed out in this order): the files
    marked slow as a whole first (processes started and killed, fuzzing, the browser),
    then those with some slow test, then the rest, each tier the files with most tests
    first; a file's tests stay together and in order. xdist's own order (most tests
    first) handed out a one-test, minute-long file last, and one core ran it alone."""

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    def tier_of(item: pytest.Item) -> int:
        marks = getattr(getattr(item, "module", None), "pytestmark", [])
        marks = marks if isinstance(marks, list) else [marks]
        if any(mark.name == "slow" for mark in marks):
            return 0
        return 1 if item.get_closest_marker("slow") is not None else 2

    counts: dict[str, int] = {}
    tiers: dict[str, int] = {}
    for item in items:
        path = file_of(item)
        counts[path] = counts.get(path, 0) + 1
        tiers[path] = min(tier_of(item), tiers.get(path, 2))
    items.sort(key=lambda item: (tiers[file_of(item)], -counts[file_of(item)], file_of(item)))


@pytest.fixture(scope="session", autouse=True)
def _mlflow_store_outside_the_repository(tmp_path_factory):
    """The tracked commands (coach train, evaluate...) log to a throwaway MLflow store,
    never to the working tree's ./mlruns (tests/lifecycle give each test its own)."""
    names = ("COACH_MLFLOW_DIR", "COACH_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI")
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ["COACH_MLFLOW_DIR"] = str(tmp_path_factory.mktemp("mlruns"))
    yield
    os.environ.pop("COACH_MLFLOW_DIR", None)
    os.environ.update({name: value for name, value in saved.items() if value is not None})


def make_model(filter_widths=(3, 3), causal=False, channels=16, seed=0) -> TemporalModel:
    """A tiny randomly initialised TemporalModel with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    model = TemporalModel(17, 2, 17, list(filter_widths), causal=causal, channels=channels)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
    return model.eval()


def tiny_lifter_checkpoint(folder: Path, version: str) -> Path:
    """A tiny causal lifter (widths 3, 3; 16 channels) saved as ``folder/lifter.pt``: what a
    test server loads in a second instead of the bundled model."""
    model = make_model((3, 3), causal=True, channels=16)
    metadata = LifterMetadata(architecture=model.hyperparameters, fps=30, version=version)
    return save_checkpoint(folder / "lifter.pt", model, metadata)


def write_tiny_shards(folder: Path, clips: int, train: int, val: int, fingerprint: str) -> Path:
    """Shards filmed (two cameras each) from ``clips`` two-second simulated clips into
    ``folder``: the first ``train`` records the train split, the next ``val`` validation,
    the rest test; ``summary.json`` carries ``fingerprint``."""
    import json

    from dataflow_jobs.records import ERROR_KIND_NAMES, film_clip
    from pose3d.shards import shard_bytes
    from synthetic_data.batch import plan_requests
    from synthetic_data.generator import generate_clip

    records = []
    for request in plan_requests(clips, seed=5, duration_s=2.0):
        records += film_clip(generate_clip(request), cameras=2, seed=0)
    splits = {"train": records[:train], "val": records[train : train + val]}
    splits["test"] = records[train + val :]
    for split, part in splits.items():
        for record in part:
            record.split = split
        (folder / f"{split}-00000-of-00001.npz").write_bytes(shard_bytes(part, ERROR_KIND_NAMES))
    (folder / "summary.json").write_text(json.dumps({"fingerprint": fingerprint}))
    return folder


def make_lifter(filter_widths=(3, 3), causal=False, fps=30.0) -> Lifter:
    model = make_model(filter_widths, causal)
    metadata = LifterMetadata(architecture=model.hyperparameters, fps=fps, version="test")
    return Lifter(model, metadata)


@pytest.fixture
def lifter() -> Lifter:
    return make_lifter()


@pytest.fixture
def causal_lifter() -> Lifter:
    return make_lifter(causal=True)


@pytest.fixture
def keypoints() -> np.ndarray:
    """A smooth (40, 17, 2) COCO-17 pixel sequence in a 1080x1920 portrait frame."""
    rng = np.random.default_rng(0)
    base = rng.uniform([300, 500], [800, 1500], size=(17, 2))
    t = np.arange(40)[:, None, None]
    motion = 40 * np.sin(t / 6 + rng.uniform(0, 6, size=(1, 17, 1)))
    return (base[None] + motion).astype(np.float32)


REPO = Path(__file__).resolve().parents[1]  # where .cache/wheels is


@pytest.fixture(scope="session")
def pose_task(tmp_path_factory) -> Path:
    """The MediaPipe pose model for server-side video, assembled from the mediapipe
    0.10.21 wheel (in ``COACH_WHEEL_CACHE``, else ``.cache/wheels``, fetched once);
    skipped with the reason when pip cannot get it."""
    from pose2d.task_builder import PoseTaskError, assemble_pose_task, download_wheel

    cache = Path(os.environ.get("COACH_WHEEL_CACHE", REPO / ".cache" / "wheels"))
    try:
        wheel = download_wheel(cache)
    except PoseTaskError as error:
        pytest.skip(f"no mediapipe 0.10.21 wheel: {error}")
    return assemble_pose_task(wheel, tmp_path_factory.mktemp("pose") / "pose_landmarker.task")


def write_bobbing_video(
    path: Path,
    amplitude_px: float = 80,
    frames_per_bob: float = 30,
    frames: int = 90,
    lean_deg: float = 0.0,
    fourcc: str = "mp4v",
) -> Path:
    """``frames`` at 30 fps of a real photo of a person (upper body) bobbing up and down
    by ``amplitude_px`` once every ``frames_per_bob`` frames, on a portrait 512x720
    canvas, as MPEG-4; with ``lean_deg``, the photo also rocks (turns in the image
    plane about a point near its bottom) between 0 and that angle in the same rhythm."""
    import cv2
    from skimage.data import astronaut

    photo = astronaut()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30, (512, 720))
    for frame_index in range(frames):
        phase = np.sin(2 * np.pi * frame_index / frames_per_bob)
        picture = photo
        if lean_deg:
            turn = cv2.getRotationMatrix2D((256, 400), lean_deg * (1 + phase) / 2, 1.0)
            picture = cv2.warpAffine(photo, turn, (512, 512))
        top = int(100 + amplitude_px * phase)
        frame = np.zeros((720, 512, 3), np.uint8)
        frame[top : top + 512] = picture
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="session")
def person_video(tmp_path_factory) -> Path:
    """3 s at 30 fps of a person bobbing 80 px up and down once a second."""
    return write_bobbing_video(tmp_path_factory.mktemp("video") / "person.mp4")


@pytest.fixture(scope="session")
def trainer_payload():
    """The phone app's keypoints (JSON) of the simulator's squat trainer."""
    from synthetic_data.detector import phone_json
    from synthetic_data.generator import trainer_clip

    return phone_json(trainer_clip("squat"))


@pytest.fixture(scope="session")
def user_payload():
    """The phone app's keypoints (JSON) of a user whose second of three squats rounds
    the back and lifts the heels (severity 0.9: the bundled detector cues both)."""
    from synthetic_data.detector import phone_json
    from synthetic_data.errors import ErrorPlan
    from synthetic_data.generator import ClipRequest, generate_clip

    clip = generate_clip(
        ClipRequest(
            seed=3,
            movement="squat",
            num_reps=3,
            num_cameras=1,
            # Heels are judged on the phone's 2D, which the tiny test lifter cannot blur.
            errors=[
                ErrorPlan("rounded_back", 0.9, "both", 1, 1),
                ErrorPlan("heels_lifting", 0.9, "both", 1, 1),
            ],
        )
    )
    return phone_json(clip, seed=1)
