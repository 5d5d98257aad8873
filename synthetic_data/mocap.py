"""Real motion capture (``../shared/mocap``): the manifest, the agreed split by person,
and one reader per format.

``MANIFEST.tsv`` lists every motion file of the archives (``cmu.tar.xz``,
``hdm05.tar.xz``) with its subject, true capture fps, licence, format and skeleton.
:func:`read_take` picks the reader by format and applies what the archive's README says
to handle:

* the manifest's fps is trusted, not the file header (some BVH headers claim 120 fps
  for 60 fps captures, one raw conversion claims 30);
* frame 0 of the cgspeed (``cmu_bvh_aclstm``, ``cmu_bvh_przestr``) and iClone
  (``cmu_bvh_iclone``) folders is dropped: a T-pose in the cgspeed files (in the iClone
  files and the one raw amc2bvh file of ``cmu_bvh_przestr`` it is an ordinary frame, so
  one frame of motion is lost there);
* DeepMimic takes (``cmu_deepmimic_jump``) are skipped, raising :class:`UnsupportedTake`:
  they hold local joint rotations of DeepMimic's generic 15-joint humanoid, not the
  subject's bone lengths, so no positions of the person can be rebuilt;
* units come from the skeleton's measured height (see :mod:`synthetic_data.rig`).

The clip's ``body.body_id`` is the subject (``cmu_002``, ``hdm05_bd``), so anything split
by body keeps a person in one split; ``body.extra`` records ``subject``, ``split`` (the
agreed one, which the shard builder honours), ``source``, ``licence``, ``take``,
``description`` and ``path``. ``clip.movement`` is a coarse motion kind from the
description (:func:`movement_kind`).

Agreed split by person (``split_of``): test = CMU subjects 2, 7, 9, 49, 94 and every
HDM05 actor; validation = CMU 16, 135; train = every other CMU subject.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from synthetic_data.asfamc import clip_from_asf_amc_bytes
from synthetic_data.bvh import clip_from_bvh_bytes
from synthetic_data.clip import Clip, ClipFormatError

TEST_CMU_SUBJECTS = frozenset({2, 7, 9, 49, 94})
VALIDATION_CMU_SUBJECTS = frozenset({16, 135})
SPLITS = ("train", "validation", "test")
T_POSE_FOLDERS = frozenset({"cmu_bvh_aclstm", "cmu_bvh_przestr", "cmu_bvh_iclone"})
MANIFEST_NAME = "MANIFEST.tsv"

# Motion kind <- keywords at the start of a word of the description (camelCase split),
# first kind that matches wins: exercises before jumps ("jumping jacks"), sports
# before martial arts ("kick ball"), jumps before runs ("run, leap").
MOVEMENT_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("exercise", ("jumping jack", "squat", "stretch", "elbow to knee", "rotate arms",
                  "side twist", "balance on one leg")),
    ("dance", ("dance", "salsa", "lambada", "lindy", "pirouette", "arabesque", "jete", "whirl")),
    ("sports", ("basketball", "soccer", "dribble", "throw", "kick ball")),
    ("martial_arts", ("karate", "martial", "punch", "strike", "kick", "sword")),
    ("jump", ("jump", "hop", "leap")),
    ("run", ("run", "jog")),
    ("walk", ("walk", "stride", "march", "limp", "sneak", "navigate", "stumble")),
    ("everyday", ("lie down", "grab", "deposit", "wash", "scoop", "climb", "playground",
                  "bend over", "get up", "sit")),
)  # fmt: skip


class UnsupportedTake(ClipFormatError):
    """A take whose format cannot give body positions (the message says why)."""


@dataclass(frozen=True)
class MocapTake:
    """One row of ``MANIFEST.tsv``.

    Attributes:
        source: Archive folder (``cmu_asfamc``, ``cmu_bvh_aclstm``, ``hdm05_cuts`` ...).
        path: File path inside the unpacked archives (``cmu_asfamc/02/02_01.amc``).
        subject: Person (``cmu_002``, ``hdm05_bd``).
        frames: Frame count the manifest gives.
        fps: True capture rate (trust it over the file header).
        licence: Licence text.
        format: ``"asf/amc (original CMU)"``, ``"bvh"``, ``"deepmimic json txt"`` ...
        skeleton: ``"asf:02.asf"`` (the skeleton file) or a summary of a BVH hierarchy.
        trial: CMU trial id (``02_01``) or a clip name.
        description: What the person does (from the CMU index or the file name).
        header_fps: What the file header claims, if it has a rate.
        repo: The upstream repository of the file.
    """

    source: str
    path: str
    subject: str
    frames: int
    fps: float
    licence: str
    format: str
    skeleton: str
    trial: str
    description: str
    header_fps: float | None = None
    repo: str = ""

    @property
    def split(self) -> str:
        return split_of(self.subject)

    @property
    def movement(self) -> str:
        return movement_kind(self.description)

    @property
    def clip_id(self) -> str:
        """Stable and file-name safe: ``cmu_asfamc-02-02_01``."""
        stem = self.path.rsplit(".", 1)[0]
        return stem.replace("/", "-")


def parse_manifest(text: str, source: str = MANIFEST_NAME) -> list[MocapTake]:
    """Rows of a manifest's text (tab-separated, header line first)."""
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    needed = {"source", "path", "subject", "frames", "fps", "license", "format", "skeleton"}
    if not rows or needed - set(rows[0]):
        missing = sorted(needed - set(rows[0])) if rows else sorted(needed)
        raise ClipFormatError(f"{source}: not a mocap manifest (missing columns {missing})")
    takes = []
    for number, row in enumerate(rows, start=2):
        try:
            takes.append(
                MocapTake(
                    source=row["source"],
                    path=row["path"],
                    subject=row["subject"],
                    frames=int(row["frames"]),
                    fps=float(row["fps"]),
                    licence=row["license"],
                    format=row["format"],
                    skeleton=row["skeleton"],
                    trial=row.get("trial") or "",
                    description=row.get("description") or "",
                    header_fps=float(row["header_fps"]) if row.get("header_fps") else None,
                    repo=row.get("repo") or "",
                )
            )
        except (TypeError, ValueError) as exc:
            raise ClipFormatError(f"{source}: line {number}: {exc}") from None
    return takes


def load_manifest(path: str | Path) -> list[MocapTake]:
    """Every take listed in a ``MANIFEST.tsv``."""
    path = Path(path)
    return parse_manifest(path.read_text(encoding="utf-8"), str(path))


def split_of(subject: str) -> str:
    """``"test"``, ``"validation"`` or ``"train"`` for a subject (``cmu_002``, ``hdm05_bd``)
    per the agreed split by person; :class:`ValueError` for a subject of neither database."""
    if subject.startswith("hdm05_"):
        return "test"
    match = re.fullmatch(r"cmu_0*(\d+)", subject)
    if not match:
        raise ValueError(f"unknown mocap subject {subject!r} (expected cmu_NNN or hdm05_XX)")
    number = int(match.group(1))
    if number in TEST_CMU_SUBJECTS:
        return "test"
    if number in VALIDATION_CMU_SUBJECTS:
        return "validation"
    return "train"


def movement_kind(description: str) -> str:
    """A coarse motion kind (a key of :data:`MOVEMENT_KINDS` or ``"other"``) from a CMU or
    HDM05 description: ``"walk, veer left"`` -> ``walk``, ``"squat1Reps"`` -> ``exercise``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", description).lower()
    for kind, keywords in MOVEMENT_KINDS:
        if any(re.search(rf"\b{re.escape(k)}", words) for k in keywords):
            return kind
    return "other"


def subject_from_file(name: str) -> str | None:
    """The subject a CMU or HDM05 file name implies, or ``None``: ``02.asf``/``02_01.bvh``
    -> ``cmu_002``, ``HDM_bd.asf``/``HDM_bd_squat1Reps_001_120.amc`` -> ``hdm05_bd``."""
    stem = posixpath.basename(name).rsplit(".", 1)[0]
    hdm = re.match(r"HDM_([a-z]{2})(_|$)", stem)
    if hdm:
        return f"hdm05_{hdm.group(1)}"
    cmu = re.fullmatch(r"(\d{1,3})(_\d{1,3})?", stem)
    return f"cmu_{int(cmu.group(1)):03d}" if cmu else None


def mark_subject(clip: Clip, subject: str, **facts) -> Clip:
    """``clip`` as performed by ``subject``: its body id, and ``subject``, ``split`` (when
    the subject is one of the archive's) and ``facts`` in ``body.extra``."""
    extra = {**clip.body.extra, "subject": subject, **facts}
    try:
        extra["split"] = split_of(subject)
    except ValueError:
        extra.pop("split", None)
    return replace(clip, body=replace(clip.body, body_id=subject, extra=extra))


def asf_for_amc(amc: str, exists: Callable[[str], bool], listing: Callable[[str], list[str]]):
    """The skeleton of an AMC motion, in the same folder: the longest ``_``-prefix of its
    name (``02_01.amc`` -> ``02.asf``, ``HDM_bd_squat1Reps_001_120.amc`` -> ``HDM_bd.asf``),
    else the folder's only ``.asf``. ``exists(path)`` and ``listing(pattern)`` look files
    up (local or remote). :class:`ClipFormatError` when there is none."""
    folder, name = posixpath.split(amc)
    parts = name.rsplit(".", 1)[0].split("_")
    for count in range(len(parts) - 1, 0, -1):
        candidate = posixpath.join(folder, "_".join(parts[:count]) + ".asf")
        if exists(candidate):
            return candidate
    skeletons = listing(posixpath.join(folder, "*.asf"))
    if len(skeletons) == 1:
        return skeletons[0]
    raise ClipFormatError(
        f"{amc}: no skeleton: no {'_'.join(parts[:1])}.asf-style file beside it "
        f"and {len(skeletons)} .asf files in its folder"
    )


def clip_from_take(take: MocapTake, read: Callable[[str], bytes]) -> Clip:
    """Read one take; ``read(path inside the archive)`` returns a file's bytes."""
    fmt = take.format.lower()
    if fmt.startswith("deepmimic"):
        raise UnsupportedTake(
            f"{take.path}: DeepMimic motion holds joint rotations of a generic humanoid, "
            "not the subject's bone lengths: skipped"
        )
    if fmt.startswith("asf/amc"):
        if not take.skeleton.startswith("asf:"):
            raise ClipFormatError(f"{take.path}: manifest skeleton {take.skeleton!r} names no ASF")
        asf = posixpath.join(posixpath.dirname(take.path), take.skeleton[len("asf:") :])
        clip = clip_from_asf_amc_bytes(
            read(asf), read(take.path), take.path, asf_source=asf, fps=take.fps,
            movement=take.movement,
        )  # fmt: skip
    elif fmt == "bvh":
        skip = 1 if take.source in T_POSE_FOLDERS else 0
        clip = clip_from_bvh_bytes(
            read(take.path), take.path, fps=take.fps, movement=take.movement, skip_frames=skip
        )
    else:
        raise UnsupportedTake(f"{take.path}: unknown format {take.format!r}")
    clip = replace(clip, clip_id=take.clip_id)
    return mark_subject(
        clip,
        take.subject,
        source=take.source,
        licence=take.licence,
        take=take.trial,
        description=take.description,
        path=take.path,
        header_fps=take.header_fps,
    )


def read_take(root: str | Path, take: MocapTake) -> Clip:
    """Read one take from the unpacked archives under ``root`` (``data/mocap``)."""
    root = Path(root)
    return clip_from_take(take, lambda path: (root / path).read_bytes())


def check_splits(splits: Iterable[str]) -> set[str]:
    """``splits`` as a set; ValueError naming any that is not one of SPLITS."""
    wanted = set(splits)
    unknown = wanted - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}; expected {SPLITS}")
    return wanted


def iter_takes(
    root: str | Path,
    manifest: str | Path | Iterable[MocapTake],
    splits: Iterable[str] = ("train",),
    sources: Iterable[str] | None = None,
) -> Iterator[tuple[MocapTake, Clip | Exception]]:
    """``(take, clip)`` for each take of ``splits`` (and ``sources`` folders, all if
    ``None``), or ``(take, exception)`` when it cannot be read, so that callers can
    dead-letter failures and carry on."""
    takes = load_manifest(manifest) if isinstance(manifest, str | Path) else list(manifest)
    wanted_splits = check_splits(splits)
    wanted_sources = None if sources is None else set(sources)
    for take in takes:
        if take.split not in wanted_splits:
            continue
        if wanted_sources is not None and take.source not in wanted_sources:
            continue
        try:
            clip = read_take(root, take)
        except Exception as exc:  # any failure is the caller's to dead-letter
            yield take, exc
        else:
            yield take, clip
