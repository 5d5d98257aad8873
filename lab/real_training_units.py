"""Training units of real exercise motion for the learned detector (issue 18).

The detector learned "correct" from the simulator's one style of each movement; real
people squat deeper, lean further and turn their knees out, and on real motion most of
its cues fell on correct repetitions (docs/real-scoring-eval). Here the real exercise
sessions of the agreed **train** split (:func:`lab.real_exercise.training_sessions`:
CMU subject 14's squats and jumping jacks; never HDM05, the evaluation's people) become
labelled units, made as ``coach evaluate-scoring-real`` makes its sessions: errors
injected on the person's own skeleton, filmed by phone cameras all around with the
``mediapipe-real`` noise, repaired by the 2D front end and lifted, and labelled as it
labels them (a heel lift the capture itself holds is a heel lift:
:func:`lab.real_exercise.capture_heel_labels`).

One person is little to learn a population from, so each session is also retargeted onto
:data:`BODIES_PER_SESSION` sampled bodies (mirrored half the time) and drawn with each of
:data:`SEEDS` (cameras, noise, injected errors). Each clip is scored against two
trainers: another real take of the movement (lifted, for the lifted units, as the
product builds a routine) and the simulator's trainer, whose style differs from a real
person's as a real trainer's may.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lab import real_exercise, real_scoring_eval
from lab.clips import clip_performance, observe_clip, reference_from
from lab.detector_training import UnitCollector, UnitDataset, model_digest
from lab.real_exercise import (
    RealSession,
    capture_heel_labels,
    depth_share,
    trainer_for,
    training_sessions,
)
from lab.real_scoring_eval import PROFILE, labelled_clips, lifted_reference, with_capture_heels
from pose3d.archive import atomic_savez
from pose3d.lifter import Lifter
from scoring import PopulationModel, PoseSource, Reference
from scoring.session import session_evidence
from synthetic_data import real_errors
from synthetic_data.body import BodyParams
from synthetic_data.generator import trainer_clip
from synthetic_data.retarget import mirror, retarget

BODIES_PER_SESSION = 3  # retargeted people besides the performer's own body
SEEDS = (101, 102)  # cameras, noise and injected errors: clear of the evaluation's 0 and 5
TRAINERS = ("real", "simulated")


@dataclass
class RealUnits:
    """Real-motion training units per pose source, and the take each clip came from.

    Attributes:
        datasets: per pose source, the units of every scored clip (a clip scored against
            each of :data:`TRAINERS` counts as two clips).
        take: ``(clips,)`` index of the real take each clip came from, into ``takes``: a
            take's views, bodies and injected versions must stay in one fold.
        takes: the takes' session ids.
    """

    datasets: dict[PoseSource, UnitDataset]
    take: np.ndarray
    takes: list[str]

    def summary(self) -> dict:
        """Counts for the detector's record: takes, clips and units per kind."""
        lifted = self.datasets[PoseSource.LIFTED]
        return {
            "takes": self.takes,
            "clips": len(self.take),
            "correct_clips": int(lifted.correct.sum()),
            "units": {
                kind: {"units": len(units.present), "with_error": int(units.present.sum())}
                for kind, units in sorted(lifted.kinds.items())
            },
        }


def body_variants(session: RealSession, rng: np.random.Generator, count: int) -> list[RealSession]:
    """``session`` on the performer's own body and on ``count`` sampled bodies (mirrored
    half the time); repetitions and timing are the performer's."""
    out = [session]
    subject = session.clip.body.body_id
    for number in range(count):
        name = f"{session.clip.clip_id}-b{number}"
        clip = retarget(session.clip, BodyParams.sample(rng, body_id=subject), name)
        if rng.random() < 0.5:
            clip = mirror(clip, name)
        out.append(RealSession(clip, depth_share(clip.joints, clip.reps, clip.movement)))
    return out


def trainer_references(
    session: RealSession, sessions: list[RealSession], lifter: Lifter, cache: dict
) -> dict[str, dict[PoseSource, Reference]]:
    """Per trainer of :data:`TRAINERS`, the reference each pose source is scored against:
    exact 3D for exact units, the trainer filmed from the front and lifted for lifted ones."""
    movement = session.clip.movement
    real = trainer_for(session, sessions).clip
    simulated = trainer_clip(movement)
    references = {}
    for name, clip in (("real", real), ("simulated", simulated)):
        key = (name, clip.clip_id)
        if key not in cache:
            cache[key] = {
                PoseSource.EXACT: reference_from(clip_performance(clip), movement),
                PoseSource.LIFTED: lifted_reference(clip, lifter, SEEDS[0]),
            }
        references[name] = cache[key]
    return references


def real_units(
    root: Path, manifest: Path, lifter: Lifter, population: PopulationModel
) -> RealUnits:
    """Score every real training clip from both pose sources against both trainers."""
    sessions = training_sessions(root, manifest)
    collectors = {source: UnitCollector() for source in PoseSource}
    take: list[int] = []
    cache: dict = {}
    rng = np.random.default_rng(SEEDS[0])
    jobs = [
        (number, variant, seed)
        for number, session in enumerate(sessions)
        for variant in body_variants(session, rng, BODIES_PER_SESSION)
        for seed in SEEDS
    ]
    for number, variant, seed in tqdm(jobs, desc="real training units"):
        references = trainer_references(sessions[number], sessions, lifter, cache)
        capture = capture_heel_labels(variant)  # labelled as the evaluation labels them
        for index, clip in enumerate(labelled_clips(variant, seed)):
            labels = with_capture_heels(clip, capture).errors
            observed = observe_clip(clip, seed * 1000 + index, lifter, PROFILE)
            for trainer in TRAINERS:  # each source numbers the clip alike: one take entry
                take.append(number)
                for source, seen in observed.items():
                    evidence = session_evidence(seen, references[trainer][source], population)
                    collectors[source].add(evidence, labels)
    datasets = {source: collector.dataset() for source, collector in collectors.items()}
    return RealUnits(datasets, np.array(take), [s.clip.clip_id for s in sessions])


def real_units_key(root: Path, lifter: Lifter, population: PopulationModel) -> str:
    """What the real units depend on, hashed: the archives' takes (by the manifest), the
    draws, the code that makes and injects the sessions, the lifter, the population model
    and the scoring code (see ``model_digest``)."""
    digest = hashlib.sha256()
    digest.update(
        (root / "MANIFEST.tsv").read_bytes() if (root / "MANIFEST.tsv").is_file() else b""
    )
    digest.update(json.dumps([BODIES_PER_SESSION, SEEDS, TRAINERS, PROFILE]).encode())
    for module in (
        __file__,
        real_exercise.__file__,
        real_scoring_eval.__file__,
        real_errors.__file__,
    ):
        digest.update(Path(module).read_bytes())  # the sessions, injections and labels
    model_digest(digest, "real", lifter, population)
    return digest.hexdigest()[:16]


def cached_real_units(
    root: Path, lifter: Lifter, population: PopulationModel, cache: Path | None
) -> RealUnits:
    """:func:`real_units` of the archives unpacked under ``root`` (with their
    ``MANIFEST.tsv``), read from (or written to) ``cache`` when it is given."""
    manifest = root / "MANIFEST.tsv"
    if cache is None:
        return real_units(root, manifest, lifter, population)
    path = cache / f"real-units-{real_units_key(root, lifter, population)}.npz"
    if path.is_file():
        with np.load(path) as data:
            take, takes = data["take"], [str(t) for t in data["takes"]]
        datasets = {s: UnitDataset.load(path.with_suffix(f".{s.value}.npz")) for s in PoseSource}
        return RealUnits(datasets, take, takes)
    units = real_units(root, manifest, lifter, population)
    for source, dataset in units.datasets.items():
        dataset.save(path.with_suffix(f".{source.value}.npz"))
    atomic_savez(path, take=units.take, takes=np.array(units.takes))  # last: marks it whole
    return units
