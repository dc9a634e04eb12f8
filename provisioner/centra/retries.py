"""What an attempt at a request ends in, and whether and when to try again (with tenacity): the retry
policy of the transport (transport.py), apart from the sending itself.

- HTTP 429, for every operation, creates included: Centra refuses a rate-limited request before
  executing it. The wait honours `Retry-After`: Centra sends a timestamp (an HTTP date) at which the
  request may be sent again, and it is not sent before then; delta-seconds and epoch seconds are read
  too, and a time already past means now. Without one, the wait backs off.
- HTTP 502/503/504, a dropped connection and a request past its deadline, only for reads and idempotent
  writes (`set*`, `update*`, `unset*`, `revoke*`: revoking a revoked token leaves it revoked): the
  outcome of a `create*` is then unknown, so it is never sent twice.
- At most `RetryPolicy.attempts` attempts, and a retry only if its wait ends within the command's retry
  budget (deadlines.py). A wait past it ends the command with an error that says so; no wait is cut short.

Backoff is exponential with full jitter, each wait at most twice the last and capped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx
import tenacity

from provisioner.centra.deadlines import Budget, Clock

RETRY_STATUSES = {429, 502, 503, 504}
IDEMPOTENT_WRITES = ("set", "update", "unset", "revoke")
RATE_LIMIT_JITTER = 0.1  # added to a Retry-After wait (never taken from it), so clients sharing a quota spread


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    cut: bool  # the answer was longer than its limit, and only `body` was read


class HttpStatus(Exception):
    """An answer other than HTTP 200: Centra's only success."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.status = reply.status
        self.headers = reply.headers
        super().__init__(f"HTTP {reply.status}")


class Dropped(Exception):
    """No complete answer: the connection failed or was dropped, or the request's deadline passed."""

    def __init__(self, why: str, kind: str, *, deadline: float | None = None) -> None:
        self.why, self.kind = why, kind
        self.deadline = deadline  # its seconds, when that is what ended the attempt
        super().__init__(why)


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5  # the first backoff is at most this; each next one at most twice the last
    max_delay: float = 30.0


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as a wait from `now` (wall-clock seconds): an HTTP date, as Centra sends it,
    delta-seconds, or epoch seconds; 0 for a time already past; None when there is none to read."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{1,12}(\.\d{1,6})?", value):
        number = float(value)
        return max(number - now, 0.0) if number > 1_000_000_000 else number
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT: one written without a zone is not local time
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now, 0.0)


def retryable(failure: BaseException, idempotent: bool) -> bool:
    if isinstance(failure, HttpStatus):
        return failure.status == 429 or (idempotent and failure.status in RETRY_STATUSES)
    return idempotent and isinstance(failure, Dropped)


class Waits(tenacity.wait.wait_base):
    """A 429's `Retry-After`, plus a little jitter (never less); anything else backs off exponentially
    with full jitter."""

    def __init__(self, policy: RetryPolicy, clock: Clock, jitter: Callable[[float, float], float]) -> None:
        self.clock, self.jitter = clock, jitter
        self.backoff = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        assert retry_state.outcome is not None  # tenacity asks how long to wait only after an attempt
        failure = retry_state.outcome.exception()
        if isinstance(failure, HttpStatus) and failure.status == 429:
            seconds = retry_after_seconds(failure.headers.get("retry-after"), self.clock())
            if seconds is not None:
                return seconds + self.jitter(0.0, RATE_LIMIT_JITTER)
        return float(self.backoff(retry_state))


class Stop(tenacity.stop.stop_base):
    """After the last attempt, or when the next wait would end past the retry budget (noted in
    `refused`, for the error to say so)."""

    def __init__(self, attempts: int, budget: Budget) -> None:
        self.attempts, self.budget = attempts, budget
        self.refused: float | None = None

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.attempts:
            return True
        if retry_state.upcoming_sleep > self.budget.left():
            self.refused = retry_state.upcoming_sleep
            return True
        return False


def waiting_for(failure: BaseException | None, label: str) -> str:
    """What a wait is for, completing "waiting …"."""
    if isinstance(failure, HttpStatus) and failure.status == 429:
        return "for Centra's rate limit"
    if isinstance(failure, HttpStatus):
        return f"to retry {label} after HTTP {failure.status}"
    if isinstance(failure, Dropped) and failure.deadline is not None:
        return f"to retry {label} after its deadline passed"
    return f"to retry {label} after a dropped connection"
