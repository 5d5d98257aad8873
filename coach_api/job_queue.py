"""The queue that wakes workers for jobs: Huey, on a SQLite file or a Redis broker.

The queue only delivers job ids: the job row (:class:`coach_api.db.Job`) holds the input,
the state and the attempts, and decides whether a delivered id is run at all (see
:mod:`coach_api.jobs`). So a message lost (Huey removes a message when a worker takes
it: a worker killed then loses it) or delivered twice costs nothing: the lease sweep
(:mod:`coach_api.recovery`) sends the id again, and a second delivery finds the job taken.
"""

from __future__ import annotations

from collections.abc import Callable

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from coach_api.settings import Settings

TASK = "coach.run_job"  # the one task: run the job whose id the message carries


def make_huey(settings: Settings) -> Huey:
    """Huey on ``job_queue_url`` (``redis://...``), else on a SQLite file in the data
    folder (the embedded default: one machine, no server). No result store: results are
    the job rows."""
    url = settings.job_queue_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("coach-jobs", url=url, results=False, utc=True)
    if url:
        raise ValueError(f"COACH_JOB_QUEUE_URL: expected redis://..., got {url[:40]!r}")
    settings.private_data_dir()
    path = settings.data_dir / "job-queue.db"
    return SqliteHuey("coach-jobs", filename=str(path.resolve()), results=False, utc=True)


class JobQueue:
    """Sends job ids to the workers; a worker also registers what runs them."""

    def __init__(self, settings: Settings, run: Callable[[int], None] | None = None) -> None:
        self.huey = make_huey(settings)
        # The API enqueues without running anything: a worker that has no runner would be
        # misconfigured, so the task says so rather than dropping the job.
        runner = run or _no_runner

        # Huey names a message's task by the module of the function registered, then
        # ``name``: always this module's function, so that an API (no runner) and a worker
        # (the runner in coach_api.job_worker) name the task alike and the worker reads the
        # API's messages (otherwise each job waited for the lease sweep to resend it).
        def run_delivered_job(job_id: int) -> None:
            runner(job_id)

        self._task = self.huey.task(name=TASK)(run_delivered_job)

    def enqueue(self, job_id: int, delay_s: float = 0.0) -> None:
        """Ask a worker to run job ``job_id`` (not before ``delay_s`` from now)."""
        if delay_s > 0:
            self._task.schedule(args=(job_id,), delay=delay_s)
        else:
            self._task(job_id)

    def consumer(self, threads: int, embedded: bool = False) -> Consumer:
        """A consumer running ``threads`` jobs at once, polling at most every half second;
        ``embedded`` in a process that owns its signals (:class:`EmbeddedConsumer`)."""
        kind = EmbeddedConsumer if embedded else Consumer
        return kind(self.huey, workers=threads, worker_type="thread", max_delay=0.5, periodic=False)


def _no_runner(job_id: int) -> None:
    raise RuntimeError(f"job {job_id}: this process enqueues jobs but runs none")


class EmbeddedConsumer(Consumer):
    """A consumer inside a process that owns its signals (the API under uvicorn): started
    and stopped by its host, it installs no signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass
