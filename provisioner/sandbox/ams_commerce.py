"""What a person does in AMS to markets, pricelists, warehouses and shipping options (`PUT
/_sandbox/commerce`, a runbook's `commerce` step): the emulator's store changed as the step says."""

from __future__ import annotations

import sqlite3
from typing import Any

from provisioner.sandbox.commerce import CURRENCIES, country_ids
from provisioner.sandbox.store import dumps, loads

TABLES = {"market": "markets", "pricelist": "pricelists", "warehouse": "warehouses",
          "shipping_option": "shipping_options"}


def _id_of(db: sqlite3.Connection, table: str, name: str) -> int | None:
    row = db.execute(f"SELECT id FROM {table} WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def _required_id(db: sqlite3.Connection, table: str, name: Any, what: str) -> int:
    found = _id_of(db, table, str(name))
    if found is None:
        raise ValueError(f"no {what} named {name!r}")
    return found


def _countries(value: Any) -> list[str]:
    codes = sorted(set(value or []))
    unknown = [c for c in codes if c not in country_ids()]
    if unknown:
        raise ValueError(f"no country {', '.join(unknown)}")
    return codes


def put(db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
    kind, action, name = body["kind"], body["action"], str(body["name"])
    table = TABLES[kind]
    obj: dict[str, Any] = body.get("object") or {}
    existing = _id_of(db, table, name)
    if action == "delete":
        db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
        return {"ok": True, "deleted": existing is not None}
    if kind == "warehouse":
        if existing is None:
            db.execute("INSERT INTO warehouses (name, status) VALUES (?, 'ACTIVE')", (name,))
    elif kind == "shipping_option":
        db.execute("INSERT INTO shipping_options (name, uri) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                   "uri = excluded.uri", (name, str(obj["code"])))
    elif kind == "market":
        values = (_required_id(db, "stores", obj["store"], "store"), obj.get("comment"),
                  dumps(_countries(obj.get("countries"))))
        if existing is None:
            db.execute("INSERT INTO markets (name, store_id, comment, countries) VALUES (?, ?, ?, ?)", (name, *values))
        else:
            db.execute("UPDATE markets SET store_id = ?, comment = ?, countries = ? WHERE id = ?", (*values, existing))
    else:
        _put_pricelist(db, name, existing, obj)
    return {"ok": True}


def _put_pricelist(db: sqlite3.Connection, name: str, existing: int | None, obj: dict[str, Any]) -> None:
    if obj.get("currency") not in CURRENCIES:
        raise ValueError(f"no currency {obj.get('currency')!r}")
    store = _required_id(db, "stores", obj["store"], "store")
    option = obj.get("default_shipping_option")
    shipping = None if option is None else _required_id(db, "shipping_options", option, "shipping option")
    countries = _countries(obj.get("countries"))
    values = (store, str(obj.get("status") or "active").upper(), obj["currency"], shipping, dumps(countries))
    if existing is None:
        cursor = db.execute("INSERT INTO pricelists (name, store_id, status, currency, shipping_option_id, countries)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (name, *values))
        existing = int(cursor.lastrowid or 0)
    else:
        db.execute("UPDATE pricelists SET store_id = ?, status = ?, currency = ?, shipping_option_id = ?, "
                   "countries = ? WHERE id = ?", (*values, existing))
    for other in db.execute("SELECT * FROM pricelists WHERE store_id = ? AND id != ?", (store, existing)).fetchall():
        left = [c for c in loads(other["countries"]) if c not in countries]
        db.execute("UPDATE pricelists SET countries = ? WHERE id = ?", (dumps(left), other["id"]))
