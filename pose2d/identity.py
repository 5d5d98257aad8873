"""Frames where the 2D tracker followed someone else, found and blanked before lifting.

With other people in view, the phone's tracker sometimes locks onto one of them for a
while, and reports them as confidently as the user. Lifted and scored, those frames
would judge a stranger's form as the user's.

:func:`follow_person` cuts the sequence wherever the body jumps: where the midpoints of
the left/right pairs (which a label swap does not move) are, at the median, farther from
where the frames before or after put them (not moved, or moved on at the same velocity:
a runner's stride is no jump) than a body can be, in torso lengths, with an allowance
growing with the frames between two sightings. The stretches between jumps are then
chained into people: a stretch continues an earlier one that ended where (or, at the
velocity it had, near where) it starts, within the same allowance, the most plausible
pairs first; a stretch too short to be anyone (a glitch) is nobody's. The person seen
in the most frames is the user; every other person's frames are blanked
(NaN keypoints, score 0), so the lifter fills them in from the user's frames around them
and scoring's confidence gates leave them unjudged.

It cannot tell people apart who stand where the other was: a passer-by who steps into
the user's place is taken for the user, and if someone else is followed for more than
half of a sequence, they are taken for the user. :attr:`IdentityTrack.main_share` says
how much of the sequence the chosen person covers, for the caller to refuse or warn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pose2d.body import pair_midpoints, torso_axis, torso_scale, visible
from pose3d.keypoints import validate_keypoints
from pose3d.nan_median import nan_median_rows
from pose3d.skeleton import Layout


@dataclass(frozen=True)
class IdentitySettings:
    """Thresholds of :func:`follow_person`, in torso lengths (hips' midpoint to
    shoulders' midpoint).

    Attributes:
        jump: How far the pair midpoints may be, at the median, from where consecutive
            frames put them before they show another person.
        speed: Extra allowance per second between two sightings (a person walking or
            dancing across the image).
        max_allowance: The allowance never grows beyond this, however long the gap.
        min_points: Fewest pair midpoints seen in both frames for a comparison.
        min_person_s: Someone seen for less (seconds) is a glitch, nobody to come back to.
        min_main_share: Below this share of the frames seen as the main person,
            :attr:`IdentityTrack.main_too_rare` is set.
    """

    jump: float = 0.3
    speed: float = 2.0
    max_allowance: float = 8.0
    min_points: int = 3
    min_person_s: float = 0.4
    min_main_share: float = 0.5


DEFAULT_IDENTITY_SETTINGS = IdentitySettings()
_VELOCITY_S = 0.25  # a person's velocity is measured over their last quarter second
_HORIZON = 16  # a stretch can continue one of the 16 before it: bounds the cost per jump


@dataclass
class IdentityTrack:
    """Who :func:`follow_person` kept.

    Attributes:
        frames: Frames in the sequence.
        blanked: ``[(start, end), ...]`` frame ranges ``[start, end)`` that showed
            another person and were blanked.
        people: How many people the sequence showed, glitches of a few frames included
            (0 when it shows nobody).
        main_share: Share of the frames that show the main person (the user).
        main_too_rare: The main person is in less than ``min_main_share`` (half) of the
            frames: too little of the sequence is the user to judge it as theirs.
    """

    frames: int
    blanked: list[tuple[int, int]] = field(default_factory=list)
    people: int = 0
    main_share: float = 0.0
    main_too_rare: bool = True

    @property
    def blanked_frames(self) -> int:
        """Frames blanked, in all."""
        return sum(end - start for start, end in self.blanked)


def follow_person(
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float,
    layout: str | Layout = "mediapipe33",
    settings: IdentitySettings = DEFAULT_IDENTITY_SETTINGS,
) -> tuple[np.ndarray, np.ndarray, IdentityTrack]:
    """Keep the person seen for most of the sequence; blank the frames of anyone else.

    Args:
        keypoints: ``(T, J, 2)`` px, NaN where unseen.
        scores: ``(T, J)`` in [0, 1].
        fps: Frames per second (the allowance for moving between two sightings).
        layout: Layout of axis 1.

    Returns:
        ``(keypoints (T, J, 2) float32, scores (T, J) float32, IdentityTrack)``: new
        arrays, NaN and 0 in the blanked frames and equal to the inputs elsewhere. O(T)
        time and memory.
    """
    points, conf, lay = validate_keypoints(keypoints, scores, layout)
    person = people_in(points, conf, fps, lay, settings)
    frames = len(points)
    track = IdentityTrack(frames)
    points, conf = points.copy(), conf.copy()
    if (person < 0).all():
        return points, conf, track
    counts = np.bincount(person[person >= 0])
    main = int(counts.argmax())
    other = (person >= 0) & (person != main)
    points[other] = np.nan
    conf[other] = 0.0
    edges = np.flatnonzero(np.diff(np.r_[0, other.astype(np.int8), 0]))
    track.blanked = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    track.people = len(counts)
    track.main_share = float(counts[main] / frames)
    track.main_too_rare = track.main_share < settings.min_main_share
    return points, conf, track


def people_in(
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float,
    layout: Layout,
    settings: IdentitySettings = DEFAULT_IDENTITY_SETTINGS,
) -> np.ndarray:
    """``(T,)`` int: which person each frame shows (0, 1, ... in order of appearance;
    -1 for frames with no keypoint at all).

    Args:
        keypoints: ``(T, J, 2)`` px; ``scores`` ``(T, J)`` (a detector's low scores still
            place a joint near the body, so every finite keypoint counts).
    """
    seen = visible(keypoints, scores, 0.0)
    mids, mids_seen = pair_midpoints(keypoints, seen, layout)
    scale = torso_scale(torso_axis(keypoints, seen, layout), fps)
    anchored = np.flatnonzero(mids_seen.sum(axis=1) >= settings.min_points)
    person = np.full(len(keypoints), -1)
    any_seen = seen.any(axis=1)
    if anchored.size == 0:
        person[any_seen] = 0
        return person
    # From the frames before, and back from the frames after: the first frame of a
    # sequence or after a gap has no velocity before it.
    forward = _misses(
        mids, mids_seen, np.r_[-1, anchored[:-2]], anchored[:-1], anchored[1:], scale, settings
    )
    backward = _misses(
        mids, mids_seen, np.r_[anchored[2:], -1], anchored[1:], anchored[:-1], scale, settings
    )
    misses = np.minimum(forward, backward)
    jumps = np.flatnonzero(misses > _allowance(np.diff(anchored), fps, settings)) + 1
    labels = _join_stretches(mids, mids_seen, anchored, jumps, scale, fps, settings)
    # Frames with a few keypoints but no anchor go with the nearest anchored frame.
    frames = np.arange(len(keypoints))
    after = np.clip(np.searchsorted(anchored, frames), 0, anchored.size - 1)
    before = np.clip(after - 1, 0, anchored.size - 1)
    nearest = np.where(
        np.abs(frames - anchored[before]) <= np.abs(anchored[after] - frames), before, after
    )
    person[any_seen] = labels[nearest[any_seen]]
    return person


def _join_stretches(
    mids: np.ndarray,
    seen: np.ndarray,
    anchored: np.ndarray,
    jumps: np.ndarray,
    scale: np.ndarray,
    fps: float,
    settings: IdentitySettings,
) -> np.ndarray:
    """Person of each ``anchored`` frame ``(K,)``: the stretches between ``jumps``
    (indices into ``anchored``) chained into people.

    Stretch ``j`` can continue an earlier stretch ``i`` (one of the :data:`_HORIZON`
    before it) when its first frame is where ``i`` ended, or where ``i``'s velocity over
    its last :data:`_VELOCITY_S` would have taken it, within the allowance for the frames
    between. Of all such pairs the most plausible (smallest miss for its allowance) are
    chained first, each stretch continuing one and continued by one: so a stranger who
    happens to appear near where the user was is not taken for the user when the user
    comes back nearer still. A stretch shorter than ``min_person_s`` is a glitch (a frame
    or two of garbage, or someone glimpsed): a person of its own, never chained.
    """
    starts, ends = np.r_[0, jumps], np.r_[jumps, anchored.size]
    count = len(starts)
    first, last = anchored[starts], anchored[ends - 1]
    window = max(1, round(_VELOCITY_S * fps))
    # A frame about _VELOCITY_S before each stretch's end (its start, if shorter).
    back = np.searchsorted(anchored, last - window, side="right") - 1
    earlier = anchored[np.maximum(back, starts)]
    chainable = np.flatnonzero(ends - starts >= settings.min_person_s * fps)
    pairs = [(i, j) for n, i in enumerate(chainable) for j in chainable[n + 1 : n + 1 + _HORIZON]]
    successor, predecessor = np.full(count, -1), np.full(count, -1)
    if pairs:
        before, after = (np.array(side) for side in zip(*pairs, strict=True))
        miss = _misses(mids, seen, earlier[before], last[before], first[after], scale, settings)
        ratio = miss / _allowance(first[after] - last[before], fps, settings)
        for k in np.argsort(ratio, kind="stable"):
            if ratio[k] >= 1.0:
                break
            i, j = before[k], after[k]
            if successor[i] < 0 and predecessor[j] < 0:
                successor[i], predecessor[j] = j, i
    person = np.full(count, -1)
    people = 0
    for i in range(count):
        if person[i] >= 0:
            continue
        chain = i
        while chain >= 0:
            person[chain] = people
            chain = successor[chain]
        people += 1
    return np.repeat(person, ends - starts)


def _median_distance(
    a: np.ndarray, b: np.ndarray, common: np.ndarray, settings: IdentitySettings
) -> tuple[np.ndarray, np.ndarray]:
    """Median distance between points ``a`` and ``b`` ``(K, P, 2)`` px over the ``common``
    ``(K, P)`` ones: ``(distance (K,) px, measured (K,) bool)``; not measured (and 0)
    where fewer than ``min_points`` are common."""
    distance = np.where(common, np.linalg.norm(a - b, axis=-1), np.nan)
    measured = common.sum(axis=1) >= settings.min_points
    median = np.zeros(len(a))
    if measured.any():
        median[measured] = nan_median_rows(distance[measured])
    return median, measured


def _misses(
    mids: np.ndarray,
    seen: np.ndarray,
    earlier: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    scale: np.ndarray,
    settings: IdentitySettings,
) -> np.ndarray:
    """How far (torso lengths) the pair midpoints ``(T, P, 2)`` px seen ``(T, P)`` are in
    frames ``after`` ``(K,)`` from where frames ``before`` (and ``earlier``, -1 for none)
    put them: the smaller of the median move since ``before`` and the median miss of a
    constant-velocity prediction from ``earlier`` through ``before`` (which also works
    backward in time, ``earlier`` after ``before`` after ``after``). A runner's steady
    stride is no jump, and neither is the frame after a jump (it has not moved since).
    0 where too few midpoints are seen in both frames (no evidence). Returns ``(K,)``."""
    common = seen[before] & seen[after]
    miss, _ = _median_distance(mids[after], mids[before], common, settings)
    has_velocity = (earlier >= 0) & (earlier != before)
    if has_velocity.any():
        first, middle, last = earlier[has_velocity], before[has_velocity], after[has_velocity]
        stride = ((last - middle) / (middle - first))[:, None, None]
        predicted = mids[middle] + (mids[middle] - mids[first]) * stride
        common = seen[first] & seen[middle] & seen[last]
        velocity_miss, measured = _median_distance(mids[last], predicted, common, settings)
        miss[has_velocity] = np.where(
            measured, np.minimum(miss[has_velocity], velocity_miss), miss[has_velocity]
        )
    return miss / scale[after]


def _allowance(gap: np.ndarray | int, fps: float, settings: IdentitySettings) -> np.ndarray:
    """How far (torso lengths) the same person can have moved over ``gap`` frames."""
    return np.minimum(settings.max_allowance, settings.jump + settings.speed * (gap - 1) / fps)
