"""HTTP to Centra: one POST per attempt, held to the request's deadline and read up to a limit
(wire.py, deadlines.py), retried as retries.py decides, each attempt traced. It knows nothing of
GraphQL: the GraphQL layer (client.py) says whether an operation is idempotent and interprets each
HTTP 200 answer, inside the attempt. What could not be done ends as an error naming the endpoint
(failures.py); a 403 is an AuthError (exit 3).

Every attempt is logged (at debug level) with operation, URL, status, duration and complexity — never
a header value or a variable, which may hold a secret. A caller sees each wait through `on_wait`.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import tenacity

from provisioner.centra import wire
from provisioner.centra.deadlines import (
    BUDGET_ENV,
    DEADLINE_ENV,
    DEFAULT_DEADLINE,
    Budget,
    Clock,
    Deadline,
    DeadlinePassed,
    holding,
)
from provisioner.centra.failures import BadReply, CentraError, RequestTooSlow, RetryBudgetSpent, shown
from provisioner.centra.retries import (
    RETRY_STATUSES,
    Dropped,
    HttpStatus,
    Reply,
    RetryPolicy,
    Stop,
    Waits,
    retry_after_seconds,
    retryable,
    waiting_for,
)
from provisioner.environ import seconds_from_env
from provisioner.errors import AuthError, ProvisionerError

# What the resolver says when a name has no address (glibc, musl, macOS and Windows wording).
_NAME_UNKNOWN = re.compile(r"Name or service not known|nodename nor servname|No address associated|"
                           r"Temporary failure in name resolution|getaddrinfo failed|Name does not resolve", re.I)

# The trace keeps the logger name it always had, which is what `--debug` output is filtered by.
log = logging.getLogger("provisioner.centra.client")
T = TypeVar("T")


class Unreadable(Exception):
    """An answer that cannot be read as sent: JSON longer than wire.MAX_REPLY_BYTES (not read further),
    or a broken encoding. Not retried."""


class Http:
    """POSTs to one endpoint with a bearer token, retried as the module says. `interpret` reads a
    200 answer (inside the attempt, so the trace shows its complexity) into the value `send` returns."""

    def __init__(self, endpoint: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float, retry: RetryPolicy | None = None, deadline: float | None = None,
                 budget: Budget | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Clock = time.time, monotonic: Clock = time.monotonic,
                 jitter: Callable[[float, float], float] = random.uniform,
                 on_wait: Callable[[float, str], None] | None = None) -> None:
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.deadline = deadline if deadline is not None else seconds_from_env(DEADLINE_ENV, DEFAULT_DEADLINE)
        self.budget = budget or Budget.from_env(monotonic)
        self.requests = 0
        self._counting = threading.Lock()  # the catalog's window sends from several threads at once
        self._sleep, self._clock, self._monotonic, self._jitter = sleep, clock, monotonic, jitter
        self._on_wait = on_wait
        # Redirects are not followed: the token goes to the environment's centra_url and nowhere else.
        self._client = httpx.Client(
            transport=transport or wire.for_endpoint(endpoint), timeout=timeout, follow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                     "Accept-Encoding": wire.ACCEPTED_ENCODING})

    def close(self) -> None:
        self._client.close()

    def send(self, payload: dict[str, Any], *, label: str, idempotent: bool,
             interpret: Callable[[Reply], tuple[T, Any]]) -> T:
        stop = Stop(self.retry.attempts, self.budget)
        retrying = tenacity.Retrying(
            stop=stop, wait=Waits(self.retry, self._clock, self._jitter),
            retry=tenacity.retry_if_exception(lambda failure: retryable(failure, idempotent)),
            before_sleep=lambda state: self._announce(state, label), sleep=self._sleep, reraise=True)
        try:
            value: T = retrying(self._attempt, payload, label, interpret, retrying)
            return value
        except (HttpStatus, Dropped) as exc:
            attempts = retrying.statistics["attempt_number"]
            raise self._failure(exc, label, attempts, idempotent, stop.refused) from None
        except Unreadable as exc:
            raise BadReply(f"{label}: {self.endpoint} {exc}") from None

    def _attempt(self, payload: dict[str, Any], label: str, interpret: Callable[[Reply], tuple[T, Any]],
                 retrying: tenacity.Retrying) -> T:
        attempt = retrying.statistics["attempt_number"]
        with self._counting:
            self.requests += 1
        started = self._monotonic()
        status: int | str = "-"
        complexity: Any = None
        try:
            reply = self._exchange(payload)
            status = reply.status
            if reply.status != 200:
                raise HttpStatus(reply)
            value, complexity = interpret(reply)
            return value
        except Dropped as exc:
            status = "deadline passed" if exc.deadline is not None else f"failed ({exc.kind})"
            raise
        finally:
            log.debug("%s %s -> %s in %.0f ms, complexity %s, attempt %d/%d", label, self.endpoint, status,
                      (self._monotonic() - started) * 1000, complexity if complexity is not None else "-",
                      attempt, self.retry.attempts)

    def _exchange(self, payload: dict[str, Any]) -> Reply:
        deadline = Deadline(self.deadline, self._monotonic)
        try:
            with holding(deadline), self._client.stream("POST", self.endpoint, json=payload) as response:
                return _read(response, deadline)
        except DeadlinePassed:
            raise Dropped("its deadline passed", "deadline", deadline=self.deadline) from None
        except httpx.TimeoutException as exc:
            raise Dropped(str(exc) or type(exc).__name__, type(exc).__name__,
                          deadline=self.deadline if deadline.binding else None) from None
        except httpx.ConnectError as exc:
            if _NAME_UNKNOWN.search(str(exc)):
                # No address for the host: asking again will not find one. Not a dropped connection.
                host = httpx.URL(self.endpoint).host
                raise CentraError(f"the host {shown(host, 200)} of {shown(self.endpoint, 300)} cannot be found "
                                  f"(DNS: {shown(exc, 200)}): check the environment's centra_url in the merchant "
                                  "file") from None
            raise Dropped(str(exc) or type(exc).__name__, type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise Dropped(str(exc) or type(exc).__name__, type(exc).__name__) from None
        except httpx.DecodingError as exc:
            raise Unreadable(f"sent an answer that cannot be decoded: {shown(exc)}") from None

    def _announce(self, state: tenacity.RetryCallState, label: str) -> None:
        # tenacity sleeps only after an attempt, having decided how long
        assert state.next_action is not None
        assert state.outcome is not None
        seconds = state.next_action.sleep
        why = waiting_for(state.outcome.exception(), label)
        log.debug("%s: waiting %s (%.1f s)", label, why, seconds)
        if self._on_wait is not None:
            self._on_wait(seconds, why)

    def _failure(self, exc: HttpStatus | Dropped, label: str, attempts: int, idempotent: bool,
                 refused: float | None) -> ProvisionerError:
        if isinstance(exc, HttpStatus) and exc.status == 403:
            return AuthError(f"Centra at {self.endpoint} refused the token (HTTP 403): it is unknown, revoked or "
                             "expired")
        if isinstance(exc, HttpStatus):
            error = self._refusal(exc, label, attempts)
            if exc.status in RETRY_STATUSES and exc.status != 429 and not idempotent:
                error = CentraError(f"{error}; the outcome of this write is unknown, so it is not retried")
        else:
            error = self._dropped(exc, label, attempts, idempotent)
        if refused is None:
            return error
        return RetryBudgetSpent(f"{error}; not retried, as {self._wait(exc, refused)} would end past this "
                                f"command's retry budget ({self.budget.seconds:g} s, {BUDGET_ENV})")

    def _wait(self, exc: HttpStatus | Dropped, seconds: float) -> str:
        after = retry_after_seconds(exc.headers.get("retry-after"), self._clock()) \
            if isinstance(exc, HttpStatus) and exc.status == 429 else None
        if after is None:
            return f"the next retry, in {seconds:.1f} s,"
        until = format_datetime(datetime.fromtimestamp(self._clock() + after, UTC), usegmt=True)
        return f"the wait Centra asked for (Retry-After: until {until}, in {after:.0f} s)"

    def _refusal(self, exc: HttpStatus, label: str, attempts: int) -> CentraError:
        if exc.status == 429:
            return CentraError(f"{label}: still rate limited by {self.endpoint} after {attempts} attempts")
        if exc.status in RETRY_STATUSES and attempts > 1:
            return CentraError(f"{label}: HTTP {exc.status} after {attempts} attempts ({self.endpoint})")
        if 300 <= exc.status < 400:
            return CentraError(f"{label}: {self.endpoint} answered HTTP {exc.status}, a redirect to "
                               f"{shown(exc.headers.get('location', '(nowhere)'))}, which is not followed: the "
                               "token goes only to the environment's centra_url")
        return CentraError(f"{label}: {self.endpoint} answered HTTP {exc.status}: {_message(exc.reply)}")

    def _dropped(self, exc: Dropped, label: str, attempts: int, idempotent: bool) -> CentraError:
        if exc.deadline is not None:
            what = (f"{label}: {self.endpoint} did not finish answering within the request deadline "
                    f"({exc.deadline:g} s, {DEADLINE_ENV})")
            kind: type[CentraError] = RequestTooSlow
        else:
            what, kind = f"{label}: the connection to {self.endpoint} failed ({shown(exc.why)})", CentraError
        if not idempotent:
            return kind(f"{what}; the outcome of this write is unknown, so it is not retried")
        return kind(f"{what} after {attempts} attempts" if attempts > 1 else what)


def _read(response: httpx.Response, deadline: Deadline) -> Reply:
    """The answer up to its limit; the deadline checked between chunks too (a transport without a
    network, the in-process sandbox, has no reads to hold to it)."""
    limit = wire.limit_for(response.status_code, response.headers)
    body = bytearray()
    for chunk in response.iter_bytes():
        deadline.check()
        body += chunk
        if len(body) > limit:
            break
    cut = len(body) > limit or bool(response.extensions.get(wire.CUT))
    if cut and limit == wire.MAX_REPLY_BYTES:
        raise Unreadable(f"answered with more than {limit // 2**20} MiB of JSON, which was not read further")
    return Reply(response.status_code, response.headers, bytes(body[:limit]), cut)


def _message(reply: Reply) -> str:
    """What a refusal says: the first GraphQL error's message, or a `message`, or the start of its body."""
    try:
        answer = json.loads(reply.body)
    except (ValueError, RecursionError):
        answer = None
    if isinstance(answer, dict):
        errors = answer.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        for candidate in (first.get("message") if isinstance(first, dict) else None, answer.get("message")):
            if isinstance(candidate, str):
                return shown(candidate)
    return shown(reply.body.decode("utf-8", "replace"), partial=reply.cut)
