"""Score a session: align the user to the trainer, judge each segment, write the report.

Steps (``score_session``):

1. joint-angle features of both motions (:mod:`scoring.features`);
2. count the user's repetitions and align the user to the trainer's template repeated
   as often, with DTW (:mod:`scoring.alignment`); the warping path gives the tempo;
3. per check (:mod:`scoring.checks`), the error signal at matched phases, judged
   against three references: the trainer's own rep-to-rep variability, the population
   of correct performances (:mod:`scoring.population`) and, for ranges of motion, the
   user's own consistent range;
4. events, gated by 2D confidence and by whether the camera view can show that error:
   with the population model's learned detector (:mod:`scoring.detector`), one per
   repetition (or dance move) it judges to hold the error; without it, or for kinds it
   was not trained on, where the signal is both beyond tolerance and large enough to
   matter (rules; off-beat timing always);
5. scores, timing verdicts, cues and the "ghost" (the user's motion with flagged
   segments moved to the trainer's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pose3d.skeleton import H36M17
from scoring import feet
from scoring.alignment import Alignment, align, segment_reps
from scoring.checks import ALL_CHECKS, ALL_KINDS, MAX_NATURAL_SHORTFALL, OFF_BEAT_CUES, Check
from scoring.detector import STAT_NAMES, FormErrorDetector
from scoring.evidence import KNEE_MEASURES, MatchedSession, UnitEvidence, unit_evidence
from scoring.features import (
    SEGMENT_FEATURES,
    SEGMENT_JOINTS,
    compute_features,
    retarget,
    validate_poses,
)
from scoring.population import (
    SOURCES,
    PopulationModel,
    ThresholdScales,
    per_bin_median,
    phase_bins,
)
from scoring.reference import Reference
from scoring.report import ErrorEvent, RepTiming, SessionReport
from scoring.signals import beat_offset, check_signals, segment_confidence, tolerance

STRICTNESS = {  # z threshold, minimum severity, off-beat threshold (beats)
    "beginner": (3.5, 0.4, 0.25),
    "intermediate": (2.5, 0.25, 0.15),
    "expert": (2.0, 0.15, 0.1),
}
MIN_CONFIDENCE = 0.5
HEEL_MIN_SEVERITY = 0.5  # 2D heel rise is noisier than the 3D checks
MIN_EVENT_S, MAX_GAP_S = 0.25, 0.3


@dataclass
class TrackPlan:
    """How the user's session maps onto the reference track.

    Attributes:
        reps: The user's repetitions ``[start, end)`` (frames).
        repetitions: Template repetitions in the reference track.
        anchors: ``(user_frames, track_frames)`` correspondences for the alignment.
        window: DTW window in track frames.
    """

    reps: list[tuple[int, int]]
    repetitions: int
    anchors: tuple[np.ndarray, np.ndarray]
    window: int


def plan_track(
    user_features: np.ndarray, fps: float, reference: Reference, beat_times: Sequence[float] | None
) -> TrackPlan:
    """Anchor the session on the reference: beats for routines done to music (when the
    beat times are known), repetition boundaries otherwise."""
    reps = segment_reps(user_features, fps)
    length = reference.template_length
    if reference.on_the_beat(beat_times):
        beats = np.asarray(beat_times, dtype=np.float64) * fps
        per_beat = length / reference.beats_per_rep
        repetitions = max(1, int(np.ceil(len(beats) / reference.beats_per_rep)))
        anchors = (beats, np.arange(len(beats)) * per_beat)
        return TrackPlan(reps, repetitions, anchors, max(3, int(0.75 * per_beat)))
    repetitions = max(1, len(reps))
    if reps:
        user = np.array([reps[0][0]] + [end for _, end in reps], dtype=np.float64)
        track = np.arange(len(reps) + 1, dtype=np.float64) * length
    else:
        user = np.array([0.0, len(user_features) - 1.0])
        track = np.array([0.0, length - 1.0])
    return TrackPlan(reps, repetitions, (user, track), max(3, int(0.1 * length)))


def align_session(
    user_features: np.ndarray, fps: float, reference: Reference, beat_times: Sequence[float] | None
) -> tuple[TrackPlan, np.ndarray, Alignment]:
    """Plan the track, build it, align the user to it: (plan, track phase, alignment)."""
    plan = plan_track(user_features, fps, reference, beat_times)
    track, track_phase = reference.track(plan.repetitions)
    alignment = align(user_features, fps, track, reference.fps, plan.anchors, plan.window)
    return plan, track_phase, alignment


def _whole_session_note(kind: str, segment: str, duration_s: float, message: str) -> dict:
    """A note about ``kind`` on ``segment`` over the whole session."""
    return {
        "segment": segment,
        "kind": kind,
        "start_s": 0.0,
        "end_s": round(duration_s, 2),
        "message": message,
    }


def _unseen_note(check: Check, duration_s: float) -> dict:
    """The note for a check the camera could not judge over the session."""
    kind, segment = check.kind.replace("_", " "), check.segment.replace("_", " ")
    return _whole_session_note(
        check.kind,
        check.segment,
        duration_s,
        f"{kind} was not judged: the camera saw the {segment} too poorly "
        "(out of frame, hidden, or from an angle that cannot show it)",
    )


def _no_landmarks_note(check: Check, duration_s: float) -> dict:
    """The note for a knee check of lifted poses sent without MediaPipe landmarks."""
    kind, segment = check.kind.replace("_", " "), check.segment.replace("_", " ")
    return _whole_session_note(
        check.kind,
        check.segment,
        duration_s,
        f"{kind} on the {segment} was judged from the 3D poses alone, which keep little of "
        "it: send MediaPipe-33 landmarks (with the feet) to have it judged closely",
    )


def _untimed_note(movement: str, duration_s: float) -> dict:
    """The note for a routine done to music scored without the music's beat times."""
    return _whole_session_note(
        "off_beat",
        "timing",
        duration_s,
        f"this {movement.replace('_', ' ')} is done to music, but the beat times are missing "
        "(the routine's or the session's): the moves were judged on the motion alone, and the "
        "timing on the beat was not judged",
    )


def session_evidence(
    user_poses: np.ndarray,
    user_fps: float,
    reference: Reference,
    *,
    scores: np.ndarray | None = None,
    beat_times: Sequence[float] | None = None,
    population: PopulationModel | None = None,
    keypoints_2d: tuple[np.ndarray, np.ndarray] | None = None,
) -> UnitEvidence:
    """What the learned detector sees of a session (arguments as for :func:`score_session`):
    the examples it is trained on."""
    features = compute_features(user_poses)
    _, track_phase, alignment = align_session(features, user_fps, reference, beat_times)
    items = check_signals(features, alignment, reference, track_phase, user_fps)
    session = MatchedSession(
        user_poses, features, scores, user_fps, reference, alignment, track_phase,
        keypoints_2d, beat_times,
    )  # fmt: skip
    return unit_evidence(items, session, population)


def _unsure_note(kind: str, segment: str, start_s: float, end_s: float) -> dict:
    """The note for a possible error the camera did not show clearly enough for a cue."""
    return {
        "segment": segment,
        "kind": kind,
        "start_s": round(start_s, 2),
        "end_s": round(end_s, 2),
        "message": f"possible {kind.replace('_', ' ')} on the {segment.replace('_', ' ')}, "
        "but the camera could not see it clearly enough to say",
    }


def _detected_events(
    evidence: UnitEvidence,
    detector: FormErrorDetector,
    source: str,
    kinds: set[str],
    unseen: set[tuple[str, str]],
    strictness: str,
    fps: float,
    notes: list[dict],
) -> list[ErrorEvent]:
    """Events of the learned detector: one per flagged unit (repetition or move) of each
    (kind, segment) in ``kinds`` the camera could judge; a note where it flags a unit it
    saw poorly."""
    cues = {(c.kind, c.segment): c.cue for c in ALL_CHECKS} | {
        ("heels_lifting", side): feet.CUE for side in ("left_leg", "right_leg")
    }
    lead = STAT_NAMES.index("mean")  # off-beat rows start with the mean lead on the beat
    events = []
    for (kind, segment), rows in sorted(evidence.rows.items()):
        if kind not in kinds or (kind, segment) in unseen:
            continue
        flagged, _, severity = detector.judge(source, kind, rows, strictness)
        confidence = evidence.confidence[(kind, segment)]
        for index in np.flatnonzero(flagged):
            unit = evidence.units[index]
            start_s, end_s = unit.start / fps, unit.end / fps
            if confidence[index] < detector.models[source][kind].min_confidence:
                notes.append(_unsure_note(kind, segment, start_s, end_s))
                continue
            detail = ""
            if kind == "off_beat":
                detail = "late" if rows[index, lead] < 0 else "early"
            cue = OFF_BEAT_CUES[detail] if detail else cues[(kind, segment)]
            events.append(
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
    return events


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


def _off_beat_events(
    alignment: Alignment,
    reference: Reference,
    track_phase: np.ndarray,
    fps: float,
    beat_times: Sequence[float],
    threshold: float,
    confidence: np.ndarray,
) -> list[ErrorEvent]:
    """Where the user's move runs ahead of or behind the music's beat."""
    beats = np.asarray(beat_times, dtype=np.float64)
    offset, inside = beat_offset(alignment, reference, fps, beats)
    events = []
    for sign, detail in ((-1, "late"), (1, "early")):
        for start, end in _runs(inside & (sign * offset > threshold), fps):
            if (end - start) / fps < np.diff(beats).mean():
                continue
            size = float(np.abs(offset[start:end]).mean())
            events.append(
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
    return events


def _heel_events(
    keypoints_2d: tuple[np.ndarray, np.ndarray],
    fps: float,
    matched: np.ndarray,
    threshold: float,
    min_confidence: float,
    notes: list[dict],
) -> list[ErrorEvent]:
    """Heels lifting from the 2D foot landmarks (see :mod:`scoring.feet`), where the
    severity exceeds ``threshold``; below ``min_confidence`` a note instead of a cue."""
    keypoints, scores = keypoints_2d
    if keypoints.shape[1:] != (33, 2) or scores.shape != keypoints.shape[:2]:
        raise ValueError("keypoints_2d must be MediaPipe-33 (T, 33, 2) pixels and (T, 33) scores")
    events = []
    for side in ("left", "right"):
        rise, confidence = feet.heel_rise(keypoints, scores, side, fps)
        severity = rise / feet.FULL_SCALE
        for start, end in _runs(matched & (severity > threshold), fps):
            conf = float(confidence[start:end].mean())
            sev = float(np.clip(np.percentile(severity[start:end], 90), 0, 1))
            segment = f"{side}_leg"
            if conf < min_confidence:
                notes.append(
                    {
                        "segment": segment,
                        "kind": "heels_lifting",
                        "start_s": round(start / fps, 2),
                        "end_s": round(end / fps, 2),
                        "message": f"possible heel lift on the {side} foot, but the feet "
                        "were not seen clearly enough to say",
                    }
                )
                continue
            events.append(
                ErrorEvent("heels_lifting", segment, start / fps, end / fps, sev, conf, feet.CUE)
            )
    return events


def _ghost(
    user_poses: np.ndarray,
    reference: Reference,
    alignment: Alignment,
    track_phase: np.ndarray,
    events: list[ErrorEvent],
    fps: float,
) -> np.ndarray:
    """The user's motion with each flagged segment's bones turned to the trainer's."""
    trainer = retarget(reference.template_poses[track_phase[alignment.ref_index]], user_poses)
    torso = [
        H36M17.index(n)
        for n in (
            "pelvis",
            "left_hip",
            "right_hip",
            "spine",
            "thorax",
            "left_shoulder",
            "right_shoulder",
        )
    ]
    ghost = user_poses.copy()
    for event in events:
        if event.segment not in SEGMENT_JOINTS:
            continue
        joints = set(SEGMENT_JOINTS[event.segment])
        for t in range(int(event.start_s * fps), min(len(ghost), int(np.ceil(event.end_s * fps)))):
            rotation = _rotation(trainer[t, torso], user_poses[t, torso])
            moved = trainer[t] @ rotation.T
            for parent, child in H36M17.bones:
                if child in joints:
                    ghost[t, child] = ghost[t, parent] + moved[child] - moved[parent]
    return ghost


def _rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
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


def score_session(
    user_poses: np.ndarray,
    user_fps: float,
    reference: Reference,
    *,
    scores: np.ndarray | None = None,
    beat_times: Sequence[float] | None = None,
    strictness: str = "intermediate",
    population: PopulationModel | None = None,
    model_version: str = "",
    include_ghost: bool = True,
    keypoints_2d: tuple[np.ndarray, np.ndarray] | None = None,
) -> SessionReport:
    """Score the user's ``(T, 17, 3)`` motion at ``user_fps`` against ``reference``.

    Args:
        scores: ``(T, 17)`` 2D confidences in H36M-17 joint order (what the lifter saw),
            or ``None`` when the motion is known exactly.
        beat_times: The music's beats on the user's timeline (s), for routines.
        strictness: ``"beginner"``, ``"intermediate"`` or ``"expert"``.
        population: Spread of correct performances; ``None`` uses fixed floors only.
        keypoints_2d: The phone's MediaPipe-33 ``(T, 33, 2)`` pixels and ``(T, 33)``
            scores, when available: they show what 3D cannot (heels lifting).
    """
    if strictness not in STRICTNESS:
        raise ValueError(
            f"unknown strictness {strictness!r}; expected one of {', '.join(STRICTNESS)}"
        )
    if not (np.isfinite(user_fps) and user_fps > 0):
        raise ValueError(f"user fps must be positive, got {user_fps}")
    user_poses = validate_poses(user_poses, "user poses")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != user_poses.shape[:2]:
            raise ValueError(f"scores must have shape {user_poses.shape[:2]}, got {scores.shape}")
    z_threshold, min_severity, beat_threshold = STRICTNESS[strictness]
    exact = scores is None  # exact 3D (motion capture, simulation) or lifted from 2D
    fps = float(user_fps)
    features = compute_features(user_poses)
    plan, track_phase, alignment = align_session(features, fps, reference, beat_times)
    reps = plan.reps
    track_index = track_phase[alignment.ref_index]
    bins = phase_bins(track_index, len(reference.template_features))
    events: list[ErrorEvent] = []
    notes: list[dict] = []
    segment_badness: dict[str, list[np.ndarray]] = {s: [] for s in SEGMENT_FEATURES}
    judged: set[str] = set()  # segments with at least one check the camera could judge
    unjudged: set[str] = set()  # segments with a check it could not
    detector = population.detector if population else None
    timed = reference.on_the_beat(beat_times)
    to_music = bool(reference.beats_per_rep) or (
        detector is not None and reference.movement in detector.timed_movements
    )
    if to_music and not timed:
        notes.append(_untimed_note(reference.movement, len(features) / fps))
    if detector and not detector.fits(reference.movement, timed):
        detector = None  # the rules judge what the detector was not trained on
    source = SOURCES[exact]
    learned = {kind for kind in ALL_KINDS if detector and detector.knows(source, kind)}
    unseen: set[tuple[str, str]] = set()
    items = check_signals(features, alignment, reference, track_phase, fps)
    for item in items:
        check = item.check
        signal = item.signal
        if check.baseline:  # the user's own consistent shortfall is their range, not an error
            natural = population and population.natural_shortfall(reference.movement, check, exact)
            cap = MAX_NATURAL_SHORTFALL if natural is None else natural
            signal = signal - np.clip(per_bin_median(signal, bins)[bins], 0.0, cap)
        allowed = tolerance(item, reference, population, bins, track_index, exact)
        z = signal / allowed
        severity = signal / check.full_scale
        confidence = segment_confidence(user_poses, scores, check)
        scales = population.scales(check.kind, exact) if population else ThresholdScales()
        min_confidence = (
            detector.models[source][check.kind].min_confidence
            if check.kind in learned
            else MIN_CONFIDENCE * scales.confidence
        )
        if float(np.mean(confidence[alignment.matched] if alignment.matched.any() else 0)) < (
            min_confidence
        ):  # most of the session unseen: say so, and leave the segment out of the score
            notes.append(_unseen_note(check, len(features) / fps))
            unjudged.add(check.segment)
            unseen.add((check.kind, check.segment))
            continue
        judged.add(check.segment)
        if not exact and keypoints_2d is None and check.kind in KNEE_MEASURES:
            notes.append(_no_landmarks_note(check, len(features) / fps))
        flagged = (
            item.substantial
            & (z > z_threshold * scales.z)
            & (severity > min_severity * scales.severity)
        )
        segment_badness.setdefault(check.segment, []).append(
            np.where(item.substantial, np.clip((z - 1) / (2 * z_threshold), 0, 1), 0)
        )
        if check.kind in learned:
            continue
        for start, end in _runs(flagged, fps):
            conf = float(confidence[start:end].mean())
            sev = float(np.clip(np.percentile(severity[start:end], 90), 0, 1))
            if conf < min_confidence:
                notes.append(_unsure_note(check.kind, check.segment, start / fps, end / fps))
                continue
            events.append(
                ErrorEvent(check.kind, check.segment, start / fps, end / fps, sev, conf, check.cue)
            )
    if (
        keypoints_2d is not None
        and reference.movement == "squat"
        and "heels_lifting" not in learned
    ):
        scales = population.scales("heels_lifting", exact) if population else ThresholdScales()
        threshold = max(min_severity, HEEL_MIN_SEVERITY) * scales.severity
        events += _heel_events(
            keypoints_2d,
            fps,
            alignment.matched,
            threshold,
            MIN_CONFIDENCE * scales.confidence,
            notes,
        )
    if timed and "off_beat" not in learned:
        confidence = np.ones(len(features)) if scores is None else scores.mean(axis=1)
        scales = population.scales("off_beat", exact) if population else ThresholdScales()
        events += _off_beat_events(
            alignment,
            reference,
            track_phase,
            fps,
            beat_times,
            beat_threshold * scales.z,
            confidence,
        )
    events = extend_to_reps(reconcile_arm_events(events), reps, fps)
    if learned:  # judged per unit (repetition or move) already
        session = MatchedSession(
            user_poses, features, scores, fps, reference, alignment, track_phase,
            keypoints_2d, beat_times,
        )  # fmt: skip
        evidence = unit_evidence(items, session, population)
        events += _detected_events(
            evidence, detector, source, learned, unseen, strictness, fps, notes
        )
    events.sort(key=lambda e: (e.start_s, e.kind, e.segment))
    segments = {
        name: 100.0 * (1 - float(np.mean(np.max(values, axis=0)))) if values else 100.0
        for name, values in segment_badness.items()
        if name not in unjudged - judged
    }
    timing_penalty = sum(10.0 * e.severity for e in events if e.segment == "timing")
    overall = max(0.0, float(np.mean(list(segments.values()))) - timing_penalty)
    overall -= sum(5.0 * e.severity * e.confidence for e in events if e.segment != "timing")
    ghost = (
        _ghost(user_poses, reference, alignment, track_phase, events, fps)
        if include_ghost
        else None
    )
    return SessionReport(
        score=max(0.0, min(100.0, overall)),
        segments=segments,
        reps=len(reps),
        tempo=_tempo_summary(alignment, reps, fps),
        errors=events,
        notes=notes,
        model_version=model_version,
        strictness=strictness,
        duration_s=len(features) / fps,
        ghost_poses=ghost,
    )
