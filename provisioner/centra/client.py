"""The Integration API client, on gql + httpx: bearer auth, timeouts, Centra's error shapes as typed
errors, and a retry policy (tenacity) for what is safe to send again:

- HTTP 429, for every operation, creates included: Centra refuses a rate-limited request before
  executing it. The wait honours `Retry-After` (an HTTP date, as Centra sends it, delta-seconds or
  epoch seconds), else backs off.
- HTTP 502/503/504 and dropped connections, only for reads and idempotent writes (`set*`, `update*`,
  `unset*`, `revoke*`: revoking a revoked token leaves it revoked): the outcome of a `create*` is then
  unknown, so it is never sent twice.

Waits back off exponentially with full jitter and are capped; every attempt is logged (logger
`provisioner.centra`, at debug level) with operation, URL, status, duration and complexity — never a
header value or a variable, which may hold a secret. A caller sees each wait through `on_wait`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import tenacity
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed, TransportProtocolError, TransportQueryError
from gql.transport.httpx import HTTPXTransport
from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode, OperationType, print_ast

from provisioner.centra import operations
from provisioner.errors import AuthError, ProvisionerError

log = logging.getLogger(__name__)
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
        key = _INTROSPECTIONS.key(response.content)
        known = _INTROSPECTIONS.get(key) if key else None
        if known is not None:
            return known
        result = super()._prepare_result(response)
        if key:
            _INTROSPECTIONS.keep(key, result)
        return result


class _IntrospectionAnswers:
    """Introspection answers already parsed, by the digest of their bytes. Hosts on one Centra version
    may answer the introspection query byte for byte alike (~80 kB, whose parsing is most of what a fleet
    merchant's introspection costs); such an answer is parsed once. Its data is shared, as the schema
    cache shares introspections anyway: nothing modifies one. Any other answer is parsed as usual."""

    SMALLEST = 16 * 1024  # below this, parsing costs less than looking

    def __init__(self, size: int = 4) -> None:
        self._answers: OrderedDict[str, ExecutionResult] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def key(content: bytes) -> str | None:
        """The digest of what may be an introspection answer (large, its data opening with `__schema`);
        None for anything else, which is then not hashed at all (a catalogue page, say)."""
        if len(content) < _IntrospectionAnswers.SMALLEST or b'"__schema"' not in content[:64]:
            return None
        return hashlib.sha256(content).hexdigest()

    def get(self, key: str) -> ExecutionResult | None:
        with self._lock:
            known = self._answers.get(key)
        if known is None:
            return None
        return ExecutionResult(data=known.data, errors=None, extensions=dict(known.extensions or {}))

    def keep(self, key: str, result: ExecutionResult) -> None:
        if result.errors or not isinstance(result.data, dict) or set(result.data) != {"__schema"}:
            return
        with self._lock:
            self._answers[key] = result
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)


_INTROSPECTIONS = _IntrospectionAnswers()


class _PrintedByIdentity:
    """Operations' texts, printed once per document object. Keyed by identity, not by the document: a
    graphql-core node hashes by walking its whole tree on every call, which cost more than printing. The
    documents a run sends are few and long-lived (loaded operations, the introspection query, the live
    read built once per schema), so identity finds them; a document seen once is printed once."""

    def __init__(self, size: int = 64) -> None:
        self._texts: OrderedDict[int, tuple[DocumentNode, str]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __call__(self, document: DocumentNode) -> str:
        with self._lock:
            known = self._texts.get(id(document))
        if known is not None and known[0] is document:
            return known[1]
        text = print_ast(document)
        with self._lock:
            self._texts[id(document)] = (document, text)  # the document is kept, so its id is not reused
            while len(self._texts) > self._size:
                self._texts.popitem(last=False)
        return text


printed = _PrintedByIdentity()


class _PrintedRequest(GraphQLRequest):
    """gql's request, with the operation's text from `printed` rather than printed for every send."""

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": printed(self.document)}
        if self.operation_name:
            payload["operationName"] = self.operation_name
        if self.variable_values:
            payload["variables"] = self.variable_values
        if self.extensions:
            payload["extensions"] = self.extensions
        return payload


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
    base_delay: float = 0.5  # the first backoff is at most this; each next one at most twice the last
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this (and still retried)


class _RetryAfterOrBackoff(tenacity.wait.wait_base):
    """A 429's `Retry-After` (plus a little jitter, so clients sharing a quota do not return at once);
    anything else backs off exponentially with full jitter."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float]) -> None:
        self.policy, self.clock = policy, clock
        self.backoff = tenacity.wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, HttpStatus) and failure.status == 429:
            seconds = retry_after_seconds(failure.headers.get("retry-after"), self.clock())
            if seconds is not None:
                return min(seconds + random.uniform(0, 0.1), self.policy.max_retry_after)
        return float(self.backoff(retry_state))


def _retryable(failure: BaseException, idempotent: bool) -> bool:
    if isinstance(failure, HttpStatus):
        return failure.status == 429 or (idempotent and failure.status in RETRY_STATUSES)
    return idempotent and isinstance(failure, TransportConnectionFailed)


def _waiting_for(failure: BaseException | None, label: str) -> str:
    """What a wait is for, completing "waiting …"."""
    if isinstance(failure, HttpStatus) and failure.status == 429:
        return "for Centra's rate limit"
    if isinstance(failure, HttpStatus):
        return f"to retry {label} after HTTP {failure.status}"
    return f"to retry {label} after a dropped connection"


class CentraClient:
    def __init__(self, url: str, token: str, *, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 on_wait: Callable[[float, str], None] | None = None) -> None:
        """`on_wait(seconds, why)` hears of every wait before it starts; `why` completes "waiting …"
        ("for Centra's rate limit", "to retry live_state after HTTP 503")."""
        self.url = url.rstrip("/")
        self.endpoint = f"{self.url}/graphql"
        self.retry = retry or RetryPolicy()
        self.requests = 0
        self._sleep, self._clock, self._on_wait = sleep, clock, on_wait
        options: dict[str, Any] = {"timeout": timeout}
        if transport is not None:
            options["transport"] = transport
        self._transport = _StrictTransport(url=self.endpoint, headers={"Authorization": f"Bearer {token}"}, **options)
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
        idempotent = op.operation == OperationType.QUERY or root_name.startswith(("set", "update", "unset", "revoke"))
        request = _PrintedRequest(document, variable_values=variables or {})
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.attempts),
            wait=_RetryAfterOrBackoff(self.retry, self._clock),
            retry=tenacity.retry_if_exception(lambda failure: _retryable(failure, idempotent)),
            before_sleep=lambda state: self._announce(state, label),
            sleep=self._sleep, reraise=True)
        try:
            return retrying(self._attempt, request, label, allow_errors, retrying)
        except HttpStatus as exc:
            raise self._refusal(exc, label, retrying.statistics.get("attempt_number", 1)) from None
        except TransportConnectionFailed as exc:
            if not idempotent:
                raise CentraError(f"{label}: the connection to {self.endpoint} failed ({exc}); the outcome of this "
                                  "write is unknown, so it is not retried") from None
            raise CentraError(f"{label}: the connection to {self.endpoint} failed ({exc}) after "
                              f"{retrying.statistics.get('attempt_number', 1)} attempts") from None
        except TransportProtocolError as exc:
            raise CentraError(f"{label}: {self.endpoint} did not answer as a GraphQL API ({exc})") from None

    def _attempt(self, request: GraphQLRequest, label: str, allow_errors: bool, retrying: tenacity.Retrying) -> Result:
        attempt = retrying.statistics.get("attempt_number", 1)
        self.requests += 1
        started = time.perf_counter()
        status: int | str = 200
        complexity: Any = None
        try:
            result = self._session.execute(request, get_execution_result=True)
            complexity = (result.extensions or {}).get("complexity")
            return self._result(result.data, result.extensions, None, label)
        except TransportQueryError as exc:
            complexity = (exc.extensions or {}).get("complexity")
            return self._result(exc.data, exc.extensions, exc.errors, label, allow_errors=allow_errors)
        except HttpStatus as exc:
            status = exc.status
            raise
        except (TransportConnectionFailed, TransportProtocolError) as exc:
            status = f"failed ({type(exc.__cause__ or exc).__name__})"
            raise
        finally:
            log.debug("%s %s -> %s in %.0f ms, complexity %s, attempt %d/%d", label, self.endpoint, status,
                      (time.perf_counter() - started) * 1000, complexity if complexity is not None else "-",
                      attempt, self.retry.attempts)

    def _announce(self, state: tenacity.RetryCallState, label: str) -> None:
        seconds = state.next_action.sleep if state.next_action else 0.0
        why = _waiting_for(state.outcome.exception() if state.outcome else None, label)
        log.debug("%s: waiting %s (%.1f s)", label, why, seconds)
        if self._on_wait is not None:
            self._on_wait(seconds, why)

    def _refusal(self, exc: HttpStatus, label: str, attempts: int) -> ProvisionerError:
        if exc.status == 403:
            return AuthError(f"Centra at {self.url} refused the token (HTTP 403): it is unknown, revoked or expired")
        if exc.status == 429:
            return CentraError(f"{label}: still rate limited by {self.endpoint} after {attempts} attempts")
        if exc.status in RETRY_STATUSES and attempts > 1:
            return CentraError(f"{label}: HTTP {exc.status} after {attempts} attempts ({self.endpoint})")
        return CentraError(f"{label}: {self.endpoint} answered HTTP {exc.status}: {_message(exc.text)}")

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
