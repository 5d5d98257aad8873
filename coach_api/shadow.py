"""Shadow scoring: a recorded session scored again with the challenger models, compared.

With ``COACH_SHADOW_ALIAS`` set (:func:`coach_api.served_models.shadow_set`), every
recorded or video session is scored a second time once its report is committed (never
before: the user's answer neither waits for it nor changes). The comparison goes into the
stored report JSON under :data:`SHADOW_KEY`, which the public report schema
(:class:`~coach_api.report_models.SessionReportOut`) does not declare, so no client ever
sees it; the disagreements are counted in Prometheus, and ``GET /v1/admin/shadow``
sums them up per error kind. A failure of the shadow is logged and counted, never raised.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict

import anyio
from sqlalchemy import select, update

from coach_api.db import Routine, WorkoutSession
from coach_api.schemas import ShadowGroup, ShadowKindAgreement, ShadowSummary
from coach_api.services import Engine
from pose3d.sequence_json import KeypointSequence
from scoring.cue_matching import match_cues
from scoring.exported import Cue

logger = logging.getLogger(__name__)

SHADOW_KEY = "shadow"  # in the stored report JSON only


def _cues(report: dict) -> list[Cue]:
    """A stored report's error events as cues."""
    return [
        Cue(event["kind"], event["segment"], event["start_s"], event["end_s"])
        for event in report["errors"]
    ]


def compare(champion: dict, challenger: dict) -> dict:
    """The challenger's report against the champion's: both sets of models, the score
    difference (challenger minus champion, points of 100) and per error kind the cues
    each gave and how many only one of them gave (matched by
    :func:`scoring.cue_matching.match_cues`, as the re-scoring job matches them)."""
    ours, theirs = _cues(champion), _cues(challenger)
    _, only_ours, only_theirs = match_cues(ours, theirs)
    kinds = {}
    for kind in sorted({cue.kind for cue in (*ours, *theirs)}):
        kinds[kind] = {
            "champion": sum(cue.kind == kind for cue in ours),
            "challenger": sum(cue.kind == kind for cue in theirs),
            "disagreements": sum(cue.kind == kind for cue in (*only_ours, *only_theirs)),
        }
    return {
        "champion": champion.get("models", {}),
        "challenger": challenger.get("models", {}),
        "score": challenger["score"],
        "score_difference": round(challenger["score"] - champion["score"], 3),
        "kinds": kinds,
    }


async def shadow_score(
    engine: Engine,
    settings,
    sessionmaker,
    session: WorkoutSession,
    routine: Routine,
    sequence: KeypointSequence,
    strictness: str,
    beat_times: list[float] | None,
) -> None:
    """Score stored ``session`` (its keypoints ``sequence``, against ``routine``) with the
    shadow set, if there is one, and keep the comparison with its report; only while the
    stored report is still the one compared (a re-scoring meanwhile wins). Never raises:
    a failure is logged and counted."""
    if engine.shadow is None:
        return
    metrics = engine.metrics
    try:
        reference = await engine.run(engine.reference, settings.blobs, routine)
        challenger = (
            await engine.run(
                engine.score, sequence, reference, strictness, beat_times, engine.shadow
            )
        ).report
        comparison = compare(session.report, challenger)
        await anyio.to_thread.run_sync(_keep, sessionmaker, session.id, session.blob, comparison)
    except Exception:
        logger.exception("shadow scoring of session %s failed", session.id)
        if metrics is not None:
            metrics.shadow_failures.inc()
        return
    if metrics is not None:
        metrics.shadow_sessions.inc()
        metrics.shadow_score_difference.observe(abs(comparison["score_difference"]))
        for kind, counts in comparison["kinds"].items():
            metrics.shadow_disagreements.labels(kind).inc(counts["disagreements"])


def _keep(sessionmaker, session_id: int, blob: str, comparison: dict) -> bool:
    """Add ``comparison`` to session ``session_id``'s stored report while its motion is
    still ``blob`` (the report compared); False when it was re-scored or deleted."""
    with sessionmaker() as db:
        row = db.get(WorkoutSession, session_id)
        if row is None or row.blob != blob:
            return False
        report = row.report | {SHADOW_KEY: comparison}
        changed = db.execute(
            update(WorkoutSession)
            .where(WorkoutSession.id == session_id, WorkoutSession.blob == blob)
            .values(report_json=json.dumps(report))
        ).rowcount
        db.commit()
        return changed == 1


def summary(db, limit: int) -> ShadowSummary:
    """The comparisons stored with the latest ``limit`` sessions, summed per pair of
    model sets (champion, challenger) and error kind."""
    reports = db.scalars(
        select(WorkoutSession.report_json).order_by(WorkoutSession.id.desc()).limit(limit)
    ).all()
    groups: dict[str, dict] = {}
    compared = 0
    for text in reports:
        comparison = json.loads(text).get(SHADOW_KEY)
        if comparison is None:
            continue
        compared += 1
        key = json.dumps([comparison["champion"], comparison["challenger"]], sort_keys=True)
        group = groups.setdefault(
            key,
            {"comparison": comparison, "differences": [], "kinds": defaultdict(lambda: [0, 0, 0])},
        )
        group["differences"].append(comparison["score_difference"])
        for kind, counts in comparison["kinds"].items():
            totals = group["kinds"][kind]
            totals[0] += counts["champion"]
            totals[1] += counts["challenger"]
            totals[2] += counts["disagreements"]
    return ShadowSummary(
        limit=limit,
        scanned=len(reports),
        compared=compared,
        groups=[_group(group) for group in groups.values()],
    )


def _group(group: dict) -> ShadowGroup:
    differences = group["differences"]
    return ShadowGroup(
        champion=group["comparison"]["champion"],
        challenger=group["comparison"]["challenger"],
        sessions=len(differences),
        score_difference_mean=sum(differences) / len(differences),
        score_difference_max_abs=max(abs(d) for d in differences),
        kinds={
            kind: ShadowKindAgreement(
                champion_cues=ours,
                challenger_cues=theirs,
                disagreements=only_one,
                agreement=1 - only_one / (ours + theirs) if ours + theirs else 1.0,
            )
            for kind, (ours, theirs, only_one) in sorted(group["kinds"].items())
        },
    )
