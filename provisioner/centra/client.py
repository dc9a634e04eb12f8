"""The Integration API client, on gql + httpx: bearer auth, timeouts, Centra's error shapes as typed
errors, and retries where they are safe (DESIGN §8): reads and idempotent mutations on 429 (honouring
`Retry-After`, a timestamp or seconds), 502/503/504 and dropped connections; never a `create*`."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.httpx import HTTPXTransport
from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode, OperationType

from provisioner.centra import operations
from provisioner.errors import AuthError, ProvisionerError

RETRY_STATUSES = {429, 502, 503, 504}
_NEEDS = re.compile(r"You need (\S+) permission")


class CentraError(ProvisionerError):
    """Centra answered with something other than success."""


class PermissionDenied(AuthError):
    def __init__(self, permission: str, message: str) -> None:
        self.permission = permission
        super().__init__(message)


class MutationRejected(CentraError):
    """HTTP 200 with `userErrors`: nothing was changed."""

    def __init__(self, operation: str, user_errors: list[dict[str, Any]]) -> None:
        self.user_errors = user_errors
        details = "; ".join(f"{'.'.join(e.get('path') or []) or '-'}: {e['message']}" for e in user_errors)
        super().__init__(f"{operation} was rejected by Centra: {details}")


class HttpStatus(Exception):
    def __init__(self, status: int, headers: httpx.Headers, text: str) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        super().__init__(f"HTTP {status}")


class _StrictTransport(HTTPXTransport):
    """Centra: "only responses with the 200 status code are considered successful"."""

    def _prepare_result(self, response: httpx.Response) -> ExecutionResult:
        if response.status_code != 200:
            raise HttpStatus(response.status_code, response.headers, response.text[:500])
        return super()._prepare_result(response)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as Centra sends it (an HTTP-date timestamp), or as delta-seconds, or epoch seconds."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        return max(number - now, 0.0) if number > 1_000_000_000 else number
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


@dataclass
class Result:
    data: dict[str, Any]
    extensions: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int) -> float:
        return float(random.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt)))


class CentraClient:
    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 on_wait: Callable[[float, str], None] | None = None) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.requests = 0
        self._sleep, self._clock, self._on_wait = sleep, clock, on_wait
        options: dict[str, Any] = {"timeout": timeout}
        if transport is not None:
            options["transport"] = transport
        self._transport = _StrictTransport(url=f"{self.url}/graphql",
                                           headers={"Authorization": f"Bearer {token}"}, **options)
        # Operations are validated against schema.graphql when loaded (operations.load); a mutation the
        # target names differently is sent under its discovered name, so gql does not re-validate.
        self._checked = Client(transport=self._transport)
        self._session = self._checked.connect_sync()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._checked.close_sync()  # type: ignore[no-untyped-call]

    def __enter__(self) -> CentraClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run(self, name: str, variables: dict[str, Any] | None = None, *, allow_errors: bool = False) -> Result:
        """Run the operation `name` (centra/operations/<name>.graphql)."""
        return self.execute(operations.load(name), variables, label=name, allow_errors=allow_errors)

    def execute(self, document: DocumentNode, variables: dict[str, Any] | None = None, *, label: str,
                allow_errors: bool = False) -> Result:
        op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        root = op.selection_set.selections[0]
        root_name = getattr(getattr(root, "name", None), "value", "")
        retryable = op.operation == OperationType.QUERY or root_name.startswith(("set", "update", "unset"))
        request = GraphQLRequest(document, variable_values=variables or {})
        for attempt in range(self.retry.attempts):
            self.requests += 1
            try:
                result = self._session.execute(request, get_execution_result=True)
                return self._result(result.data, result.extensions, None, label)
            except TransportQueryError as exc:
                return self._result(exc.data, exc.extensions, exc.errors, label, allow_errors=allow_errors)
            except HttpStatus as exc:
                wait = self._wait_for(exc, attempt, retryable, label)
            except TransportConnectionFailed as exc:
                if not retryable:
                    raise CentraError(f"{label}: the connection to {self.url} failed ({exc}); the outcome of this "
                                      "write is unknown, so it is not retried") from None
                wait = self._give_up_or_backoff(attempt, label, f"connection failed ({exc})")
            self._announce(wait, label)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _announce(self, wait: float, label: str) -> None:
        if self._on_wait is not None:
            self._on_wait(wait, label)

    def _wait_for(self, exc: HttpStatus, attempt: int, retryable: bool, label: str) -> float:
        if exc.status == 403:
            raise AuthError(f"Centra at {self.url} refused the token (HTTP 403): it is unknown, revoked or expired")
        if exc.status not in RETRY_STATUSES or not retryable:
            kind = "rate limited" if exc.status == 429 else f"HTTP {exc.status}"
            raise CentraError(f"{label}: Centra answered {kind}: {_message(exc.text)}")
        if exc.status == 429:
            wait = retry_after_seconds(exc.headers.get("retry-after"), self._clock())
            if wait is not None:
                if attempt + 1 >= self.retry.attempts:
                    raise CentraError(f"{label}: still rate limited after {self.retry.attempts} attempts")
                return min(wait + random.uniform(0, 0.1), self.retry.max_delay * 4)
        return self._give_up_or_backoff(attempt, label, f"HTTP {exc.status}")

    def _give_up_or_backoff(self, attempt: int, label: str, why: str) -> float:
        if attempt + 1 >= self.retry.attempts:
            raise CentraError(f"{label}: {why} after {self.retry.attempts} attempts")
        return self.retry.backoff(attempt)

    @staticmethod
    def _result(data: Any, extensions: Any, errors: Any, label: str, *, allow_errors: bool = False) -> Result:
        errors = list(errors or [])
        denied = [e for e in errors if (e.get("extensions") or {}).get("category") == "authorization"]
        if errors and not allow_errors:
            if denied:
                raise denial(denied[0])
            raise CentraError(f"{label}: {errors[0].get('message', 'error')}")
        return Result(dict(data or {}), dict(extensions or {}), errors)


def denial(error: dict[str, Any]) -> PermissionDenied:
    message = str(error.get("message", ""))
    match = _NEEDS.search(message)
    return PermissionDenied(match.group(1) if match else "unknown", f"the token lacks a permission: {message}")


def _message(text: str) -> str:
    match = re.search(r'"message"\s*:\s*"([^"]+)"', text)
    return match.group(1) if match else text[:200]


def user_errors(payload: dict[str, Any], operation: str) -> None:
    if payload.get("userErrors"):
        raise MutationRejected(operation, payload["userErrors"])
