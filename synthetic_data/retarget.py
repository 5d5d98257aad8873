"""Real motion on other bodies: retargeting, mirroring and tempo.

One motion-capture take is one person; the lifter must see the motion on many bodies.
:func:`retarget` keeps every bone's direction frame by frame (so every joint angle of the
real motion) and gives the bones the lengths of a simulated body; the root's path is
scaled by the ratio of leg lengths, so steps and jumps fit the new legs. :func:`mirror`
swaps the body's sides (a left-handed dancer from a right-handed one) and
:func:`resample` changes the frame rate or the tempo.

The simulator's flexibility limits are not applied: the motion is what a real person did.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from synthetic_data.body import (
    BODY28,
    BODY_PARENTS,
    BodyParams,
    J,
    rest_offsets,
)
from synthetic_data.clip import Clip

_TOPOLOGICAL = tuple(range(len(BODY_PARENTS)))  # parents always come before children


def _leg_length(joints: np.ndarray) -> float:
    """Hip-knee-ankle length (m) of body-28 positions ``(T, 28, 3)`` or ``(28, 3)``, the
    median over frames and both legs."""
    lengths = []
    for side in ("left", "right"):
        hip, knee, ankle = (joints[..., J[f"{side}_{n}"], :] for n in ("hip", "knee", "ankle"))
        lengths.append(np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1))
    return float(np.median(np.stack(lengths)))


def bone_lengths(clip: Clip) -> np.ndarray:
    """Median length (m) of every body-28 bone of ``clip`` over its frames, ``(28,)``
    indexed by child joint (the root's entry is 0): a real person's skeleton."""
    joints = clip.joints.astype(np.float64)
    lengths = np.zeros(len(BODY_PARENTS))
    for joint, parent in enumerate(BODY_PARENTS):
        if parent >= 0:
            bone = joints[:, joint] - joints[:, parent]
            lengths[joint] = float(np.median(np.linalg.norm(bone, axis=-1)))
    return lengths


def retarget(clip: Clip, body: BodyParams, clip_id: str) -> Clip:
    """``clip``'s motion performed by ``body`` (a new clip named ``clip_id``).

    Joints ``(T, 28, 3)``: each bone keeps its source direction per frame and takes the
    length of ``body``'s rest skeleton; the pelvis path is scaled by the ratio of leg
    lengths; the floor is put at the lowest joint. The body's ``body_id`` is kept from
    ``body`` (callers choose it: splits are by body), its ``extra`` records the source.
    """
    lengths = np.linalg.norm(rest_offsets(body), axis=1)  # (28,) metres
    return _with_lengths(clip, lengths, body, clip_id)


def retarget_to_skeleton(clip: Clip, lengths: np.ndarray, clip_id: str, donor: str) -> Clip:
    """``clip``'s motion on another real person's skeleton: bone lengths ``(28,)`` metres
    from :func:`bone_lengths` of one of ``donor``'s takes. Real proportions (hip and
    shoulder width, limb ratios) that the sampled bodies do not cover; the performer's
    ``body_id`` is kept, so the split stays the performer's."""
    body = replace(clip.body, extra={**clip.body.extra, "skeleton_of": donor})
    return _with_lengths(clip, lengths, body, clip_id)


def _leg_length_from(lengths: np.ndarray) -> float:
    """Hip-knee-ankle length (m) from bone lengths ``(28,)``, the mean of both legs."""
    legs = [lengths[J[f"{side}_knee"]] + lengths[J[f"{side}_ankle"]] for side in ("left", "right")]
    return float(np.mean(legs))


def _with_lengths(clip: Clip, lengths: np.ndarray, body: BodyParams, clip_id: str) -> Clip:
    """``clip`` with every bone at ``lengths[joint]`` (m) along its source direction per
    frame; the pelvis path scaled by the new legs' length over the source's."""
    source = clip.joints.astype(np.float64)
    target = np.zeros_like(source)
    scale = _leg_length_from(lengths) / max(_leg_length(source), 1e-6)
    root = J["pelvis"]
    start = source[0, root] * [1.0, 0.0, 1.0]  # keep where the take starts on the floor
    target[:, root] = start + (source[:, root] - start) * scale
    for joint in _TOPOLOGICAL:
        parent = BODY_PARENTS[joint]
        if parent < 0:
            continue
        bone = source[:, joint] - source[:, parent]
        norm = np.linalg.norm(bone, axis=-1, keepdims=True)
        direction = np.where(norm > 1e-9, bone / np.maximum(norm, 1e-9), 0.0)
        target[:, joint] = target[:, parent] + direction * lengths[joint]
    target[..., 1] -= target[..., 1].min()
    extra = {**body.extra, "retargeted_from": clip.clip_id, **_source_facts(clip)}
    return replace(
        clip,
        clip_id=clip_id,
        joints=target.astype(np.float32),
        body=replace(body, extra=extra),
        cameras=[],
    )


def _source_facts(clip: Clip) -> dict:
    """What a derived clip keeps of its source: subject, split, licence, derived joints."""
    keep = ("subject", "split", "licence", "source", "derived_joints", "take")
    return {key: clip.body.extra[key] for key in keep if key in clip.body.extra}


def mirror(clip: Clip, clip_id: str) -> Clip:
    """The clip with the body's left and right swapped and the world mirrored in x."""
    flipped = clip.joints[:, BODY28.flip_permutation].copy()
    flipped[..., 0] *= -1
    return replace(clip, clip_id=clip_id, joints=flipped, cameras=[])


def resample(clip: Clip, fps: float, tempo: float = 1.0, clip_id: str | None = None) -> Clip:
    """The clip at ``fps`` frames per second, played ``tempo`` times as fast (linear
    interpolation of positions; 1 keeps the timing). Error labels are not carried over:
    use it on unlabelled motion."""
    if fps <= 0 or tempo <= 0:
        raise ValueError(f"fps and tempo must be positive, got {fps} and {tempo}")
    duration = (clip.num_frames - 1) / clip.fps  # seconds of source motion
    frames = int(np.floor(duration / tempo * fps)) + 1
    source_times = np.arange(frames) * tempo / fps * clip.fps  # in source frames
    low = np.clip(np.floor(source_times).astype(int), 0, clip.num_frames - 1)
    high = np.minimum(low + 1, clip.num_frames - 1)
    weight = (source_times - low)[:, None, None]
    joints = clip.joints[low] * (1 - weight) + clip.joints[high] * weight
    return replace(
        clip,
        clip_id=clip_id or clip.clip_id,
        fps=float(fps),
        joints=joints.astype(np.float32),
        tempo=clip.tempo * tempo,
        errors=[],
        cameras=[],
        reps=[],
        beat_times=[],
    )


def variants(clip: Clip, rng: np.random.Generator, count: int, fps: float = 30.0) -> list[Clip]:
    """``count`` new people performing ``clip``: each a sampled body, mirrored half the
    time, at a tempo of 0.8-1.25x, resampled to ``fps``. Every variant keeps the source
    subject as its ``body_id``, so a real person's motion stays in one split."""
    subject = clip.body.extra.get("subject", clip.body.body_id)
    out = []
    for number in range(count):
        name = f"{clip.clip_id}-v{number}"
        body = BodyParams.sample(rng, body_id=subject)
        out.append(_mirrored_and_paced(retarget(clip, body, name), rng, fps))
    return out


def _mirrored_and_paced(clip: Clip, rng: np.random.Generator, fps: float) -> Clip:
    """``clip`` mirrored half the time, at a tempo of 0.8-1.25x, resampled to ``fps``."""
    if rng.random() < 0.5:
        clip = mirror(clip, clip.clip_id)
    return resample(clip, fps, tempo=float(rng.uniform(0.8, 1.25)))


def donor_variants(
    clip: Clip,
    rng: np.random.Generator,
    donors: dict[str, np.ndarray],
    count: int,
    fps: float = 30.0,
) -> list[Clip]:
    """``count`` variants of ``clip`` on the skeletons of other real people: ``donors``
    maps a subject to its bone lengths ``(28,)`` m (:func:`bone_lengths`); the performer's
    own entry is never used. Mirrored half the time, tempo 0.8-1.25x, resampled to ``fps``;
    ``body_id`` stays the performer's. Empty when there is no other donor."""
    subject = clip.body.extra.get("subject", clip.body.body_id)
    others = sorted(name for name in donors if name != subject)
    out = []
    for number in range(count if others else 0):
        name = f"{clip.clip_id}-d{number}"
        donor = others[int(rng.integers(len(others)))]
        out.append(
            _mirrored_and_paced(retarget_to_skeleton(clip, donors[donor], name, donor), rng, fps)
        )
    return out
