"""The Integration API client, its GraphQL layer: operations sent over the transport (transport.py: httpx,
deadlines, retries, trace), each answer checked for its shape where it enters (replies.py), and Centra's
error shapes turned into typed errors. A parsed document is sent through gql's session (`execute`,
over_gql.py); an operation already in plain form (`send`, prepared.py: the live read of a target whose
schema facts are cached) goes straight to the transport, so a warm plan imports neither gql nor
graphql-core. Both send the same body and end in the same result or error:

- `errors` with `extensions.category: "authorization"` are a PermissionDenied (exit 3) naming the
  permission; any other error a CentraError (exit 1), unless the caller takes errors beside partial data
  (`allow_errors`, the live read that marks a denied section unknown);
- `userErrors` of a mutation's payload are a MutationRejected (`user_errors`).

Whether an operation may be sent twice is decided from the operation (`Prepared.idempotent`): queries and
idempotent writes (`set*`, `update*`, `unset*`, `revoke*`) may; a `create*` may only when Centra refused it
unexecuted (429).

The names other packages import from here stay here (the errors, RetryPolicy, retry_after_seconds), with
Budget for a caller that runs many clients under one command's retry budget (`CentraClient(budget=...)`).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from provisioner.centra import operations, replies
from provisioner.centra.deadlines import Budget
from provisioner.centra.failures import (
    BadReply,
    CentraError,
    MutationRejected,
    PermissionDenied,
    RequestTooSlow,
    RetryBudgetSpent,
    shown,
)
from provisioner.centra.prepared import Prepared
from provisioner.centra.retries import (
    RETRY_STATUSES,
    HttpStatus,
    Reply,
    RetryPolicy,
    retry_after_seconds,
)
from provisioner.centra.transport import Http

if TYPE_CHECKING:
    from graphql import DocumentNode

    from provisioner.centra.over_gql import Session

__all__ = ["RETRY_STATUSES", "BadReply", "Budget", "CentraClient", "CentraError", "HttpStatus", "MutationRejected",
           "PermissionDenied", "Prepared", "RequestTooSlow", "Result", "RetryBudgetSpent", "RetryPolicy", "denial",
           "retry_after_seconds", "user_errors"]

# A permission's name as Centra writes it ("Order:read"); anything else in its place is not taken as one.
_NEEDS = re.compile(r"You need ([A-Za-z][\w.:-]{0,99}) permission")


@dataclass
class Result:
    data: dict[str, Any]
    extensions: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)


class CentraClient:
    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 on_wait: Callable[[float, str], None] | None = None, deadline: float | None = None,
                 budget: Budget | None = None, monotonic: Callable[[], float] = time.monotonic,
                 jitter: Callable[[float, float], float] = random.uniform) -> None:
        """`on_wait(seconds, why)` hears of every wait before it starts; `why` completes "waiting …"
        ("for Centra's rate limit", "to retry live_state after HTTP 503"). `deadline` (seconds) and
        `budget` default to PROVISION_REQUEST_DEADLINE and PROVISION_COMMAND_BUDGET (deadlines.py);
        `clock` is wall time (for Retry-After dates), `monotonic` times deadlines and the budget."""
        self.url = url.rstrip("/")
        self.endpoint = f"{self.url}/graphql"
        self._http = Http(self.endpoint, token, transport=transport, timeout=timeout, retry=retry,
                          deadline=deadline, budget=budget, sleep=sleep, clock=clock, monotonic=monotonic,
                          jitter=jitter, on_wait=on_wait)
        # gql's session, opened when a parsed document is first sent (over_gql.py): operations are
        # validated against schema.graphql when loaded (operations.load); a mutation the target names
        # differently is sent under its discovered name, so gql does not re-validate.
        self._gql: Session | None = None
        self._gql_lock = threading.Lock()

    @property
    def retry(self) -> RetryPolicy:
        return self._http.retry

    @property
    def requests(self) -> int:
        """Attempts sent so far, retries included."""
        return self._http.requests

    def close(self) -> None:
        with self._gql_lock:
            session, self._gql = self._gql, None
        if session is not None:
            session.close()
        self._http.close()

    def __enter__(self) -> CentraClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run(self, name: str, variables: dict[str, Any] | None = None, *, allow_errors: bool = False) -> Result:
        """Run the operation `name` (centra/operations/<name>.graphql)."""
        return self.execute(operations.load(name), variables, label=name, allow_errors=allow_errors)

    def execute(self, document: DocumentNode, variables: dict[str, Any] | None = None, *, label: str,
                allow_errors: bool = False) -> Result:
        """Send a parsed document through gql's session."""
        from provisioner.centra import over_gql

        idempotent = operations.prepared(document).idempotent
        session = self._session()
        try:
            result = session.execute(document, variables or {}, label=label, idempotent=idempotent)
            return self._result(result.data, result.extensions, None, label, allow_errors=allow_errors)
        except over_gql.TransportQueryError as exc:
            return self._result(exc.data, exc.extensions, exc.errors, label, allow_errors=allow_errors)

    def send(self, operation: Prepared, variables: dict[str, Any] | None = None, *, label: str,
             allow_errors: bool = False) -> Result:
        """Send an operation already in plain form (its text and shape, `prepared.py`) straight over the
        HTTP layer: the same request body, checks and errors as `execute`, without graphql-core or gql."""
        payload: dict[str, Any] = {"query": operation.text}
        if variables:
            payload["variables"] = variables

        def interpret(reply: Reply) -> tuple[replies.Answer, Any]:
            answer = replies.interpret(reply, operation, label=label, endpoint=self.endpoint)
            return answer, answer.extensions.get("complexity")

        answer = self._http.send(payload, label=label, idempotent=operation.idempotent, interpret=interpret)
        return self._result(answer.data, answer.extensions, answer.errors, label, allow_errors=allow_errors)

    def _session(self) -> Session:
        from provisioner.centra import over_gql

        with self._gql_lock:
            if self._gql is None:
                self._gql = over_gql.Session(self._http)
            return self._gql

    def _result(self, data: Any, extensions: Any, errors: Any, label: str, *, allow_errors: bool) -> Result:
        errors = list(errors or [])
        denied = [e for e in errors if (e.get("extensions") or {}).get("category") == "authorization"]
        if errors and not allow_errors:
            if denied:
                raise denial(denied[0], self.endpoint)
            raise CentraError(f"{label}: {self.endpoint} answered an error: {shown(errors[0].get('message', 'error'))}")
        return Result(dict(data or {}), dict(extensions or {}), errors)


def denial(error: dict[str, Any], endpoint: str | None = None) -> PermissionDenied:
    """The authorization error as a PermissionDenied, naming the permission (and where, if given)."""
    message = str(error.get("message", ""))
    match = _NEEDS.search(message)
    where = f" at {endpoint}" if endpoint else ""
    return PermissionDenied(match.group(1) if match else "unknown",
                            f"the token lacks a permission{where}: {shown(message)}")


def user_errors(payload: dict[str, Any] | None, operation: str) -> None:
    """Raise MutationRejected if the payload lists `userErrors` (their shape was checked on entry)."""
    found = payload.get("userErrors") if isinstance(payload, dict) else None
    if found:
        raise MutationRejected(operation, found)
