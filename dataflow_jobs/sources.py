"""Input files -> clips: our clip files, BVH files and Unity SOLO datasets.

Each function handles one element and raises on bad input; the pipeline turns those
exceptions into dead-letter records.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass

from dataflow_jobs import fileio
from synthetic_data.bvh import clip_from_bvh_bytes
from synthetic_data.clip import CLIP_SUFFIX, Clip, clip_from_bytes
from synthetic_data.solo import read_solo

SOLO_MARKER = "annotation_definitions.json"


@dataclass
class SourceClip:
    """A clip with where it came from and the sha256 of its source bytes."""

    clip: Clip
    source: str
    sha256: str


def source_kind(path: str) -> str | None:
    """``"clip"``, ``"bvh"``, ``"solo"`` or ``None`` (not an input we read)."""
    name = posixpath.basename(path)
    if name.endswith(CLIP_SUFFIX):
        return "clip"
    if name.lower().endswith(".bvh"):
        return "bvh"
    if name == SOLO_MARKER:
        return "solo"
    return None


def expand_patterns(patterns: str) -> list[str]:
    """Every readable input matched by comma-separated ``patterns``, sorted, unique."""
    paths = set()
    for pattern in filter(None, (p.strip() for p in patterns.split(","))):
        paths.update(p for p in fileio.match(pattern) if source_kind(p))
    return sorted(paths)


def read_source(path: str) -> list[SourceClip]:
    """Read one input into clips (a SOLO dataset may hold several sequences)."""
    kind = source_kind(path)
    if kind == "clip":
        data = fileio.read_bytes(path)
        return [SourceClip(clip_from_bytes(data, path), path, hashlib.sha256(data).hexdigest())]
    if kind == "bvh":
        data = fileio.read_bytes(path)
        digest = hashlib.sha256(data).hexdigest()
        return [SourceClip(clip_from_bvh_bytes(data, path), path, digest)]
    if kind == "solo":
        root = posixpath.dirname(path)
        local = fileio.localise_folder(root)
        digest = hashlib.sha256()
        for file in sorted(p for p in local.rglob("*.json")):
            digest.update(file.read_bytes())
        clips = read_solo(local, dataset_name=posixpath.basename(root.rstrip("/")))
        return [SourceClip(c, path, digest.hexdigest()) for c in clips]
    raise ValueError(f"{path}: not a clip, BVH or SOLO input")
