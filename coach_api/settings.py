"""Service configuration from environment variables (prefix ``COACH_``).

Defaults give an embedded setup that works on a fresh machine: a SQLite file and a blob
folder under ``COACH_DATA_DIR`` (``./coach-data``), the bundled lifter, a signing secret
generated once and kept in the data folder.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pose2d.task_builder import POSE_TASK_NAME  # where `coach-api pose-task` writes

ALIAS = r"^[A-Za-z0-9_-]{1,64}$"  # a registry alias or version number (MLflow's alias names)


class Settings(BaseSettings):
    """All settings; each can be set as ``COACH_<NAME>`` (e.g. ``COACH_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="COACH_")

    data_dir: Path = Path("coach-data")
    database_url: str = ""  # any SQLAlchemy URL; default: SQLite file in data_dir
    secret_key: str = ""  # JWT signing key; default: generated once into data_dir
    token_minutes: int = 60 * 24
    # Request bodies other than keypoints and videos (accounts, feedback, routine edits);
    # keypoint bodies get room for max_frames (coach_api/body_limits.py), videos
    # video_max_bytes. For gzip bodies the limits hold decompressed too.
    max_body_bytes: int = 64 * 2**10
    max_frames: int = 30 * 60 * 10  # ten minutes at 30 fps
    min_frames: int = 30
    background_frames: int = 30 * 60 * 3  # longer sessions are scored as background jobs
    pose_task: Path | None = None  # MediaPipe pose_landmarker .task file for video uploads
    worker_threads: int = 2
    # uvicorn's event loop: "auto" takes uvloop (installed with the API, C; ~10% less CPU
    # for a server of live streams, docs/benchmarks.md) where it can; "asyncio" is the
    # standard library's.
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    lifter_checkpoint: Path | None = None  # default: the bundled model
    artifacts_dir: Path | None = None  # `coach export` output; default: data_dir / "models"
    strictness: str = "intermediate"
    gcs_bucket: str = ""  # store blobs in this GCS bucket instead of data_dir/blobs
    gcs_prefix: str = "coach"
    rate_per_minute: float = 30.0  # scoring requests per user per minute
    rate_burst: int = 10
    # Where the rate-limit counters live: this process's memory, or a Redis server that
    # every replica shares ("redis://host:6379/0"), so that limits hold across replicas.
    rate_limit_storage: str = "memory://"
    # Per client address (behind a proxy: run uvicorn with --proxy-headers): sign-ups and
    # logins per minute, and failed logins per account before it must wait.
    signup_per_minute: float = 5.0
    login_per_minute: float = 20.0
    login_failures_per_account: int = 10  # in login_failure_window_s
    login_failure_window_s: int = 900
    # Keypoint sequences: a camera's frame rate, and the most frames and seconds one
    # request may cause work for (after resampling to the lifter's rate too).
    min_fps: float = 5.0
    max_fps: float = 240.0
    max_duration_s: float = 600.0
    # Database connections (no overflow); a request waiting longer gets 503 + Retry-After.
    db_pool_size: int = 8
    db_pool_timeout_s: float = 10.0
    # Server-side video: decoded pixels per upload (frames x width x height; 3 minutes of
    # 1080p at 30 fps), and the longest image side frames are downscaled to for detection.
    video_max_pixels: int = 180 * 30 * 1920 * 1080
    video_max_bytes: int = 256 * 2**20  # an upload: ~3 min of a phone's 1080p HEVC (11 Mbit/s)
    video_max_side: int = 640
    # People MediaPipe looks for when it searches a video for others in view, the user
    # followed among them (pose2d.people); 1: no search, one person tracked (whoever is
    # found first; 5-12% cheaper alone in view, bench/results/video_people.md).
    video_max_people: Annotated[int, Field(ge=1, le=5)] = 3
    # Live sockets: the start message (with the token) must come within live_auth_timeout_s;
    # a socket silent for live_idle_timeout_s is closed; no message may exceed
    # live_max_message_bytes.
    live_auth_timeout_s: float = 10.0
    live_idle_timeout_s: float = 60.0
    live_max_message_bytes: int = 512 * 1024
    # Live streams are real time: frames may arrive at most live_max_speed x the stream's
    # fps, after a catch-up allowance of live_burst_s seconds of frames.
    live_max_speed: float = 2.0
    live_burst_s: float = 5.0
    # A live stream is lifted frame by frame at its own rate, so its CPU and memory grow
    # with its fps: a start above live_max_fps is refused (phones' pose trackers run at
    # 30, some at 60; a faster camera sends every second or fourth frame).
    live_max_fps: Annotated[float, Field(gt=0)] = 60.0
    # A live stream's frames are checkpointed every live_checkpoint_s seconds of frames
    # (a blob and a row update), and a stream may be resumed, on any replica, until
    # live_resume_ttl_s after its last checkpoint (coach_api/live_streams.py). A client
    # keeps the frames after the last checkpoint to send again on resuming.
    live_checkpoint_s: Annotated[float, Field(gt=0)] = 5.0
    # A stream's first checkpoint comes after a random 10-100% of live_checkpoint_s, the
    # next ones every live_checkpoint_s: streams started together (a class, the
    # benchmark's phones) then do not all save at once. Saving in one burst held each of
    # them up behind the others' writes: 100 streams on two replicas answered in p99
    # 104-132 ms, 22-30 ms spread (docs/benchmarks.md). Off: every stream at the interval.
    live_checkpoint_spread: bool = True
    live_resume_ttl_s: Annotated[float, Field(gt=0)] = 900.0
    # Live streams one process holds (past it: server_busy, close 1013, try another
    # replica) and one account may have open at once, on all replicas (too_many_streams):
    # coach_api/live_admission.py. One process serves ~100 streams on a core in p99
    # 33-53 ms and 200 in ~235 ms (docs/benchmarks.md); a new stream also spends one of
    # the account's expensive requests (rate_per_minute).
    live_max_streams: Annotated[int, Field(ge=1)] = 100
    live_max_streams_per_user: Annotated[int, Field(ge=1)] = 2
    # Web origins whose pages may call the API (Flutter Web), e.g.
    # COACH_CORS_ORIGINS=https://app.example.com,http://localhost:5000; none by default
    # (no CORS headers: browsers let no other site's page read the answers).
    cors_origins: Annotated[list[str], NoDecode] = []
    # Background jobs (coach_api/jobs.py). "embedded": the API process also runs a worker
    # (nothing else to start); "external": the API only enqueues and `coach-api worker`
    # processes run the jobs. job_queue_url: "" is a SQLite queue file in data_dir (one
    # machine), redis://... a Redis broker (production; needs the redis package).
    job_worker: Literal["embedded", "external"] = "embedded"
    job_queue_url: str = ""
    job_worker_threads: int = 2  # jobs one worker process runs at once
    # A running job renews its lease every third of job_lease_s; one not renewed (its
    # worker died) is retried, up to job_max_attempts runs in all, after job_retry_delay_s
    # doubled per attempt.
    job_lease_s: float = 30.0
    job_max_attempts: int = 3
    job_retry_delay_s: float = 5.0
    job_step_delay_s: float = 0.0  # tests only: a pause at each step of a job
    # Jobs one account may have queued or running at once, re-scorings apart (429
    # too_many_jobs past it): the workers take jobs in turn, so one account's hundred
    # videos would hold back every other account's for hours; the rate limit alone lets
    # 30 a minute through.
    max_jobs_per_user: Annotated[int, Field(ge=1)] = 4
    # How long a shared report link (POST /v1/sessions/{id}/report-link) opens the page.
    report_link_minutes: int = 15
    # The served models (coach_api/served_models.py): "bundled", the files committed with
    # the packages (offline; lifter_checkpoint still overrides the lifters), or "registry",
    # the MLflow model registry (lifecycle.store: COACH_MLFLOW_DIR or
    # COACH_MLFLOW_TRACKING_URI), each kind's model_alias ("champion", or a version number),
    # fetched once into model_cache_dir. shadow_alias ("challenger"): every recorded or
    # video session is also scored with that alias's models once its report is stored,
    # and the two compared (GET /v1/admin/shadow); kinds without it shadow with the served.
    model_source: Literal["bundled", "registry"] = "bundled"
    model_alias: Annotated[str, Field(pattern=ALIAS)] = "champion"
    shadow_alias: Annotated[str, Field(pattern=f"^$|{ALIAS}")] = ""
    model_cache_dir: Path | None = None  # default: data_dir / "model-cache"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """The environment gives one string: origins separated by commas."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    def private_data_dir(self) -> None:
        """Create the data folder readable by this account only (it holds the database,
        the signing key and people's motion)."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'coach.db').resolve()}"

    @cached_property
    def blobs(self):
        """Where motion blobs live: :class:`~coach_api.blobs.GcsBlobs` or a local folder."""
        from coach_api.blobs import GcsBlobs, LocalBlobs

        if self.gcs_bucket:
            return GcsBlobs(self.gcs_bucket, self.gcs_prefix)
        return LocalBlobs(self.data_dir / "blobs")

    @property
    def resolved_pose_task(self) -> Path | None:
        """The pose model for video uploads: ``pose_task``, else the one ``coach-api pose-task``
        assembles into ``data_dir/models``, else None (video jobs then explain)."""
        if self.pose_task is not None:
            return self.pose_task
        assembled = self.data_dir / "models" / POSE_TASK_NAME
        return assembled if assembled.is_file() else None

    @property
    def resolved_model_cache_dir(self) -> Path:
        """Where registry models are downloaded to: ``model_cache_dir`` or data_dir's."""
        return self.model_cache_dir or self.data_dir / "model-cache"

    @property
    def phone_artifacts(self) -> Path:
        return self.artifacts_dir or self.data_dir / "models"

    @cached_property
    def signing_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / "secret.key"
        if not key_file.exists():
            # Created 0600 (never readable by others, not even briefly), written once.
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process just made it
                return key_file.read_text().strip()
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return key_file.read_text().strip()
