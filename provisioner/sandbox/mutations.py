"""The emulator's mutations: exactly those Centra's public API has for our resources (docs/centra.md) —
access tokens and event listeners. Bad input answers HTTP 200 with `userErrors`, never a change."""

from __future__ import annotations

import re
import time
from typing import Any

from graphql import GraphQLResolveInfo

from provisioner.reference import catalogue
from provisioner.sandbox.fixture import create_token
from provisioner.sandbox.graphql_api import Context, Resolver
from provisioner.sandbox.resolvers import access_view, listener_view
from provisioner.sandbox.store import dumps, loads

Info = GraphQLResolveInfo
Obj = dict[str, Any]

DEFAULT_TTL = 30 * 86400
MAX_TTL = 10 * 365 * 86400
CHANGE_TYPES = ["CREATED", "UPDATED", "DELETED", "COMPLETED", "DEPENDENT_DATA_CHANGED"]
_PERMISSION = re.compile(r"^[A-Za-z]+(\.[A-Za-z]+)?:(read|write)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _error(message: str, *path: str | int) -> Obj:
    return {"message": message, "path": [str(p) for p in path]}


def _token_input_errors(context: Context, given: Obj, *, creating: bool) -> tuple[list[Obj], list[Obj]]:
    errors, warnings = [], []
    for key in ("name", "organizationName", "integrationName", "email"):
        if (creating or key in given) and not str(given.get(key) or "").strip():
            errors.append(_error(f"{key} must not be empty.", "input", key))
    if given.get("email") and not _EMAIL.match(given["email"]):
        errors.append(_error("email is not a valid email address.", "input", "email"))
    if creating or given.get("permissions") is not None:
        permissions = given.get("permissions") or []
        if not permissions:
            errors.append(_error("At least one permission is required.", "input", "permissions"))
        known = catalogue.permissions().known
        for index, permission in enumerate(permissions):
            if permission not in known and not _PERMISSION.match(permission):
                errors.append(_error(f"Invalid permission: {permission}.", "input", "permissions", index))
            elif permission not in known:
                warnings.append(_warning_unknown(permission, index))
    ttl = given.get("ttl")
    if ttl is not None and not 0 < ttl <= MAX_TTL:
        errors.append(_error(f"ttl must be between 1 and {MAX_TTL} seconds.", "input", "ttl"))
    store_ids = ((given.get("restrictions") or {}).get("storeId")) or []
    known_stores = {row[0] for row in context.db.execute("SELECT id FROM stores")}
    for index, store_id in enumerate(store_ids):
        if store_id not in known_stores:
            errors.append(_error(f"Store {store_id} does not exist.", "input", "restrictions", "storeId", index))
    return errors, warnings


def _warning_unknown(permission: str, index: int) -> Obj:
    return _error(f"Permission {permission} is not known to this Centra version.", "input", "permissions", index)


def _restrictions(given: Obj) -> Obj:
    restrictions = given.get("restrictions") or {}
    return {k: v for k, v in restrictions.items() if v is not None}


def create_access_token(_: None, info: Info, input: Obj) -> Obj:
    context: Context = info.context
    errors, warnings = _token_input_errors(context, input, creating=True)
    if errors:
        return {"accessToken": None, "userErrors": errors, "userWarnings": warnings}
    token_id, _value = create_token(
        context.db, name=input["name"], organization=input["organizationName"],
        integration=input["integrationName"], email=input["email"], phone=input.get("phoneNumber"),
        permissions=input["permissions"], restrictions=_restrictions(input), ttl=input.get("ttl") or DEFAULT_TTL)
    row = context.db.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
    # The only place the value is ever returned (Centra shows it once).
    return {"accessToken": access_view(row, context.now, reveal=True), "userErrors": [], "userWarnings": warnings}


_COLUMNS = {"name": "name", "organizationName": "organization", "integrationName": "integration",
            "email": "email", "phoneNumber": "phone"}


def update_access_token(_: None, info: Info, id: int, input: Obj) -> Obj:
    context: Context = info.context
    db = context.db
    if db.execute("SELECT 1 FROM tokens WHERE id = ?", (id,)).fetchone() is None:
        return {"accessToken": None, "userErrors": [_error(f"Access token {id} does not exist.", "id")],
                "userWarnings": []}
    errors, warnings = _token_input_errors(context, input, creating=False)
    if errors:
        return {"accessToken": None, "userErrors": errors, "userWarnings": warnings}
    for key, column in _COLUMNS.items():
        if key in input:
            db.execute(f"UPDATE tokens SET {column} = ? WHERE id = ?", (input[key], id))
    if input.get("permissions") is not None:
        db.execute("UPDATE tokens SET permissions = ? WHERE id = ?", (dumps(sorted(set(input["permissions"]))), id))
    if "restrictions" in input:
        db.execute("UPDATE tokens SET restrictions = ? WHERE id = ?", (dumps(_restrictions(input)), id))
    if input.get("ttl") is not None:
        db.execute("UPDATE tokens SET expires_at = ? WHERE id = ?", (time.time() + input["ttl"], id))
    row = db.execute("SELECT * FROM tokens WHERE id = ?", (id,)).fetchone()
    return {"accessToken": access_view(row, time.time()), "userErrors": [], "userWarnings": warnings}


def revoke_access_token(_: None, info: Info, id: int) -> Obj:
    """As AMS's "X Revoke": the token stops working at once; revoking twice changes nothing."""
    context: Context = info.context
    db = context.db
    if db.execute("SELECT 1 FROM tokens WHERE id = ?", (id,)).fetchone() is None:
        return {"accessToken": None, "userErrors": [_error(f"Access token {id} does not exist.", "id")],
                "userWarnings": []}
    db.execute("UPDATE tokens SET revoked = 1 WHERE id = ?", (id,))
    row = db.execute("SELECT * FROM tokens WHERE id = ?", (id,)).fetchone()
    return {"accessToken": access_view(row, context.now), "userErrors": [], "userWarnings": []}


def _listeners(context: Context) -> list[Obj]:
    rows = context.db.execute("SELECT * FROM event_listeners WHERE integration = ? ORDER BY object_type",
                              (context.token["integration"],))
    return [listener_view(r) for r in rows]


def _integration_errors(context: Context) -> list[Obj]:
    if context.token["integration"]:
        return []
    return [_error("The token has no integration name; events need one.", "input")]


def set_event_listeners(_: None, info: Info, input: list[Obj]) -> Obj:
    """Additive: new change types join the ones already set."""
    context: Context = info.context
    errors = _integration_errors(context)
    if errors:
        return {"eventListeners": [], "userErrors": errors, "userWarnings": []}
    for listener in input:
        row = context.db.execute("SELECT * FROM event_listeners WHERE integration = ? AND object_type = ?",
                                 (context.token["integration"], listener["objectType"])).fetchone()
        wanted = listener.get("changeTypes") or CHANGE_TYPES
        current = loads(row["change_types"]) if row else []
        merged = [t for t in CHANGE_TYPES if t in set(current) | set(wanted)]
        context.db.execute(
            "INSERT INTO event_listeners VALUES (?, ?, ?, ?, ?) ON CONFLICT (integration, object_type) "
            "DO UPDATE SET change_types = excluded.change_types, updated_at = excluded.updated_at",
            (context.token["integration"], listener["objectType"], dumps(merged), context.now, context.now))
    return {"eventListeners": _listeners(context), "userErrors": [], "userWarnings": []}


def unset_event_listeners(_: None, info: Info, input: list[Obj]) -> Obj:
    context: Context = info.context
    errors = _integration_errors(context)
    if errors:
        return {"eventListeners": [], "userErrors": errors, "userWarnings": []}
    for listener in input:
        key = (context.token["integration"], listener["objectType"])
        row = context.db.execute("SELECT * FROM event_listeners WHERE integration = ? AND object_type = ?",
                                 key).fetchone()
        if row is None:
            continue
        removed = set(listener.get("changeTypes") or CHANGE_TYPES)
        left = [t for t in loads(row["change_types"]) if t not in removed]
        if left:
            context.db.execute("UPDATE event_listeners SET change_types = ?, updated_at = ? "
                               "WHERE integration = ? AND object_type = ?", (dumps(left), context.now, *key))
        else:
            context.db.execute("DELETE FROM event_listeners WHERE integration = ? AND object_type = ?", key)
    return {"eventListeners": _listeners(context), "userErrors": [], "userWarnings": []}


def unset_payload_listeners(payload: Obj, info: Info, where: Obj | None = None) -> list[Obj]:
    """The listeners left after an unset, narrowed by `where: EventListenerFilter`."""
    wanted = (where or {}).get("objectType")
    listeners: list[Obj] = payload["eventListeners"]
    return [item for item in listeners if wanted is None or item["objectType"] in wanted]


MUTATION: dict[str, dict[str, Resolver]] = {
    "Mutation": {"createAccessToken": create_access_token, "updateAccessToken": update_access_token,
                 "revokeAccessToken": revoke_access_token,
                 "setEventListeners": set_event_listeners, "unsetEventListeners": unset_event_listeners},
    "EventListenerUnsetPayload": {"eventListeners": unset_payload_listeners},
}
