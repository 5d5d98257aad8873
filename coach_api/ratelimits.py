"""Rate limits (the ``limits`` library, moving windows): per user for expensive work, per
client address for sign-ups and logins, and failed logins per account.

Every refusal is a 429 with ``Retry-After`` (seconds until the window lets one more
through). Counters live in this process's memory by default; with several replicas they
live in a Redis server all of them share (``COACH_RATE_LIMIT_STORAGE=redis://...``, any
storage URI of ``limits``), so that a client cannot multiply its limit by the replicas.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond, storage, strategies

from coach_api.errors import ApiError


def per_minute(rate: float, burst: int) -> RateLimitItem:
    """``burst`` requests per ``burst / rate`` minutes: about ``rate`` per minute on
    average, at most ``burst`` at once (a token bucket's behaviour, as a moving window)."""
    seconds = max(1, math.ceil(burst * 60.0 / rate))
    return RateLimitItemPerSecond(max(1, burst), seconds)


class RateLimits:
    """The service's limits; each ``check_*`` raises 429 when exceeded."""

    def __init__(
        self,
        scoring: RateLimitItem,
        signup: RateLimitItem,
        login: RateLimitItem,
        login_failures: RateLimitItem,
        storage_uri: str = "memory://",
    ) -> None:
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self.scoring, self.signup, self.login = scoring, signup, login
        self.login_failures = login_failures

    @classmethod
    def from_settings(cls, settings) -> RateLimits:
        return cls(
            scoring=per_minute(settings.rate_per_minute, settings.rate_burst),
            signup=per_minute(settings.signup_per_minute, max(1, int(settings.signup_per_minute))),
            login=per_minute(settings.login_per_minute, max(1, int(settings.login_per_minute))),
            login_failures=RateLimitItemPerSecond(
                settings.login_failures_per_account, settings.login_failure_window_s
            ),
            storage_uri=settings.rate_limit_storage,
        )

    def _refuse(self, item: RateLimitItem, key: str, message: str) -> ApiError:
        reset = self.limiter.get_window_stats(item, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return ApiError(429, "rate_limited", message, None, {"Retry-After": str(wait)})

    def peek_scoring(self, user_id: int) -> None:
        """429 if the user has no scoring request left (spends nothing: only requests
        that pass validation are counted, by :meth:`spend_scoring`)."""
        if not self.limiter.test(self.scoring, f"scoring:{user_id}"):
            raise self._refuse(self.scoring, f"scoring:{user_id}", "too many requests; slow down")

    def spend_scoring(self, user_id: int) -> None:
        if not self.limiter.hit(self.scoring, f"scoring:{user_id}"):
            raise self._refuse(self.scoring, f"scoring:{user_id}", "too many requests; slow down")

    def check_signup(self, client: str) -> None:
        if not self.limiter.hit(self.signup, f"signup:{client}"):
            raise self._refuse(self.signup, f"signup:{client}", "too many sign-ups from here")

    def check_login(self, client: str, email: str) -> None:
        """Before a password is checked: the client's login rate, and the account's
        failed attempts (a guessed account waits, whoever asks and with any password)."""
        if not self.limiter.hit(self.login, f"login:{client}"):
            raise self._refuse(self.login, f"login:{client}", "too many logins from here")
        if not self.limiter.test(self.login_failures, f"failed:{email}"):
            raise self._refuse(
                self.login_failures,
                f"failed:{email}",
                "too many failed logins for this account; wait before trying again",
            )

    def login_failed(self, email: str) -> None:
        self.limiter.hit(self.login_failures, f"failed:{email}")
