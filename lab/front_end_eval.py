"""``coach evaluate-front-end``: the 2D front end (:mod:`pose2d.front_end`) measured.

Real motion capture of held-out people (the clips' ``body.extra["split"]``) is filmed by
phone cameras all around each person (one per quarter: front, their left, back, their
right) with the simulator's ``"mediapipe-real"`` detector at noise level 1, which
injects left/right swaps and identity switches and records them
(:attr:`~synthetic_data.detector.Observation.events`). Each sequence goes through
:func:`~pose2d.front_end.clean_keypoints`, and the report counts, per frame:

* swapped frames fixed (the repaired labels are the true ones), by swapped part and by
  view (the camera's yaw from the person's facing: front < 45 deg, side 45-135, back);
* clean frames wrongly changed (labels exchanged, or blanked as someone else);
* other-person frames caught (blanked) or missed;
* MPJPE (mm, root-relative, camera space) of the bundled recordings lifter on the
  detector's output as it is, after the front end, and after undoing exactly what the
  simulator injected (the best any repair could do), over all frames and over the
  swapped, other-person and clean frames.

Frames where the detector followed someone else count only as other-person frames (a
swap listed there is moot).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pose2d.front_end import CleanedKeypoints, clean_keypoints
from pose2d.swaps import STATE_NAMES, exchange_sides
from pose3d.camera import world_to_camera
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence
from pose3d.shards import stable_hash
from synthetic_data.body import J
from synthetic_data.cameras import VIEW_BINS, body_facing_deg, frame_subject, mean_deg
from synthetic_data.clip import CameraSpec, Clip, read_clip
from synthetic_data.detector import MEDIAPIPE_REAL, DetectorNoise, Observation, film

LAYOUT = "mediapipe33"
PROFILE = "mediapipe-real"
VIEWS = tuple(name for name, _ in VIEW_BINS)
SOURCES = ("as detected", "front end", "true events undone")
# The stress pass: the same detector, following someone else once in every sequence.
ALWAYS_SWITCHING = replace(MEDIAPIPE_REAL, identity_switch_probability=1.0)


def held_out_clips(folder: Path, split: str = "test", limit: int | None = None) -> list[Clip]:
    """The clips of ``split`` in ``folder``; with ``limit``, that many taken in turn from
    each person (``body_id``), so that every person is kept."""
    by_person: dict[str, list[Clip]] = defaultdict(list)
    for path in sorted(Path(folder).glob("*.clip.npz")):
        clip = read_clip(path)
        if clip.body.extra.get("split") == split:
            by_person[clip.body.body_id].append(clip)
    queues = [by_person[person] for person in sorted(by_person)]
    rounds = range(max(map(len, queues), default=0))
    chosen = [queue[rank] for rank in rounds for queue in queues if rank < len(queue)]
    return chosen[:limit] if limit is not None else chosen


def centred(clip: Clip) -> Clip:
    """``clip`` moved on the floor so that its pelvis's mean position is the origin,
    where the simulator's cameras are aimed."""
    joints = clip.joints.copy()
    centre = joints[:, J["pelvis"]].mean(axis=0)
    joints[..., [0, 2]] -= centre[[0, 2]]
    return replace(clip, joints=joints)


def around_cameras(clip: Clip, count: int, seed: int) -> list[CameraSpec]:
    """``count`` phone cameras spread around the person: camera ``k`` sits within
    ``180 / count`` deg of ``k * 360 / count`` deg from their mean facing, 0.05-1.9 m
    high, 1.5-6 m away, sometimes framing them partly (as the real-motion shards)."""
    facing = mean_deg(body_facing_deg(clip.joints))
    cameras = []
    for index in range(count):
        rng = np.random.default_rng([seed, stable_hash(clip.clip_id), index])
        cameras.append(
            frame_subject(
                rng,
                clip.joints,
                subject_height=clip.body.height,
                facing_deg=facing + index * 360.0 / count,
                name=f"cam{index}",
                coverage="anywhere",
                yaw_range_deg=180.0 / count,
                allow_partial=True,
            )
        )
    return cameras


def true_states(events: dict, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``(state (T,) int, other (T,) bool)``: each frame's injected swap (an index into
    :data:`~pose2d.swaps.STATE_NAMES`) and whether it showed someone else."""
    state = np.zeros(frames, dtype=np.int64)
    for start, end, part in events["swaps"]:
        state[start:end] = STATE_NAMES.index(part)
    other = np.zeros(frames, dtype=bool)
    for start, end in events["identity_switches"]:
        other[start:end] = True
    return state, other


def repaired_states(cleaned: CleanedKeypoints) -> tuple[np.ndarray, np.ndarray]:
    """``(state (T,) int, blanked (T,) bool)`` of what the front end did per frame."""
    state = np.zeros(cleaned.frames, dtype=np.int64)
    for start, end, part in cleaned.swaps.stretches:
        state[start:end] = STATE_NAMES.index(part)
    blanked = np.zeros(cleaned.frames, dtype=bool)
    for start, end in cleaned.identity.blanked:
        blanked[start:end] = True
    return state, blanked


def view_names(yaw_deg: np.ndarray) -> np.ndarray:
    """``(T,)`` view name of each frame's camera yaw (deg): front, side or back."""
    magnitude = np.abs(yaw_deg)
    names = np.array(VIEWS)
    return names[np.searchsorted([top for _, top in VIEW_BINS], magnitude, side="right")]


def _camera_truth(clip: Clip, camera: CameraSpec) -> np.ndarray:
    """``(T, 17, 3)`` metres: the clip's H36M-17 pose, root-relative in camera space."""
    cam = world_to_camera(clip.h36m17().astype(np.float64), camera.rotation, camera.position)
    return cam - cam[:, :1]


def _frame_errors(
    lifter: Lifter | None,
    seen: Observation,
    keypoints: np.ndarray,
    scores: np.ndarray,
    truth: np.ndarray,
) -> np.ndarray:
    """``(T,)`` MPJPE (mm) per frame of lifting ``keypoints``/``scores``; NaN when there
    is no lifter or nothing left to lift."""
    if lifter is None:
        return np.full(len(keypoints), np.nan)
    sequence = KeypointSequence(LAYOUT, seen.fps, *seen.image_size, keypoints, scores)
    try:
        poses = lifter.lift_sequence(sequence)
    except ValueError:  # every keypoint blanked or missing
        return np.full(len(keypoints), np.nan)
    return 1000 * np.linalg.norm(poses - truth, axis=-1).mean(axis=-1)


@dataclass
class SequenceResult:
    """Per-frame outcome of one filmed sequence (all arrays ``(T,)``)."""

    view: np.ndarray
    true_state: np.ndarray
    other: np.ndarray
    state: np.ndarray
    blanked: np.ndarray
    errors: dict[str, np.ndarray]
    main_too_rare: bool
    fps: float


def measure_sequence(
    clip: Clip,
    camera: CameraSpec,
    rng: np.random.Generator,
    lifter: Lifter | None,
    profile: str | DetectorNoise = PROFILE,
) -> SequenceResult:
    """Film ``clip`` with ``camera``, run the front end and (with ``lifter``) lift the
    detector's output three ways (:data:`SOURCES`)."""
    seen = film(clip, camera, rng, layout=LAYOUT, noise_level=1.0, profile=profile)
    frames = len(seen.keypoints)
    cleaned = clean_keypoints(seen.keypoints, seen.scores, seen.fps, LAYOUT)
    true_state, other = true_states(seen.events, frames)
    state, blanked = repaired_states(cleaned)
    oracle_points, oracle_scores = exchange_sides(
        seen.keypoints, seen.scores, np.where(other, 0, true_state), LAYOUT
    )
    oracle_points[other], oracle_scores[other] = np.nan, 0.0
    truth = _camera_truth(clip, camera)
    inputs = {
        SOURCES[0]: (seen.keypoints, seen.scores),
        SOURCES[1]: (cleaned.keypoints, cleaned.scores),
        SOURCES[2]: (oracle_points, oracle_scores),
    }
    errors = {name: _frame_errors(lifter, seen, *arrays, truth) for name, arrays in inputs.items()}
    return SequenceResult(
        view_names(np.asarray(seen.events["view_yaw_deg"])),
        true_state,
        other,
        state,
        blanked,
        errors,
        cleaned.main_too_rare,
        seen.fps,
    )


def _share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarise(results: list[SequenceResult]) -> dict:
    """Counts and shares over every frame of ``results`` (see the module docstring)."""
    view = np.concatenate([r.view for r in results])
    true_state = np.concatenate([r.true_state for r in results])
    other = np.concatenate([r.other for r in results])
    state = np.concatenate([r.state for r in results])
    blanked = np.concatenate([r.blanked for r in results])
    swapped = (true_state > 0) & ~other
    clean = (true_state == 0) & ~other
    fixed = swapped & (state == true_state) & ~blanked
    changed = clean & ((state > 0) | blanked)

    def swap_row(mask: np.ndarray) -> dict:
        return {
            "swapped_frames": int((swapped & mask).sum()),
            "fixed_share": _share(int((fixed & mask).sum()), int((swapped & mask).sum())),
            "clean_frames": int((clean & mask).sum()),
            "wrongly_changed_share": _share(int((changed & mask).sum()), int((clean & mask).sum())),
        }

    parts = {name: true_state == STATE_NAMES.index(name) for name in ("all", "arms", "legs")}
    swaps = swap_row(np.ones_like(swapped))
    swaps["wrongly_exchanged_share"] = _share(int((clean & (state > 0)).sum()), int(clean.sum()))
    swaps["wrongly_blanked_share"] = _share(int((clean & blanked).sum()), int(clean.sum()))
    swaps["by_view"] = {name: swap_row(view == name) for name in VIEWS}
    swaps["by_part"] = {name: swap_row(mask) for name, mask in parts.items()}
    swaps["by_part_and_view"] = {
        name: {v: swap_row(mask & (view == v)) for v in VIEWS} for name, mask in parts.items()
    }
    switches = sum(r.other.any() for r in results)
    identity = {
        "sequences_with_a_switch": int(switches),
        "by_kind": {
            name: _identity_row([r for r in results if r.other.any() and test(r)])
            for name, test in (
                ("other person in under half of the frames", lambda r: r.other.mean() < 0.5),
                ("other person in half or more", lambda r: r.other.mean() >= 0.5),
                ("sequences of 10 s or more", lambda r: len(r.other) >= 10 * r.fps),
            )
        },
        "other_person_frames": int(other.sum()),
        "caught_frames": int((other & blanked).sum()),
        "missed_frames": int((other & ~blanked).sum()),
        "caught_share": _share(int((other & blanked).sum()), int(other.sum())),
        "user_frames_blanked": int((~other & blanked).sum()),
        "user_frames_blanked_share": _share(int((~other & blanked).sum()), int((~other).sum())),
        "sequences_main_too_rare": int(sum(r.main_too_rare for r in results)),
    }
    masks = {"all frames": np.ones_like(other), "swapped": swapped, "other person": other}
    masks["clean"] = clean
    mpjpe = {}
    for name, mask in masks.items():
        row = {"frames": int(mask.sum())}
        for source in SOURCES:
            values = np.concatenate([r.errors[source] for r in results])[mask]
            values = values[np.isfinite(values)]
            row[source] = round(float(values.mean()), 1) if values.size else None
        mpjpe[name] = row
    return {
        "sequences": len(results),
        "frames": len(view),
        "frames_by_view": {name: int((view == name).sum()) for name in VIEWS},
        "swaps": swaps,
        "identity": identity,
        "mpjpe_mm": mpjpe,
    }


def _identity_row(results: list[SequenceResult]) -> dict:
    """Other-person frames caught and user frames blanked over ``results``."""
    other = np.concatenate([r.other for r in results]) if results else np.zeros(0, bool)
    blanked = np.concatenate([r.blanked for r in results]) if results else np.zeros(0, bool)
    return {
        "sequences": len(results),
        "other_person_frames": int(other.sum()),
        "caught_share": _share(int((other & blanked).sum()), int(other.sum())),
        "user_frames": int((~other).sum()),
        "user_frames_blanked_share": _share(int((~other & blanked).sum()), int((~other).sum())),
        "main_too_rare": int(sum(r.main_too_rare for r in results)),
    }


def measure_clips(
    clips: list[Clip],
    cameras: int,
    seed: int,
    lifter: Lifter | None,
    profile: str | DetectorNoise = PROFILE,
    desc: str = "front end",
) -> list[SequenceResult]:
    """:func:`measure_sequence` for every clip (centred) and each of its ``cameras``."""
    results = []
    with tqdm(total=len(clips) * cameras, desc=desc, unit="seq") as progress:
        for clip in clips:
            clip = centred(clip)
            for index, camera in enumerate(around_cameras(clip, cameras, seed)):
                rng = np.random.default_rng([seed, stable_hash(clip.clip_id), index, 1])
                results.append(measure_sequence(clip, camera, rng, lifter, profile))
                progress.update()
    return results


def evaluate_front_end(
    clips_dir: Path,
    out: Path,
    limit: int | None = None,
    split: str = "test",
    cameras: int = 4,
    seed: int = 0,
    lift: bool = True,
    stress: bool = True,
) -> Path:
    """Film every clip of ``split`` in ``clips_dir`` (``limit``: that many, every person
    kept) with ``cameras`` cameras around the person, measure the front end and write
    ``report.md`` and ``metrics.json`` into ``out``. With ``stress``, film them all again
    following someone else once in every sequence (:data:`ALWAYS_SWITCHING`), since the
    detector does so in only a few % of sequences."""
    clips = held_out_clips(clips_dir, split, limit)
    if not clips:
        raise ValueError(f"no {split} clips in {clips_dir}")
    began = time.perf_counter()
    lifter = Lifter.for_recordings() if lift else None
    metrics = summarise(measure_clips(clips, cameras, seed, lifter))
    if stress:
        stressed = measure_clips(clips, cameras, seed, lifter, ALWAYS_SWITCHING, "stress")
        metrics["identity_stress"] = summarise(stressed)
    metrics["setup"] = {
        "clips_dir": str(clips_dir),
        "split": split,
        "clips": len(clips),
        "limit": limit,
        "people": sorted({clip.body.body_id for clip in clips}),
        "cameras_per_clip": cameras,
        "profile": PROFILE,
        "noise_level": 1.0,
        "seed": seed,
        "lifter": lifter.metadata.version if lifter else None,
        "seconds": round(time.perf_counter() - began, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    (out / "report.md").write_text(report_text(metrics))
    return out / "report.md"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _swap_lines(swaps: dict) -> list[str]:
    """The swap section: share fixed per part and view, and false changes per view."""
    lines = [
        f"Swapped frames fixed: **{_percent(swaps['fixed_share'])}** of "
        f"{swaps['swapped_frames']}; clean frames wrongly changed: "
        f"**{_percent(swaps['wrongly_changed_share'])}** of {swaps['clean_frames']} "
        f"({_percent(swaps['wrongly_exchanged_share'])} labels exchanged, "
        f"{_percent(swaps['wrongly_blanked_share'])} blanked as someone else).",
        "",
        "| swapped part | " + " | ".join(VIEWS) + " | all views |",
        "|---|" + "---|" * (len(VIEWS) + 1),
    ]
    for part, row in swaps["by_part"].items():
        cells = [
            f"{_percent(cell['fixed_share'])} of {cell['swapped_frames']}"
            for cell in swaps["by_part_and_view"][part].values()
        ]
        total = f"{_percent(row['fixed_share'])} of {row['swapped_frames']}"
        lines.append(f"| {part} | {' | '.join(cells)} | {total} |")
    cells = [
        f"{_percent(cell['fixed_share'])} of {cell['swapped_frames']}"
        for cell in swaps["by_view"].values()
    ]
    lines.append(
        f"| any | {' | '.join(cells)} | {_percent(swaps['fixed_share'])} of "
        f"{swaps['swapped_frames']} |"
    )
    cells = [
        f"{_percent(cell['wrongly_changed_share'])} of {cell['clean_frames']}"
        for cell in swaps["by_view"].values()
    ]
    lines.append(
        f"| clean frames wrongly changed | {' | '.join(cells)} | "
        f"{_percent(swaps['wrongly_changed_share'])} of {swaps['clean_frames']} |"
    )
    return lines


def _identity_lines(identity: dict) -> list[str]:
    """The identity section: other-person frames caught and user frames blanked."""
    lines = [
        f"{identity['sequences_with_a_switch']} sequences followed someone else, for "
        f"{identity['other_person_frames']} frames: {identity['caught_frames']} caught "
        f"(blanked, **{_percent(identity['caught_share'])}**), {identity['missed_frames']} "
        f"missed. User frames blanked by mistake: {identity['user_frames_blanked']} "
        f"({_percent(identity['user_frames_blanked_share'])} of all user frames). Sequences "
        f"flagged as showing the user in less than half of their frames: "
        f"{identity['sequences_main_too_rare']}.",
        "",
        "| sequences with a switch | count | other-person frames | caught | user frames "
        "blanked | flagged |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in identity["by_kind"].items():
        lines.append(
            f"| {name} | {row['sequences']} | {row['other_person_frames']} | "
            f"{_percent(row['caught_share'])} | {_percent(row['user_frames_blanked_share'])} "
            f"of {row['user_frames']} | {row['main_too_rare']} |"
        )
    return lines


def _mpjpe_lines(mpjpe: dict) -> list[str]:
    """The lifting-error table: frames by kind, one column per source."""
    lines = [
        "| frames | count | " + " | ".join(SOURCES) + " |",
        "|---|---|" + "---|" * len(SOURCES),
    ]
    for name, row in mpjpe.items():
        values = " | ".join("-" if row[s] is None else str(row[s]) for s in SOURCES)
        lines.append(f"| {name} | {row['frames']} | {values} |")
    return lines


def report_text(metrics: dict) -> str:
    """The markdown report of :func:`summarise`'s ``metrics`` (with ``"setup"``, and
    ``"identity_stress"`` when the stress pass ran)."""
    setup = metrics["setup"]
    lines = [
        "# 2D front end: left/right swaps and identity switches",
        "",
        f"{setup['clips']} {setup['split']}-split clips of {len(setup['people'])} people "
        f"({', '.join(setup['people'])}) from `{setup['clips_dir']}`, each filmed by "
        f"{setup['cameras_per_clip']} phone cameras around the person (one per quarter "
        f"around their mean facing): {metrics['sequences']} sequences, {metrics['frames']} "
        f"frames ({', '.join(f'{v} {n}' for v, n in metrics['frames_by_view'].items())}). "
        f"Detector `{setup['profile']}` at noise level {setup['noise_level']}, seed "
        f"{setup['seed']}; lifter {setup['lifter']}; {setup['seconds']} s in all. The front "
        "end's settings were tuned on the validation split's people only.",
        "",
        "## Left/right swaps",
        "",
        *_swap_lines(metrics["swaps"]),
        "",
        "Fixed: after the front end the frame's labels are the true ones for every part "
        "(a whole-body swap undone as arms only is not fixed; a frame blanked as someone "
        "else is not fixed). Wrongly changed: a clean frame whose labels were exchanged or "
        "which was blanked. View: the camera's yaw from the person's facing in that frame "
        "(front under 45 deg, side 45-135, back). Frames showing someone else count in "
        "neither.",
        "",
        "## Identity switches",
        "",
        *_identity_lines(metrics["identity"]),
        "",
    ]
    stress = metrics.get("identity_stress")
    if stress:
        lines += [
            "### Stress pass: a switch in every sequence",
            "",
            "The same sequences filmed again with the detector following someone else once "
            "in every one (1-4 s of a time-shifted, moved, rescaled, sometimes mirrored copy "
            "of the motion). In a short clip that can be most of it, and then the other "
            "person is the one seen most and kept as the user (the 'half or more' row); "
            "sessions are minutes long, nearer the '10 s or more' row.",
            "",
            *_identity_lines(stress["identity"]),
            "",
            *_mpjpe_lines({"other person": stress["mpjpe_mm"]["other person"]}),
            "",
        ]
    lines += [
        "## Lifting error (MPJPE, mm)",
        "",
        *_mpjpe_lines(metrics["mpjpe_mm"]),
        "",
        "Root-relative, camera space, against the clip's true H36M-17 pose of the user "
        "(on other-person frames too: what scoring would have judged as the user). "
        "'true events undone': the simulator's own swaps exchanged back and its "
        "other-person frames blanked, the best a repair could do. Clean: neither swapped "
        "nor someone else.",
        "",
        f"Reproduce: `coach evaluate-front-end --clips {setup['clips_dir']} "
        f"--split {setup['split']} --cameras {setup['cameras_per_clip']}"
        + (f" --limit {setup['limit']}" if setup.get("limit") else "")
        + "`.",
        "",
    ]
    return "\n".join(lines)
