"""How many live streams a replica holds, and how many one account may have open.

A live stream costs its replica ~1.5 MiB and ~0.02-0.035 CPU-seconds per second of
stream for as long as it is open (docs/benchmarks.md), and one interpreter serves all of
a replica's streams. Without a bound, one account could open streams until the replica
answered nobody in time. So:

* a replica holds at most ``live_max_streams`` streams: past that a start or a resume is
  refused ``server_busy`` and the socket closed with 1013 (try again later), so that the
  client retries and a load balancer can send it to another replica;
* an account has at most ``live_max_streams_per_user`` streams open: counted in this
  replica exactly, and across replicas from the database (the streams a socket holds:
  :func:`coach_api.live_streams.active_streams`); a new stream past that is refused
  ``too_many_streams``. A resume takes over a stream the account has already, so it is
  not counted again; a socket that ends (stopped, cut, refused) frees its stream's
  place at once.

Used on the event loop only (the counts are plain integers, changed between awaits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Gauge

from coach_api.errors import ApiError

# The WebSocket close code of ``server_busy``: the server is overloaded, try again later.
CLOSE_TRY_AGAIN_LATER = 1013


class LiveAdmission:
    """The live streams this process holds, by account, within its limits."""

    def __init__(self, max_streams: int, max_per_user: int, gauge: Gauge | None = None) -> None:
        self.max_streams, self.max_per_user = max_streams, max_per_user
        self.gauge = gauge
        self.held = 0
        self.by_user: Counter[int] = Counter()

    @contextmanager
    def hold(self, user_id: int) -> Iterator[None]:
        """Hold one of this replica's stream places for ``user_id`` while the block runs
        (the socket's life); ``server_busy`` (503) when none is left."""
        if self.held >= self.max_streams:
            raise ApiError(
                503,
                "server_busy",
                f"this server holds its most live streams ({self.max_streams}); "
                "try again in a few seconds",
            )
        self._count(user_id, 1)
        try:
            yield
        finally:
            self._count(user_id, -1)

    def check_user(self, user_id: int, active_in_database: int) -> None:
        """``too_many_streams`` (429) if ``user_id`` already has
        ``max_per_user`` streams open besides the new one this socket holds a place for:
        those held here, or ``active_in_database`` (every replica's, the new one not yet
        stored), whichever is more."""
        others = max(self.by_user[user_id] - 1, active_in_database)
        if others >= self.max_per_user:
            raise ApiError(
                429,
                "too_many_streams",
                f"an account may have {self.max_per_user} live streams open at once; "
                "stop one (or resume it with its stream_id) before starting another",
            )

    def _count(self, user_id: int, change: int) -> None:
        self.held += change
        self.by_user[user_id] += change
        if self.by_user[user_id] <= 0:
            del self.by_user[user_id]
        if self.gauge is not None:
            self.gauge.set(self.held)
