"""Real motion for the knee network: caving knees injected into real takes, and its AUC
on real squats seen from each side.

The simulated squats and lunges the network first learned from were filmed from within
60 deg of the person's front, on the simulator's bodies and motion. Filmed from behind,
a real correct squat then read as both knees caving (probability ~1) and an injected
caving knee as less (docs/design-notes.md, scoring). Here every take of the agreed
**train** split that bends the knees, except those of the people whose real sessions
the learned detector trains on (it must see the network's outputs as on new sessions),
gets the harness's caving knee (:func:`synthetic_data.real_errors.inject_real_error`)
on a random stretch, on the performer's body and one retargeted body, and is filmed
from a camera anywhere around the person. Only the caving outputs are labelled: a real
take says nothing about knees past the toes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from lab.clips import phone_landmarks
from lab.front_end_eval import around_cameras, centred
from lab.knee_net_training import CAMERAS_AROUND, KneeExample, frame_targets
from lab.real_exercise import RealSession, real_exercise_sessions, training_sessions
from lab.real_scoring_eval import PROFILE, labelled_clips
from pose3d import angles
from pose3d.shards import stable_hash
from scoring.knee_net import NET_FPS, OUTPUTS, KneeNet, encode, resample
from synthetic_data.cameras import clip_camera_yaw_deg, mean_deg, wrap_deg
from synthetic_data.clip import Clip
from synthetic_data.detector import film
from synthetic_data.errors import ErrorPlan, envelope, labels_from_change
from synthetic_data.mocap import iter_takes, load_manifest
from synthetic_data.real_errors import inject_real_error
from synthetic_data.retarget import resample as resample_clip
from synthetic_data.retarget import variants

FPS = 30.0
STRETCH_FRAMES = 60  # a take is cut into 2-s stretches; an error covers 1-3 of them
MIN_DEPTH = 0.3  # takes whose knees never bend this far are left out
# Real takes label the caving outputs only.
REAL_OUTPUT_MASK = np.array([name.endswith("caving") for name in OUTPUTS], dtype=np.float32)
VIEW_BANDS = ((0, 30, "front"), (30, 150, "side"), (150, 181, "back"))


def knee_bend_depth(clip: Clip) -> np.ndarray:
    """``(T,)`` 0..1: the more bent knee's flexion (:func:`pose3d.angles.knee_flexion`),
    0 at 25 deg or less, 1 at 90 deg or more (where a caving knee shows; a straight
    knee lies on its hip-ankle line and cannot turn)."""
    poses = clip.h36m17()
    flexion = np.max([angles.knee_flexion(poses, side) for side in ("left", "right")], axis=0)
    return np.clip((flexion - 25.0) / 65.0, 0.0, 1.0)


def filmed_example(
    clip: Clip, camera_index: int, seed: int, profile: str, source: str
) -> KneeExample:
    """``clip`` (its errors caving knees) filmed by camera ``camera_index`` of
    :func:`~lab.front_end_eval.around_cameras`, encoded for the network; ``source``
    names the take it came from."""
    camera = around_cameras(clip, CAMERAS_AROUND, seed)[camera_index]
    rng = np.random.default_rng([seed, stable_hash(clip.clip_id)])
    seen = film(clip, camera, rng, layout="mediapipe33", profile=profile)
    encoded = resample(encode(seen.keypoints, seen.scores), clip.fps, NET_FPS)
    targets = resample(frame_targets(clip, clip.num_frames), clip.fps, NET_FPS)
    labels = (targets > 0.5).astype(np.float32)
    return KneeExample(encoded, labels, REAL_OUTPUT_MASK, source)


def injected_versions(clip: Clip, rng: np.random.Generator, count: int) -> list[Clip]:
    """``count`` copies of ``clip`` with a caving knee (severity 0.2-1, left, right or
    both) over 1-3 consecutive 2-s stretches, labelled; copies the injection left
    unchanged keep no label."""
    depth = knee_bend_depth(clip)
    frames = clip.num_frames
    stretches = [(a, min(frames, a + STRETCH_FRAMES)) for a in range(0, frames, STRETCH_FRAMES)]
    out = []
    for number in range(count):
        first = int(rng.integers(len(stretches)))
        last = min(len(stretches) - 1, first + int(rng.integers(0, 3)))
        side = str(rng.choice(["both", "left", "right"]))
        plan = ErrorPlan("knees_caving_in", float(rng.uniform(0.2, 1.0)), side, first, last)
        weight = envelope(frames, stretches, first, last)
        joints, change = inject_real_error(
            clip.joints, plan.kind, plan.severity, plan.side, weight, depth
        )
        labels = labels_from_change(plan, change)
        out.append(replace(clip, clip_id=f"{clip.clip_id}-k{number}", joints=joints, errors=labels))
    return out


def real_knee_examples(
    root: Path,
    exclude_subjects: set[str],
    seed: int = 0,
    versions: int = 3,
    profile: str = "phone-v1",
) -> list[KneeExample]:
    """Examples from every readable **train**-split take of ``root`` (the unpacked
    archives with their MANIFEST.tsv) whose knees bend, but those of
    ``exclude_subjects``: per take, the performer's body and one retargeted body, each
    injected ``versions`` times (:func:`injected_versions`) and filmed by a random camera
    around the person. DeepMimic's 15-joint takes have no feet and are left out."""
    takes = [
        take
        for take in load_manifest(root / "MANIFEST.tsv")
        if take.split == "train"
        and take.subject not in exclude_subjects
        and take.source != "cmu_deepmimic_jump"
    ]
    examples = []
    for _, clip in tqdm(iter_takes(root, takes, ("train",)), total=len(takes), desc="real takes"):
        if isinstance(clip, Exception):  # the lifter's dead letters: unreadable files
            continue
        clip = resample_clip(clip, FPS)
        if clip.num_frames < 2 * STRETCH_FRAMES:
            continue
        rng = np.random.default_rng([seed, stable_hash(clip.clip_id)])
        for body in [clip, *variants(clip, rng, 1, FPS)]:
            body = centred(body)
            if knee_bend_depth(body).max() < MIN_DEPTH:
                continue
            for version in injected_versions(body, rng, versions):
                camera = int(rng.integers(CAMERAS_AROUND))
                examples.append(filmed_example(version, camera, seed, profile, clip.clip_id))
    return examples


def view_band(yaw_deg: float) -> str:
    """``"front"``, ``"side"`` or ``"back"`` for a camera ``yaw_deg`` from the facing."""
    yaw = abs(float(wrap_deg(yaw_deg)))
    return next(name for low, high, name in VIEW_BANDS if low <= yaw < high)


def harness_caving_clips(session: RealSession, seed: int = 0) -> list[Clip]:
    """The scoring harness's clips of ``session`` (:func:`lab.real_scoring_eval.
    labelled_clips`: the correct take from four cameras around the person, and its
    injected versions) that hold no error but caving knees."""
    return [
        clip
        for clip in labelled_clips(session, seed)
        if all(label.kind == "knees_caving_in" for label in clip.errors)
    ]


def caving_auc_by_view(
    network: KneeNet, sessions: list[RealSession], seed: int = 0
) -> dict[str, float | None]:
    """The caving outputs' per-frame ROC AUC on real squat ``sessions`` as the scoring
    harness films them (:func:`lab.real_scoring_eval.labelled_clips`: each correct from
    four cameras around the person, and its caving-knee versions), through the 2D front
    end as the product sees them: over the frames past half the squat's depth, both
    knees pooled, overall and per view band (:data:`VIEW_BANDS`)."""
    labels, scores, bands = [], [], []
    for session in sessions:
        bottom = session.depth > 0.5
        for number, clip in enumerate(harness_caving_clips(session, seed)):
            band = view_band(mean_deg(clip_camera_yaw_deg(clip, clip.cameras[0])))
            landmarks, _ = phone_landmarks(clip, 100 + number, PROFILE)
            probability = network.probabilities(landmarks.keypoints, landmarks.scores, clip.fps)
            targets = frame_targets(clip, clip.num_frames)
            for side in ("left", "right"):
                labels.append(targets[bottom, OUTPUTS.index(f"{side}_caving")])
                scores.append(probability[f"{side}_caving"][bottom])
                bands.append(np.full(int(bottom.sum()), band))
    label, score, band = np.concatenate(labels), np.concatenate(scores), np.concatenate(bands)

    def auc(chosen: np.ndarray) -> float | None:
        if not 0 < label[chosen].sum() < chosen.sum():
            return None
        return round(float(roc_auc_score(label[chosen], score[chosen])), 4)

    return {"all": auc(np.ones(len(label), bool))} | {
        name: auc(band == name) for _, _, name in VIEW_BANDS
    }


def real_caving_report(network: KneeNet, root: Path, seed: int = 0) -> dict[str, dict]:
    """:func:`caving_auc_by_view` on the real squats of ``root``: ``detector_person``,
    those of the detector's training person (CMU subject 14, never the network's), and
    ``test_people``, HDM05's (evaluation only: nothing is chosen on them)."""
    manifest = root / "MANIFEST.tsv"
    squats = {
        "detector_person": training_sessions(root, manifest),
        "test_people": real_exercise_sessions(root, manifest),
    }
    return {
        group: caving_auc_by_view(
            network, [s for s in sessions if s.clip.movement == "squat"], seed
        )
        for group, sessions in squats.items()
    }
