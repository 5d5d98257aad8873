"""Cached causal lifting equals the full-window computation it replaces.

``_WindowStream`` is the reference: the stream as it was before the caches (each frame's
pose is the strided twin run over the last receptive field of normalised frames, the
window padded with the first frame), kept here to check the cached stream against it for
complete keypoints, missing joints, warm-up and resets.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch

from pose3d.cached_stream import CachedCausalModel, StreamMemory
from pose3d.camera import normalize_screen_coordinates
from pose3d.keypoints import (
    DEFAULT_MIN_SCORE,
    missing_mask,
    to_input_layout,
    validate_keypoints,
)
from pose3d.lifter import Lifter, LiftStream, StreamState, lift_queued, lift_streams
from tests.conftest import make_lifter, make_model

SIZE = (1080, 1920)
TOLERANCE_M = 1e-4


class _WindowStream:
    """The full-window stream: the strided twin over the last receptive field per frame."""

    def __init__(self, lifter: Lifter, warmup_frames: int | None = None) -> None:
        self.lifter, self.model = lifter, lifter.strided_model()
        self.receptive_field = lifter.receptive_field
        self.warmup = self.receptive_field if warmup_frames is None else warmup_frames
        self.reset()

    def reset(self) -> None:
        self.window: deque[np.ndarray] = deque(maxlen=self.receptive_field)
        self.last_seen: np.ndarray | None = None
        self.frames_seen = 0

    def push_many(self, keypoints: np.ndarray, scores: np.ndarray | None = None) -> list:
        points, conf, layout = validate_keypoints(keypoints, scores, "coco17")
        points, conf = to_input_layout(points, conf, layout, "coco17")
        present = ~missing_mask(points, conf, DEFAULT_MIN_SCORE)
        windows = [
            self._window_of(frame, seen) for frame, seen in zip(points, present, strict=True)
        ]
        ready = [i for i, window in enumerate(windows) if window is not None]
        results: list[np.ndarray | None] = [None] * len(windows)
        if ready:
            with torch.inference_mode():
                batch = torch.from_numpy(np.stack([windows[i] for i in ready]))
                poses = self.model(batch)[:, -1].numpy().copy()
            poses[:, 0] = 0.0
            for i, pose in zip(ready, poses, strict=True):
                results[i] = pose
        return results

    def _window_of(self, frame: np.ndarray, seen: np.ndarray) -> np.ndarray | None:
        """Take in one frame; the window to lift (``None``: no pose for this frame)."""
        if not seen.all():
            if self.last_seen is not None:
                frame = np.where(seen[:, None], frame, self.last_seen)
            elif seen.any():
                frame = frame.copy()
                frame[~seen] = frame[seen].mean(axis=0)
            else:
                return None
        self.last_seen = frame
        normalised = normalize_screen_coordinates(frame, *SIZE)
        if not self.window:
            self.window.extend([normalised] * (self.receptive_field - 1))
        self.window.append(normalised)
        self.frames_seen += 1
        return np.stack(self.window) if self.frames_seen >= self.warmup else None


def _assert_same_poses(got: list, expected: list, atol: float = TOLERANCE_M) -> None:
    """Same ``None``s at the same frames and poses within ``atol`` metres elsewhere."""
    assert [p is None for p in got] == [p is None for p in expected]
    lifted = [i for i, p in enumerate(expected) if p is not None]
    assert lifted, "the comparison needs lifted frames"
    np.testing.assert_allclose(
        np.stack([got[i] for i in lifted]), np.stack([expected[i] for i in lifted]), atol=atol
    )


def _motion(frames: int, seed: int = 0) -> np.ndarray:
    """A smooth ``(frames, 17, 2)`` COCO-17 pixel sequence in a 1080x1920 frame."""
    rng = np.random.default_rng(seed)
    base = rng.uniform([300, 500], [800, 1500], size=(17, 2))
    t = np.arange(frames)[:, None, None]
    return (base + 40 * np.sin(t / 6 + rng.uniform(0, 6, (1, 17, 1)))).astype(np.float32)


def _with_gaps(keypoints: np.ndarray, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``keypoints`` with unseen joints: NaNs, low scores over garbage, empty frames at the
    start, and a joint first seen late."""
    rng = np.random.default_rng(seed)
    holes = keypoints.copy()
    scores = rng.uniform(0.5, 1.0, holes.shape[:2]).astype(np.float32)
    holes[rng.random(holes.shape[:2]) < 0.15] = np.nan
    low = rng.random(holes.shape[:2]) < 0.1
    scores[low], holes[low] = 0.1, 0.0
    holes[:3] = np.nan  # nothing seen yet: no pose, and not counted
    holes[3:20, 15] = np.nan  # seen first at frame 20: the centroid until then
    return holes, scores


@pytest.fixture(scope="module")
def bundled() -> Lifter:
    return Lifter.from_checkpoint()


@pytest.mark.parametrize(
    "widths", [(3,), (3, 3), (3, 3, 3), (3, 1, 5), (5, 3), (1,)], ids=lambda w: str(w)
)
def test_cached_model_equals_the_dilated_model_over_the_padded_window(widths):
    model = make_model(widths, causal=True, channels=24)
    network = CachedCausalModel(model)
    rf = model.receptive_field()
    inputs = np.random.default_rng(0).uniform(-1, 1, (60, 17, 2)).astype(np.float32)
    padded = np.concatenate([np.repeat(inputs[:1], rf - 1, axis=0), inputs])
    with torch.inference_mode():
        expected = model(torch.from_numpy(padded)[None])[0].numpy()
    rows = inputs.reshape(len(inputs), -1)
    memory = StreamMemory(network.initial_caches(rows[:1])[0])
    assert [c.shape for c in memory.caches()] == network.cache_shapes
    assert sum(shape[0] for shape in network.cache_shapes) == rf - 1
    got, start = [], 0
    for count in (1, 2, 5, 1, 17, 3, 31):  # steps of any size, past the buffers' room
        got.append(network.advance([memory], [rows[start : start + count]])[0])
        start += count
    np.testing.assert_allclose(np.concatenate(got), expected, atol=1e-5)


def test_small_and_large_passes_give_the_same_poses_in_numpy_and_torch():
    model = make_model((3, 3), causal=True, channels=24)
    network = CachedCausalModel(model)
    assert 1 < network.torch_min_rows < 40  # the passes below take both paths
    rng = np.random.default_rng(3)
    first = rng.uniform(-1, 1, (8, 34)).astype(np.float32)
    frames = [rng.uniform(-1, 1, (5, 34)).astype(np.float32) for _ in first]  # 40 rows
    poses = {}
    for name, min_rows in (("package", network.torch_min_rows), ("numpy", 10**9), ("torch", 0)):
        network.torch_min_rows = min_rows
        memories = [StreamMemory(c) for c in network.initial_caches(first)]
        lone = network.advance(memories[:1], frames[:1])  # 5 rows
        poses[name] = lone + network.advance(memories[1:], frames[1:])  # 35 rows
    for name in ("numpy", "torch"):
        for got, expected in zip(poses[name], poses["package"], strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_bundled_stream_equals_offline_causal_lifting(bundled):
    keypoints = _motion(200)
    stream = bundled.stream(image_size=SIZE, warmup_frames=1)
    online = [p for start in range(0, 200, 7) for p in stream.push_many(keypoints[start:][:7])]
    np.testing.assert_allclose(
        np.stack(online), bundled.lift(keypoints, image_size=SIZE), atol=TOLERANCE_M
    )


@pytest.mark.parametrize("warmup", [1, 3, None])
@pytest.mark.parametrize("gaps", [False, True], ids=["complete", "missing joints"])
def test_the_stream_equals_the_full_window_stream(bundled, warmup, gaps):
    keypoints, scores = _motion(150), None
    if gaps:
        keypoints, scores = _with_gaps(keypoints)
    reference = _WindowStream(bundled, warmup)
    expected = reference.push_many(keypoints, scores)
    one_by_one = bundled.stream(image_size=SIZE, warmup_frames=warmup)
    _assert_same_poses(
        [one_by_one.push(keypoints[i], None if scores is None else scores[i]) for i in range(150)],
        expected,
    )
    batched = bundled.stream(image_size=SIZE, warmup_frames=warmup)
    chunks = [(0, 1), (1, 9), (9, 14), (14, 120), (120, 150)]
    got = [
        p
        for a, b in chunks
        for p in batched.push_many(keypoints[a:b], None if scores is None else scores[a:b])
    ]
    _assert_same_poses(got, expected)
    assert one_by_one.frames_seen == batched.frames_seen == reference.frames_seen


def test_a_reset_stream_starts_again_like_a_new_one(bundled):
    first, second = _motion(60, seed=2), _motion(90, seed=3)
    stream = bundled.stream(image_size=SIZE, warmup_frames=5)
    stream.push_many(first)
    stream.reset()
    assert stream.frames_seen == 0 and stream.state().caches == []
    reference = _WindowStream(bundled, 5)
    _assert_same_poses(stream.push_many(second), reference.push_many(second))


def test_small_models_match_the_full_window_stream_with_gaps():
    lifter = make_lifter((3, 3, 3), causal=True)
    keypoints, scores = _with_gaps(_motion(80))
    stream = lifter.stream(image_size=SIZE, warmup_frames=2)
    got = [p for a in range(0, 80, 6) for p in stream.push_many(keypoints[a:][:6], scores[a:][:6])]
    _assert_same_poses(got, _WindowStream(lifter, 2).push_many(keypoints, scores), atol=1e-5)


@pytest.mark.parametrize("cut", [0, 2, 5, 40, 130])
def test_a_restored_stream_goes_on_with_identical_poses(bundled, cut):
    keypoints, scores = _with_gaps(_motion(160))
    original = bundled.stream(image_size=SIZE, warmup_frames=4)
    if cut:
        original.push_many(keypoints[:cut], scores[:cut])
    state = original.state()
    assert all(isinstance(cache, np.ndarray) for cache in state.caches)
    # Saved as plain arrays and ints (what a chunk holds), then restored elsewhere.
    saved = StreamState(
        [np.array(c) for c in state.caches], state.last_seen, int(state.frames_seen)
    )
    restored = bundled.stream(image_size=SIZE, warmup_frames=4)
    restored.restore(saved)
    assert restored.frames_seen == original.frames_seen
    for start in range(cut, 160, 11):
        a = original.push_many(keypoints[start : start + 11], scores[start : start + 11])
        b = restored.push_many(keypoints[start : start + 11], scores[start : start + 11])
        assert [p is None for p in a] == [p is None for p in b]
        assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True) if p is not None)
    # The state was a copy: pushing on did not change it.
    assert all(np.array_equal(c, s) for c, s in zip(state.caches, saved.caches, strict=True))


def test_the_state_is_the_receptive_field_and_not_more(bundled):
    stream = bundled.stream(image_size=SIZE, warmup_frames=1)
    stream.push_many(_motion(300))
    caches = stream.state().caches
    assert sum(len(c) for c in caches) == bundled.receptive_field - 1
    assert all(c.dtype == np.float32 for c in caches)


def test_a_state_from_another_model_is_refused(bundled, causal_lifter, keypoints):
    other = causal_lifter.stream(image_size=SIZE)
    other.push_many(keypoints)
    with pytest.raises(ValueError, match="do not fit this model"):
        bundled.stream(image_size=SIZE).restore(other.state())


def test_lifting_many_streams_at_once_equals_pushing_each(bundled):
    """Streams at different points (new, warming up, with gaps, nothing seen yet) and with
    different numbers of new frames lift as their own push_many would."""
    count = 7
    sequences = [_with_gaps(_motion(90, seed=s), seed=s) for s in range(count)]
    batched = [bundled.stream(image_size=SIZE, warmup_frames=w) for w in (1, 2, 5, 1, 81, 3, 1)]
    single = [bundled.stream(image_size=SIZE, warmup_frames=s.warmup_frames) for s in batched]
    sizes = [(1, 5, 2), (5, 1, 3), (3, 3, 3), (1, 1, 1), (8, 2, 1), (2, 7, 4), (5, 5, 5)]
    done = [0] * count
    for tick in range(12):
        chosen = [b for b in range(count) if tick % (b % 3 + 1) == 0]  # not all every tick
        frames = []
        for b in chosen:
            k = sizes[b][tick % 3]
            keypoints, scores = sequences[b]
            frames.append((keypoints[done[b] : done[b] + k], scores[done[b] : done[b] + k]))
            done[b] += k
        together = lift_streams([batched[b] for b in chosen], frames)
        for b, batch, got in zip(chosen, frames, together, strict=True):
            expected = single[b].push_many(*batch)
            assert [p is None for p in got] == [p is None for p in expected]
            for p, q in zip(got, expected, strict=True):
                if p is not None:
                    np.testing.assert_allclose(p, q, atol=1e-5)
    for mine, theirs in zip(batched, single, strict=True):
        assert mine.frames_seen == theirs.frames_seen


def test_lifting_many_streams_checks_every_stream_before_changing_any(bundled, keypoints):
    first, second = (bundled.stream(image_size=SIZE, warmup_frames=1) for _ in range(2))
    with pytest.raises(ValueError, match="joints"):
        lift_streams([first, second], [(keypoints[:2], None), (np.zeros((2, 16, 2)), None)])
    assert first.frames_seen == 0 and first.state().caches == []
    with pytest.raises(ValueError, match="only once"):
        lift_streams([first, first], [(keypoints[:1], None)] * 2)
    with pytest.raises(ValueError, match="2 streams but 1"):
        lift_streams([first, second], [(keypoints[:1], None)])
    other = make_lifter(causal=True).stream(image_size=SIZE)
    with pytest.raises(ValueError, match="share one lifter"):
        lift_streams([first, other], [(keypoints[:1], None)] * 2)
    assert lift_streams([], []) == []


def test_frames_queued_and_lifted_later_equal_frames_pushed(bundled):
    """Batches queued (answered with which frames give a pose before any network pass)
    and lifted in rounds of several streams give what pushing each batch gives: frames
    before the first seen joint, with gaps, during warm-up. A refused batch changes
    nothing, before a joint was seen and after."""
    sequences = [_with_gaps(_motion(60, seed=s), seed=s) for s in range(3)]
    queued = [bundled.stream(image_size=SIZE, warmup_frames=w) for w in (1, 4, 1)]
    pushed = [bundled.stream(image_size=SIZE, warmup_frames=s.warmup_frames) for s in queued]
    for start in range(0, 60, 10):
        expected: list[list[np.ndarray]] = [[] for _ in queued]  # poses since the last round
        for first, end in ((start, start + 4), (start + 4, start + 10)):  # two batches each
            for b, (keypoints, scores) in enumerate(sequences):
                gives = queued[b].queue(keypoints[first:end], scores[first:end])
                poses = pushed[b].push_many(keypoints[first:end], scores[first:end])
                assert gives.tolist() == [p is not None for p in poses]
                expected[b].extend(p for p in poses if p is not None)
        for poses, wanted in zip(lift_queued(queued), expected, strict=True):
            assert len(poses) == len(wanted)
            if wanted:
                np.testing.assert_allclose(poses, np.stack(wanted), atol=1e-5)
    for mine, theirs in zip(queued, pushed, strict=True):
        assert mine.frames_seen == theirs.frames_seen
        state, expected = mine.state(), theirs.state()
        for a, b in zip(state.caches, expected.caches, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)

    fresh = bundled.stream(image_size=SIZE, warmup_frames=1)
    for stream in (fresh, queued[0]):  # nothing seen yet, and seen
        seen_before = stream.frames_seen
        with pytest.raises(ValueError, match="joints"):
            stream.queue(np.zeros((2, 16, 2)))
        assert stream.frames_seen == seen_before and stream.take_queued() == []


def test_a_kept_pose_holds_only_its_own_stream(bundled, keypoints):
    streams = [bundled.stream(image_size=SIZE, warmup_frames=1) for _ in range(3)]
    poses = lift_streams(streams, [(keypoints[:2], None)] * 3)
    for stream_poses in poses:
        assert stream_poses[0].base is not None and stream_poses[0].base.shape == (2, 17, 3)


def test_streams_share_the_folded_network(bundled):
    first: LiftStream = bundled.stream(image_size=SIZE)
    second: LiftStream = bundled.stream(image_size=SIZE, layout="mediapipe33")
    assert first._network is second._network is bundled.cached_model
