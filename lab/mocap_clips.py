"""`coach mocap clips`: real motion capture -> clip files for build-shards.

Training subjects become many people: each take is retargeted onto ``variants`` sampled
bodies (mirrored half the time, tempo 0.8-1.25x), onto ``donor_variants`` skeletons of
other real training subjects (real proportions that the sampled bodies miss), and, with
``keep_real``, kept on the performer's own body too; validation and test subjects stay
the real people they are (their evaluation is on real bodies). Every clip is resampled to
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
from synthetic_data.mocap import check_splits, iter_takes, load_manifest
from synthetic_data.retarget import bone_lengths, donor_variants, resample, variants

MIN_SECONDS = 1.0  # shorter takes hold no motion worth a window


def make_real_clips(
    root: Path,
    manifest: Path,
    out: Path,
    splits: tuple[str, ...] = ("train", "validation", "test"),
    variant_count: int = 4,
    seed: int = 0,
    fps: float = 30.0,
    donor_count: int = 0,
    keep_real: bool = False,
) -> dict:
    """Write the clips of ``splits`` into ``out``; returns (and writes) a summary.
    ValueError naming an unknown split, before anything is written."""
    check_splits(splits)
    out.mkdir(parents=True, exist_ok=True)
    takes = load_manifest(manifest)
    counts, dead = Counter(), []
    chosen = [t for t in takes if t.split in splits]
    donors = training_skeletons(root, takes) if donor_count else {}
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
            made += donor_variants(clip, rng, donors, donor_count, fps)
            if keep_real:
                made.append(resample(clip, fps))
        else:
            made = [resample(clip, fps)]
        for item in made:
            atomic_write(out / f"{item.clip_id}{CLIP_SUFFIX}", clip_bytes(item))
            counts[(take.split, item.movement)] += len(item.joints)
    summary = {
        "takes": len(chosen),
        "dead_letters": len(dead),
        "variants_per_train_take": variant_count,
        "donor_variants_per_train_take": donor_count,
        "real_body_kept": keep_real,
        "donors": sorted(donors),
        "fps": fps,
        "frames": {f"{split}/{kind}": n for (split, kind), n in sorted(counts.items())},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "dead_letters.jsonl").write_text("".join(json.dumps(d) + "\n" for d in dead))
    return summary


def training_skeletons(root: Path, takes: list) -> dict[str, np.ndarray]:
    """Bone lengths ``(28,)`` m of each training subject, from the first of its takes
    that reads: the donors of :func:`donor_variants` (never a validation or test person)."""
    skeletons: dict[str, np.ndarray] = {}
    for take in takes:
        if take.split != "train" or take.subject in skeletons:
            continue
        for _, clip in iter_takes(root, [take], ("train",)):
            if not isinstance(clip, Exception):
                skeletons[take.subject] = bone_lengths(clip)
    return skeletons
