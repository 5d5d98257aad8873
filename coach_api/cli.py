"""``coach-api``: the service's operator commands (``coach-api --help``, or
``python -m coach_api``): serve the API, run its job workers, migrate its database, grant
an account a role on it, assemble the pose model for server-side video, and write the
live socket's message schema, and export stored sessions and users' feedback (keypoints
only) for the offline jobs. All read the same ``COACH_*`` settings.

Commands import what they need inside the function so that ``--help`` starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The coach API service: serve it, manage its accounts, build its pose model.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(
    help="Accounts of the API's database (COACH_DATABASE_URL / COACH_DATA_DIR)."
)
app.add_typer(users_app, name="users")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        # PORT: the port a container platform (Cloud Run) tells the service to listen on.
        typer.Option(envvar=["COACH_PORT", "PORT"], help="TCP port.", min=1, max=65535),
    ] = 8000,
    log_level: Annotated[
        str, typer.Option(help="debug, info, warning or error (info: one line per request).")
    ] = "info",
) -> None:
    """Start the coach API (SQLite file, local blobs, bundled lifter by default)."""
    import uvicorn

    from coach_api.logging_config import log_config
    from coach_api.main import create_app
    from coach_api.settings import Settings

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter("expected debug, info, warning or error", param_hint="--log-level")
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=log_config(log_level.upper()),
        # No WebSocket message may be larger than the live protocol allows (uvicorn would
        # otherwise buffer 16 MiB per message before the app sees it).
        ws_max_size=settings.live_max_message_bytes,
        # No per-message compression on the live socket: deflating and inflating every
        # small frame batch cost ~5% of a 20-stream server's CPU (docs/design-notes.md)
        # and keeps two zlib streams per socket in memory, to save ~2 KB/s a phone.
        ws_per_message_deflate=False,
        proxy_headers=True,  # client addresses (rate limits) from a trusted proxy's headers
        loop=settings.event_loop,
    )


@app.command()
def worker() -> None:
    """Run background jobs (long sessions, videos) from the queue until SIGINT/SIGTERM:
    for an API started with COACH_JOB_WORKER=external. Start as many as the load needs,
    wherever the database, the blobs and the queue (COACH_JOB_QUEUE_URL) can be reached."""
    import logging

    from coach_api.job_worker import run_worker_process
    from coach_api.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_worker_process(Settings())


@users_app.command("grant")
def users_grant(
    email: Annotated[str, typer.Argument(help="The account's email.")],
    role: Annotated[str, typer.Option(help="user, trainer or admin.")] = "admin",
) -> None:
    """Give an account a role: how the first admin is made (admins then grant roles and
    send invitations through the API)."""
    from coach_api.accounts import grant_role_in
    from coach_api.settings import Settings

    if role not in ("user", "trainer", "admin"):
        raise typer.BadParameter("role must be user, trainer or admin")
    try:
        user = grant_role_in(Settings().resolved_database_url, email, role)
    except LookupError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{user.email} is now {user.role}")


@app.command()
def migrate(
    new_revision: Annotated[
        str,
        typer.Option(help="Developers: write the next revision for what the models changed."),
    ] = "",
) -> None:
    """Upgrade the database (COACH_DATABASE_URL / COACH_DATA_DIR) to this version's schema:
    a deploy's step before new replicas start (the API also migrates when it starts)."""
    from coach_api.db import make_engine
    from coach_api.migrate import current_revision
    from coach_api.migrate import new_revision as write_revision
    from coach_api.settings import Settings

    if new_revision:
        typer.echo(f"wrote {write_revision(new_revision)}: review it before committing")
        return
    engine = make_engine(Settings().resolved_database_url, pool_size=1)  # migrates
    try:
        with engine.connect() as connection:
            typer.echo(f"database at revision {current_revision(connection)}")
    finally:
        engine.dispose()


@app.command("pose-task")
def pose_task(
    wheel: Annotated[
        Path | None,
        typer.Option(help="mediapipe 0.10.21 wheel; default: pip-download it into --cache."),
    ] = None,
    cache: Annotated[Path, typer.Option(help="Folder for the downloaded wheel.")] = Path(
        ".cache/wheels"
    ),
    out: Annotated[
        Path | None, typer.Option(help="Output .task; default: the API's data_dir/models.")
    ] = None,
) -> None:
    """Assemble the MediaPipe pose landmarker .task offline (for server-side video jobs)."""
    from coach_api.settings import Settings
    from pose2d.task_builder import (
        POSE_TASK_NAME,
        PoseTaskError,
        assemble_pose_task,
        download_wheel,
    )

    target = out or Settings().data_dir / "models" / POSE_TASK_NAME
    try:
        written = assemble_pose_task(wheel or download_wheel(cache), target)
    except PoseTaskError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"pose model: {written} ({written.stat().st_size / 2**20:.1f} MB)")


@app.command("live-schema")
def live_schema(
    out: Annotated[Path, typer.Option(help="Where to write the schema.")] = Path(
        "docs/live-messages.schema.json"
    ),
) -> None:
    """Write the live socket's message schema (JSON Schema), generated from the models the
    server builds its messages with (coach_api/live_messages.py)."""
    from coach_api.live_messages import live_messages_schema_text

    out.write_text(live_messages_schema_text(), encoding="utf-8")
    typer.echo(f"live message schema: {out}")


def _since(text: str | None):
    """``--since`` as an aware UTC datetime (a date or an ISO time; naive means UTC)."""
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO date or time, got {text!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _export(kind: str, out: Path, **options) -> None:
    """Run one export against the database and blobs of the configured settings."""
    from coach_api.db import make_engine, make_sessionmaker
    from coach_api.offline_export import export_feedback, export_sessions
    from coach_api.settings import Settings

    settings = Settings()
    engine = make_engine(settings.resolved_database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as db:
            run = export_sessions if kind == "sessions" else export_feedback
            result = run(settings, db, out, **options)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--out") from None
    finally:
        engine.dispose()
    left_out = ", ".join(f"{n} {why}" for why, n in sorted(result.skipped.items())) or "none"
    typer.echo(f"{result.written} {kind} files in {result.folder} (left out: {left_out})")


@app.command("export-sessions")
def export_sessions_command(
    out: Annotated[Path, typer.Option(help="Folder to (re)write: new, empty or an export.")],
    since: Annotated[
        str | None, typer.Option(help="Only sessions created at or after (ISO, UTC).")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="At most this many (oldest first).")
    ] = 1_000_000,
) -> None:
    """Write each stored session that kept its keypoints as a file for offline jobs (the
    batch re-scoring): keypoints, the routine's reference, strictness and cues under a
    pseudonymous key; no account, video or email. The folder is replaced whole, so what
    an erased account had is gone from the next export: a transient input, delete it after
    use."""
    _export("sessions", out, since=_since(since), limit=limit)


@app.command("export-feedback")
def export_feedback_command(
    out: Annotated[Path, typer.Option(help="Folder to (re)write: new, empty or an export.")],
    limit: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="At most this many (oldest first).")
    ] = 1_000_000,
) -> None:
    """Write each user's verdict on a cue as a labelled unit for the detector's training
    (coach fit-scoring --feedback): the session's keypoints and routine, the cue's kind and
    time window, the verdict. Replaced whole like export-sessions: erased accounts' verdicts
    are absent from the next export; a transient input, delete it after use."""
    _export("feedback", out, limit=limit)


@app.command("export-stats")
def export_stats(
    since: Annotated[
        str, typer.Option(help="Start of the window, ISO 8601 (UTC unless it has an offset).")
    ],
    until: Annotated[str, typer.Option(help="End of the window, exclusive, ISO 8601.")],
    out: Annotated[Path, typer.Option(help="The JSON-lines file to write.")] = Path("stats.jsonl"),
) -> None:
    """Write the drift statistics of the sessions scored in a window (statistics only: no
    account, no keypoints), one JSON line each, for ``coach dataflow drift``."""
    from datetime import datetime

    from coach_api.settings import Settings
    from coach_api.stats_export import export_stats as write_stats

    window = []
    for flag, text in (("--since", since), ("--until", until)):
        try:
            window.append(datetime.fromisoformat(text))
        except ValueError:
            raise typer.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint=flag) from None
    try:
        count = write_stats(Settings().resolved_database_url, *window, out)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{count} sessions' statistics: {out}")
