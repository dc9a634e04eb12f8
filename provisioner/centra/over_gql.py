"""gql's side of the client: a session whose transport is the client's HTTP layer (transport.py), each
answer checked by `replies` where it enters. Imported when a client first sends a parsed document (an
operation file, the introspection query, a write), not by a plan whose target's schema is cached, which
sends its one read as plain text (`CentraClient.send`)."""

from __future__ import annotations

from typing import Any

from gql import Client, GraphQLRequest
from gql.transport import Transport
from gql.transport.exceptions import TransportQueryError
from graphql import DocumentNode, ExecutionResult

from provisioner.centra import operations, replies
from provisioner.centra.retries import Reply
from provisioner.centra.transport import Http

__all__ = ["Session", "TransportQueryError"]


class _PreparedRequest(GraphQLRequest):
    """gql's request, with the operation's text as prepared once per document (`operations.prepared`)
    rather than printed for every send. Our operations are one per document and carry no extensions: the
    body is the query and its variables."""

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": operations.prepared(self.document).text}
        if self.variable_values:
            payload["variables"] = self.variable_values
        return payload


class _OverHttp(Transport):
    """gql's transport: the request sent by the HTTP layer, its answer checked by `replies`."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def execute(self, request: GraphQLRequest, *args: Any, label: str = "", idempotent: bool = False,
                **kwargs: Any) -> ExecutionResult:
        operation = operations.prepared(request.document)

        def interpret(reply: Reply) -> tuple[ExecutionResult, Any]:
            answer = replies.interpret(reply, operation, label=label, endpoint=self.http.endpoint)
            # gql and the client read errors as the dicts they are (GraphQLError is what a server raises).
            result = ExecutionResult(data=answer.data, errors=answer.errors,  # type: ignore[arg-type]
                                     extensions=answer.extensions)
            return result, answer.extensions.get("complexity")

        return self.http.send(request.payload, label=label, idempotent=idempotent, interpret=interpret)


class Session:
    """One gql client and its synchronous session over `http`."""

    def __init__(self, http: Http) -> None:
        self._client = Client(transport=_OverHttp(http))
        self._session = self._client.connect_sync()  # type: ignore[no-untyped-call]

    def execute(self, document: DocumentNode, variables: dict[str, Any], *, label: str,
                idempotent: bool) -> ExecutionResult:
        request = _PreparedRequest(document, variable_values=variables)
        result: ExecutionResult = self._session.execute(request, get_execution_result=True, label=label,
                                                        idempotent=idempotent)
        return result

    def close(self) -> None:
        self._client.close_sync()  # type: ignore[no-untyped-call]
