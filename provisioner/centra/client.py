"""The Integration API client, its GraphQL layer: operations sent with gql over the transport
(transport.py: httpx, deadlines, retries, trace), each answer checked for its shape where it enters
(replies.py), and Centra's error shapes turned into typed errors:

- `errors` with `extensions.category: "authorization"` are a PermissionDenied (exit 3) naming the
  permission; any other error a CentraError (exit 1), unless the caller takes errors beside partial data
  (`allow_errors`, the live read that marks a denied section unknown);
- `userErrors` of a mutation's payload are a MutationRejected (`user_errors`).

Whether an operation may be sent twice is decided here, from the operation: queries and idempotent writes
(`set*`, `update*`, `unset*`, `revoke*`) may; a `create*` may only when Centra refused it unexecuted (429).

The names other packages import from here stay here (the errors, RetryPolicy, retry_after_seconds), with
Budget for a caller that runs many clients under one command's retry budget (`CentraClient(budget=...)`).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport import Transport
from gql.transport.exceptions import TransportQueryError
from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode, OperationType, print_ast

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
from provisioner.centra.retries import (
    IDEMPOTENT_WRITES,
    RETRY_STATUSES,
    HttpStatus,
    Reply,
    RetryPolicy,
    retry_after_seconds,
)
from provisioner.centra.transport import Http

__all__ = ["RETRY_STATUSES", "BadReply", "Budget", "CentraClient", "CentraError", "HttpStatus", "MutationRejected",
           "PermissionDenied", "RequestTooSlow", "Result", "RetryBudgetSpent", "RetryPolicy", "denial", "printed",
           "retry_after_seconds", "user_errors"]

# A permission's name as Centra writes it ("Order:read"); anything else in its place is not taken as one.
_NEEDS = re.compile(r"You need ([A-Za-z][\w.:-]{0,99}) permission")


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
    """gql's request, with the operation's text from `printed` rather than printed for every send. Our
    operations are one per document and carry no extensions: the body is the query and its variables."""

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": printed(self.document)}
        if self.variable_values:
            payload["variables"] = self.variable_values
        return payload


class _OverHttp(Transport):
    """gql's transport: the request sent by the HTTP layer, its answer checked by `replies`."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def execute(self, request: GraphQLRequest, *args: Any, label: str = "", idempotent: bool = False,
                **kwargs: Any) -> ExecutionResult:
        def interpret(reply: Reply) -> tuple[ExecutionResult, Any]:
            result = replies.interpret(reply, request.document, label=label, endpoint=self.http.endpoint)
            return result, (result.extensions or {}).get("complexity")

        return self.http.send(request.payload, label=label, idempotent=idempotent, interpret=interpret)


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
        # Operations are validated against schema.graphql when loaded (operations.load); a mutation the
        # target names differently is sent under its discovered name, so gql does not re-validate.
        self._checked = Client(transport=_OverHttp(self._http))
        self._session = self._checked.connect_sync()  # type: ignore[no-untyped-call]

    @property
    def retry(self) -> RetryPolicy:
        return self._http.retry

    @property
    def requests(self) -> int:
        """Attempts sent so far, retries included."""
        return self._http.requests

    def close(self) -> None:
        self._checked.close_sync()  # type: ignore[no-untyped-call]
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
        op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        root = op.selection_set.selections[0]
        root_name = getattr(getattr(root, "name", None), "value", "")
        idempotent = op.operation == OperationType.QUERY or root_name.startswith(IDEMPOTENT_WRITES)
        request = _PrintedRequest(document, variable_values=variables or {})
        try:
            result = self._session.execute(request, get_execution_result=True, label=label, idempotent=idempotent)
            return self._result(result.data, result.extensions, None, label, allow_errors=allow_errors)
        except TransportQueryError as exc:
            return self._result(exc.data, exc.extensions, exc.errors, label, allow_errors=allow_errors)

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
