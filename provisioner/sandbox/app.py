"""The emulator as one function from request to response: Centra's `/graphql` and Order API, plus the
sandbox-only `/_sandbox/` surface. Every request is one SQLite transaction."""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLSchema, OperationType

from provisioner.sandbox import ams, commerce, faults, graphql_api, ratelimit, variants
from provisioner.sandbox.mutations import MUTATION
from provisioner.sandbox.resolvers import QUERY
from provisioner.sandbox.store import Store, bump, loads, meta
from provisioner.sandbox.wire import DropConnection, Request, Response

SDL_AS_IS = variants.Variant()


_BUILDING = threading.Lock()


def schema(variant: variants.Variant = SDL_AS_IS) -> GraphQLSchema:
    """Built once per process (and variant); binding fails loudly if resolvers and SDL disagree. Under a
    lock, so requests arriving together wait for one build rather than each building it; and always
    cached by the variant, so `schema()` and `schema(SDL_AS_IS)` are the same schema, built once."""
    with _BUILDING:
        return _built(variant)


@lru_cache(maxsize=8)
def _built(variant: variants.Variant) -> GraphQLSchema:
    resolvers = {**QUERY, **MUTATION}
    for type_name, fields in commerce.RESOLVERS.items():
        resolvers[type_name] = {**resolvers.get(type_name, {}), **fields}
    return variants.build(resolvers, variant)


def _errors(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json(status, {"errors": [{"message": message}]}, headers)


class SandboxApp:
    def __init__(self, store: Store, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.schema = schema()
        self._sleep = sleep

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return ams.handle(self.store, request)
        is_graphql = request.path.rstrip("/") == "/graphql"
        if not is_graphql and not request.path.startswith("/api/"):
            return _errors(404, f"no such endpoint: {request.path}")
        with self.store.transaction() as db:
            injection = faults.for_request(db)
            variant = variants.Variant.from_json(meta(db, "schema_variant"))
        if injection.latency_ms:
            self._sleep(injection.latency_ms / 1000)
        if injection.action == "drop":
            raise DropConnection
        if injection.action == "status":
            return _errors(injection.status, "Injected failure")
        if injection.action == "rate_limit":
            return self._too_many(time.time() + injection.retry_after)
        if is_graphql:
            return self._graphql(request, schema(variant))
        return self._order_api(request)

    @staticmethod
    def _too_many(retry_at: float) -> Response:
        # Centra: "a Retry-After header that points at a timestamp at which it is possible to try again".
        return _errors(429, "Too Many Requests", {"retry-after": formatdate(math.ceil(retry_at), usegmt=True)})

    def _graphql(self, request: Request, current: GraphQLSchema) -> Response:
        if request.method != "POST":
            return _errors(400, "use POST with a JSON body")
        try:
            body = request.json()
            source = body["query"]
            variables = body.get("variables") or {}
            operation_name = body.get("operationName")
            if not isinstance(source, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            return _errors(400, "Invalid request: expected JSON with a 'query' string")
        prepared = graphql_api.prepare(current, source)
        if prepared.errors:
            return Response.json(400, {"errors": [e.formatted for e in prepared.errors]})
        op = graphql_api.operation(prepared.document, operation_name)
        if op is None:
            return _errors(400, "Unknown or ambiguous operation")
        is_mutation = op.operation == OperationType.MUTATION
        complexity = graphql_api.query_cost(current, source, prepared, op, variables)
        drop_after = False
        with self.store.transaction() as db:
            token = self._token(db, request)
            if token is None:
                return _errors(403, "Invalid or expired access token")
            now = time.time()
            retry_at = ratelimit.admit(db, is_mutation, now, complexity)
            if retry_at is not None:
                return self._too_many(retry_at)
            bump(db, "graphql_requests")
            if is_mutation:
                bump(db, "mutations")
                failure = faults.for_mutation(db, frozenset(
                    s.name.value for s in op.selection_set.selections if isinstance(s, FieldNode)))
                if failure == "error":
                    return _errors(500, "Internal server error")
                drop_after = failure == "drop_after_commit"
            context = graphql_api.Context(db, token, frozenset(loads(token["permissions"])), now)
            answered: str | dict[str, Any]
            if not variables and graphql_api.introspects_only(op):
                answered = graphql_api.run_introspection(current, source, operation_name)
            else:
                answered = graphql_api.run(current, prepared.document, context, variables, operation_name)
            extensions = {"complexity": complexity, "permissionsUsed": sorted(context.permissions_used),
                          "appVersion": meta(db, "app_version")}
        if drop_after:
            raise DropConnection
        if isinstance(answered, str):
            return Response.json_with(200, answered, {"extensions": extensions})
        return Response.json(200, {**answered, "extensions": extensions})

    @staticmethod
    def _token(db: Any, request: Request) -> Any:
        authorization = request.headers.get("authorization", "")
        value = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        if not value:
            for part in request.headers.get("cookie", "").split(";"):
                name, _, cookie = part.strip().partition("=")
                if name == "graphql-access":
                    value = cookie
        if not value:
            return None
        row = db.execute("SELECT * FROM tokens WHERE value = ?", (value,)).fetchone()
        if row is None or row["revoked"] or row["expires_at"] <= time.time():
            return None
        return row

    def _order_api(self, request: Request) -> Response:
        """Order API: `/api/<uri>/...` with `API-Authorization`; `status: ok` only for the active plugin
        with that URI and the matching secret. Not rate limited (docs/centra.md)."""
        uri = request.path[len("/api/"):].split("/", 1)[0]
        secret = request.headers.get("api-authorization", "")
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM plugins WHERE uri = ? AND method = 'order-api'", (uri,)).fetchone()
        if row is None:
            return Response.json(404, {"status": "no", "code": -1, "msg": f"No API plugin at /api/{uri}"})
        settings = json.loads(row["settings"])
        if row["status"] != "ACTIVE":
            return Response.json(200, {"status": "no", "code": -2, "msg": "Plugin is not active"})
        if not secret or not hmac.compare_digest(secret, str(settings.get("secret") or "")):
            return Response.json(200, {"status": "no", "code": -7, "msg": "Authorization failed"})
        return Response.json(200, {"status": "ok", "plugin": row["name"], "uri": uri})
