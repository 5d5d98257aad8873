"""The user among everyone a video shows: per-frame detections linked into people.

Server-side extraction asks MediaPipe for up to :data:`MAX_PEOPLE` people per frame
(with one, its tracker locks onto whoever it finds first and may hop to a passer-by).
The detections of a frame come in no particular order, so :func:`choose_user` links
them across frames into people and keeps one: each detection continues the person it
is nearest to (the swap-invariant pair midpoints of :mod:`pose2d.body`, at the median,
in that person's torso lengths, within :mod:`pose2d.identity`'s allowance for the frames
between two sightings), the most plausible pairs first, and starts a new person
otherwise. The user is the person with the most torso-length-frames: seen longest and
largest, so a bystander in the background the whole time (smaller) and a passer-by in
front of the camera (larger, but briefly) both lose to the person being filmed.

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
from pose3d.skeleton import Layout, get_layout

MAX_PEOPLE = 3  # people MediaPipe is asked for per frame (its cost grows with each)
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
class _Sighting:
    """Where a person was last seen: the frame, the pair midpoints ``(M, 2)`` px, which
    were placed ``(M,)`` and which of those surely (both joints scored at least
    :data:`_SURE_SCORE`), their velocity ``(M, 2)`` px per frame since the sighting
    before (NaN where unknown), and the torso length (px)."""

    frame: int
    mids: np.ndarray
    seen: np.ndarray
    sure: np.ndarray
    velocity: np.ndarray
    size: float

    def miss(
        self, mids: np.ndarray, seen: np.ndarray, sure: np.ndarray, frame: int, min_points: int
    ) -> float:
        """How far (px, the median over the midpoints both place surely, or if too few,
        both place at all) ``mids`` ``(M, 2)`` (placed ``seen``, surely ``sure``, ``(M,)``)
        in ``frame`` are from where this person was, or from where their velocity would
        have taken them, whichever is nearer; inf with too few in common. A detector
        places unseen joints too (legs out of the picture), and those jump about."""
        common = self.sure & sure
        if common.sum() < min_points:
            common = self.seen & seen
        if common.sum() < min_points:
            return np.inf
        still = np.median(np.linalg.norm(mids[common] - self.mids[common], axis=-1))
        moving = self.mids + self.velocity * (frame - self.frame)
        measured = common & np.isfinite(moving).all(axis=-1)
        if measured.sum() < min_points:
            return float(still)
        moved = np.median(np.linalg.norm(mids[measured] - moving[measured], axis=-1))
        return float(min(still, moved))

    def then(
        self, frame: int, mids: np.ndarray, seen: np.ndarray, sure: np.ndarray, size: float
    ) -> _Sighting:
        """This person seen again in ``frame``: the velocity is measured over gaps up to
        :data:`_VELOCITY_GAP` frames."""
        gap = frame - self.frame
        velocity = (mids - self.mids) / gap if gap <= _VELOCITY_GAP else np.full_like(mids, np.nan)
        return _Sighting(frame, mids, seen, sure, velocity, size)


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
    sighting (:meth:`_Sighting.miss`), in the person's torso lengths, over the allowance
    for the frames since. Pairs under 1 are linked, one detection per person, the people
    seen most recently first and then the smallest ratio: someone seen in the last frame
    keeps their detection, though someone seen long ago had a larger allowance. The rest
    start new people."""
    frames, slots, joints = keypoints.shape[:3]
    seen = visible(keypoints.reshape(-1, joints, 2), scores.reshape(-1, joints), 0.0)
    flat = keypoints.reshape(-1, joints, 2)
    mids, mids_seen = pair_midpoints(flat, seen, layout)
    surely = visible(flat, scores.reshape(-1, joints), _SURE_SCORE)
    mids_sure = pair_midpoints(flat, surely, layout)[1].reshape(frames, slots, -1)
    mids = mids.reshape(frames, slots, -1, 2)
    mids_seen = mids_seen.reshape(frames, slots, -1)
    present = seen.reshape(frames, slots, joints).any(axis=-1)
    person = np.full((frames, slots), -1)
    sightings: list[_Sighting] = []  # by person
    recent: list[int] = []  # people by last sighting, the latest last
    for t in range(frames):
        detections = np.flatnonzero(present[t])
        if detections.size == 0:
            continue
        pairs = []
        for p in recent:
            last = sightings[p]
            gap = t - last.frame
            allowance = min(
                settings.max_allowance, settings.jump + settings.speed * (gap - 1) / fps
            )
            for d in detections:
                miss = last.miss(
                    mids[t, d], mids_seen[t, d], mids_sure[t, d], t, settings.min_points
                )
                ratio = miss / max(last.size, 1.0) / allowance
                if ratio < 1.0:
                    pairs.append((gap, ratio, p, int(d)))
        for _, _, p, d in sorted(pairs):
            if person[t, d] < 0 and p not in person[t]:
                person[t, d] = p
        for d in detections:
            points, shown, sure = mids[t, d], mids_seen[t, d], mids_sure[t, d]
            length = float(size[t, d])
            if person[t, d] < 0:  # nobody it continues: someone new
                person[t, d] = len(sightings)
                unknown = np.full_like(points, np.nan)
                sightings.append(_Sighting(t, points, shown, sure, unknown, length))
            p = int(person[t, d])
            if sightings[p].frame < t:
                sightings[p] = sightings[p].then(t, points, shown, sure, length)
            if p in recent:
                recent.remove(p)
            recent.append(p)
        del recent[:-_ACTIVE]
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
    unknown = np.full_like(mids[0], np.nan)
    person = _Sighting(0, mids[0], mids_seen[0], mids_sure[0], unknown, size)
    for other in np.flatnonzero(present[1:]) + 1:
        miss = person.miss(mids[other], mids_seen[other], mids_sure[other], 0, settings.min_points)
        if miss / size > settings.jump:
            return True
    return False
