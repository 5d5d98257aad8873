"""Exported sessions and feedback units: stored sessions as files for offline jobs.

``coach-api export-sessions`` and ``coach-api export-feedback`` write them; the batch
re-scoring (:mod:`dataflow_jobs.rescoring`) and the detector's training on feedback
(:mod:`lab.feedback`) read them. One ``.npz`` file each holds what scoring the session
again needs and nothing that names the person: the phone's keypoints (no video, no
account), the routine's reference motion, the strictness and what the stored report said
(its cues and score), under a pseudonymous ``key`` (an HMAC of the session's id). A
feedback unit adds one cue a user judged: its kind, segment and time window, and the
verdict as a label.

Exported folders are transient training inputs, not an archive: each export replaces
the folder whole, so a session or a verdict erased with its account is absent from the
next one; delete a folder once its job has run.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pose3d.sequence_json import KeypointSequence
from scoring.reference import Reference, checked_reps
from scoring.stored_motion import Motion, Music

FORMAT = 1
SESSION_PREFIX, FEEDBACK_PREFIX, SUFFIX = "session-", "feedback-", ".npz"
MANIFEST = "export.json"
VERDICT_LABELS = {"right": 1, "wrong": 0}  # a confirmed cue is a positive unit of its kind
# What a file may hold: bounds checked on reading, since a folder may come from anywhere.
MAX_FILE_BYTES = 64 * 2**20
MAX_FRAMES = 100_000
MAX_JOINTS = 33


@dataclass(frozen=True)
class RoutineMotion:
    """A routine's reference as exported: its stored ``motion`` (poses, music, the
    repetitions found as it was stored) and its ``movement``."""

    motion: Motion
    movement: str

    def reference(self) -> Reference:
        """The prepared reference a session is judged against."""
        return self.motion.reference(self.movement)


@dataclass(frozen=True)
class Cue:
    """One cue of a report: ``kind`` on ``segment`` from ``start_s`` to ``end_s``."""

    kind: str
    segment: str
    start_s: float
    end_s: float
    severity: float = 0.0


@dataclass(frozen=True)
class ExportedSession:
    """A stored session, keypoints only (see the module doc).

    Attributes:
        key: Pseudonymous session key (hex HMAC of its id).
        sequence: The keypoints it was scored from (pixels, scores in [0, 1]).
        beat_times: Its music's beats (s from the first frame), if any.
        routine: The routine's reference motion.
        strictness: The strictness it was scored at.
        score: The stored report's score (0-100).
        cues: The stored report's cues, in report order.
    """

    key: str
    sequence: KeypointSequence
    beat_times: list[float] | None
    routine: RoutineMotion
    strictness: str
    score: float
    cues: list[Cue] = field(default_factory=list)


@dataclass(frozen=True)
class FeedbackUnit:
    """A user's verdict on one cue of an exported session: ``label`` 1 for a cue marked
    right (the error is there), 0 for one marked wrong; ``key`` is the unit's own."""

    key: str
    session: ExportedSession
    cue: Cue
    verdict: str

    @property
    def label(self) -> int:
        return VERDICT_LABELS[self.verdict]


def cues_of(report: dict) -> list[Cue]:
    """The cues of a stored report (``errors``), in order."""
    return [
        Cue(e["kind"], e["segment"], float(e["start_s"]), float(e["end_s"]), float(e["severity"]))
        for e in report["errors"]
    ]


def _arrays(session: ExportedSession) -> dict[str, np.ndarray]:
    sequence, motion = session.sequence, session.routine.motion
    arrays = {
        "keypoints": np.asarray(sequence.keypoints, dtype=np.float32),
        "scores": np.asarray(sequence.scores, dtype=np.float32),
        "reference_poses": np.asarray(motion.poses, dtype=np.float32),
    }
    if session.beat_times is not None:
        arrays["beat_times"] = np.asarray(session.beat_times, dtype=np.float64)
    if motion.music is not None:
        arrays["reference_beat_times"] = np.asarray(motion.music.beat_times, dtype=np.float64)
    if motion.reps is not None:
        arrays["reference_reps"] = np.asarray(motion.reps, dtype=np.int32).reshape(-1, 2)
    return arrays


def _meta(session: ExportedSession) -> dict:
    sequence, routine = session.sequence, session.routine
    return {
        "format": FORMAT,
        "key": session.key,
        "layout": sequence.layout,
        "fps": float(sequence.fps),
        "image_size": [int(sequence.image_width), int(sequence.image_height)],
        "movement": routine.movement,
        "reference_fps": float(routine.motion.fps),
        "beats_per_rep": routine.motion.music.beats_per_rep if routine.motion.music else None,
        "strictness": session.strictness,
        "score": float(session.score),
        "cues": [asdict(cue) for cue in session.cues],
    }


def _bytes(arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.str_(json.dumps(meta, sort_keys=True)), **arrays)
    return buffer.getvalue()


def session_bytes(session: ExportedSession) -> bytes:
    """The ``.npz`` file of an exported session."""
    return _bytes(_arrays(session), _meta(session))


def feedback_bytes(unit: FeedbackUnit) -> bytes:
    """The ``.npz`` file of a feedback unit: its session's, plus the cue and verdict."""
    meta = _meta(unit.session) | {
        "unit": unit.key,
        "cue": asdict(unit.cue),
        "verdict": unit.verdict,
        "label": unit.label,
    }
    return _bytes(_arrays(unit.session), meta)


def _check(condition: bool, name: str, problem: str) -> None:
    if not condition:
        raise ValueError(f"{name}: {problem}")


def _session_from(data: dict[str, np.ndarray], meta: dict, name: str) -> ExportedSession:
    _check(meta.get("format") == FORMAT, name, f"not an export of format {FORMAT}")
    keypoints, scores = data["keypoints"], data["scores"]
    frames = keypoints.shape[0] if keypoints.ndim == 3 else 0
    _check(
        keypoints.ndim == 3 and keypoints.shape[2] == 2 and 0 < frames <= MAX_FRAMES,
        name,
        f"keypoints {keypoints.shape} are not (T <= {MAX_FRAMES}, J, 2)",
    )
    _check(keypoints.shape[1] <= MAX_JOINTS, name, f"{keypoints.shape[1]} joints")
    _check(scores.shape == keypoints.shape[:2], name, f"scores {scores.shape} do not match")
    poses = data["reference_poses"]
    _check(
        poses.ndim == 3 and poses.shape[1:] == (17, 3) and 0 < len(poses) <= MAX_FRAMES,
        name,
        f"reference poses {poses.shape} are not (T, 17, 3)",
    )
    width, height = (int(v) for v in meta["image_size"])
    sequence = KeypointSequence(
        str(meta["layout"]), float(meta["fps"]), width, height, keypoints, scores
    )
    reference_beats = (
        data["reference_beat_times"].tolist() if "reference_beat_times" in data else None
    )
    reps = None
    if "reference_reps" in data:
        stored = data["reference_reps"]
        _check(
            stored.ndim == 2 and stored.shape[1] == 2 and np.issubdtype(stored.dtype, np.integer),
            name,
            f"reference repetitions {stored.shape} {stored.dtype} are not (K, 2) integers",
        )
        try:
            reps = checked_reps(stored.tolist(), len(poses))
        except ValueError as exc:
            raise ValueError(f"{name}: reference {exc}") from None
    per_rep = meta["beats_per_rep"]
    music = Music(reference_beats, int(per_rep)) if reference_beats and per_rep else None
    routine = RoutineMotion(
        Motion(poses, float(meta["reference_fps"]), music, reps), str(meta["movement"])
    )
    return ExportedSession(
        key=str(meta["key"]),
        sequence=sequence,
        beat_times=data["beat_times"].tolist() if "beat_times" in data else None,
        routine=routine,
        strictness=str(meta["strictness"]),
        score=float(meta["score"]),
        cues=[Cue(**cue) for cue in meta["cues"]],
    )


def _load(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    _check(len(data) <= MAX_FILE_BYTES, name, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ValueError(f"{name}: not an exported file ({exc})") from None
    _check(isinstance(meta, dict), name, "its meta is not an object")
    return arrays, meta


def read_session(data: bytes, name: str = "session") -> ExportedSession:
    """An exported session from its file's bytes; ``ValueError`` naming what is wrong."""
    arrays, meta = _load(data, name)
    try:
        return _session_from(arrays, meta, name)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{name}: incomplete export ({exc!r} missing or malformed)") from None


def read_feedback(data: bytes, name: str = "feedback unit") -> FeedbackUnit:
    """A feedback unit from its file's bytes; ``ValueError`` naming what is wrong."""
    arrays, meta = _load(data, name)
    _check(meta.get("verdict") in VERDICT_LABELS, name, "verdict is not right or wrong")
    try:
        session = _session_from(arrays, meta, name)
        return FeedbackUnit(str(meta["unit"]), session, Cue(**meta["cue"]), meta["verdict"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{name}: incomplete export ({exc!r} missing or malformed)") from None


def session_files(folder: Path) -> list[Path]:
    """The exported sessions in ``folder``, sorted."""
    return sorted(Path(folder).glob(f"{SESSION_PREFIX}*{SUFFIX}"))


def feedback_files(folder: Path) -> list[Path]:
    """The feedback units in ``folder``, sorted."""
    return sorted(Path(folder).glob(f"{FEEDBACK_PREFIX}*{SUFFIX}"))
