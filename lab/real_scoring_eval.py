"""``coach evaluate-scoring-real``: form checks on real motion with injected errors.

Real exercise sessions (:mod:`lab.real_exercise`: HDM05 squats of five held-out actors,
CMU subject 14's jumping jacks) get the simulator's error kinds injected on the person's
own skeleton (:mod:`synthetic_data.real_errors`), with exact per-frame labels
(:func:`synthetic_data.errors.labels_from_change`), and are filmed by phone cameras all
around the person (:func:`lab.front_end_eval.around_cameras`: front, their left, back,
their right) with the ``mediapipe-real`` detector noise (swaps and passers-by included),
repaired by the 2D front end and lifted by the bundled recordings lifter, as the API
does. Each session is scored against another real person doing the same movement as
the trainer (:func:`lab.real_exercise.trainer_for`): from the trainer's exact 3D, and,
for the lifted sessions, also as the product makes a routine (:func:`lifted_reference`:
the trainer's take filmed from the front the same way, repaired and lifted by the same
lifter, so the lifter's biases reach trainer and user alike). With ``--live``, each
clip's phone 2D is also streamed through the live socket's session against that lifted
trainer (:func:`lab.live_eval.replay_live`), and the cues sent with the finished
repetitions are tallied (learned detector) under :data:`LIVE_SOURCE`.

Per session: :data:`VIEWS` correct versions (one per camera) and
:data:`ERRORS_PER_KIND` versions per error kind the movement has, each drawn as the
generator draws them (severity 0.2-1, one to three consecutive repetitions, a side). The
figures are those of ``coach evaluate-scoring`` (:mod:`lab.tallies`), per pose source
(exact 3D, lifted) and per decision maker (the learned detector with the rules for the
kinds it does not know, and the rules alone), per group of people; and the repetition
count of every correct session against its true count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lab.clips import (
    Performance,
    clip_performance,
    film_phone,
    lift_clip,
    observe_clip,
    reference_from,
)
from lab.front_end_eval import around_cameras, centred
from lab.live_eval import replay_live, reported_part
from lab.real_exercise import (
    TRAINER_CHOICES,
    RealSession,
    capture_heel_labels,
    heel_rise_deg,
    real_exercise_sessions,
)
from lab.real_scoring_report import write_report
from lab.tallies import ModeResult
from pose3d.lifter import Lifter
from pose3d.shards import stable_hash
from scoring import ObservedSession, PopulationModel, PoseSource, Reference, score_session
from scoring.checks import DEEP_ENOUGH_KNEE_FLEXION_DEG, squat_depth
from scoring.features import compute_features
from scoring.live import LiveModels
from synthetic_data.clip import Clip, ErrorLabel
from synthetic_data.errors import ErrorPlan, envelope, labels_from_change
from synthetic_data.movements import MOVEMENTS
from synthetic_data.real_errors import REAL_ERROR_SIDES, inject_real_error

VIEWS = 4
ERRORS_PER_KIND = 8  # 2 left the F1 to the luck of the draw: 0.21 vs 0.26 by seed alone
PROFILE = "mediapipe-real"
SOURCES = {PoseSource.EXACT: "ground-truth 3D", PoseSource.LIFTED: "lifted from phone 2D"}
# The lifted sessions scored against the trainer's take lifted the same way, as the API
# builds a routine from the trainer's phone keypoints (coach_api.services.build_reference).
PRODUCT_SOURCE = "lifted from phone 2D, trainer lifted too (as the product)"
# The live socket's cues on the same phone 2D and trainer (lab.live_eval), learned detector.
LIVE_SOURCE = "live cues per finished repetition, trainer lifted too (as the product)"
DECIDERS = ("learned detector + rules", "rules only")
TEST_GROUP = "held-out people (HDM05 squats)"
TRAIN_GROUP = "CMU subject 14 (lifter training split; jumping jacks)"


def group_of(session: RealSession) -> str:
    """The report group of a session: held-out people, or the lifter's training subject."""
    return TEST_GROUP if session.split == "test" else TRAIN_GROUP


def draw_plan(rng: np.random.Generator, kind: str, reps: int) -> ErrorPlan:
    """One error as the generator draws it: severity 0.2-1, a side, 1-3 consecutive reps."""
    first = int(rng.integers(reps))
    last = min(reps - 1, first + int(rng.integers(0, 3)))
    side = str(rng.choice(REAL_ERROR_SIDES[kind]))
    return ErrorPlan(kind, float(rng.uniform(0.2, 1.0)), side, first, last)


def injected_clip(session: RealSession, plan: ErrorPlan, clip_id: str) -> Clip:
    """The session with ``plan`` injected and labelled (no labels if it changed nothing).

    A shallow squat is only labelled where the raised squat is no longer deep enough by
    the coach's own standard (:data:`~scoring.checks.DEEP_ENOUGH_KNEE_FLEXION_DEG`): a
    real deep squat raised a little is still past parallel, a correct squat."""
    clip = session.clip
    weight = envelope(clip.num_frames, clip.reps, plan.first_rep, plan.last_rep)
    joints, change = inject_real_error(
        clip.joints, plan.kind, plan.severity, plan.side, weight, session.depth
    )
    injected = replace(clip, clip_id=clip_id, joints=joints)
    labels = labels_from_change(plan, change)
    if plan.kind == "shallow_squat":
        depth = squat_depth(compute_features(injected.h36m17()))
        labels = [
            label
            for label in labels
            if depth[label.start_frame : label.end_frame].max() < DEEP_ENOUGH_KNEE_FLEXION_DEG
        ]
    return replace(injected, errors=labels)


def labelled_clips(session: RealSession, seed: int) -> list[Clip]:
    """The correct session seen from each of :data:`VIEWS` cameras, and
    :data:`ERRORS_PER_KIND` injected versions per error kind of its movement (views in
    turn), less those the injection left without a labelled error (a still-deep squat:
    :func:`injected_clip`; the other draws stay as they were). The session is centred on
    the floor first, where the cameras aim."""
    session = replace(session, clip=centred(session.clip))
    base = session.clip
    cameras = around_cameras(base, VIEWS, seed)
    clips = [
        replace(base, clip_id=f"{base.clip_id}-correct-{camera.name}", cameras=[camera])
        for camera in cameras
    ]
    rng = np.random.default_rng([seed, stable_hash(base.clip_id)])
    kinds = [k for k in MOVEMENTS[base.movement].error_kinds if k in REAL_ERROR_SIDES]
    for number, kind in enumerate(k for k in kinds for _ in range(ERRORS_PER_KIND)):
        plan = draw_plan(rng, kind, len(base.reps))
        clip = injected_clip(session, plan, f"{base.clip_id}-{kind}-{number}")
        if clip.errors:
            clips.append(replace(clip, cameras=[cameras[number % VIEWS]]))
    return clips


def with_capture_heels(clip: Clip, capture: list[ErrorLabel]) -> Clip:
    """``clip`` with the heel lifts its capture holds (:func:`capture_heel_labels`) labelled
    too; an injected heel lift overlapping one on the same leg becomes one label over both
    (the heels rise once, by the sum)."""
    labels = [label for label in clip.errors if label.kind != "heels_lifting"]
    heels = sorted(
        (label for label in (*clip.errors, *capture) if label.kind == "heels_lifting"),
        key=lambda label: (label.segment, label.start_frame),
    )
    merged: list[ErrorLabel] = []
    for label in heels:
        last = merged[-1] if merged else None
        if last and last.segment == label.segment and label.start_frame < last.end_frame:
            merged[-1] = replace(
                last,
                end_frame=max(last.end_frame, label.end_frame),
                severity=max(last.severity, label.severity),
            )
        else:
            merged.append(label)
    return replace(clip, errors=labels + merged)


# How the unperturbed takes are labelled: with the heel lifts their capture holds (the
# headline), or every one counted a correct session (the figures before session 22).
CAPTURE_HEELS = "capture's own heel lifts labelled"
EVERY_TAKE_CORRECT = "every unperturbed take counted correct"
LABELLINGS = (CAPTURE_HEELS, EVERY_TAKE_CORRECT)


@dataclass
class RealResults:
    """Tallies per labelling (:data:`LABELLINGS`), pose source, decision maker and group,
    the repetition counts, and per correct squat view the depth reached and the heel cues
    (:func:`squat_row`)."""

    tallies: dict[tuple[str, str, str, str], ModeResult] = field(
        default_factory=lambda: defaultdict(ModeResult)
    )
    rep_rows: list[dict] = field(default_factory=list)
    squat_rows: list[dict] = field(default_factory=list)

    def add_clip(
        self,
        key: tuple[str, str, str],
        labelled: dict[str, Clip],
        errors: list,
        reported_s: float | None = None,
    ) -> None:
        """Tally ``errors`` found in one clip under each labelling's version of it
        (``labelled``: labelling -> clip); ``key`` is (group, source, decider). Live
        (``reported_s``), only the labels before the last reported repetition count
        (:func:`~lab.live_eval.reported_part`); a clip is correct by all its labels."""
        for labelling, clip in labelled.items():
            judged = clip if reported_s is None else reported_part(clip, reported_s)
            self.tallies[(labelling, *key)].add_clip(judged, errors, correct=not clip.errors)

    def summaries(self, labelling: str = CAPTURE_HEELS) -> dict[str, dict[str, dict[str, dict]]]:
        """``{group: {source: {decider: summary}}}`` under ``labelling`` (see
        :meth:`ModeResult.summary`)."""
        nested: dict[str, dict[str, dict[str, dict]]] = {}
        for (how, group, source, decider), result in sorted(self.tallies.items()):
            if how != labelling:
                continue
            clips = len(result.per_clip)
            nested.setdefault(group, {}).setdefault(source, {})[decider] = result.summary(clips) | {
                "clips": clips,
                "alarms_by_kind": dict(sorted(result.alarms_by_kind.items())),
            }
        return nested


def squat_row(
    clip: Clip,
    heel_rise: float,
    heel_labelled: bool,
    observed: ObservedSession,
    source: str,
    heel_cued: bool,
) -> dict:
    """One unperturbed squat view from one pose source: the knee flexion (deg) at the
    bottom of each repetition in the capture and in ``observed``, whether a heel cue was
    raised, how far the capture's own heels rise (:func:`heel_rise_deg`) and whether that
    is labelled a heel lift (:func:`~lab.real_exercise.capture_heel_labels`)."""
    exact = squat_depth(compute_features(clip.h36m17()))
    seen = squat_depth(compute_features(observed.poses))
    return {
        "session": clip.clip_id,
        "source": source,
        "bottom_exact_deg": [round(float(exact[a:b].max()), 1) for a, b in clip.reps],
        "bottom_seen_deg": [round(float(seen[a:b].max()), 1) for a, b in clip.reps],
        "heel_rise_deg": round(heel_rise, 1),
        "heel_labelled": heel_labelled,
        "heel_cued": heel_cued,
    }


def lifted_reference(trainer: Clip, lifter: Lifter, seed: int) -> Reference:
    """The trainer's take as the product makes a routine of it: filmed by a phone in front
    of them (the first of :func:`~lab.front_end_eval.around_cameras`) with the
    ``mediapipe-real`` noise, repaired by the 2D front end, lifted by ``lifter``, its
    repetitions those its image shows too (as the API stores a routine's)."""
    clip = centred(trainer)
    filmed = replace(clip, cameras=around_cameras(clip, VIEWS, seed)[:1])
    poses, scores, landmarks = lift_clip(filmed, lifter, seed, PROFILE)
    trainer = Performance(poses, clip.fps, clip.movement, scores, landmarks=landmarks)
    return reference_from(trainer, clip.movement)


def score_session_clips(
    session: RealSession,
    references: dict[str, Reference],
    deciders: dict[str, PopulationModel | None],
    lifter: Lifter,
    seed: int,
    results: RealResults,
    live: LiveModels | None = None,
) -> None:
    """Score every labelled clip of ``session`` every way and add it to ``results``;
    ``references`` holds the trainer's exact reference under ``"exact"`` and the lifted
    one (:func:`lifted_reference`) under ``"lifted"``. With ``live`` models, each clip is
    also streamed through a live session against the lifted trainer, as a phone would
    (:func:`lab.live_eval.replay_live`: the same phone 2D), under LIVE_SOURCE."""
    group = group_of(session)
    squat = session.clip.movement == "squat"
    heel_rise = heel_rise_deg(session.clip.joints, session.depth) if squat else 0.0
    capture = capture_heel_labels(session)
    first_decider = next(iter(deciders))
    for number, clip in enumerate(labelled_clips(session, seed)):
        labelled = {CAPTURE_HEELS: with_capture_heels(clip, capture), EVERY_TAKE_CORRECT: clip}
        counted = {}
        seen = film_phone(clip, seed + number, PROFILE)  # filmed once, judged every way
        observed_by_source = observe_clip(clip, seed + number, lifter, PROFILE, seen=seen)
        for source, observed in observed_by_source.items():
            trainers = {SOURCES[source]: references["exact"]}
            if source is PoseSource.LIFTED:
                trainers[PRODUCT_SOURCE] = references["lifted"]
            for decider, population in deciders.items():
                for label, reference in trainers.items():
                    judged = score_session(
                        observed, reference, population=population, include_ghost=False
                    )
                    results.add_clip((group, label, decider), labelled, judged.errors)
                    if label == SOURCES[source]:  # the heel and rep rows: the exact trainer's
                        report = judged
                if squat and not clip.errors and decider == first_decider:
                    cued = any(e.kind == "heels_lifting" for e in report.errors)
                    row = squat_row(clip, heel_rise, bool(capture), observed, SOURCES[source], cued)
                    results.squat_rows.append(row)
            counted[SOURCES[source]] = report.reps  # the same whoever decides
        if live is not None:
            events, reported_s = replay_live(
                clip, seed + number, live, {}, "intermediate", references["lifted"], PROFILE, seen
            )
            results.add_clip((group, LIVE_SOURCE, first_decider), labelled, events, reported_s)
        if not clip.errors:
            results.rep_rows.append(
                {"session": clip.clip_id, "group": group, "true": len(clip.reps)} | counted
            )


def evaluate_real_scoring(
    root: Path,
    manifest: Path,
    out: Path,
    population_path: Path | None = None,
    seed: int = 0,
    checkpoint: Path | None = None,
    with_live: bool = False,
    trainer: str = "other-person",
) -> Path:
    """Build, score and report every real exercise session (lifting with the bundled
    recordings lifter, or the one at ``checkpoint``; with ``with_live``, also streamed
    through the live socket's session; each against the trainer take that ``trainer``
    names in :data:`lab.real_exercise.TRAINER_CHOICES`); writes ``report.md``,
    ``metrics.json`` and ``f1.png`` into ``out`` and returns the report's path."""
    if trainer not in TRAINER_CHOICES:
        raise ValueError(
            f"unknown trainer {trainer!r}; expected one of {', '.join(TRAINER_CHOICES)}"
        )
    pick_trainer = TRAINER_CHOICES[trainer]
    sessions = real_exercise_sessions(root, manifest)
    population = (
        PopulationModel.load(population_path) if population_path else PopulationModel.load()
    )
    deciders = {DECIDERS[0]: population, DECIDERS[1]: replace(population, detector=None)}
    lifter = Lifter.from_checkpoint(checkpoint) if checkpoint else Lifter.for_recordings()
    # The live socket streams with the bundled causal lifter and judges with ``lifter``.
    live = LiveModels(Lifter.from_checkpoint(), lifter, population) if with_live else None
    references: dict[str, dict[str, Reference]] = {}
    results = RealResults()
    for session in tqdm(sessions, desc="real sessions"):
        take = pick_trainer(session, sessions).clip
        if take.clip_id not in references:
            references[take.clip_id] = {
                "exact": reference_from(clip_performance(take), session.clip.movement),
                "lifted": lifted_reference(take, lifter, seed),
            }
        reference = references[take.clip_id]
        score_session_clips(session, reference, deciders, lifter, seed, results, live)
    headline = (TEST_GROUP, PRODUCT_SOURCE, DECIDERS[0])  # what a user of the product gets
    summaries = {labelling: results.summaries(labelling) for labelling in LABELLINGS}
    rows = {"repetitions": results.rep_rows, "squats": results.squat_rows}
    return write_report(
        out, summaries, rows, sessions, lifter, population, headline=headline, trainer=trainer
    )
