"""Resolvers of the emulator's Query side: rows of the sandbox database as Centra's GraphQL objects.
Mutations live in `mutations.py`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from graphql import GraphQLResolveInfo

from provisioner.reference import catalogue
from provisioner.sandbox import ratelimit
from provisioner.sandbox.commerce import country_ids
from provisioner.sandbox.graphql_api import Context, Resolver, php_date
from provisioner.sandbox.listing import check_page, listing
from provisioner.sandbox.store import loads

Info = GraphQLResolveInfo
Obj = dict[str, Any]


def _db(info: Info) -> sqlite3.Connection:
    context: Context = info.context
    return context.db


def stores_by_id(db: sqlite3.Connection) -> dict[int, Obj]:
    return {row["id"]: {"id": row["id"], "name": row["name"], "type": row["type"], "status": row["status"]}
            for row in db.execute("SELECT * FROM stores ORDER BY id")}


def country(code: str | None) -> Obj | None:
    return None if code is None else {"id": country_ids().get(code, 0), "code": code,
                                      "name": catalogue.countries().get(code, code)}


def attribute_type_view(name: str, config: dict[str, Any]) -> Obj:
    elements = config.get("elements") or {}
    return {
        "name": name, "description": config.get("desc", ""), "isMapped": bool(config.get("readonly")),
        "isMulti": bool(config.get("multi")),
        "objectType": catalogue.ATTRIBUTE_GROUP_OBJECT_TYPES.get(config.get("group", ""), "Product"),
        "elements": [{"key": key, "description": element.get("desc", ""),
                      "kind": str(element.get("type", "input")).upper(), "isMulti": bool(element.get("multi")),
                      "paramsJSON": json.dumps({k: v for k, v in element.items() if k not in ("desc", "type")},
                                               sort_keys=True)}
                     for key, element in elements.items()],
    }


def tax_group_view(db: sqlite3.Connection, row: sqlite3.Row, stores: dict[int, Obj]) -> Obj:
    store_ids = loads(row["default_in_stores"])
    rules = []
    for rule_row in db.execute("SELECT * FROM tax_rules WHERE group_id = ? ORDER BY id", (row["id"],)):
        body = loads(rule_row["body"])
        rules.append({"id": rule_row["id"], "name": body["name"], "displayName": body["display_name"],
                      "code": body["code"], "rate": float(body["rate"]), "applyTaxType": body["apply_tax_type"],
                      "applyTaxToShipping": body["apply_to_shipping"], "applyTaxToHandling": body["apply_to_handling"],
                      "countries": [country(code) for code in body["countries"]]})
    return {"id": row["id"], "name": row["name"], "status": row["status"], "defaultInStoreId": store_ids,
            "defaultInStores": [stores[i] for i in store_ids if i in stores], "rules": rules}


def plugin_view(row: sqlite3.Row, stores: dict[int, Obj]) -> Obj:
    return {"id": row["id"], "status": row["status"], "name": row["name"], "method": row["method"],
            "type": row["type"], "uri": row["uri"], "additionalStores": [], "store": stores[row["store_id"]],
            "storeId": row["store_id"], "externalId": row["external_id"]}


def mask(token: str) -> str:
    return token[:4] + "…"


def access_view(row: sqlite3.Row, now: float, *, reveal: bool = False) -> Obj:
    restrictions = loads(row["restrictions"])
    return {
        "id": row["id"], "token": row["value"] if reveal else mask(row["value"]),
        "isValid": not row["revoked"] and row["expires_at"] > now,
        "_createdAt": row["created_at"], "_expiresAt": row["expires_at"],
        "user": {"id": str(row["id"]), "name": row["name"], "organizationName": row["organization"],
                 "integrationName": row["integration"], "email": row["email"], "phoneNumber": row["phone"],
                 "permissions": loads(row["permissions"]),
                 "restrictions": {"storeId": restrictions.get("storeId"),
                                  "storeType": restrictions.get("storeType")}},
    }


def listener_view(row: sqlite3.Row) -> Obj:
    return {"integrationName": row["integration"], "objectType": row["object_type"],
            "changeTypes": loads(row["change_types"]), "_createdAt": row["created_at"],
            "_updatedAt": row["updated_at"]}


# ---------------------------------------------------------------------------------------- Query


def attribute_types(_: None, info: Info, where: dict[str, Any] | None = None) -> list[Obj]:
    rows = _db(info).execute("SELECT name, config FROM attribute_types ORDER BY name")
    return listing([attribute_type_view(r["name"], loads(r["config"])) for r in rows], {"where": where})


def stores(_: None, info: Info, **args: Any) -> list[Obj]:
    return listing(list(stores_by_id(_db(info)).values()), args)


def tax_groups(_: None, info: Info, **args: Any) -> list[Obj]:
    db = _db(info)
    by_id = stores_by_id(db)
    rows = [tax_group_view(db, r, by_id) for r in db.execute("SELECT * FROM tax_groups ORDER BY id")]
    return listing(rows, args)


def store_plugins(_: None, info: Info, **args: Any) -> list[Obj]:
    db = _db(info)
    by_id = stores_by_id(db)
    return listing([plugin_view(r, by_id) for r in db.execute("SELECT * FROM plugins ORDER BY id")], args)


def graphql_accesses(_: None, info: Info, **args: Any) -> list[Obj]:
    context: Context = info.context
    rows = [access_view(r, context.now) for r in context.db.execute("SELECT * FROM tokens ORDER BY id")]
    return listing(rows, args)


def event_listeners(_: None, info: Info) -> list[Obj]:
    context: Context = info.context
    rows = context.db.execute("SELECT * FROM event_listeners WHERE integration = ? ORDER BY object_type",
                              (context.token["integration"] or "",))
    return [listener_view(r) for r in rows]


def rate_limits(_: None, info: Info) -> list[Obj]:
    context: Context = info.context
    return [bucket.as_graphql() for bucket in ratelimit.buckets(context.db, context.now)]


_PRODUCT_SORT = {"id": "id", "updatedAt": "updated_at"}


def _product_filter(where: dict[str, Any] | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    negated = set((where or {}).get("negate") or ())
    for key, column in (("id", "id"), ("status", "status")):
        values = (where or {}).get(key)
        if values is not None:
            clauses.append(f"{column} {'NOT IN' if key in negated else 'IN'} ({','.join('?' * len(values))})")
            params.extend(values)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def product_page_sql(where: dict[str, Any] | None, sort: list[str] | None, size: int | None,
                     number: int) -> tuple[str, list[Any]]:
    """The SQL of one catalogue page: filtered and sorted on indexed columns (store.py), so no page
    sorts the whole catalogue."""
    clauses, params = _product_filter(where)
    order = [f"{_PRODUCT_SORT[f]} {d}" for f, _, d in (s.rpartition("_") for s in sort or ())]
    if not any(term.startswith("id ") for term in order):
        order.append("id ASC")  # a stable tie-break, part of the indexes
    sql = f"SELECT * FROM products {clauses} ORDER BY {', '.join(order)}"
    if size is not None:
        sql += f" LIMIT {size} OFFSET {(number - 1) * size}"
    return sql, params


def products(_: None, info: Info, where: dict[str, Any] | None = None, sort: list[str] | None = None,
             limit: int | None = None, page: int | None = None) -> list[Obj]:
    """In SQL, page by page, so a catalogue of any size costs about the same per request."""
    size, number = check_page(limit, page)
    sql, params = product_page_sql(where, sort, size, number)
    db = _db(info)
    rows = db.execute(sql, params).fetchall()
    displays = _displays_of(db, [r["id"] for r in rows])
    return [{"id": r["id"], "name": r["name"], "status": r["status"], "countryOfOrigin": country(r["country"]),
             "_updatedAt": r["updated_at"], "_displays": displays.get(r["id"], [])} for r in rows]


def count_products(_: Obj, info: Info, where: dict[str, Any] | None = None) -> int:
    clauses, params = _product_filter(where)
    return int(_db(info).execute(f"SELECT COUNT(*) FROM products {clauses}", params).fetchone()[0])


def _displays_of(db: sqlite3.Connection, product_ids: list[int]) -> dict[int, list[Obj]]:
    if not product_ids:
        return {}
    marks = ",".join("?" * len(product_ids))
    by_store = stores_by_id(db)
    sizes: dict[int, list[Obj]] = {}
    for row in db.execute(f"SELECT s.* FROM sizes s JOIN variants v ON v.id = s.variant_id "
                          f"WHERE v.product_id IN ({marks}) ORDER BY s.id", product_ids):
        sizes.setdefault(row["variant_id"], []).append(
            {"id": row["id"], "SKU": row["sku"], "description": row["description"]})
    variants: dict[int, list[Obj]] = {}
    for row in db.execute(f"SELECT * FROM variants WHERE product_id IN ({marks}) ORDER BY id",
                          product_ids):
        variants.setdefault(row["product_id"], []).append(
            {"id": row["id"], "name": row["name"], "productSizes": sizes.get(row["id"], [])})
    displays: dict[int, list[Obj]] = {}
    for row in db.execute(f"SELECT * FROM displays WHERE product_id IN ({marks}) ORDER BY id",
                          product_ids):
        items = [{"id": row["id"] * 100 + index, "productVariant": variant}
                 for index, variant in enumerate(variants.get(row["product_id"], []))]
        displays.setdefault(row["product_id"], []).append(
            {"id": row["id"], "name": row["name"], "description": row["description"],
             "store": by_store[row["store_id"]], "storeId": row["store_id"], "displayItems": items})
    return displays


def product_displays(product: Obj, info: Info, where: dict[str, Any] | None = None) -> list[Obj]:
    return listing(product["_displays"], {"where": where})


def date_field(key: str) -> Resolver:
    def resolve(obj: Obj, info: Info, format: str) -> str:
        return php_date(obj[key], format)
    return resolve


QUERY: dict[str, dict[str, Resolver]] = {
    "Query": {
        "attributeTypes": attribute_types, "stores": stores, "products": products, "taxGroups": tax_groups,
        "storePlugins": store_plugins,
        "graphQLAccesses": graphql_accesses, "eventListeners": event_listeners, "rateLimits": rate_limits,
        "counters": lambda *_: {},
    },
    "Counters": {"products": count_products},
    "Product": {"displays": product_displays, "updatedAt": date_field("_updatedAt")},
    "GraphQLAccess": {"createdAt": date_field("_createdAt"), "expiresAt": date_field("_expiresAt")},
    "EventListener": {"createdAt": date_field("_createdAt"), "updatedAt": date_field("_updatedAt")},
}
