"""``coach drift-reference``: the training distribution of the drift statistics.

Each labelled clip (``coach synth``) is filmed by its first phone camera with detector
noise, repaired by the 2D front end, lifted by the bundled recordings lifter and scored
against its movement's trainer reference with the bundled population model, as the
scoring evaluation prepares clips (:mod:`lab.clips`), then measured by the same function
the API measures production sessions with (:func:`scoring.session_stats.session_statistics`).
The JSON lines it writes are the reference the drift job compares windows of production
sessions with (``coach dataflow drift --reference``).
"""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from lab.clips import clip_paths, film_phone, reference_for
from pose3d.archive import atomic_write
from pose3d.lifter import Lifter
from pose3d.sequence_json import KeypointSequence
from scoring import PopulationModel
from scoring.keypoint_scoring import judge_lifted, lift_keypoints, scored_input
from scoring.session_stats import session_statistics
from synthetic_data.clip import Clip, read_clip


def clip_statistics(
    clip: Clip,
    number: int,
    lifter: Lifter,
    population: PopulationModel | None,
    strictness: str,
    cache: dict,
) -> dict[str, float]:
    """The drift statistics of ``clip`` as a production session of it would have them:
    filmed (noise seeded by ``number``), then repaired, lifted and scored at
    ``strictness`` as the API scores a session (:mod:`scoring.keypoint_scoring`;
    ``cache``: the trainer references built so far)."""
    seen = film_phone(clip, number)
    sequence = KeypointSequence(
        "mediapipe33", clip.fps, *seen.image_size, seen.keypoints, seen.scores
    )
    lifted = lift_keypoints(lifter, sequence)
    reference, _ = reference_for(clip.movement, cache)
    beats = clip.beat_times or None
    version = lifter.metadata.version
    report = judge_lifted(lifted, reference, strictness, population, version, beats)
    received = scored_input(sequence, lifted)
    return session_statistics(
        received, lifted.poses, report.to_dict(), report.detector_probabilities
    )


def synthetic_clips(clips_dir: Path, limit: int | None = None) -> list[Clip]:
    """``limit`` labelled clips of ``clips_dir`` spread over its movements (all by
    default)."""
    paths = clip_paths(clips_dir, limit) if limit else sorted(clips_dir.glob("*.clip.npz"))
    if not paths:
        raise ValueError(f"no clip files in {clips_dir}")
    return [read_clip(path) for path in paths]


def real_clips(root: Path, manifest: Path, limit: int | None = None, seed: int = 0) -> list[Clip]:
    """The real exercise sessions of the mocap archives (HDM05 squats, CMU jumping jacks:
    :mod:`lab.real_exercise`), each filmed from cameras all around, correct and with
    injected errors as the real-scoring evaluation makes them: real bodies and motion
    as real users' sessions would bring them; ``limit`` of them spread evenly."""
    from lab.real_exercise import real_exercise_sessions
    from lab.real_scoring_eval import labelled_clips

    clips = [c for s in real_exercise_sessions(root, manifest) for c in labelled_clips(s, seed)]
    if not clips:
        raise ValueError(f"no real exercise takes in {root}")
    if limit and len(clips) > limit:
        clips = [clips[int(number * len(clips) / limit)] for number in range(limit)]
    return clips


def write_reference(clips: list[Clip], out: Path, strictness: str = "intermediate") -> int:
    """Measure ``clips`` and write one line per clip to ``out``: ``{"clip", "movement",
    "stats"}``, whole or not at all. Returns how many clips it holds."""
    lifter, population, cache = Lifter.for_recordings(), PopulationModel.load(), {}
    lines = []
    for number, clip in enumerate(tqdm(clips, desc="drift statistics", leave=False)):
        stats = clip_statistics(clip, number, lifter, population, strictness, cache)
        lines.append(json.dumps({"clip": clip.clip_id, "movement": clip.movement, "stats": stats}))
    atomic_write(out, "".join(f"{line}\n" for line in lines).encode())
    return len(lines)
