"""The user among everyone a video shows: per-frame detections linked into people.

A tracker of one person locks onto whoever it finds first and may hop to a passer-by.
So server-side extraction (:mod:`pose2d.video`) also searches frames afresh, and once a
search finds someone besides the person tracked (:func:`someone_else`), it asks
MediaPipe for up to :data:`MAX_PEOPLE` people in every frame. Their detections come in
no particular order, so :func:`choose_user` links them across frames into people and
keeps one: each detection continues the person it is nearest to (the swap-invariant
pair midpoints of :mod:`pose2d.body`, at the median, in that person's torso lengths,
within :mod:`pose2d.identity`'s allowance for the frames between two sightings), the
people seen most recently first, and starts a new person otherwise. The user is the
person with the most torso-length-frames: seen longest and largest, so a bystander in
the background the whole time (smaller) and a passer-by in front of the camera
(larger, but briefly) both lose to the person being filmed.

Frames that show only other people give no keypoints; the front end
(:func:`pose2d.front_end.clean_keypoints`) still runs afterwards on the chosen sequence,
so a hop this linking could not see (someone stepping exactly into the user's place)
is handled as in every other path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose2d.body import pair_midpoints, torso_axis, visible
from pose2d.identity import DEFAULT_IDENTITY_SETTINGS, IdentitySettings
from pose3d.nan_median import nan_median_rows
from pose3d.skeleton import Layout, get_layout

MAX_PEOPLE = 3  # people MediaPipe looks for in a video with others (each costs a pass)
_ACTIVE = 16  # people a detection may continue: the most recently seen (bounds the cost)
_VELOCITY_GAP = 3  # frames: a person's velocity is measured between sightings this close
_SURE_SCORE = 0.5  # joints scored lower are placed by the detector, not seen


@dataclass(frozen=True)
class UserChoice:
    """Who :func:`choose_user` kept.

    Attributes:
        frames: Frames in the video.
        people: People seen for at least ``min_person_s`` (the user among them; someone
            lost for long and found again elsewhere counts twice).
        user_frames: Frames that show the user.
        other_frames: Frames that show someone else but not the user (no keypoints
            kept for them).
    """

    frames: int
    people: int
    user_frames: int
    other_frames: int


def choose_user(
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float,
    layout: str | Layout = "mediapipe33",
    settings: IdentitySettings = DEFAULT_IDENTITY_SETTINGS,
) -> tuple[np.ndarray, np.ndarray, UserChoice]:
    """The user's keypoints in each frame of a video with several people.

    Args:
        keypoints: ``(T, P, J, 2)`` px: up to ``P`` detections per frame in any order,
            NaN for a slot with nobody.
        scores: ``(T, P, J)`` in [0, 1], 0 for a slot with nobody.
        fps: Frames per second (the allowance for moving between two sightings).
        layout: Layout of axis 2.

    Returns:
        ``(keypoints (T, J, 2) float32, scores (T, J) float32, UserChoice)``: the user's
        detection in each frame, NaN and 0 where the user is not seen. O(T P) time and
        memory.
    """
    lay = get_layout(layout) if isinstance(layout, str) else layout
    if keypoints.ndim != 4 or keypoints.shape[-1] != 2 or keypoints.shape[2] != lay.num_joints:
        raise ValueError(f"keypoints must be (T, P, {lay.num_joints}, 2), got {keypoints.shape}")
    if scores.shape != keypoints.shape[:-1]:
        raise ValueError(f"scores must be {keypoints.shape[:-1]}, got {scores.shape}")
    frames = len(keypoints)
    size = _torso_lengths(keypoints, scores, lay)
    person = _link(keypoints, scores, size, fps, lay, settings)
    chosen_points = np.full((frames, lay.num_joints, 2), np.nan, np.float32)
    chosen_scores = np.zeros((frames, lay.num_joints), np.float32)
    if (person < 0).all():
        return chosen_points, chosen_scores, UserChoice(frames, 0, 0, 0)
    found = person >= 0
    user = int(np.bincount(person[found], weights=size[found]).argmax())
    frame, slot = np.nonzero(person == user)
    chosen_points[frame] = keypoints[frame, slot]
    chosen_scores[frame] = scores[frame, slot]
    seen_for = np.bincount(person[found])  # frames each person was seen in
    others_only = found.any(axis=1) & ~(person == user).any(axis=1)
    choice = UserChoice(
        frames=frames,
        people=max(1, int((seen_for >= settings.min_person_s * fps).sum())),
        user_frames=len(frame),
        other_frames=int(others_only.sum()),
    )
    return chosen_points, chosen_scores, choice


def _torso_lengths(keypoints: np.ndarray, scores: np.ndarray, layout: Layout) -> np.ndarray:
    """``(T, P)`` px: each detection's torso length (hips' to shoulders' midpoint), or
    half its keypoints' extent where the torso is not seen; 0 for an empty slot."""
    frames, slots, joints = keypoints.shape[:3]
    flat = keypoints.reshape(frames * slots, joints, 2)
    seen = visible(flat, scores.reshape(frames * slots, joints), 0.0)
    length = np.linalg.norm(torso_axis(flat, seen, layout), axis=-1)
    no_torso = ~(np.isfinite(length) & (length > 0))
    length[no_torso] = 0.0
    for row in np.flatnonzero(no_torso & seen.any(axis=1)):
        points = flat[row][seen[row]]
        length[row] = 0.5 * float((points.max(axis=0) - points.min(axis=0)).max())
    return length.reshape(frames, slots)


@dataclass
class _Sightings:
    """The people seen most recently (at most :data:`_ACTIVE`), each where last seen, one
    row each, the latest seen last: ``ids`` ``(R,)``, ``frame`` ``(R,)``, the pair
    midpoints ``mids`` ``(R, M, 2)`` px, which were placed (``seen`` ``(R, M)``) and which
    of those surely (``sure``: both joints scored at least :data:`_SURE_SCORE`), their
    ``velocity`` ``(R, M, 2)`` px per frame since the sighting before (NaN where unknown)
    and the torso length ``size`` ``(R,)`` px."""

    ids: np.ndarray
    frame: np.ndarray
    mids: np.ndarray
    seen: np.ndarray
    sure: np.ndarray
    velocity: np.ndarray
    size: np.ndarray

    @classmethod
    def nobody(cls, points: int) -> _Sightings:
        """No one seen yet (``points`` pair midpoints per person)."""
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros((0, points, 2)),
            np.zeros((0, points), bool),
            np.zeros((0, points), bool),
            np.zeros((0, points, 2)),
            np.zeros(0),
        )

    def misses(
        self, mids: np.ndarray, seen: np.ndarray, sure: np.ndarray, frame: int, min_points: int
    ) -> np.ndarray:
        """``(R, D)`` px: how far each of ``D`` detections in ``frame`` (pair midpoints
        ``mids`` ``(D, M, 2)``, placed ``seen`` and surely ``sure`` ``(D, M)``) is from where
        each person was, or from where their velocity would have taken them, whichever is
        nearer: the median over the midpoints both place surely, or if fewer than
        ``min_points``, both place at all (a detector places unseen joints too, legs out
        of the picture, and those jump about); inf with too few in common."""
        common = self.sure[:, None] & sure[None]
        enough_sure = common.sum(axis=-1) >= min_points
        common = np.where(enough_sure[..., None], common, self.seen[:, None] & seen[None])
        still = _median_distance(mids[None], self.mids[:, None], common)
        moving = self.mids + self.velocity * (frame - self.frame)[:, None, None]
        measured = common & np.isfinite(moving).all(axis=-1)[:, None]
        moved = _median_distance(mids[None], moving[:, None], measured)
        moved = np.where(measured.sum(axis=-1) >= min_points, moved, np.inf)
        return np.where(common.sum(axis=-1) >= min_points, np.minimum(still, moved), np.inf)

    def seen_again(
        self,
        frame: int,
        ids: np.ndarray,
        mids: np.ndarray,
        seen: np.ndarray,
        sure: np.ndarray,
        size: np.ndarray,
    ) -> _Sightings:
        """These people with ``ids`` ``(K,)`` (known or new) seen in ``frame``: their
        rows replaced or added and moved last, the oldest dropped beyond
        :data:`_ACTIVE`. A velocity is measured over gaps of up to :data:`_VELOCITY_GAP`
        frames."""
        velocity = np.full_like(mids, np.nan)
        row = {int(person): r for r, person in enumerate(self.ids)}
        for k, person in enumerate(ids):
            r = row.get(int(person))
            if r is not None and frame - self.frame[r] <= _VELOCITY_GAP:
                velocity[k] = (mids[k] - self.mids[r]) / (frame - self.frame[r])
        kept = ~np.isin(self.ids, ids)
        return _Sightings(
            np.concatenate([self.ids[kept], ids])[-_ACTIVE:],
            np.concatenate([self.frame[kept], np.full(len(ids), frame)])[-_ACTIVE:],
            np.concatenate([self.mids[kept], mids])[-_ACTIVE:],
            np.concatenate([self.seen[kept], seen])[-_ACTIVE:],
            np.concatenate([self.sure[kept], sure])[-_ACTIVE:],
            np.concatenate([self.velocity[kept], velocity])[-_ACTIVE:],
            np.concatenate([self.size[kept], size])[-_ACTIVE:],
        )


def _median_distance(a: np.ndarray, b: np.ndarray, common: np.ndarray) -> np.ndarray:
    """``(...)`` px: the median distance between points ``a`` and ``b`` ``(..., M, 2)``
    over the ``common`` ``(..., M)`` ones (NaN where none is)."""
    with np.errstate(invalid="ignore"):
        distance = np.linalg.norm(a - b, axis=-1)
    return nan_median_rows(np.where(common, distance, np.nan))


def _link(
    keypoints: np.ndarray,
    scores: np.ndarray,
    size: np.ndarray,
    fps: float,
    layout: Layout,
    settings: IdentitySettings,
) -> np.ndarray:
    """``(T, P)`` int: the person of each detection (0, 1, ... in order of appearance),
    -1 for empty slots; ``size`` ``(T, P)`` is :func:`_torso_lengths`.

    Frame by frame, each detection is compared with the people seen before (the
    :data:`_ACTIVE` most recent): how far its pair midpoints are from that person's last
    sighting (:meth:`_Sightings.misses`), in the person's torso lengths, over the
    allowance for the frames since. Pairs under 1 are linked, one detection per person,
    the people seen most recently first and then the smallest ratio: someone seen in the
    last frame keeps their detection, though someone seen long ago had a larger
    allowance. The rest start new people."""
    frames, slots, joints = keypoints.shape[:3]
    flat = keypoints.reshape(-1, joints, 2)
    flat_scores = scores.reshape(-1, joints)
    seen = visible(flat, flat_scores, 0.0)
    mids, mids_seen = pair_midpoints(flat, seen, layout)
    mids_sure = pair_midpoints(flat, visible(flat, flat_scores, _SURE_SCORE), layout)[1]
    mids = mids.reshape(frames, slots, -1, 2)
    mids_seen = mids_seen.reshape(frames, slots, -1)
    mids_sure = mids_sure.reshape(frames, slots, -1)
    present = seen.reshape(frames, slots, joints).any(axis=-1)
    person = np.full((frames, slots), -1)
    last = _Sightings.nobody(mids.shape[2])
    people = 0
    for t in range(frames):
        detections = np.flatnonzero(present[t])
        if detections.size == 0:
            continue
        found = mids[t, detections], mids_seen[t, detections], mids_sure[t, detections]
        if len(last.ids):
            gap = t - last.frame
            allowance = np.minimum(
                settings.max_allowance, settings.jump + settings.speed * (gap - 1) / fps
            )
            miss = last.misses(*found, t, settings.min_points)
            ratio = miss / np.maximum(last.size, 1.0)[:, None] / allowance[:, None]
            rows, columns = np.nonzero(ratio < 1.0)
            for k in np.lexsort((ratio[rows, columns], gap[rows])):
                slot, someone = detections[columns[k]], last.ids[rows[k]]
                if person[t, slot] < 0 and someone not in person[t]:
                    person[t, slot] = someone
        for slot in detections:
            if person[t, slot] < 0:  # nobody it continues: someone new
                person[t, slot], people = people, people + 1
        last = last.seen_again(t, person[t, detections], *found, size[t, detections])
    return person


def people_note(choice: UserChoice, fps: float) -> str | None:
    """What :func:`choose_user` did, in plain words for the user; ``None`` when the video
    showed nobody else."""
    if choice.people < 2:
        return None
    # Not how many: a person lost for long and found elsewhere counts twice.
    note = "Other people were in view; the coach followed you (the person in view longest)"
    if choice.other_frames:
        note += (
            f" and left out {choice.other_frames} frames ({choice.other_frames / fps:.1f} s)"
            " that showed only someone else"
        )
    return note + "."


def someone_else(
    followed: tuple[np.ndarray, np.ndarray],
    found: tuple[np.ndarray, np.ndarray],
    layout: str | Layout = "mediapipe33",
    settings: IdentitySettings = DEFAULT_IDENTITY_SETTINGS,
) -> bool:
    """Whether a frame shows anyone besides the person followed in it.

    Args:
        followed: The followed person's keypoints ``(J, 2)`` px (NaN: nobody followed)
            and scores ``(J,)``.
        found: Everyone found in the same frame afresh: keypoints ``(P, J, 2)`` px and
            scores ``(P, J)``.

    Returns:
        True when a person found is farther from the followed one than the allowance
        for one frame (:class:`~pose2d.identity.IdentitySettings` ``jump``, in torso
        lengths, at the median over the pair midpoints both place surely), or someone is
        found where nobody is followed.
    """
    lay = get_layout(layout) if isinstance(layout, str) else layout
    people = np.concatenate([followed[0][None], found[0]]).astype(np.float32)
    scores = np.concatenate([followed[1][None], found[1]]).astype(np.float32)
    seen = visible(people, scores, 0.0)
    sure = visible(people, scores, _SURE_SCORE)
    mids, mids_seen = pair_midpoints(people, seen, lay)
    mids_sure = pair_midpoints(people, sure, lay)[1]
    present = seen.any(axis=1)
    if not present[1:].any():
        return False
    if not present[0]:
        return True
    size = max(float(_torso_lengths(people[None, :1], scores[None, :1], lay)[0, 0]), 1.0)
    followed_person = _Sightings.nobody(mids.shape[1]).seen_again(
        0, np.zeros(1, np.int64), mids[:1], mids_seen[:1], mids_sure[:1], np.array([size])
    )
    others = np.flatnonzero(present[1:]) + 1
    miss = followed_person.misses(
        mids[others], mids_seen[others], mids_sure[others], 0, settings.min_points
    )[0]
    return bool((miss / size > settings.jump).any())
