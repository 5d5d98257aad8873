"""Real exercise takes from ``../shared/mocap`` made into scoring sessions.

The archives hold few exercise takes the coach knows:

* HDM05 squats (5 actors, all in the agreed **test** split): 52 cuts of one repetition
  each. Consecutive cuts of an actor are joined into sessions of
  :data:`SQUAT_REPS_PER_SESSION` repetitions: each next cut is turned about the vertical
  and moved on the floor so that it starts where and as the last one ended, with a
  :data:`BLEND_FRAMES`-frame linear blend across the join (the cuts start and end
  standing; some consecutive cuts come from another recording, up to 0.4 m away).
* CMU subject 14's jumping jacks: each of the takes ``14_06``, ``14_14`` and ``14_20``
  opens with three jumping jacks. Subject 14 is in the **train** split: the bundled
  real-motion lifters were trained on this person, so figures on these sessions are not
  figures on unseen people.
* CMU subject 14's squats: ``14_06`` and ``14_14`` hold two deep squats each, after the
  jog (:func:`squat_reps` finds them from the pelvis's drop). Train split: the real
  squats the detector may learn from (:mod:`lab.real_training_units`), never evaluated on.

Repetitions are known for the squats (one per cut) and found for the jumping jacks from
the wrists' height above the head (each rise above :data:`JACK_ARMS_UP_M` is one; three
per take, as counted by hand). The true repetition count of each session is the length
of ``clip.reps``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from scoring.session import HEEL_MIN_SEVERITY
from synthetic_data.body import J
from synthetic_data.cameras import body_facing_deg
from synthetic_data.clip import Clip, ErrorLabel
from synthetic_data.errors import affected_runs
from synthetic_data.mocap import MocapTake, load_manifest, read_take
from synthetic_data.retarget import resample

FPS = 30.0
SQUAT_REPS_PER_SESSION = 4
BLEND_FRAMES = 4
JACK_TAKES = ("cmu_asfamc/14/14_06.amc", "cmu_asfamc/14/14_14.amc", "cmu_asfamc/14/14_20.amc")
JACK_SEARCH_S = 4.5  # the jumping jacks open each take; a jog or twists follow
JACK_ARMS_UP_M = -0.3  # mean wrist height above the head top (m) that counts as arms up
SQUAT_TAKES = ("cmu_asfamc/14/14_06.amc", "cmu_asfamc/14/14_14.amc")
SQUAT_DROP_M = 0.25  # pelvis drop below standing (m) that makes a squat, not a jog or a jack
STANDING_DROP_M = 0.05  # pelvis drop (m) within which the person counts as standing
GENERATOR = {"name": "real-exercise", "version": 1}
HEEL_LIFT_FULL_DEG = 25.0  # the heel lift of a severity-1 heels_lifting error
# A capture's own heel lift this large is an error by the coach's own standard: the heel
# rule cues from half a full lift (scoring.session.HEEL_MIN_SEVERITY).
CAPTURE_HEEL_LIFT_DEG = HEEL_MIN_SEVERITY * HEEL_LIFT_FULL_DEG


@dataclass
class RealSession:
    """One real exercise session.

    Attributes:
        clip: Body-28 joints at :data:`FPS`, its movement, repetitions ``clip.reps`` and
            the person (``clip.body.body_id``, split in ``clip.body.extra["split"]``).
        depth: ``(T,)`` 0..1, how far into each repetition the person is (squats: the
            pelvis drop over that repetition's deepest; jumping jacks: arm elevation).
    """

    clip: Clip
    depth: np.ndarray

    @property
    def person(self) -> str:
        return self.clip.body.body_id

    @property
    def split(self) -> str:
        return str(self.clip.body.extra.get("split", ""))


def _yaw_matrix(degrees: float) -> np.ndarray:
    """``(3, 3)`` rotation about the vertical (y) axis by ``degrees``, +z towards +x."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def continue_from(previous: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """``joints`` ``(T, 28, 3)`` turned about the vertical through its first pelvis and
    moved on the floor so that it starts facing and standing where ``previous``
    ``(T', 28, 3)`` ended."""
    turn = float(body_facing_deg(previous[-1:])[0] - body_facing_deg(joints[:1])[0])
    pivot = joints[0, J["pelvis"]] * np.array([1.0, 0.0, 1.0])
    turned = (joints - pivot) @ _yaw_matrix(turn).T + pivot
    shift = previous[-1, J["pelvis"]] - turned[0, J["pelvis"]]
    shift[1] = 0.0  # heights are the capture's own
    return turned + shift


def join_takes(parts: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Concatenate ``(T_i, 28, 3)`` one-repetition parts into one motion, each continuing
    from the last (:func:`continue_from`) with :data:`BLEND_FRAMES` blended frames
    between them. Returns the joints and each part's ``[start, end)`` frames."""
    joined, reps = [parts[0]], [(0, len(parts[0]))]
    length = len(parts[0])
    for part in parts[1:]:
        placed = continue_from(joined[-1], part)
        weight = (np.arange(1, BLEND_FRAMES + 1) / (BLEND_FRAMES + 1))[:, None, None]
        joined.append(joined[-1][-1] * (1 - weight) + placed[0] * weight)
        length += BLEND_FRAMES
        joined.append(placed)
        reps.append((length, length + len(placed)))
        length += len(placed)
    return np.concatenate(joined).astype(np.float32), reps


def squat_depth_share(joints: np.ndarray, reps: list[tuple[int, int]]) -> np.ndarray:
    """``(T,)`` 0..1: the pelvis's drop below standing (its 95th-percentile height)
    over that repetition's deepest drop; 0 outside repetitions."""
    height = joints[:, J["pelvis"], 1].astype(np.float64)
    drop = np.maximum(0.0, np.percentile(height, 95) - height)
    depth = np.zeros(len(joints))
    for start, end in reps:
        deepest = drop[start:end].max()
        if deepest > 0:
            depth[start:end] = drop[start:end] / deepest
    return depth


def foot_pitch_rise(joints: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``(T, 2)`` how far each foot (left, right) pitches up (heel above toe, deg) in
    each frame over its mean while standing (``depth`` < 0.1); ``joints`` ``(T, 28, 3)``."""
    rises = []
    for side in ("left", "right"):
        foot = joints[:, J[f"{side}_toe"]] - joints[:, J[f"{side}_heel"]]
        level = np.linalg.norm(foot[:, [0, 2]], axis=1)
        pitch = np.degrees(np.arctan2(-foot[:, 1], level))
        rises.append(pitch - pitch[depth < 0.1].mean())
    return np.stack(rises, axis=1)


def heel_rise_deg(joints: np.ndarray, depth: np.ndarray) -> float:
    """How far the heels rise at the bottom of the squats in the capture itself: the
    largest increase of either foot's pitch (:func:`foot_pitch_rise`) from standing to
    the bottom (``depth`` > 0.9); ``joints`` ``(T, 28, 3)``."""
    return float(foot_pitch_rise(joints, depth)[depth > 0.9].mean(axis=0).max())


def capture_heel_labels(session: RealSession) -> list[ErrorLabel]:
    """The heel lifts the capture itself holds, labelled as an injected one would be: each
    squat whose heels rise at the bottom (``depth`` > 0.9) by at least
    :data:`CAPTURE_HEEL_LIFT_DEG` on average, over its frames with at least half that
    rise, on both legs. A squat lifts both heels, so the lesser of the two feet's rise
    counts: one capture's feet pitch 35-45 deg opposite ways at the bottom (HDM05 dg, a
    marker's fault, not a lift)."""
    clip = session.clip
    if clip.movement != "squat":
        return []
    rise = foot_pitch_rise(clip.joints, session.depth).min(axis=1)
    labels = []
    for start, end in clip.reps:
        bottom = session.depth[start:end] > 0.9
        lift = float(rise[start:end][bottom].mean()) if bottom.any() else 0.0
        if lift < CAPTURE_HEEL_LIFT_DEG:
            continue
        severity = round(min(1.0, lift / HEEL_LIFT_FULL_DEG), 4)
        for first, last in affected_runs(rise[start:end] >= lift / 2):
            labels += [
                ErrorLabel("heels_lifting", segment, start + first, start + last, severity)
                for segment in ("left_leg", "right_leg")
            ]
    return labels


def _wrists_over_head(joints: np.ndarray) -> np.ndarray:
    """``(T,)`` mean height (m) of the two wrists above the head top."""
    wrists = (joints[:, J["left_wrist"], 1] + joints[:, J["right_wrist"], 1]) / 2
    return wrists - joints[:, J["head_top"], 1]


def jack_reps(joints: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` frames of each jumping jack: each stretch with the arms up
    (:data:`JACK_ARMS_UP_M`), widened to the lowest arm position on either side of it
    (halfway to the neighbouring repetition's)."""
    signal = _wrists_over_head(joints)
    up = signal > JACK_ARMS_UP_M
    edges = np.flatnonzero(np.diff(up.astype(np.int8)))
    starts = [int(e) + 1 for e in edges if not up[e]]
    ends = [int(e) + 1 for e in edges if up[e]]
    ups = [(a, next(b for b in ends if b > a)) for a in starts if any(b > a for b in ends)]
    bounds = [0]
    for (_, left_end), (right_start, _) in itertools.pairwise(ups):
        bounds.append(left_end + int(np.argmin(signal[left_end:right_start])))
    last_end = ups[-1][1]
    settle = np.flatnonzero(signal[last_end:] <= signal[last_end:].min() + 0.05)
    bounds.append(last_end + int(settle[0]) + 1 if settle.size else len(signal))
    first_start = ups[0][0]
    before = signal[:first_start]
    bounds[0] = int(np.flatnonzero(before <= before.min() + 0.05)[-1]) if before.size else 0
    return list(itertools.pairwise(bounds))


def _risen(drop: np.ndarray) -> int:
    """How many frames of ``drop`` ``(N,)`` (pelvis drop below standing, m, from a squat's
    bottom onwards, forwards or backwards in time) the rise takes: up to the first frame
    within :data:`STANDING_DROP_M` of standing, or of the highest the pelvis gets in
    ``drop`` when that is lower (a person who stands a little lower after the squats than
    the take's 95th percentile, which walking in may have set, would otherwise stay "in"
    the squat until they happen to stand taller); ``N`` if never."""
    if not drop.size:
        return 0
    threshold = max(STANDING_DROP_M, float(drop.min()) + STANDING_DROP_M)
    standing = np.flatnonzero(drop < threshold)
    return int(standing[0]) if standing.size else len(drop)


def squat_reps(joints: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` frames of each squat in a take ``(T, 28, 3)`` that holds other
    motion too: each stretch with the pelvis more than :data:`SQUAT_DROP_M` below standing
    (its 95th-percentile height), widened to where it was within :data:`STANDING_DROP_M`
    of standing (no further than halfway to the neighbouring squat; :func:`_risen`)."""
    height = joints[:, J["pelvis"], 1].astype(np.float64)
    drop = np.percentile(height, 95) - height
    down = np.flatnonzero(np.diff(np.r_[0, (drop > SQUAT_DROP_M).astype(np.int8), 0]))
    bottoms = list(zip(down[::2], down[1::2], strict=True))  # [first, last + 1) below
    reps = []
    for number, (first, last) in enumerate(bottoms):
        floor = (bottoms[number - 1][1] + first) // 2 if number else 0
        ceiling = (last + bottoms[number + 1][0]) // 2 if number + 1 < len(bottoms) else len(drop)
        start = max(floor, first - 1 - _risen(drop[floor:first][::-1]))
        end = min(ceiling, last + _risen(drop[last:ceiling]) + 1)
        reps.append((start, end))
    return reps


def _arm_depth(joints: np.ndarray, reps: list[tuple[int, int]]) -> np.ndarray:
    """``(T,)`` 0..1: the wrists' height above their lowest over that repetition's range."""
    signal = _wrists_over_head(joints)
    depth = np.zeros(len(joints))
    for start, end in reps:
        low, high = signal[start:end].min(), signal[start:end].max()
        if high > low:
            depth[start:end] = (signal[start:end] - low) / (high - low)
    return depth


def depth_share(joints: np.ndarray, reps: list[tuple[int, int]], movement: str) -> np.ndarray:
    """``(T,)`` 0..1, how far into each repetition the person is: the pelvis drop for
    squats (:func:`squat_depth_share`), the arms' rise for jumping jacks."""
    if movement == "squat":
        return squat_depth_share(joints, reps)
    return _arm_depth(joints, reps)


def _session_clip(base: Clip, clip_id: str, joints: np.ndarray, movement: str, reps) -> Clip:
    return replace(
        base,
        clip_id=clip_id,
        joints=joints,
        movement=movement,
        reps=[(int(a), int(b)) for a, b in reps],
        generator=dict(GENERATOR),
        errors=[],
        cameras=[],
        beat_times=[],
    )


def hdm05_squat_sessions(root: Path, takes: list[MocapTake]) -> list[RealSession]:
    """Sessions of :data:`SQUAT_REPS_PER_SESSION` consecutive HDM05 squat cuts per actor
    (an actor's last, shorter group is kept when it has at least two repetitions)."""
    cuts = sorted((t for t in takes if "squat1Reps" in t.path), key=lambda t: t.path)
    sessions = []
    for subject, group in itertools.groupby(cuts, key=lambda t: t.subject):
        clips = [resample(read_take(root, take), FPS) for take in group]
        for number, first in enumerate(range(0, len(clips), SQUAT_REPS_PER_SESSION)):
            batch = clips[first : first + SQUAT_REPS_PER_SESSION]
            if len(batch) < 2:
                continue
            joints, reps = join_takes([clip.joints for clip in batch])
            clip = _session_clip(batch[0], f"{subject}-squat-{number}", joints, "squat", reps)
            sessions.append(RealSession(clip, squat_depth_share(joints, reps)))
    return sessions


def cmu_jack_sessions(root: Path, takes: list[MocapTake]) -> list[RealSession]:
    """The jumping jacks that open each of :data:`JACK_TAKES` (subject 14, train split)."""
    by_path = {take.path: take for take in takes}
    sessions = []
    for path in JACK_TAKES:
        clip = resample(read_take(root, by_path[path]), FPS)
        window = clip.joints[: int(JACK_SEARCH_S * FPS)]
        reps = jack_reps(window)
        joints = window[: reps[-1][1]]
        session_id = f"{clip.body.body_id}-{by_path[path].trial}-jumping_jack"
        clip = _session_clip(clip, session_id, joints, "jumping_jack", reps)
        sessions.append(RealSession(clip, _arm_depth(joints, reps)))
    return sessions


def cmu_squat_sessions(root: Path, takes: list[MocapTake]) -> list[RealSession]:
    """The squats of each of :data:`SQUAT_TAKES` (subject 14, train split), one session a
    take, from standing before the first to standing after the last."""
    by_path = {take.path: take for take in takes}
    sessions = []
    for path in SQUAT_TAKES:
        clip = resample(read_take(root, by_path[path]), FPS)
        found = squat_reps(clip.joints)
        if len(found) < 2:
            raise ValueError(f"{path}: {len(found)} squats found, expected at least 2")
        first, last = found[0][0], found[-1][1]
        joints = clip.joints[first:last]
        reps = [(start - first, end - first) for start, end in found]
        session_id = f"{clip.body.body_id}-{by_path[path].trial}-squat"
        clip = _session_clip(clip, session_id, joints, "squat", reps)
        sessions.append(RealSession(clip, squat_depth_share(joints, reps)))
    return sessions


def joined_squat_sessions(squats: list[RealSession]) -> list[RealSession]:
    """CMU subject 14's squats (``squats``: :func:`cmu_squat_sessions`, 2 a take) joined
    into sessions of all of them, in take order and reversed, as HDM05's one-repetition
    cuts are joined (:func:`join_takes`): development data for rules that compare a
    repetition with the user's others (:mod:`lab.development_squats`). A 2-squat take
    has one other repetition; a 4-repetition session of HDM05 has three, from separate
    takes, and shows how far one person's repetitions spread (session 40: a rule that no
    2-squat session crossed cued 6 of 48 correct joined ones). Not for training:
    :func:`training_sessions` stays as the detector learned it."""
    parts = [s.clip.joints[start:end] for s in squats for start, end in s.clip.reps]
    sessions = []
    for name, order in (("joined", parts), ("joined-reversed", parts[::-1])):
        joints, reps = join_takes(order)
        base = squats[0].clip
        clip = _session_clip(base, f"{base.body.body_id}-{name}-squat", joints, "squat", reps)
        sessions.append(RealSession(clip, squat_depth_share(joints, reps)))
    return sessions


def training_sessions(root: Path, manifest: Path) -> list[RealSession]:
    """The real exercise sessions of the agreed **train** split (CMU subject 14's squats
    and jumping jacks): what the form-error detector may learn from."""
    takes = load_manifest(manifest)
    sessions = cmu_squat_sessions(root, takes) + cmu_jack_sessions(root, takes)
    if any(session.split != "train" for session in sessions):
        raise ValueError("a real training session is outside the agreed train split")
    return sessions


def real_exercise_sessions(root: Path, manifest: Path) -> list[RealSession]:
    """Every real exercise session (:func:`hdm05_squat_sessions`, :func:`cmu_jack_sessions`)
    from the unpacked archives under ``root``."""
    takes = load_manifest(manifest)
    return hdm05_squat_sessions(root, takes) + cmu_jack_sessions(root, takes)


def _next_own_take(session: RealSession, sessions: list[RealSession]) -> RealSession | None:
    """The same person's next other take of the movement (wrapping round); None when
    ``session`` is their only one."""
    own = [
        s
        for s in sessions
        if s.clip.movement == session.clip.movement and s.person == session.person
    ]
    if len(own) < 2:
        return None
    index = [s.clip.clip_id for s in own].index(session.clip.clip_id)
    return own[(index + 1) % len(own)]


def trainer_for(session: RealSession, sessions: list[RealSession]) -> RealSession:
    """The trainer's take for ``session``: the first session of the same movement by the
    next other person (people in sorted order, wrapping round); with nobody else doing
    that movement, the same person's next other take."""
    same_movement = [s for s in sessions if s.clip.movement == session.clip.movement]
    people = sorted({s.person for s in same_movement})
    others = [p for p in people if p != session.person]
    if others:
        later = [p for p in others if p > session.person]
        person = later[0] if later else others[0]
        return next(s for s in same_movement if s.person == person)
    own = _next_own_take(session, sessions)
    if own is None:
        raise ValueError(f"no other take of {session.clip.movement} to train from")
    return own


def own_take_trainer(session: RealSession, sessions: list[RealSession]) -> RealSession:
    """The same person's next other take of the movement as the trainer (wrapping round):
    the best-matched trainer there can be, to tell how much of a false cue comes from
    comparing one person with another; with a single take, :func:`trainer_for`'s."""
    return _next_own_take(session, sessions) or trainer_for(session, sessions)


# How `coach evaluate-scoring-real --trainer` picks each session's trainer take.
TRAINER_CHOICES = {"other-person": trainer_for, "own-take": own_take_trainer}
