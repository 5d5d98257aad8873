"""`coach mocap clips`: real motion capture -> clip files for build-shards.

Training subjects become many people: each take is retargeted onto ``variants`` sampled
bodies (mirrored half the time, tempo 0.8-1.25x); validation and test subjects stay the
real people they are (their evaluation is on real bodies). Every clip is resampled to
``fps`` (the lifter's rate), keeps its subject as ``body_id`` and the agreed split in
``body.extra["split"]``, so build-shards never puts a person in two splits. Takes that
cannot be read go to ``dead_letters.jsonl`` with their cause.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pose3d.archive import atomic_write
from pose3d.shards import stable_hash
from synthetic_data.clip import CLIP_SUFFIX, clip_bytes
from synthetic_data.mocap import iter_takes, load_manifest
from synthetic_data.retarget import resample, variants

MIN_SECONDS = 1.0  # shorter takes hold no motion worth a window


def make_real_clips(
    root: Path,
    manifest: Path,
    out: Path,
    splits: tuple[str, ...] = ("train", "validation", "test"),
    variant_count: int = 4,
    seed: int = 0,
    fps: float = 30.0,
) -> dict:
    """Write the clips of ``splits`` into ``out``; returns (and writes) a summary."""
    out.mkdir(parents=True, exist_ok=True)
    takes = load_manifest(manifest)
    counts, dead = Counter(), []
    chosen = [t for t in takes if t.split in splits]
    for take, clip in tqdm(iter_takes(root, takes, splits), total=len(chosen), desc="takes"):
        if isinstance(clip, Exception):
            dead.append({"take": take.path, "stage": "read", "error": str(clip)[:300]})
            continue
        if clip.num_frames / clip.fps < MIN_SECONDS:
            dead.append({"take": take.path, "stage": "length", "error": "under 1 s"})
            continue
        if take.split == "train":
            rng = np.random.default_rng([seed, stable_hash(clip.clip_id)])
            made = variants(clip, rng, variant_count, fps)
        else:
            made = [resample(clip, fps)]
        for item in made:
            atomic_write(out / f"{item.clip_id}{CLIP_SUFFIX}", clip_bytes(item))
            counts[(take.split, item.movement)] += len(item.joints)
    summary = {
        "takes": len(chosen),
        "dead_letters": len(dead),
        "variants_per_train_take": variant_count,
        "fps": fps,
        "frames": {f"{split}/{kind}": n for (split, kind), n in sorted(counts.items())},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "dead_letters.jsonl").write_text("".join(json.dumps(d) + "\n" for d in dead))
    return summary
