"""`/_sandbox/`: what a person does in Centra's AMS, and what a test does to a store behind the tool's
back. Sandbox only: the real-Centra code path never calls it.

Every request needs the sandbox's admin token (`Authorization: Bearer ...`, the token file `sandbox serve`
writes), a loopback Host header (no DNS-rebinding page can reach it) and no foreign Origin (no page in a
browser can drive it cross-origin).

  GET    /_sandbox/state                      everything, secrets as hashes
  GET    /_sandbox/stats                      request and mutation counters
  POST   /_sandbox/reset                      back to the fixture
  PUT    /_sandbox/plugins                    add or edit a plugin and its settings (by store + name)
  DELETE /_sandbox/plugins?store=S&name=N
  PUT    /_sandbox/attribute-types            paste into System > Configuration: {"ATTRIBUTE_TYPES": {...}}
  DELETE /_sandbox/attribute-types/NAME
  PUT    /_sandbox/tax-groups                 add or replace a tax group with its rules (by name)
  DELETE /_sandbox/tax-groups/NAME
  POST   /_sandbox/tokens                     System > API Tokens; answers the value once
  PATCH  /_sandbox/tokens/ID                  revoke, expire, change permissions
  PUT    /_sandbox/event-listeners            replace an integration's listeners
  PUT    /_sandbox/faults | DELETE            fault injection (see faults.py)
  PUT    /_sandbox/rate-limits                {"tier": "growth"} or {"quotas": {TYPE: [ten_s, one_h]}}
  PUT    /_sandbox/schema                     another Centra version: {"rename": {"Query.taxGroups": "x"},
                                              "drop": ["StorePlugin.method"], "app_version": "v1.61.0"}
  DELETE /_sandbox/schema                     back to schema.graphql and the fixture's version
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import time
from typing import Any

from graphql import GraphQLError

from provisioner.reference import catalogue
from provisioner.sandbox import ams_commerce, faults, fixture, ratelimit, variants
from provisioner.sandbox.store import Store, counter, dumps, loads, meta, set_meta
from provisioner.sandbox.wire import Request, Response

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
IN_PROCESS_SUFFIX = ".sandbox.invalid"  # the in-process transport's host: unreachable over a network

SECRET_SETTINGS = ("secret", "endpoint_secret", "shared_secret")


class BadRequest(ValueError):
    pass


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(db: sqlite3.Connection, request: Request) -> Response | None:
    """Why this request may not use `/_sandbox/`, or None."""
    host = request.headers.get("host", "")
    name = _host_name(host)
    if name not in LOOPBACK_HOSTS and not name.endswith(IN_PROCESS_SUFFIX):
        return Response.json(403, {"error": "the sandbox's AMS surface answers loopback Host headers only"})
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1].rstrip("/").lower() != host.strip().lower():
        return Response.json(403, {"error": "cross-origin requests are refused"})
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return Response.json(403, {"error": "cross-site requests are refused"})
    authorization = request.headers.get("authorization", "")
    given = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    expected = fixture.admin_token(db) or ""
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return Response.json(401, {"error": "the sandbox's admin token is required (Authorization: Bearer ...)"})
    return None


def handle(store: Store, request: Request) -> Response:
    route = request.path[len("/_sandbox/"):].strip("/").split("/")
    try:
        with store.transaction() as db:
            refused = refusal(db, request)
            if refused is not None:
                return refused
            return _dispatch(db, request, route[0], route[1] if len(route) > 1 else None)
    except (BadRequest, faults.FaultError, KeyError, TypeError, ValueError) as exc:
        return Response.json(400, {"error": f"{type(exc).__name__}: {exc}"})


def _dispatch(db: sqlite3.Connection, request: Request, resource: str, key: str | None) -> Response:
    method = request.method
    body = request.json() if method in ("PUT", "POST", "PATCH") else {}
    handlers: dict[tuple[str, str], Any] = {
        ("GET", "state"): lambda: state(db), ("GET", "stats"): lambda: stats(db),
        ("POST", "reset"): lambda: reset(db, body),
        ("PUT", "plugins"): lambda: put_plugin(db, body),
        ("DELETE", "plugins"): lambda: delete_plugin(db, request.query),
        ("PUT", "attribute-types"): lambda: put_attribute_types(db, body),
        ("DELETE", "attribute-types"): lambda: _delete(db, "attribute_types", "name", key),
        ("PUT", "tax-groups"): lambda: put_tax_group(db, body),
        ("DELETE", "tax-groups"): lambda: delete_tax_group(db, key),
        ("POST", "tokens"): lambda: post_token(db, body),
        ("PATCH", "tokens"): lambda: patch_token(db, int(key or 0), body),
        ("PUT", "event-listeners"): lambda: put_event_listeners(db, body),
        ("PUT", "commerce"): lambda: ams_commerce.put(db, body),
        ("PUT", "faults"): lambda: faults.configure(db, body),
        ("DELETE", "faults"): lambda: faults.clear(db),
        ("PUT", "rate-limits"): lambda: put_rate_limits(db, body),
        ("PUT", "schema"): lambda: put_schema(db, body),
        ("DELETE", "schema"): lambda: put_schema(db, {}),
    }
    handler = handlers.get((method, resource))
    if handler is None:
        return Response.json(404, {"error": f"no sandbox route {method} /_sandbox/{resource}"})
    result = handler()
    return Response.json(200, result if result is not None else {"ok": True})


def _hash(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def _store_id(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM stores WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise BadRequest(f"no store named {name!r}")
    return int(row[0])


def state(db: sqlite3.Connection) -> dict[str, Any]:
    stores = {row["id"]: row["name"] for row in db.execute("SELECT id, name FROM stores")}
    plugins = []
    for row in db.execute("SELECT * FROM plugins ORDER BY id"):
        settings = loads(row["settings"])
        plugins.append({"id": row["id"], "store": stores[row["store_id"]], "name": row["name"],
                        "method": row["method"], "type": row["type"], "uri": row["uri"], "status": row["status"],
                        "settings": {k: _hash(v) if k in SECRET_SETTINGS and v else v for k, v in settings.items()}})
    tax_groups = []
    for row in db.execute("SELECT * FROM tax_groups ORDER BY id"):
        rules = [loads(r["body"]) for r in db.execute("SELECT body FROM tax_rules WHERE group_id = ? ORDER BY id",
                                                      (row["id"],))]
        tax_groups.append({"name": row["name"], "status": row["status"],
                           "default_in_stores": [stores[i] for i in loads(row["default_in_stores"])],
                           "rules": rules})
    tokens = [{"id": row["id"], "name": row["name"], "integration": row["integration"],
               "permissions": loads(row["permissions"]), "revoked": bool(row["revoked"]),
               "expires_at": row["expires_at"]} for row in db.execute("SELECT * FROM tokens ORDER BY id")]
    listeners = [{"integration": row["integration"], "objectType": row["object_type"],
                  "changeTypes": loads(row["change_types"])}
                 for row in db.execute("SELECT * FROM event_listeners ORDER BY integration, object_type")]
    return {"merchant": meta(db, "merchant"), "stores": list(stores.values()), "plugins": plugins,
            "attribute_types": {row["name"]: loads(row["config"])
                                for row in db.execute("SELECT * FROM attribute_types ORDER BY name")},
            "tax_groups": tax_groups, "tokens": tokens, "event_listeners": listeners,
            "faults": faults.active(db)}


def stats(db: sqlite3.Connection) -> dict[str, Any]:
    return {"graphql_requests": counter(db, "graphql_requests"), "mutations": counter(db, "mutations"),
            "products": db.execute("SELECT COUNT(*) FROM products").fetchone()[0]}


def reset(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    saved = loads(meta(db, "fixture") or "{}")
    spec = fixture.FixtureSpec(**{**saved, **body, "markets": tuple(body.get("markets", saved.get("markets", ())))})
    fixture.seed(db, spec, admin_token=fixture.admin_token(db))
    return {"ok": True}


def put_plugin(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    kind = catalogue.PLUGIN_KINDS[body["type"]]
    store_id = _store_id(db, body["store"])
    status = str(body.get("status", "active")).upper()
    row = db.execute("SELECT * FROM plugins WHERE store_id = ? AND name = ?", (store_id, body["name"])).fetchone()
    settings = {**(loads(row["settings"]) if row else {}), **body.get("settings", {})}
    uri = body.get("uri", row["uri"] if row else "")
    clash = db.execute("SELECT name FROM plugins WHERE store_id = ? AND uri = ? AND uri != '' AND name != ?",
                       (store_id, uri, body["name"])).fetchone()
    if clash:
        raise BadRequest(f"URI {uri!r} is already used by plugin {clash[0]!r} in this store")
    db.execute("INSERT INTO plugins (store_id, name, method, type, uri, status, external_id, settings) "
               "VALUES (?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (store_id, name) DO UPDATE SET method = "
               "excluded.method, type = excluded.type, uri = excluded.uri, status = excluded.status, "
               "settings = excluded.settings",
               (store_id, body["name"], kind.method, kind.type, uri, status, dumps(settings)))
    plugin_id = db.execute("SELECT id FROM plugins WHERE store_id = ? AND name = ?",
                           (store_id, body["name"])).fetchone()[0]
    return {"id": plugin_id}


def delete_plugin(db: sqlite3.Connection, query: dict[str, str]) -> dict[str, Any]:
    db.execute("DELETE FROM plugins WHERE store_id = ? AND name = ?", (_store_id(db, query["store"]), query["name"]))
    return {"ok": True}


def put_attribute_types(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    types = body["ATTRIBUTE_TYPES"]
    for name, config in types.items():
        if not isinstance(config, dict) or not isinstance(config.get("elements"), dict):
            raise BadRequest(f"attribute type {name!r} needs an 'elements' object")
        if config.get("group") not in catalogue.ATTRIBUTE_GROUP_OBJECT_TYPES:
            raise BadRequest(f"attribute type {name!r} has an unknown group {config.get('group')!r}")
        db.execute("INSERT OR REPLACE INTO attribute_types VALUES (?, ?)", (name, dumps(config)))
    return {"saved": sorted(types)}


def _delete(db: sqlite3.Connection, table: str, column: str, key: str | None) -> dict[str, Any]:
    db.execute(f"DELETE FROM {table} WHERE {column} = ?", (key,))
    return {"ok": True}


RULE_FIELDS = ("name", "display_name", "code", "rate", "apply_tax_type", "apply_to_shipping", "apply_to_handling",
               "countries", "include_tax_in_prices", "include_shipping_in_order_total")


def put_tax_group(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    store_ids = [_store_id(db, name) for name in body.get("default_in_stores", [])]
    status = str(body.get("status", "active")).upper()
    row = db.execute("SELECT id FROM tax_groups WHERE name = ?", (body["name"],)).fetchone()
    if row is None:
        group_id = db.execute("INSERT INTO tax_groups (name, status, default_in_stores) VALUES (?, ?, ?)",
                              (body["name"], status, dumps(store_ids))).lastrowid
    else:
        group_id = row[0]
        db.execute("UPDATE tax_groups SET status = ?, default_in_stores = ? WHERE id = ?",
                   (status, dumps(store_ids), group_id))
        db.execute("DELETE FROM tax_rules WHERE group_id = ?", (group_id,))
    for rule in body.get("rules", []):
        missing = [f for f in RULE_FIELDS if f not in rule]
        if missing:
            raise BadRequest(f"tax rule {rule.get('name')!r} lacks {', '.join(missing)}")
        db.execute("INSERT INTO tax_rules (group_id, body) VALUES (?, ?)",
                   (group_id, dumps({f: rule[f] for f in RULE_FIELDS})))
    return {"id": group_id}


def delete_tax_group(db: sqlite3.Connection, name: str | None) -> dict[str, Any]:
    row = db.execute("SELECT id FROM tax_groups WHERE name = ?", (name,)).fetchone()
    if row is not None:
        db.execute("DELETE FROM tax_rules WHERE group_id = ?", (row[0],))
        db.execute("DELETE FROM tax_groups WHERE id = ?", (row[0],))
    return {"ok": True}


def post_token(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    token_id, value = fixture.create_token(
        db, name=body["name"], organization=body.get("organization"), integration=body.get("integration"),
        email=body.get("email"), phone=body.get("phone"), permissions=list(body["permissions"]),
        restrictions=body.get("restrictions", {}), ttl=int(body.get("ttl", 30 * 86400)))
    return {"id": token_id, "token": value}


def patch_token(db: sqlite3.Connection, token_id: int, body: dict[str, Any]) -> dict[str, Any]:
    if "revoked" in body:
        db.execute("UPDATE tokens SET revoked = ? WHERE id = ?", (int(bool(body["revoked"])), token_id))
    if "expires_in" in body:
        db.execute("UPDATE tokens SET expires_at = ? WHERE id = ?", (time.time() + body["expires_in"], token_id))
    if "permissions" in body:
        db.execute("UPDATE tokens SET permissions = ? WHERE id = ?", (dumps(sorted(body["permissions"])), token_id))
    return {"ok": True}


def put_event_listeners(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    integration = body["integration"]
    db.execute("DELETE FROM event_listeners WHERE integration = ?", (integration,))
    now = time.time()
    for listener in body["listeners"]:
        db.execute("INSERT INTO event_listeners VALUES (?, ?, ?, ?, ?)",
                   (integration, listener["objectType"], dumps(listener["changeTypes"]), now, now))
    return {"ok": True}


def put_rate_limits(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    if "tier" in body:
        ratelimit.set_quotas(db, ratelimit.TIERS[body["tier"]])
    for kind, (ten, hour) in body.get("quotas", {}).items():
        if kind not in ratelimit.TYPES:
            raise BadRequest(f"unknown rate limit type {kind!r}")
        ratelimit.set_quotas(db, {kind: (int(ten), int(hour))})
    if body.get("clear_usage"):
        db.execute("DELETE FROM rate_buckets")
    return {"ok": True}


def put_schema(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    """Serve another version's schema. A real Centra changes its schema only with its version, so a
    variant reports another `appVersion` unless the body names one."""
    rename, drop = body.get("rename") or {}, body.get("drop") or []
    if not isinstance(rename, dict) or not isinstance(drop, list):
        raise BadRequest("rename is an object of Type.field -> new name; drop is a list of Type.field")
    variant = {"rename": {str(k): str(v) for k, v in rename.items()}, "drop": [str(d) for d in drop]}
    text = dumps(variant) if rename or drop else ""
    try:
        variants.Variant.from_json(text).check()
    except GraphQLError as exc:  # a variant that does not build is refused before it is stored
        raise BadRequest(f"the schema variant does not build: {exc.message}") from None
    default = fixture.APP_VERSION if not text else f"{fixture.APP_VERSION}+variant"
    version = str(body.get("app_version") or default)
    set_meta(db, "schema_variant", text)
    set_meta(db, "app_version", version)
    return {"app_version": version, **variant}
