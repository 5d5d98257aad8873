"""Generate many clips into a folder, in parallel, with a progress bar and a manifest.

Clip ``i`` of a batch with base seed ``S`` has seed ``S * 1_000_003 + i`` and is
performed by body ``(S * 1_000_003 + i) // 3`` (each person does three clips),
cycling through the requested movements, so a batch is reproducible from
``(S, N, movements)`` and any single clip from its own seed.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from synthetic_data.cameras import COVERAGES, Coverage
from synthetic_data.clip import CLIP_SUFFIX, write_clip
from synthetic_data.generator import ClipRequest, generate_clip, trainer_clip
from synthetic_data.movements import MOVEMENTS

CLIPS_PER_BODY = 3
SEED_STRIDE = 1_000_003
DEEP_SQUAT_STREAM = 11  # the deep-squat draw's own random stream, apart from the clip's


def plan_requests(
    count: int,
    seed: int,
    movements: list[str] | None = None,
    *,
    fps: float = 30.0,
    duration_s: float | None = None,
    num_cameras: int = 1,
    error_rate: float = 0.6,
    deep_squat_share: float = 0.0,
    style_variation: float = 0.0,
    stance_variation: float = 0.0,
    camera_coverage: Coverage = "front",
) -> list[ClipRequest]:
    """The requests of a batch of ``count`` user clips; ``deep_squat_share`` of the squats
    (drawn from each clip's seed, apart from its own draws) are deep squats of style
    0.5-1 (:func:`synthetic_data.movements.squat`); every user's posture differs from
    the trainer's by ``style_variation`` (:mod:`synthetic_data.style`), and their toes
    turn out by ``stance_variation`` (:func:`synthetic_data.style.stance_offsets`); their
    phone cameras stand where ``camera_coverage`` says (:class:`ClipRequest`)."""
    if not 0.0 <= deep_squat_share <= 1.0:
        raise ValueError(f"deep_squat_share must be in [0, 1], got {deep_squat_share}")
    if camera_coverage not in COVERAGES:
        raise ValueError(
            f"unknown camera coverage {camera_coverage!r}; expected one of {', '.join(COVERAGES)}"
        )
    names = list(movements or MOVEMENTS)
    for name in names:
        if name not in MOVEMENTS:
            raise ValueError(f"unknown movement {name!r}; expected one of {', '.join(MOVEMENTS)}")
    requests = []
    for index in range(count):
        clip_seed = seed * SEED_STRIDE + index
        style = np.random.default_rng([clip_seed, DEEP_SQUAT_STREAM])
        deep = float(style.uniform(0.5, 1.0)) if style.random() < deep_squat_share else 0.0
        requests.append(
            ClipRequest(
                seed=clip_seed,
                movement=names[index % len(names)],
                fps=fps,
                duration_s=duration_s,
                num_cameras=num_cameras,
                body_seed=clip_seed // CLIPS_PER_BODY,
                error_rate=error_rate,
                deep_squat=deep if names[index % len(names)] == "squat" else 0.0,
                style_variation=style_variation,
                stance_variation=stance_variation,
                camera_coverage=camera_coverage,
            )
        )
    return requests


def _generate_and_write(args: tuple[ClipRequest, str]) -> dict:
    request, out = args
    clip = generate_clip(request)
    path = write_clip(clip, Path(out) / f"{clip.clip_id}{CLIP_SUFFIX}")
    return {
        "clip_id": clip.clip_id,
        "file": path.name,
        "movement": clip.movement,
        "body_id": clip.body.body_id,
        "frames": clip.num_frames,
        "errors": sorted({e.kind for e in clip.errors}),
    }


def generate_batch(
    out: str | os.PathLike,
    requests: list[ClipRequest],
    *,
    workers: int = 1,
    with_references: bool = True,
    progress: bool = True,
) -> Path:
    """Write every requested clip (and the trainer references) under ``out``.

    Returns the path of ``manifest.json``, which lists each clip with its movement,
    body and error kinds.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(request, str(out)) for request in requests]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(
                tqdm(
                    pool.map(_generate_and_write, jobs, chunksize=8),
                    total=len(jobs),
                    desc="clips",
                    disable=not progress,
                )
            )
    else:
        results = [
            _generate_and_write(job) for job in tqdm(jobs, desc="clips", disable=not progress)
        ]
    references = []
    if with_references:
        ref_dir = out / "references"
        movements = sorted({r.movement for r in requests})
        for movement in movements:
            path = write_clip(trainer_clip(movement), ref_dir / f"trainer-{movement}{CLIP_SUFFIX}")
            references.append(str(path.relative_to(out)))
    manifest = out / "manifest.json"
    manifest.write_text(
        json.dumps({"clips": results, "references": references}, indent=1, sort_keys=True) + "\n"
    )
    return manifest
