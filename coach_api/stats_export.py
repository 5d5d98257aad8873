"""``coach-api export-stats``: the scored sessions' drift statistics of a time window, as
JSON lines for the drift job (``coach dataflow drift``).

Each line is ``{"created_at": ISO time, "stats": {name: float}}``: the statistics only
(:mod:`scoring.session_stats`), never who the session was or its keypoints. The file is
written whole or not at all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from coach_api.db import SessionStats, make_engine, make_sessionmaker
from pose3d.archive import atomic_write

BATCH_ROWS = 1000  # rows read from the database at a time


def export_stats(database_url: str, since: datetime, until: datetime, out: Path) -> int:
    """Write the statistics made in ``[since, until)`` (UTC when naive) to ``out``, oldest
    first; returns how many sessions it holds."""
    # Naive UTC: how the database stores times.
    since, until = (_utc(moment).replace(tzinfo=None) for moment in (since, until))
    if until <= since:
        raise ValueError(f"the window is empty: --until {until} is not after --since {since}")
    engine = make_engine(database_url, pool_size=1)
    lines = []
    try:
        with make_sessionmaker(engine)() as db:
            query = (
                select(SessionStats.created_at, SessionStats.stats_json)
                .where(SessionStats.created_at >= since, SessionStats.created_at < until)
                .order_by(SessionStats.created_at, SessionStats.id)
                .execution_options(yield_per=BATCH_ROWS)
            )
            for created_at, stats_json in db.execute(query):
                created = _utc(created_at).isoformat()
                lines.append(json.dumps({"created_at": created, "stats": json.loads(stats_json)}))
    finally:
        engine.dispose()
    atomic_write(out, "".join(f"{line}\n" for line in lines).encode())
    return len(lines)


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one (SQLite returns them) is taken as UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
