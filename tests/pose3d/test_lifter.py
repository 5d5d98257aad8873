import numpy as np
import pytest

from pose3d import lifter as lifter_module
from pose3d.lifter import Lifter, ModelNotBundledError
from pose3d.skeleton import MEDIAPIPE33_TO_COCO17
from tests.conftest import make_lifter

SIZE = (1080, 1920)


def test_output_has_one_pose_per_input_frame(lifter, keypoints):
    for length in (1, 5, 40):
        poses = lifter.lift(keypoints[:length], image_size=SIZE)
        assert poses.shape == (length, 17, 3) and poses.dtype == np.float32
        assert np.isfinite(poses).all()


@pytest.mark.parametrize("causal", [False, True])
def test_chunked_lifting_equals_whole_sequence(keypoints, causal):
    lifter = make_lifter(causal=causal)
    whole = lifter.lift(keypoints, image_size=SIZE)
    for chunk in (1, 7, 39):
        np.testing.assert_allclose(
            lifter.lift(keypoints, image_size=SIZE, chunk_frames=chunk), whole, atol=1e-6
        )


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("fps", [30.0, 25.0], ids=["model fps", "resampled"])
def test_lifting_some_frames_equals_the_whole_lift_sliced(keypoints, causal, fps):
    lifter = make_lifter(causal=causal, fps=30.0)
    whole = lifter.lift(keypoints, image_size=SIZE, fps=fps)
    for frames in (slice(0, 3), slice(10, 30), slice(len(keypoints) - 2, None), slice(5, 5)):
        part = lifter.lift(keypoints, image_size=SIZE, fps=fps, frames=frames, chunk_frames=7)
        assert part.shape == whole[frames].shape
        np.testing.assert_allclose(part, whole[frames], atol=1e-6)
    with pytest.raises(ValueError, match="consecutive"):
        lifter.lift(keypoints, image_size=SIZE, frames=slice(0, 10, 2))


def test_mediapipe_input_equals_coco_input(lifter, keypoints):
    mediapipe = np.full((len(keypoints), 33, 2), 5.0, dtype=np.float32)
    mediapipe[:, MEDIAPIPE33_TO_COCO17] = keypoints
    np.testing.assert_allclose(
        lifter.lift(mediapipe, image_size=SIZE, layout="mediapipe33"),
        lifter.lift(keypoints, image_size=SIZE),
    )


def test_missing_and_low_score_joints_are_interpolated(lifter, keypoints):
    # Make the sequence linear in time so interpolation recovers it exactly.
    t = np.arange(len(keypoints))[:, None, None]
    linear = keypoints[:1] + 3.0 * t
    expected = lifter.lift(linear, image_size=SIZE)
    holes = linear.copy()
    holes[10:13, 4] = np.nan
    scores = np.ones(linear.shape[:2], dtype=np.float32)
    scores[20, 7] = 0.05
    holes[20, 7] = [0.0, 0.0]  # garbage under a low score
    np.testing.assert_allclose(lifter.lift(holes, scores, image_size=SIZE), expected, atol=1e-4)


def test_a_joint_never_seen_does_not_crash(lifter, keypoints):
    holes = keypoints.copy()
    holes[:, 15] = np.nan
    assert np.isfinite(lifter.lift(holes, image_size=SIZE)).all()


def test_flip_augmentation_is_symmetric(lifter, keypoints):
    plain = lifter.lift(keypoints, image_size=SIZE)
    flipped = lifter.lift(keypoints, image_size=SIZE, flip_augment=True)
    assert flipped.shape == plain.shape and not np.allclose(flipped, plain)
    # Mirroring the input image mirrors the flip-averaged output exactly.
    mirrored_input = keypoints.copy()
    mirrored_input[..., 0] = SIZE[0] - mirrored_input[..., 0]
    mirrored_input = mirrored_input[:, [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]]
    from pose3d.skeleton import flip_lr

    np.testing.assert_allclose(
        flip_lr(lifter.lift(mirrored_input, image_size=SIZE, flip_augment=True), "h36m17"),
        flipped,
        atol=1e-5,
    )


def test_a_checkpoint_marked_flip_test_lifts_flip_averaged_by_default(keypoints, tmp_path):
    from pose3d.checkpoint import save_checkpoint

    plain = make_lifter()
    plain.metadata.flip_test = True
    save_checkpoint(tmp_path / "flip.pt", plain.model, plain.metadata)
    marked = Lifter.from_checkpoint(tmp_path / "flip.pt")
    assert marked.metadata.flip_test
    np.testing.assert_allclose(
        marked.lift(keypoints, image_size=SIZE),
        plain.lift(keypoints, image_size=SIZE, flip_augment=True),
        atol=1e-6,
    )
    # An explicit choice wins over the checkpoint's.
    np.testing.assert_allclose(
        marked.lift(keypoints, image_size=SIZE, flip_augment=False),
        plain.lift(keypoints, image_size=SIZE, flip_augment=False),
        atol=1e-6,
    )
    assert not np.allclose(
        marked.lift(keypoints, image_size=SIZE),
        marked.lift(keypoints, image_size=SIZE, flip_augment=False),
    )


def test_resampling_to_model_fps_keeps_input_length(keypoints):
    lifter = make_lifter(fps=30.0)
    at_60 = np.repeat(keypoints, 2, axis=0)[:-1]  # the same motion sampled at 60 fps
    poses_60 = lifter.lift(at_60, image_size=SIZE, fps=60.0)
    assert poses_60.shape == (len(at_60), 17, 3)
    # Frames that coincide with 30-fps samples lift like the 30-fps input, approx.
    poses_30 = lifter.lift(keypoints, image_size=SIZE, fps=30.0)
    assert np.abs(poses_60[::2] - poses_30).mean() < 0.2 * np.abs(poses_30).mean()


def test_stream_matches_causal_offline_lifting(causal_lifter, keypoints):
    offline = causal_lifter.lift(keypoints, image_size=SIZE)
    stream = causal_lifter.stream(image_size=SIZE, warmup_frames=1)
    online = np.stack([stream.push(frame) for frame in keypoints])
    np.testing.assert_allclose(online, offline, atol=1e-5)


def test_stream_warms_up_and_has_bounded_memory(causal_lifter, keypoints):
    stream = causal_lifter.stream(image_size=SIZE)
    rf = causal_lifter.receptive_field
    results = [stream.push(frame) for frame in keypoints]
    assert all(r is None for r in results[: rf - 1])
    assert all(r is not None and r.shape == (17, 3) for r in results[rf - 1 :])
    assert sum(len(cache) for cache in stream.state().caches) == rf - 1


def test_stream_holds_missing_joints_and_skips_empty_start(causal_lifter, keypoints):
    stream = causal_lifter.stream(image_size=SIZE, warmup_frames=1)
    assert stream.push(np.full((17, 2), np.nan)) is None
    stream.push(keypoints[0])
    frame = keypoints[1].copy()
    frame[3] = np.nan
    assert np.isfinite(stream.push(frame)).all()


def test_stream_needs_a_causal_model(lifter):
    with pytest.raises(ValueError, match="causal"):
        lifter.stream(image_size=SIZE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keypoints": np.zeros((10, 17, 3))}, r"shape \(T, J, 2\)"),
        ({"keypoints": np.zeros((17, 2))}, r"shape \(T, J, 2\)"),
        ({"keypoints": np.zeros((10, 18, 2))}, "has 17 joints but keypoints have 18"),
        ({"keypoints": np.zeros((0, 17, 2))}, "too few frames"),
        ({"keypoints": np.full((10, 17, 2), np.nan)}, "every keypoint is missing"),
        ({"layout": "openpose"}, "unknown layout 'openpose'"),
        ({"layout": "h36m17"}, "not a 2D input layout"),
        ({"image_size": (0, 1920)}, "image_size"),
        ({"image_size": (1080,)}, "image_size"),
        ({"fps": 0}, "fps must be positive"),
        ({"scores": np.ones((10, 16))}, "scores must have shape"),
        ({"scores": np.full((10, 17), 2.0)}, r"scores must lie in \[0, 1\]"),
    ],
)
def test_bad_input_is_rejected_with_a_named_problem(lifter, kwargs, message):
    args = {"keypoints": np.ones((10, 17, 2)), "image_size": SIZE, **kwargs}
    with pytest.raises(ValueError, match=message):
        lifter.lift(**args)


def test_missing_bundled_model_has_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(lifter_module, "DEFAULT_CHECKPOINT", tmp_path / "default.pt")
    with pytest.raises(ModelNotBundledError, match="no default lifter is bundled"):
        Lifter.from_checkpoint()


def test_batched_stream_pushes_equal_single_pushes(causal_lifter, keypoints):
    single = causal_lifter.stream(image_size=SIZE, warmup_frames=3)
    batched = causal_lifter.stream(image_size=SIZE, warmup_frames=3)
    one_by_one = [single.push(frame) for frame in keypoints]
    in_batches = [
        p
        for start in range(0, len(keypoints), 7)
        for p in batched.push_many(keypoints[start : start + 7])
    ]
    assert [p is None for p in one_by_one] == [p is None for p in in_batches]
    np.testing.assert_allclose(np.stack(one_by_one[2:]), np.stack(in_batches[2:]), atol=1e-5)


def test_recordings_use_the_bundled_offline_model_when_one_ships(tmp_path, monkeypatch):
    import pose3d.lifter as lifter_module
    from pose3d.checkpoint import LifterMetadata, save_checkpoint
    from pose3d.lifter import Lifter
    from tests.conftest import make_model

    def bundle(name: str, causal: bool) -> None:
        model = make_model((3,), causal=causal, channels=8)
        metadata = LifterMetadata(architecture=model.hyperparameters, fps=30, version=name)
        save_checkpoint(tmp_path / f"{name}.pt", model, metadata)

    bundle("default", causal=True)
    monkeypatch.setattr(lifter_module, "DEFAULT_CHECKPOINT", tmp_path / "default.pt")
    monkeypatch.setattr(lifter_module, "OFFLINE_CHECKPOINT", tmp_path / "offline.pt")
    assert Lifter.for_recordings().metadata.version == "default"  # none ships: the default
    bundle("offline", causal=False)
    recordings = Lifter.for_recordings()
    assert recordings.metadata.version == "offline" and not recordings.causal
