"""Left/right label swaps of a 2D detector, found and undone before lifting.

MediaPipe sometimes calls the left side right and the right side left, for the whole
body or for both arms or both legs at once, for a second or so (mostly seen from the
side or from behind). Lifted as they are, those frames give a wildly wrong pose.

Each frame is in one of four states: labels as given, arms exchanged, legs exchanged,
or all exchanged (arms, legs and face). :func:`repair_swaps` picks the state sequence
of least cost (:func:`~pose2d.viterbi.cheapest_path`) where the costs are:

* motion: from one frame to the next each joint should stay near where the same body
  part was, so a change of state between two frames costs, per left/right pair, the
  distance from each joint to its own label's last position when the two frames agree
  and to its twin's when they do not (in torso lengths, capped so that one wild joint
  cannot decide; NaN and low-score joints left out);
* a fixed cost per change of state, so that jitter never flips labels;
* a body that does not face two ways at once: the shoulders, hips and face (ears and
  eyes) are all left-to-right or all right-to-left about the torso's axis (seen from
  the front or from behind), which tells an arms-only or legs-only swap from the body
  as given, even one that starts or ends outside the sequence;
* the side nearer the camera is the one the detector is sure of: seen from the side,
  the person faces the image's left or right (the nose ahead of the ears), and the
  joints of the side toward the camera score higher than their hidden twins. This is
  what tells a whole-body swap (after which the body still faces one way) from the body
  as given. It holds when the detector's scores follow what is visible, as MediaPipe's
  visibility is trained to and the simulator's scores do; a detector whose confidence
  followed its own mislabelling would leave only the majority below to decide;
* a small cost per frame and part held exchanged: where nothing else decides, the labels
  as given, right most of the time, win (the majority over the sequence).

Works on any layout with ``left_``/``right_`` twins (``mediapipe33``, ``coco17``):
arms are the shoulders down to the fingers, legs the hips down to the toes, the rest of
the pairs is the face.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pose2d.body import last_seen, torso_axis, torso_scale, visible
from pose2d.viterbi import cheapest_path
from pose3d.keypoints import validate_keypoints
from pose3d.skeleton import Layout, get_layout

PARTS = ("face", "arms", "legs")
_ARM_WORDS = ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")
_LEG_WORDS = ("hip", "knee", "ankle", "heel", "foot")  # "foot_index" is a leg, not a finger
# The four states and the parts each exchanges (face, arms, legs).
STATE_NAMES = ("as given", "arms", "legs", "all")
_FLIPS = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=bool)


@dataclass(frozen=True)
class SwapSettings:
    """Costs of :func:`repair_swaps`, in torso lengths of joint displacement.

    Attributes:
        min_score: Joints scored lower are left out of the motion and facing evidence.
        max_gap_s: A joint unseen for longer is not compared with its old position.
        cap: Most that one joint's displacement can cost.
        change_cost: Cost of one change of state.
        exchanged_cost: Cost per frame of each of arms and legs held exchanged.
        facing_cost: Weight of the cue that shoulders, hips and face face one way.
        visibility_cost: Weight of the cue that the side facing the camera is the one
            seen with confidence.
    """

    min_score: float = 0.3
    max_gap_s: float = 0.5
    cap: float = 1.0
    change_cost: float = 0.35
    exchanged_cost: float = 0.005
    facing_cost: float = 5.0
    visibility_cost: float = 0.5


DEFAULT_SWAP_SETTINGS = SwapSettings()


@dataclass
class SwapRepair:
    """What :func:`repair_swaps` changed.

    Attributes:
        frames: Frames whose labels were exchanged back, per part (``"all"``,
            ``"arms"``, ``"legs"``).
        stretches: ``[(start, end, part), ...]`` frames ``[start, end)`` repaired.
    """

    frames: dict[str, int] = field(default_factory=lambda: {"all": 0, "arms": 0, "legs": 0})
    stretches: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Frames repaired, any part."""
        return sum(self.frames.values())


def side_pairs(layout: Layout) -> dict[str, list[tuple[int, int]]]:
    """``layout``'s ``(left, right)`` index pairs by part: ``"face"``, ``"arms"``,
    ``"legs"`` (by joint name; pairs that are neither limb belong to the face)."""
    pairs: dict[str, list[tuple[int, int]]] = {part: [] for part in PARTS}
    for left, right in zip(layout.left, layout.right, strict=True):
        name = layout.joint_names[left]
        if any(word in name for word in _LEG_WORDS):
            pairs["legs"].append((left, right))
        elif any(word in name for word in _ARM_WORDS):
            pairs["arms"].append((left, right))
        else:
            pairs["face"].append((left, right))
    return pairs


def swap_states(
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float,
    layout: str | Layout,
    settings: SwapSettings = DEFAULT_SWAP_SETTINGS,
) -> np.ndarray:
    """``(T,)`` int: each frame's state, an index into :data:`STATE_NAMES`, for
    ``keypoints`` ``(T, J, 2)`` px and ``scores`` ``(T, J)`` at ``fps``."""
    points, conf, lay = validate_keypoints(keypoints, scores, layout)
    points = points.astype(np.float64)
    seen = visible(points, conf, settings.min_score)
    # The torso's axis and length do not depend on the labels, and a joint the detector
    # is unsure of (the far shoulder seen side-on) still places them well enough.
    placed = visible(points, conf, 0.0)
    axis = torso_axis(points, placed, lay)
    scale = torso_scale(axis, fps)
    pairs = side_pairs(lay)
    same, cross = _motion_evidence(points, seen, pairs, scale, fps, settings)
    flips = _FLIPS.astype(np.float64)
    changed = flips[:, None, :] != flips[None, :, :]  # (S, S, parts): part flips between states
    pairwise = np.where(changed[None], cross[:, None, None, :], same[:, None, None, :]).sum(-1)
    pairwise += settings.change_cost * (np.arange(4)[:, None] != np.arange(4)[None, :])
    unary = settings.exchanged_cost * flips[:, 1:].sum(axis=1)[None, :]
    measures = _facing_measures(points, seen, lay, axis)
    unary = unary + settings.facing_cost * _facing_conflict(measures)
    unary = unary + settings.visibility_cost * _visibility_conflict(points, conf, lay, axis, pairs)
    return cheapest_path(unary, pairwise[1:])


def repair_swaps(
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float,
    layout: str | Layout = "mediapipe33",
    settings: SwapSettings = DEFAULT_SWAP_SETTINGS,
) -> tuple[np.ndarray, np.ndarray, SwapRepair]:
    """Find left/right label swaps and exchange those labels back.

    Args:
        keypoints: ``(T, J, 2)`` px, NaN where unseen.
        scores: ``(T, J)`` in [0, 1].
        fps: Frames per second (the gap over which a joint is still compared).
        layout: Layout of axis 1.

    Returns:
        ``(keypoints (T, J, 2) float32, scores (T, J) float32, SwapRepair)``: new arrays,
        equal to the inputs where nothing was repaired. O(T) time and memory.
    """
    points, conf, lay = validate_keypoints(keypoints, scores, layout)
    states = swap_states(points, conf, fps, lay, settings)
    points, conf = exchange_sides(points, conf, states, lay)
    return points, conf, _summary(states)


def exchange_sides(
    keypoints: np.ndarray, scores: np.ndarray, states: np.ndarray, layout: str | Layout
) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``keypoints`` ``(T, J, 2)`` and ``scores`` ``(T, J)`` with the parts that
    each frame's state ``(T,)`` (an index into :data:`STATE_NAMES`) names exchanged
    between left and right."""
    lay = get_layout(layout) if isinstance(layout, str) else layout
    pairs = side_pairs(lay)
    points, conf = keypoints.copy(), scores.copy()
    for state in range(1, len(STATE_NAMES)):
        frames = np.flatnonzero(states == state)
        for part, flipped in zip(PARTS, _FLIPS[state], strict=True):
            if not flipped or not pairs[part] or not frames.size:
                continue
            left, right = (list(side) for side in zip(*pairs[part], strict=True))
            rows = frames[:, None]
            points[rows, left + right] = keypoints[rows, right + left]
            conf[rows, left + right] = scores[rows, right + left]
    return points, conf


def _summary(states: np.ndarray) -> SwapRepair:
    """The repaired frames and stretches of a ``(T,)`` state sequence."""
    repair = SwapRepair()
    edges = np.flatnonzero(np.diff(states)) + 1
    for start, end in zip(np.r_[0, edges], np.r_[edges, len(states)], strict=True):
        state = int(states[start])
        if state == 0:
            continue
        part = STATE_NAMES[state]
        repair.frames[part] += int(end - start)
        repair.stretches.append((int(start), int(end), part))
    return repair


def _motion_evidence(
    points: np.ndarray,
    seen: np.ndarray,
    pairs: dict[str, list[tuple[int, int]]],
    scale: np.ndarray,
    fps: float,
    settings: SwapSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each part keeping or exchanging its labels from one frame to the next.

    For every left/right pair and frame, each joint seen now is measured against where
    its own label and where its twin's label were last seen (within ``max_gap_s``):
    the former counts toward keeping the labels, the latter toward exchanging them.

    Args:
        points: ``(T, J, 2)`` px; ``seen`` ``(T, J)`` bool; ``scale`` ``(T,)`` px.

    Returns:
        ``(same (T, 3), cross (T, 3))`` costs per part (:data:`PARTS`), zero in frame 0.
    """
    before, found = last_seen(points, seen, max(1, round(settings.max_gap_s * fps)))
    same = np.zeros((len(points), len(PARTS)))
    cross = np.zeros((len(points), len(PARTS)))
    for column, part in enumerate(PARTS):
        if not pairs[part]:
            continue
        left, right = (list(side) for side in zip(*pairs[part], strict=True))
        comparable = found[:, left] & found[:, right]
        for now, own, twin in ((left, left, right), (right, right, left)):
            usable = seen[:, now] & comparable
            keep = np.linalg.norm(points[:, now] - before[:, own], axis=-1) / scale[:, None]
            swap = np.linalg.norm(points[:, now] - before[:, twin], axis=-1) / scale[:, None]
            same[:, column] += np.where(usable, np.minimum(keep, settings.cap), 0).sum(axis=1)
            cross[:, column] += np.where(usable, np.minimum(swap, settings.cap), 0).sum(axis=1)
    return same, cross


def _facing_measures(
    points: np.ndarray, seen: np.ndarray, layout: Layout, axis: np.ndarray
) -> np.ndarray:
    """``(T, 3)`` which way the face (ears and eyes), shoulders and hips face, as given.

    Each pair's left-to-right direction, crossed with the torso's axis ``(T, 2)`` px and
    divided by its squared length: positive for a body seen from the front, negative
    from behind, near zero side-on; 0 where the pair is not ``seen`` ``(T, J)``.
    """
    length_sq = (axis**2).sum(axis=-1)
    measures = []
    for names in (("ear", "eye"), ("shoulder",), ("hip",)):
        values = []
        for name in names:
            left, right = layout.index(f"left_{name}"), layout.index(f"right_{name}")
            across = points[:, left] - points[:, right]
            with np.errstate(divide="ignore", invalid="ignore"):
                value = (axis[:, 0] * across[:, 1] - axis[:, 1] * across[:, 0]) / length_sq
            values.append(np.where(seen[:, left] & seen[:, right], value, np.nan))
        stacked = np.stack(values)
        count = np.isfinite(stacked).sum(axis=0)
        measures.append(np.where(count > 0, np.nansum(stacked, axis=0) / np.maximum(count, 1), 0))
    return np.nan_to_num(np.stack(measures, axis=-1), nan=0.0, posinf=0.0, neginf=0.0)


def _per_state(measures: np.ndarray) -> np.ndarray:
    """``(T, 4, 3)``: per-part ``measures`` ``(T, 3)`` with each state's flips applied."""
    return measures[:, None, :] * np.where(_FLIPS, -1.0, 1.0)[None]


def _facing_conflict(measures: np.ndarray) -> np.ndarray:
    """``(T, 4)`` how much each state makes the face, shoulders and hips (``measures``,
    :func:`_facing_measures`) face different ways: the product of every two that
    disagree. In the torso's own units, so a person twisting at the waist seen from the
    side costs next to nothing."""
    facing = _per_state(measures)
    conflict = np.zeros(facing.shape[:2])
    for a, b in ((0, 1), (0, 2), (1, 2)):
        conflict += np.maximum(0.0, -facing[..., a] * facing[..., b])
    return conflict


def _visibility_conflict(
    points: np.ndarray,
    scores: np.ndarray,
    layout: Layout,
    axis: np.ndarray,
    pairs: dict[str, list[tuple[int, int]]],
) -> np.ndarray:
    """``(T, 4)`` how much each state disagrees with which side the detector is sure of.

    The person faces the image's right when the nose is ahead of the ears' midpoint to
    the right across the torso's axis ``(T, 2)`` px (in torso lengths; near zero from
    the front or behind); then their right side is nearer the camera, and its joints
    should score higher than their left twins in ``scores`` ``(T, J)``. Each part whose
    labels, under a state, make the far side the surer one costs the product of how far
    the nose is ahead and the mean score difference of its pairs.
    """
    nose, ears = layout.index("nose"), [layout.index("left_ear"), layout.index("right_ear")]
    ahead = points[:, nose] - points[:, ears].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        facing_right = (axis[:, 0] * ahead[:, 1] - axis[:, 1] * ahead[:, 0]) / (axis**2).sum(-1)
    facing_right = np.nan_to_num(facing_right, nan=0.0, posinf=0.0, neginf=0.0)
    surer_left = np.zeros((len(points), len(PARTS)))  # left minus right score, per part
    for column, part in enumerate(PARTS):
        if pairs[part]:
            left, right = (list(side) for side in zip(*pairs[part], strict=True))
            surer_left[:, column] = (scores[:, left] - scores[:, right]).mean(axis=1)
    sides = _per_state(surer_left)  # (T, 4, 3)
    return np.maximum(0.0, facing_right[:, None, None] * sides).sum(axis=-1)
