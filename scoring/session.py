"""Score a session: judge each segment of the user's motion against the trainer's.

Steps (:func:`score_session`):

1. match the session to the reference (:mod:`scoring.matching`): joint-angle features,
   the user's repetitions, and a DTW alignment to the trainer's template repeated as
   often (its warping path gives the tempo);
2. per check (:mod:`scoring.checks`), the error signal at matched phases, judged
   against three references: the trainer's own rep-to-rep variability, the population
   of correct performances (:mod:`scoring.population`) and, for ranges of motion, the
   user's own consistent range (:func:`judge_by_rules`);
3. events, gated by 2D confidence and by whether the camera view can show that error:
   with the population model's learned detector (:mod:`scoring.detector`), one per
   repetition (or dance move) it judges to hold the error (:func:`judge_by_detector`);
   without it, or for kinds it was not trained on, where the signal is both beyond
   tolerance and large enough to matter (rules, and the 2D heel and beat rules);
4. scores, timing verdicts, cues and the "ghost" (the user's motion with flagged
   segments moved to the trainer's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from pose3d.skeleton import H36M17, MEDIAPIPE33
from scoring import feet
from scoring.alignment import Alignment
from scoring.checks import (
    ALL_CHECKS,
    ALL_KINDS,
    DEEP_ENOUGH_KNEE_FLEXION_DEG,
    MAX_NATURAL_SHORTFALL,
    OFF_BEAT_CUES,
    SHALLOW,
    Check,
    checks_for,
    squat_depth,
)
from scoring.detector import STAT_NAMES, FormErrorDetector, UnitSummary
from scoring.evidence import KNEE_MEASURES, UnitEvidence, unit_evidence
from scoring.features import SEGMENT_FEATURES, SEGMENT_JOINTS, retarget
from scoring.image_depth import (
    LEG_JOINTS,
    hip_drop,
    hips_reached_knees,
    knee_flexion_seen,
    knees_bent_past,
    own_reaches,
    rep_bottoms_seen,
    short_of_own_reach,
)
from scoring.matching import MatchedSession, match_session
from scoring.observed import ObservedSession, PoseSource
from scoring.population import PopulationModel, ThresholdScales, per_bin_median, phase_bins
from scoring.reference import Reference
from scoring.report import ErrorEvent, Note, RepTiming, SessionReport
from scoring.signals import CheckSignal, beat_offset, check_signals, segment_confidence, tolerance


class Strictness(NamedTuple):
    """How much it takes to flag an error."""

    z: float  # the check's signal over its tolerance
    min_severity: float  # on the check's 0-1 full scale
    off_beat: float  # beats ahead of or behind the music


STRICTNESS = {
    "beginner": Strictness(3.5, 0.4, 0.25),
    "intermediate": Strictness(2.5, 0.25, 0.15),
    "expert": Strictness(2.0, 0.15, 0.1),
}
MIN_CONFIDENCE = 0.5
HEEL_MIN_SEVERITY = 0.5  # 2D heel rise is noisier than the 3D checks
# The share of the trainer's depth a full shallow-squat error loses (the simulator's
# severity 1: synthetic_data.errors).
FULL_SHALLOW_SHORTFALL = 0.6
MIN_EVENT_S, MAX_GAP_S = 0.25, 0.3
# The joints whose fit turns the trainer's pose to face as the user faces.
TORSO = ("pelvis", "left_hip", "right_hip", "spine", "thorax", "left_shoulder", "right_shoulder")
TORSO_JOINTS = [H36M17.index(n) for n in TORSO]
# The joints the ghost turns to the trainer's for a cue on each segment: the segment's
# own, but for the hips, judged on hip and knee flexion (depth, sagging), the legs too.
GHOST_JOINTS = SEGMENT_JOINTS | {
    "hips": (*SEGMENT_JOINTS["hips"], *SEGMENT_JOINTS["left_leg"], *SEGMENT_JOINTS["right_leg"])
}


@dataclass(frozen=True)
class Judge:
    """What a session is judged with.

    Attributes:
        strictness: The strictness's name (the detector has its own factors per name).
        limits: Its thresholds.
        source: Where the poses come from (tolerances and detector models differ).
        population: Spread of correct performances; ``None`` uses fixed floors only.
        detector: The learned detector, when it was trained for this kind of session.
        learned: Error kinds the detector decides (the rules judge the others).
    """

    strictness: str
    limits: Strictness
    source: PoseSource
    population: PopulationModel | None
    detector: FormErrorDetector | None
    learned: frozenset[str]

    def scales(self, kind: str) -> ThresholdScales:
        """The calibrated factors on the rules' thresholds for ``kind`` (all 1 without)."""
        return self.population.scales(kind, self.source) if self.population else ThresholdScales()

    def min_confidence(self, kind: str) -> float:
        """The 2D confidence below which a possible ``kind`` error is a note, not a cue."""
        if kind in self.learned:
            return self.detector.models[self.source][kind].min_confidence
        return MIN_CONFIDENCE * self.scales(kind).confidence


def make_judge(
    strictness: str, population: PopulationModel | None, matched: MatchedSession
) -> Judge:
    """The judge of ``matched``: the population's detector where it was trained for this
    movement (and for it with or without the music's beat times), the rules otherwise."""
    if strictness not in STRICTNESS:
        raise ValueError(
            f"unknown strictness {strictness!r}; expected one of {', '.join(STRICTNESS)}"
        )
    source = matched.observed.source
    detector = population.detector if population else None
    if detector and not detector.fits(matched.reference.movement, matched.timed):
        detector = None
    learned = frozenset(k for k in ALL_KINDS if detector and detector.knows(source, k))
    return Judge(strictness, STRICTNESS[strictness], source, population, detector, learned)


@dataclass
class Findings:
    """What judging a session found: cues, notes, and how bad each segment looked.

    Attributes:
        events: The cues so far.
        notes: What could not be judged (or not surely), and why.
        badness: Per segment, one ``(T,)`` 0-1 badness per check judged on it.
        judged: Segments with at least one check the camera could judge.
        unjudged: Segments with a check it could not.
        unseen: ``(kind, segment)`` checks the camera could not judge.
        probabilities: Per error kind the learned detector judged, its ``(U,)``
            probabilities of the error, one per unit of each segment it looked at.
        unit_summaries: What the detector saw of each unit (on its own).
    """

    events: list[ErrorEvent] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    badness: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {s: [] for s in SEGMENT_FEATURES}
    )
    judged: set[str] = field(default_factory=set)
    unjudged: set[str] = field(default_factory=set)
    unseen: set[tuple[str, str]] = field(default_factory=set)
    probabilities: dict[str, list[np.ndarray]] = field(default_factory=dict)
    unit_summaries: list[UnitSummary] = field(default_factory=list)

    def segment_scores(self) -> dict[str, float]:
        """0-100 per segment the camera could judge (100: no check found anything)."""
        return {
            name: 100.0 * (1 - float(np.mean(np.max(values, axis=0)))) if values else 100.0
            for name, values in self.badness.items()
            if name not in self.unjudged - self.judged
        }


def _unseen_note(check: Check, duration_s: float) -> Note:
    """The note for a check the camera could not judge over the session."""
    kind, segment = check.kind.replace("_", " "), check.segment.replace("_", " ")
    return Note.over(
        check.kind,
        check.segment,
        0.0,
        duration_s,
        f"{kind} was not judged: the camera saw the {segment} too poorly "
        "(out of frame, hidden, or from an angle that cannot show it)",
    )


def _no_landmarks_note(check: Check, duration_s: float) -> Note:
    """The note for a knee check of lifted poses sent without MediaPipe landmarks."""
    kind, segment = check.kind.replace("_", " "), check.segment.replace("_", " ")
    return Note.over(
        check.kind,
        check.segment,
        0.0,
        duration_s,
        f"{kind} on the {segment} was judged from the 3D poses alone, which keep little of "
        "it: send MediaPipe-33 landmarks (with the feet) to have it judged closely",
    )


def _untimed_note(movement: str, duration_s: float) -> Note:
    """The note for a routine done to music scored without the music's beat times."""
    return Note.over(
        "off_beat",
        "timing",
        0.0,
        duration_s,
        f"this {movement.replace('_', ' ')} is done to music, but the beat times are missing "
        "(the routine's or the session's): the moves were judged on the motion alone, and the "
        "timing on the beat was not judged",
    )


def _unsure_note(kind: str, segment: str, start_s: float, end_s: float) -> Note:
    """The note for a possible error the camera did not show clearly enough for a cue."""
    return Note.over(
        kind,
        segment,
        start_s,
        end_s,
        f"possible {kind.replace('_', ' ')} on the {segment.replace('_', ' ')}, "
        "but the camera could not see it clearly enough to say",
    )


def session_evidence(
    observed: ObservedSession, reference: Reference, population: PopulationModel | None = None
) -> UnitEvidence:
    """What the learned detector sees of a session: the examples it is trained on."""
    matched = match_session(observed, reference)
    items = check_signals(
        matched.features, matched.alignment, reference, matched.track_phase, observed.fps
    )
    return unit_evidence(items, matched, population)


def judge_by_rules(
    items: list[CheckSignal], matched: MatchedSession, judge: Judge, findings: Findings
) -> None:
    """Judge each check frame by frame: its badness for the segment scores, its cues where
    the rules decide the kind, a note where the camera could not show it."""
    observed, reference = matched.observed, matched.reference
    track_index = matched.track_index
    bins = phase_bins(track_index, len(reference.template_features))
    matched_frames = matched.alignment.matched
    limits = judge.limits
    for item in items:
        check = item.check
        signal = item.signal
        if check.baseline:  # the user's own consistent shortfall is their range, not an error
            natural = judge.population and judge.population.natural_shortfall(
                reference.movement, check, judge.source
            )
            cap = MAX_NATURAL_SHORTFALL if natural is None else natural
            signal = signal - np.clip(per_bin_median(signal, bins)[bins], 0.0, cap)
        allowed = tolerance(item, reference, judge.population, bins, track_index, judge.source)
        z = signal / allowed
        severity = signal / check.full_scale
        confidence = segment_confidence(observed.poses, observed.scores, check)
        scales = judge.scales(check.kind)
        min_confidence = judge.min_confidence(check.kind)
        seen = confidence[matched_frames] if matched_frames.any() else 0
        if float(np.mean(seen)) < min_confidence:
            # most of the session unseen: say so, and leave the segment out of the score
            findings.notes.append(_unseen_note(check, observed.duration_s))
            findings.unjudged.add(check.segment)
            findings.unseen.add((check.kind, check.segment))
            continue
        findings.judged.add(check.segment)
        if (
            observed.source is PoseSource.LIFTED
            and observed.landmarks is None
            and check.kind in KNEE_MEASURES
        ):
            findings.notes.append(_no_landmarks_note(check, observed.duration_s))
        flagged = (
            item.substantial
            & (z > limits.z * scales.z)
            & (severity > limits.min_severity * scales.severity)
        )
        findings.badness.setdefault(check.segment, []).append(
            np.where(item.substantial, np.clip((z - 1) / (2 * limits.z), 0, 1), 0)
        )
        if check.kind in judge.learned:
            continue
        for run in _runs(flagged, observed.fps):
            _add_event(
                findings,
                check.kind,
                check.segment,
                run,
                observed.fps,
                severity,
                confidence,
                min_confidence,
                check.cue,
            )


def _add_event(
    findings: Findings,
    kind: str,
    segment: str,
    frames: tuple[int, int],
    fps: float,
    severity: np.ndarray,
    confidence: np.ndarray,
    min_confidence: float,
    cue: str,
    note: str = "",
) -> None:
    """A cue for frames ``[start, end)`` of the ``(T,)`` per-frame ``severity`` (its 90th
    percentile there, at most 1) and ``confidence`` (its mean there), or a note (``note``,
    or the standard one) when the camera showed them with less than ``min_confidence``."""
    start, end = frames
    start_s, end_s = start / fps, end / fps
    confidence = confidence[start:end].mean()
    severity = np.clip(np.percentile(severity[start:end], 90), 0, 1)
    if confidence < min_confidence:
        findings.notes.append(
            Note.over(kind, segment, start_s, end_s, note)
            if note
            else _unsure_note(kind, segment, start_s, end_s)
        )
        return
    findings.events.append(
        ErrorEvent(kind, segment, start_s, end_s, float(severity), float(confidence), cue)
    )


def judge_heels(matched: MatchedSession, judge: Judge, findings: Findings) -> None:
    """Heels lifting in a squat from the 2D foot landmarks (see :mod:`scoring.feet`),
    where the severity exceeds the strictness's (at least HEEL_MIN_SEVERITY)."""
    observed = matched.observed
    scales = judge.scales("heels_lifting")
    threshold = max(judge.limits.min_severity, HEEL_MIN_SEVERITY) * scales.severity
    min_confidence = MIN_CONFIDENCE * scales.confidence
    for side in ("left", "right"):
        rest = (observed.heel_rest or {}).get(side)
        rise, confidence = feet.heel_rise(*observed.landmarks, side, observed.fps, rest)
        severity = rise / feet.FULL_SCALE
        for run in _runs(matched.alignment.matched & (severity > threshold), observed.fps):
            _add_event(
                findings,
                "heels_lifting",
                f"{side}_leg",
                run,
                observed.fps,
                severity,
                confidence,
                min_confidence,
                feet.CUE,
                note=f"possible heel lift on the {side} foot, but the feet were not seen "
                "clearly enough to say",
            )


def judge_depth_seen(matched: MatchedSession, judge: Judge, findings: Findings) -> None:
    """Shallow squats the phone's image shows (:mod:`scoring.image_depth`): a repetition
    whose knees, read off the image, stop short of the coach's depth
    (:data:`~scoring.checks.DEEP_ENOUGH_KNEE_FLEXION_DEG`) and of the user's own deepest
    other repetition by at least :data:`~scoring.image_depth.IMAGE_SHALLOW_MARGIN_DEG`,
    where no cue already says so. The lift can read a real deep squat 50-60 deg shallow,
    so a squat raised by 30 deg hardly stands out in it; the image reads both within a
    few degrees. Compared with the user's own reach, not the trainer's: a stiff body
    that cannot sit as deep as the trainer is not told to on every repetition.
    Severity: the shortfall's share of that reach on the simulator's scale (a full error
    is 60% less depth), cued past the strictness's."""
    observed = matched.observed
    fps = observed.fps
    keypoints, scores = observed.landmarks
    bottoms = rep_bottoms_seen(keypoints, scores, fps, matched.reps)
    reaches = own_reaches(bottoms)
    legs = [MEDIAPIPE33.index(f"{s}_{j}") for s in ("left", "right") for j in LEG_JOINTS]
    confidence = scores[:, legs].mean(axis=1)
    cued = [(e.start_s, e.end_s) for e in findings.events if e.kind == SHALLOW.kind]
    for number in np.flatnonzero(short_of_own_reach(bottoms, reaches)):
        start, end = matched.reps[number]
        if any(a < end / fps and b > start / fps for a, b in cued):
            continue
        reach = float(reaches[number])
        shortfall = reach - bottoms[number]
        severity = min(1.0, shortfall / reach / FULL_SHALLOW_SHORTFALL)
        if severity <= judge.limits.min_severity:
            continue
        _add_event(
            findings,
            SHALLOW.kind,
            SHALLOW.segment,
            (start, end),
            fps,
            np.full(len(confidence), severity),
            confidence,
            MIN_CONFIDENCE * judge.scales(SHALLOW.kind).confidence,
            SHALLOW.cue,
        )


def judge_beat(matched: MatchedSession, judge: Judge, findings: Findings) -> None:
    """Where the user's move runs ahead of or behind the music's beat by more than the
    strictness allows, for at least a beat."""
    observed = matched.observed
    fps = observed.fps
    beats = np.asarray(observed.beat_times, dtype=np.float64)
    threshold = judge.limits.off_beat * judge.scales("off_beat").z
    confidence = observed.frame_confidence()
    offset, inside = beat_offset(matched.alignment, matched.reference, fps, beats)
    for sign, detail in ((-1, "late"), (1, "early")):
        for start, end in _runs(inside & (sign * offset > threshold), fps):
            if (end - start) / fps < np.diff(beats).mean():
                continue
            size = float(np.abs(offset[start:end]).mean())
            findings.events.append(
                ErrorEvent(
                    "off_beat",
                    "timing",
                    start / fps,
                    end / fps,
                    min(1.0, size / 0.5),
                    float(confidence[start:end].mean()),
                    OFF_BEAT_CUES[detail],
                    detail,
                )
            )


def judge_by_detector(
    items: list[CheckSignal],
    matched: MatchedSession,
    judge: Judge,
    findings: Findings,
    earlier: Sequence[UnitSummary] = (),
) -> None:
    """Events of the learned detector: one per flagged unit (repetition or move) of each
    (kind, segment) it decides that the camera could judge; a note where it flags a unit
    it saw poorly. Each unit is compared with the others and with ``earlier`` (the
    summaries of units before this stretch of the session)."""
    evidence = unit_evidence(items, matched, judge.population, earlier)
    findings.unit_summaries = evidence.summaries
    cues = {(c.kind, c.segment): c.cue for c in ALL_CHECKS} | {
        ("heels_lifting", side): feet.CUE for side in ("left_leg", "right_leg")
    }
    lead = STAT_NAMES.index("mean")  # off-beat rows start with the mean lead on the beat
    fps = matched.fps
    judged = [
        (kind, segment, rows)
        for (kind, segment), rows in sorted(evidence.rows.items())
        if kind in judge.learned and (kind, segment) not in findings.unseen
    ]
    verdicts = judge.detector.judge_many(
        judge.source, [(kind, rows) for kind, _, rows in judged], judge.strictness
    )
    for (kind, segment, rows), (flagged, probability, severity) in zip(
        judged, verdicts, strict=True
    ):
        findings.probabilities.setdefault(kind, []).append(probability)
        confidence = evidence.confidence[(kind, segment)]
        min_confidence = judge.min_confidence(kind)
        for index in np.flatnonzero(flagged):
            unit = evidence.units[index]
            start_s, end_s = unit.start / fps, unit.end / fps
            if confidence[index] < min_confidence:
                findings.notes.append(_unsure_note(kind, segment, start_s, end_s))
                continue
            detail = ""
            if kind == "off_beat":
                detail = "late" if rows[index, lead] < 0 else "early"
            cue = OFF_BEAT_CUES[detail] if detail else cues[(kind, segment)]
            findings.events.append(
                ErrorEvent(
                    kind,
                    segment,
                    start_s,
                    end_s,
                    float(severity[index]),
                    float(confidence[index]),
                    cue,
                    detail,
                )
            )


def _runs(mask: np.ndarray, fps: float) -> list[tuple[int, int]]:
    """``[start, end)`` runs of ``mask``, gaps up to MAX_GAP_S joined, shorter than
    MIN_EVENT_S dropped."""
    frames = np.flatnonzero(mask)
    if not len(frames):
        return []
    gap = int(MAX_GAP_S * fps)
    runs, start, last = [], frames[0], frames[0]
    for f in frames[1:]:
        if f - last > gap + 1:
            runs.append((start, last + 1))
            start = f
        last = f
    runs.append((start, last + 1))
    return [(a, b) for a, b in runs if (b - a) / fps >= MIN_EVENT_S]


def ghost_motion(matched: MatchedSession, events: list[ErrorEvent]) -> np.ndarray:
    """``(T, 17, 3)`` the user's motion with each flagged segment's bones turned to the
    trainer's."""
    user_poses, fps = matched.observed.poses, matched.fps
    trainer = trainer_on_user(matched)
    ghost = user_poses.copy()
    corrected: list[set[int]] = [set() for _ in range(len(ghost))]
    for event in events:
        if event.segment not in GHOST_JOINTS:
            continue
        for t in range(int(event.start_s * fps), min(len(ghost), int(np.ceil(event.end_s * fps)))):
            corrected[t] |= set(GHOST_JOINTS[event.segment])
    for t in (t for t, joints in enumerate(corrected) if joints):
        # Root down: a flagged segment's bones take the trainer's direction, the others
        # keep the user's and follow their moved parent (a straightened back carries the
        # neck and arms with it instead of leaving them behind).
        for parent, child in H36M17.bones:
            source = trainer[t] if child in corrected[t] else user_poses[t]
            ghost[t, child] = ghost[t, parent] + source[child] - source[parent]
    return ghost


def trainer_on_user(matched: MatchedSession) -> np.ndarray:
    """``(T, 17, 3)`` root-relative: the trainer's template pose DTW matched to each of
    the user's frames (``matched.track_index``), on the user's bone lengths, turned to face
    as the user faces.

    The two were filmed by different cameras, so the trainer is turned, but by one
    rotation for the whole session (fitted on the torsos of every frame): a rotation per
    frame fitted on the torso would also turn away what differs at that moment (most of
    a rounded back).
    """
    user = matched.observed.poses - matched.observed.poses[:, :1]
    trainer = retarget(matched.reference.template_poses[matched.track_index], user)
    trainer = trainer - trainer[:, :1]
    rotation = best_rotation(
        trainer[:, TORSO_JOINTS].reshape(-1, 3), user[:, TORSO_JOINTS].reshape(-1, 3)
    )
    return trainer @ rotation.T


def best_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation best turning ``source`` points ``(K, 3)`` onto ``target`` (centred)."""
    a, b = source - source.mean(axis=0), target - target.mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def _overlaps(a: ErrorEvent, b: ErrorEvent) -> bool:
    return a.start_s < b.end_s and b.start_s < a.end_s


def reconcile_arm_events(events: list[ErrorEvent]) -> list[ErrorEvent]:
    """One arm short while the other is not: that is one side lower, not both arms low.

    ``arms_not_raised`` on one arm with no overlapping ``arms_not_raised`` on the other
    becomes ``one_side_lower`` (unless one is already there); ``one_side_lower`` while
    both arms are short is dropped in favour of ``arms_not_raised``.
    """
    low = [e for e in events if e.kind == "arms_not_raised"]
    uneven = [e for e in events if e.kind == "one_side_lower"]
    kept = [e for e in events if e.kind not in ("arms_not_raised", "one_side_lower")]
    for event in low:
        other = "right_arm" if event.segment == "left_arm" else "left_arm"
        if any(o.segment == other and _overlaps(o, event) for o in low):
            kept.append(event)
        elif not any(u.segment == event.segment and _overlaps(u, event) for u in uneven):
            side = event.segment.split("_")[0]
            uneven.append(
                ErrorEvent(
                    "one_side_lower",
                    event.segment,
                    event.start_s,
                    event.end_s,
                    event.severity,
                    event.confidence,
                    f"Raise both arms evenly: your {side} arm is lower",
                )
            )
    for event in uneven:
        both_low = [e for e in kept if e.kind == "arms_not_raised" and _overlaps(e, event)]
        if len({e.segment for e in both_low}) < 2:
            kept.append(event)
    return kept


def extend_to_reps(
    events: list[ErrorEvent], reps: list[tuple[int, int]], fps: float
) -> list[ErrorEvent]:
    """Form errors reported per repetition: each event grows to the whole repetitions it
    touches (a coach says "your third squat was shallow", not "at 4.2-4.6 s"), and
    events of the same kind and segment in the same repetition become one. Timing events
    and sessions without repetitions are left as they are."""
    if not reps:
        return events
    bounds = np.asarray(reps, dtype=np.float64) / fps  # (R, 2) seconds
    grown: dict[tuple[str, str], list[ErrorEvent]] = {}
    kept = []
    for event in sorted(events, key=lambda e: e.start_s):
        touched = bounds[(bounds[:, 0] < event.end_s) & (event.start_s < bounds[:, 1])]
        if event.segment == "timing" or not len(touched):
            kept.append(event)
            continue
        start = min(event.start_s, float(touched[:, 0].min()))
        end = max(event.end_s, float(touched[:, 1].max()))
        same = grown.setdefault((event.kind, event.segment), [])
        if same and start < same[-1].end_s:  # the same repetition: one event
            last = same[-1]
            last.end_s = max(last.end_s, end)
            last.severity = max(last.severity, event.severity)
            last.confidence = min(last.confidence, event.confidence)
        else:
            same.append(replace(event, start_s=start, end_s=end))
    return kept + [e for runs in grown.values() for e in runs]


def _tempo_summary(alignment: Alignment, reps: list[tuple[int, int]], fps: float) -> dict:
    timings = []
    for number, (start, end) in enumerate(reps):
        tempo = float(np.median(alignment.tempo[start:end]))
        verdict = "rushing" if tempo > 1.3 else "dragging" if tempo < 0.75 else "on pace"
        timings.append(RepTiming(number + 1, start / fps, end / fps, round(tempo, 3), verdict))
    matched = alignment.tempo[alignment.matched] if alignment.matched.any() else alignment.tempo
    return {
        "mean": round(float(np.median(matched)), 3),
        "per_rep": [t.__dict__ for t in timings],
    }


def _music_without_beats(matched: MatchedSession, population: PopulationModel | None) -> bool:
    """Whether the routine is done to music (its reference has beats, or the detector
    learned it on the beat) but the session came without the beat times."""
    detector = population.detector if population else None
    to_music = bool(matched.reference.beats_per_rep) or (
        detector is not None and matched.reference.movement in detector.timed_movements
    )
    return to_music and not matched.timed


def score_session(
    observed: ObservedSession,
    reference: Reference,
    *,
    strictness: str = "intermediate",
    population: PopulationModel | None = None,
    model_version: str = "",
    include_ghost: bool = True,
    earlier_units: Sequence[UnitSummary] = (),
) -> SessionReport:
    """Score the user's ``observed`` session against the trainer's ``reference``.

    Args:
        strictness: ``"beginner"``, ``"intermediate"`` or ``"expert"``.
        population: Spread of correct performances and the learned detector; ``None``
            uses fixed floors and the rules only.
        model_version: The lifter's version, carried into the report.
        include_ghost: Whether the report carries the corrected ``(T, 17, 3)`` motion.
        earlier_units: When ``observed`` is a stretch of a longer session (live), the
            detector's summaries of the units before it (a previous report's
            ``unit_summaries``): each unit is compared with those too.
    """
    matched = match_session(observed, reference)
    judge = make_judge(strictness, population, matched)
    findings = Findings()
    if _music_without_beats(matched, population):
        findings.notes.append(_untimed_note(reference.movement, observed.duration_s))
    items = check_signals(
        matched.features, matched.alignment, reference, matched.track_phase, observed.fps
    )
    judge_by_rules(items, matched, judge, findings)
    if (
        observed.landmarks is not None
        and reference.movement in feet.MOVEMENTS
        and "heels_lifting" not in judge.learned
    ):
        judge_heels(matched, judge, findings)
    if matched.timed and "off_beat" not in judge.learned:
        judge_beat(matched, judge, findings)
    findings.events = extend_to_reps(
        reconcile_arm_events(findings.events), matched.reps, observed.fps
    )
    if judge.learned:  # judged per unit (repetition or move) already
        judge_by_detector(items, matched, judge, findings, earlier_units)
    if observed.landmarks is not None and SHALLOW in checks_for(reference.movement):
        judge_depth_seen(matched, judge, findings)
    findings.events = spare_deep_squats(findings.events, matched)
    count_cues(findings, observed.fps, len(observed.poses))
    return _report(matched, judge, findings, model_version, include_ghost)


def spare_deep_squats(events: list[ErrorEvent], matched: MatchedSession) -> list[ErrorEvent]:
    """``events`` without the "shallow squat" cues of spans where the user squatted past
    :data:`~scoring.checks.DEEP_ENOUGH_KNEE_FLEXION_DEG` (the rules already spare such
    frames; this holds the learned detector, which compares depth with the trainer's, to
    the same standard), or where the phone's image shows the hips clearly below the
    knees or the knees bent past that depth (:mod:`scoring.image_depth`: a lifted deep
    squat can come out shallow)."""
    if not any(e.kind == "shallow_squat" for e in events):
        return events
    depth = squat_depth(matched.features)
    fps = matched.fps
    landmarks = matched.observed.landmarks
    unseen = np.full(len(depth), np.nan)
    drop = hip_drop(*landmarks) if landmarks is not None else unseen
    knees = knee_flexion_seen(*landmarks, fps) if landmarks is not None else unseen

    def deep_enough(event: ErrorEvent) -> bool:
        start = min(len(depth) - 1, int(event.start_s * fps))
        end = max(start + 1, int(np.ceil(event.end_s * fps)))
        in_3d = depth[start:end].max() >= DEEP_ENOUGH_KNEE_FLEXION_DEG
        in_image = hips_reached_knees(drop[start:end], fps) or knees_bent_past(
            knees[start:end], DEEP_ENOUGH_KNEE_FLEXION_DEG, fps
        )
        return bool(in_3d or in_image)

    return [e for e in events if e.kind != "shallow_squat" or not deep_enough(e)]


def cue_badness(severity: float) -> float:
    """The 0-1 badness a cue gives its segment over its span: at least half (the rules'
    own badness where they flag an error is of that order), the rest by severity."""
    return 0.5 + 0.5 * float(np.clip(severity, 0.0, 1.0))


def count_cues(findings: Findings, fps: float, frames: int) -> None:
    """Make every cue of ``findings`` lower its segment's score, whoever decided it.

    The rules' badness only follows their own signals, so a cue of the learned detector
    (or of the 2D heel rule) used to sit beside a segment scored 100; each cue now adds
    its :func:`cue_badness` over its frames, and its segment counts as judged.
    """
    for event in findings.events:
        if event.segment not in findings.badness:  # "timing" has its own penalty
            continue
        trace = np.zeros(frames)
        start = min(frames - 1, int(event.start_s * fps))
        trace[start : max(start + 1, int(np.ceil(event.end_s * fps)))] = cue_badness(event.severity)
        findings.badness[event.segment].append(trace)
        findings.judged.add(event.segment)


def _report(
    matched: MatchedSession,
    judge: Judge,
    findings: Findings,
    model_version: str,
    include_ghost: bool,
) -> SessionReport:
    """The report of the findings: segment and overall scores, tempo, cues, notes."""
    observed = matched.observed
    events = sorted(findings.events, key=lambda e: (e.start_s, e.kind, e.segment))
    segments = findings.segment_scores()
    timing_penalty = sum(10.0 * e.severity for e in events if e.segment == "timing")
    overall = max(0.0, float(np.mean(list(segments.values()))) - timing_penalty)
    overall -= sum(5.0 * e.severity * e.confidence for e in events if e.segment != "timing")
    ghost = ghost_motion(matched, events) if include_ghost else None
    return SessionReport(
        score=max(0.0, min(100.0, overall)),
        segments=segments,
        reps=len(matched.reps),
        tempo=_tempo_summary(matched.alignment, matched.reps, observed.fps),
        errors=events,
        notes=findings.notes,
        model_version=model_version,
        strictness=judge.strictness,
        duration_s=observed.duration_s,
        ghost_poses=ghost,
        detector_probabilities={
            kind: np.concatenate(parts) for kind, parts in findings.probabilities.items()
        },
        unit_summaries=findings.unit_summaries,
    )
