"""Workers: where queued jobs run, inside the API (embedded) or as ``coach-api worker``.

Huey's consumer threads take job ids from the queue; each job runs as a coroutine on an
event loop (the API's own when embedded, else the worker process's), so the lifting and
scoring go through the engine's pool exactly as in a request. A sweeper thread runs the
lease recovery (:mod:`coach_api.recovery`) every third of a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING

import anyio

from coach_api.job_kinds import KINDS
from coach_api.job_queue import JobQueue
from coach_api.jobs import JobRun, JobStopped, WorkerContext, claim, discard_inputs, fail_or_retry
from coach_api.live_streams import sweep_expired_streams
from coach_api.recovery import recover_expired_jobs
from coach_api.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from coach_api.services import Engine

logger = logging.getLogger("coach_api")
UNKNOWN_KIND = "its input was not kept (submitted before durable jobs); please submit it again"


async def run_job(ctx: WorkerContext, job_id: int) -> None:
    """Claim job ``job_id`` and run its work, renewing its lease meanwhile; failures are
    recorded on the job (retried or failed), never raised."""
    run = await anyio.to_thread.run_sync(claim, ctx, job_id)
    if run is None:
        return
    heartbeat = asyncio.create_task(_renew_lease(run, ctx.settings.job_lease_s / 3))
    try:
        work = KINDS.get(run.job.kind)
        if work is None:
            raise LookupError(UNKNOWN_KIND)
        await work(run)
        await anyio.to_thread.run_sync(discard_inputs, ctx.settings, run.job)
    except asyncio.CancelledError:
        # The process is shutting down (a deploy, a restart): hand the job back now rather
        # than when its lease runs out. Blocking, but one short update, once.
        run.release()
        raise
    except JobStopped as stopped:  # cancelled, or taken over: whoever did it owns the job
        logger.info("%s", stopped)
    except Exception as error:  # recorded on the job; the worker carries on
        if await anyio.to_thread.run_sync(fail_or_retry, run, error) == "failed":
            logger.warning("job %s failed: %s", job_id, error)
    finally:
        heartbeat.cancel()


async def _renew_lease(run: JobRun, every_s: float) -> None:
    """Renew the job's lease while a long step runs, until the attempt loses it."""
    while True:
        await asyncio.sleep(every_s)
        if not await anyio.to_thread.run_sync(run.renew):
            return


class JobWorker:
    """Runs jobs in this process: consumer threads, the event loop ``loop``, a sweeper."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: sessionmaker,
        engine: Engine,
        loop: asyncio.AbstractEventLoop,
        embedded: bool,
    ) -> None:
        self.queue = JobQueue(settings, run=self._run)
        self.ctx = WorkerContext(settings, sessionmaker, engine, self.queue)
        self.loop = loop
        self.consumer = self.queue.consumer(settings.job_worker_threads, embedded=embedded)
        self._stop = threading.Event()
        self._tasks: set[asyncio.Task] = set()  # the jobs running on the loop
        self._sweeper = threading.Thread(target=self._sweep, name="job-sweeper", daemon=True)

    def _run(self, job_id: int) -> None:
        """A consumer thread's task: run the job on the loop and wait for it."""
        future = asyncio.run_coroutine_threadsafe(self._tracked(job_id), self.loop)
        with contextlib.suppress(CancelledError):  # shutting down: the job was handed back
            future.result()

    async def _tracked(self, job_id: int) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await run_job(self.ctx, job_id)
        finally:
            self._tasks.discard(task)

    async def hand_back(self) -> None:
        """Cancel the jobs running here and wait until each has handed its job back."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _sweep(self) -> None:
        """Recover expired jobs, and delete live streams past their resume time, at start
        and every third of a lease until stopped."""
        while True:
            try:
                recover_expired_jobs(self.ctx)
                sweep_expired_streams(self.ctx.settings, self.ctx.sessionmaker)
            except Exception:  # the database hiccuped: the next sweep tries again
                logger.exception("job recovery sweep failed")
            if self._stop.wait(self.ctx.settings.job_lease_s / 3):
                return

    def start(self) -> None:
        """Start the consumer and the sweeper in the background (the embedded worker)."""
        self.consumer.start()
        self._sweeper.start()

    def run(self) -> None:
        """Run until SIGINT or SIGTERM (the worker process): Huey's consumer handles them."""
        self._sweeper.start()
        try:
            self.consumer.run()
        finally:
            self.stop()
            asyncio.run_coroutine_threadsafe(self.hand_back(), self.loop).result(timeout=30)

    def stop(self) -> None:
        """Stop taking jobs (then :meth:`hand_back` the running ones)."""
        self._stop.set()
        self.consumer.stop()


def run_worker_process(settings: Settings) -> None:
    """``coach-api worker``: load the engine, then run jobs until stopped."""
    from coach_api.db import make_engine, make_sessionmaker
    from coach_api.services import load_engine

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="job-loop", daemon=True).start()

    async def build():  # on the loop: the engine's limiters belong to it
        return load_engine(settings)

    engine = asyncio.run_coroutine_threadsafe(build(), loop).result()
    database = make_engine(settings.resolved_database_url, settings.job_worker_threads + 2)
    worker = JobWorker(settings, make_sessionmaker(database), engine, loop, embedded=False)
    logger.info("worker: %d job thread(s)", settings.job_worker_threads)
    worker.run()
