"""Stored sessions and users' verdicts on cues, exported for offline jobs (keypoints only).

``coach-api export-sessions`` writes each stored session that kept its keypoints, and
``coach-api export-feedback`` each Feedback row as a labelled unit, in the file format of
:mod:`scoring.exported`: the keypoints, the routine's reference motion, the strictness and
the stored report's cues, under a pseudonymous key (HMAC-SHA256 of the row's id with the
service's signing key: stable across exports, meaningless without the key). No account
id, email, video or comment leaves the database.

Each export replaces its folder whole (written beside it, then swapped in), so what was
erased with an account since the last export, its sessions and their feedback (both
cascade), is absent from the next: exported folders are transient training inputs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from google.api_core.exceptions import NotFound
from sqlalchemy import select
from sqlalchemy.orm import Session

from coach_api.db import Feedback, Routine, WorkoutSession
from coach_api.persistence import load_keypoints
from coach_api.services import load_motion
from pose3d.archive import atomic_write
from scoring.exported import (
    FEEDBACK_PREFIX,
    MANIFEST,
    SESSION_PREFIX,
    SUFFIX,
    ExportedSession,
    FeedbackUnit,
    RoutineMotion,
    cues_of,
    feedback_bytes,
    session_bytes,
)

MAX_EXPORT = 1_000_000  # files one export may write
ROUTINES_KEPT = 32  # routine references held in memory while exporting
BATCH_ROWS = 200  # rows read from the database at a time
MISSING_BLOB = (FileNotFoundError, NotFound)  # a blob deleted meanwhile: local, GCS


def pseudonym(signing_key: str, what: str, row_id: int) -> str:
    """The pseudonymous key of row ``row_id`` of ``what`` (``"session"``, ``"feedback"``):
    32 hex digits of an HMAC-SHA256 with the service's signing key."""
    message = f"{what}:{row_id}".encode()
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()[:32]


class ExportResult(NamedTuple):
    """What an export wrote: the folder, the files and why rows were left out (counts)."""

    folder: Path
    written: int
    skipped: dict[str, int]


class _Routines:
    """Routines' reference motion by id, the last :data:`ROUTINES_KEPT` kept (an export
    reads sessions in id order, and a routine's sessions come in runs)."""

    def __init__(self, db: Session, blobs) -> None:
        self.db, self.blobs = db, blobs
        self.kept: dict[int, RoutineMotion | None] = {}

    def get(self, routine_id: int) -> RoutineMotion | None:
        """The routine's motion; None when the routine or its blob is gone."""
        if routine_id not in self.kept:
            if len(self.kept) >= ROUTINES_KEPT:
                self.kept.pop(next(iter(self.kept)))
            self.kept[routine_id] = self._load(routine_id)
        return self.kept[routine_id]

    def _load(self, routine_id: int) -> RoutineMotion | None:
        routine = self.db.get(Routine, routine_id)
        if routine is None:
            return None
        try:
            motion = load_motion(self.blobs, routine.blob)
        except MISSING_BLOB:
            return None
        return RoutineMotion(motion, routine.movement)


def _exported(
    settings, row: WorkoutSession, routines: _Routines
) -> tuple[ExportedSession | None, str]:
    """Session ``row`` as exported, or None and why it cannot be."""
    if not row.keypoints_blob:
        return None, "no_keypoints"
    routine = routines.get(row.routine_id)
    if routine is None:
        return None, "routine_deleted"
    try:
        source = load_keypoints(settings.blobs, row.keypoints_blob)
    except MISSING_BLOB:  # erased meanwhile
        return None, "blob_missing"
    report = row.report
    return (
        ExportedSession(
            key=pseudonym(settings.signing_key, "session", row.id),
            sequence=source.sequence,
            beat_times=source.beat_times,
            routine=routine,
            strictness=report["strictness"],
            score=float(report["score"]),
            cues=cues_of(report),
        ),
        "",
    )


def _unit(
    settings, db: Session, feedback: Feedback, routines: _Routines
) -> tuple[FeedbackUnit | None, str]:
    """Feedback row ``feedback`` as a labelled unit, or None and why it cannot be."""
    row = db.get(WorkoutSession, feedback.session_id)
    if row is None:
        return None, "session_gone"
    session, reason = _exported(settings, row, routines)
    if session is None:
        return None, reason
    index = feedback.error_index
    # A re-scoring since the verdict replaced the report: its cue at that index may be
    # another one (or none), and the verdict was not about it.
    if not 0 <= index < len(session.cues) or session.cues[index].kind != feedback.kind:
        return None, "cue_gone"
    key = pseudonym(settings.signing_key, "feedback", feedback.id)
    return FeedbackUnit(key, session, session.cues[index], feedback.verdict), ""


def _rows(db: Session, query, model, limit: int) -> Iterator:
    """The rows of ``query`` over ``model`` in id order, at most ``limit``, read a page of
    :data:`BATCH_ROWS` at a time (no cursor stays open while a row is exported: exporting
    reads the database too)."""
    last, left = 0, limit
    while left > 0:
        page = list(
            db.scalars(query.where(model.id > last).order_by(model.id).limit(min(left, BATCH_ROWS)))
        )
        if not page:
            return
        yield from page
        last, left = page[-1].id, left - len(page)


def _replace_folder(out: Path, write) -> None:
    """Run ``write(staging)`` and put the folder it filled at ``out``, replacing an earlier
    export there whole; nothing of a failed export is left. ``out`` must be new, empty or
    an earlier export (it has the manifest): nobody else's folder is deleted."""
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ValueError(f"{out} is neither empty nor an earlier export ({MANIFEST} missing)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        write(staging)
        staging.chmod(0o700)  # people's motion: the operator's account only
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
            os.replace(out, old / out.name)
            os.replace(staging, out)
            shutil.rmtree(old)
        else:
            os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _manifest(folder: Path, kind: str, written: int, skipped: dict[str, int]) -> None:
    manifest = {
        "export": kind,
        "files": written,
        "skipped": skipped,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "transient training input: keypoints only; delete after use",
    }
    atomic_write(folder / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode(), 0o600)


def export_sessions(
    settings, db: Session, out: Path, since: datetime | None = None, limit: int = MAX_EXPORT
) -> ExportResult:
    """Write every stored session with keypoints (created at or after ``since``, the first
    ``limit`` by id) to ``out`` as ``session-<key>.npz``."""
    if not 1 <= limit <= MAX_EXPORT:
        raise ValueError(f"limit must be 1..{MAX_EXPORT}")
    query = select(WorkoutSession).where(WorkoutSession.keypoints_blob.is_not(None))
    if since is not None:
        query = query.where(WorkoutSession.created_at >= since)
    counts = {"written": 0}
    skipped: dict[str, int] = {}

    def write(folder: Path) -> None:
        routines = _Routines(db, settings.blobs)
        for row in _rows(db, query, WorkoutSession, limit):
            session, reason = _exported(settings, row, routines)
            if session is None:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            name = f"{SESSION_PREFIX}{session.key}{SUFFIX}"
            atomic_write(folder / name, session_bytes(session), 0o600)
            counts["written"] += 1
        _manifest(folder, "sessions", counts["written"], skipped)

    _replace_folder(out, write)
    return ExportResult(Path(out), counts["written"], skipped)


def export_feedback(settings, db: Session, out: Path, limit: int = MAX_EXPORT) -> ExportResult:
    """Write every Feedback row (the first ``limit`` by id) to ``out`` as a labelled unit
    ``feedback-<key>.npz``: its session's keypoints and routine, the cue and the verdict."""
    if not 1 <= limit <= MAX_EXPORT:
        raise ValueError(f"limit must be 1..{MAX_EXPORT}")
    query = select(Feedback)
    counts = {"written": 0}
    skipped: dict[str, int] = {}

    def write(folder: Path) -> None:
        routines = _Routines(db, settings.blobs)
        for feedback in _rows(db, query, Feedback, limit):
            unit, reason = _unit(settings, db, feedback, routines)
            if unit is None:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            atomic_write(
                folder / f"{FEEDBACK_PREFIX}{unit.key}{SUFFIX}", feedback_bytes(unit), 0o600
            )
            counts["written"] += 1
        _manifest(folder, "feedback", counts["written"], skipped)

    _replace_folder(out, write)
    return ExportResult(Path(out), counts["written"], skipped)
