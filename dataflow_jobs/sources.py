"""Input files -> clips: our clip files, BVH files, ASF/AMC motion capture and Unity SOLO
datasets.

Each function handles one element and raises on bad input; the pipeline turns those
exceptions into dead-letter records.

Motion capture: an ``.amc`` motion is read with the ``.asf`` skeleton beside it (CMU
``02_01.amc`` -> ``02.asf``, HDM05 ``HDM_bd_squat1Reps_001_120.amc`` -> ``HDM_bd.asf``).
When a file's name says whose it is (CMU ``02_01``, HDM05 ``HDM_bd``) its body id is the
subject and its split the agreed one (:func:`synthetic_data.mocap.split_of`), so a
person's takes stay together. When a ``MANIFEST.tsv`` of the mocap archives sits in one
of the three folders above an input and lists it (copy ``../shared/mocap/MANIFEST.tsv``
into ``data/mocap/``), the take is read as :func:`synthetic_data.mocap.read_take` does:
the manifest's fps and subject, the T-pose frame of the cgspeed and iClone folders
dropped, its motion kind.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from functools import lru_cache

from dataflow_jobs import fileio
from synthetic_data.asfamc import clip_from_asf_amc_bytes
from synthetic_data.bvh import clip_from_bvh_bytes
from synthetic_data.clip import CLIP_SUFFIX, Clip, clip_from_bytes
from synthetic_data.mocap import (
    MANIFEST_NAME,
    MocapTake,
    asf_for_amc,
    clip_from_take,
    mark_subject,
    parse_manifest,
    subject_from_file,
)
from synthetic_data.solo import read_solo

SOLO_MARKER = "annotation_definitions.json"
MOCAP_FPS = 120.0  # CMU and HDM05 capture rate; AMC files do not say it
_MANIFEST_LEVELS = 3  # manifest in the folder of an input's source folder, or above


@dataclass
class SourceClip:
    """A clip with where it came from and the sha256 of its source bytes."""

    clip: Clip
    source: str
    sha256: str


def source_kind(path: str) -> str | None:
    """``"clip"``, ``"bvh"``, ``"amc"``, ``"solo"`` or ``None`` (not an input we read)."""
    name = posixpath.basename(path)
    if name.endswith(CLIP_SUFFIX):
        return "clip"
    if name.lower().endswith(".bvh"):
        return "bvh"
    if name.lower().endswith(".amc"):
        return "amc"
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
    if kind in ("bvh", "amc"):
        return [_read_mocap(path, kind)]
    if kind == "solo":
        root = posixpath.dirname(path)
        local = fileio.localise_folder(root)
        digest = hashlib.sha256()
        for file in sorted(p for p in local.rglob("*.json")):
            digest.update(file.read_bytes())
        clips = read_solo(local, dataset_name=posixpath.basename(root.rstrip("/")))
        return [SourceClip(c, path, digest.hexdigest()) for c in clips]
    raise ValueError(f"{path}: not a clip, BVH or SOLO input, nor an AMC motion")


def _read_mocap(path: str, kind: str) -> SourceClip:
    """A BVH or AMC file: through its manifest row when there is one, else on its own."""
    blobs: list[bytes] = []  # every file the clip comes from, hashed in reading order

    def load(file: str) -> bytes:
        blobs.append(fileio.read_bytes(file))
        return blobs[-1]

    found = manifest_take(path)
    if found is not None:
        root, take = found
        clip = clip_from_take(take, lambda inner: load(fileio.join(root, inner)))
    elif kind == "amc":
        asf = asf_for_amc(path, fileio.exists, fileio.match)
        clip = clip_from_asf_amc_bytes(load(asf), load(path), path, asf_source=asf, fps=MOCAP_FPS)
        clip = _with_subject(clip, subject_from_file(asf))
    else:
        clip = _with_subject(clip_from_bvh_bytes(load(path), path), subject_from_file(path))
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(blob)
    if found is not None:  # the manifest row shapes the clip too (fps, frames dropped)
        digest.update(repr(found[1]).encode())
    return SourceClip(clip, path, digest.hexdigest())


def _with_subject(clip: Clip, subject: str | None) -> Clip:
    return clip if subject is None else mark_subject(clip, subject)


def manifest_take(path: str) -> tuple[str, MocapTake] | None:
    """``(archive root, take)`` when a mocap ``MANIFEST.tsv`` in one of the folders above
    ``path`` lists it, else ``None``."""
    folder = posixpath.dirname(path)
    for _ in range(_MANIFEST_LEVELS):
        folder = posixpath.dirname(folder)
        if not folder or folder == posixpath.dirname(folder):
            return None
        takes = _manifest_in(folder)
        if takes is not None:
            relative = path[len(folder) :].lstrip("/")
            return (folder, takes[relative]) if relative in takes else None
    return None


@lru_cache(maxsize=16)
def _manifest_in(folder: str) -> dict[str, MocapTake] | None:
    """The takes of ``folder/MANIFEST.tsv`` by path, ``None`` if there is none (cached per
    worker: every input of an archive asks)."""
    manifest = fileio.join(folder, MANIFEST_NAME)
    if not fileio.exists(manifest):
        return None
    text = fileio.read_bytes(manifest).decode("utf-8")
    return {take.path: take for take in parse_manifest(text, manifest)}
