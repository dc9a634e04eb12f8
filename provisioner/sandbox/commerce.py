"""The emulator's markets, pricelists, warehouses and shipping options: their reads, and the mutations
Centra documents for them (the PIM and ERP guides, docs/centra.md) with their `userErrors`. Shipping
options have no documented write: AMS makes them (`/_sandbox/commerce`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from graphql import GraphQLResolveInfo

from provisioner.reference import catalogue
from provisioner.sandbox.graphql_api import Context, Resolver
from provisioner.sandbox.listing import listing
from provisioner.sandbox.store import dumps, loads

Info = GraphQLResolveInfo
Obj = dict[str, Any]

# ISO 4217 codes a sandbox store has set up (Centra knows a store's currencies; an unknown one is refused).
CURRENCIES = ("AUD", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "HKD", "JPY", "KRW", "NOK", "NZD", "PLN", "SEK",
              "SGD", "USD")


def _db(info: Info) -> sqlite3.Connection:
    context: Context = info.context
    return context.db


def _error(message: str, *path: str | int) -> Obj:
    return {"message": message, "path": [str(p) for p in path]}


def country_ids() -> dict[str, int]:
    """Country ids as the sandbox numbers them: their place in the catalogue (stable across runs)."""
    return {code: index for index, code in enumerate(sorted(catalogue.countries()), start=1)}


def _country(code: str) -> Obj:
    return {"id": country_ids()[code], "code": code, "name": catalogue.countries().get(code, code)}


def _stores(db: sqlite3.Connection) -> dict[int, Obj]:
    return {row["id"]: {"id": row["id"], "name": row["name"], "type": row["type"], "status": row["status"]}
            for row in db.execute("SELECT * FROM stores ORDER BY id")}


def market_view(row: sqlite3.Row, stores: dict[int, Obj]) -> Obj:
    return {"id": row["id"], "name": row["name"], "comment": row["comment"], "storeId": row["store_id"],
            "store": stores[row["store_id"]], "assignedToCountries": [_country(c) for c in loads(row["countries"])]}


def _shipping(db: sqlite3.Connection, option_id: int | None) -> Obj | None:
    row = db.execute("SELECT * FROM shipping_options WHERE id = ?", (option_id,)).fetchone() if option_id else None
    return None if row is None else dict(row)


def pricelist_view(db: sqlite3.Connection, row: sqlite3.Row, stores: dict[int, Obj]) -> Obj:
    return {"id": row["id"], "name": row["name"], "status": row["status"], "storeId": row["store_id"],
            "store": stores[row["store_id"]],
            "currency": {"id": CURRENCIES.index(row["currency"]) + 1, "code": row["currency"]},
            "assignedToCountries": [_country(c) for c in loads(row["countries"])],
            "defaultShippingOption": _shipping(db, row["shipping_option_id"])}


# ---------------------------------------------------------------------------------------- Query

def markets(_: None, info: Info, **args: Any) -> list[Obj]:
    db = _db(info)
    stores = _stores(db)
    return listing([market_view(r, stores) for r in db.execute("SELECT * FROM markets ORDER BY id")], args)


def pricelists(_: None, info: Info, **args: Any) -> list[Obj]:
    db = _db(info)
    stores = _stores(db)
    return listing([pricelist_view(db, r, stores) for r in db.execute("SELECT * FROM pricelists ORDER BY id")],
                   args)


def warehouses(_: None, info: Info, **args: Any) -> list[Obj]:
    rows = [dict(r) for r in _db(info).execute("SELECT id, name, status FROM warehouses ORDER BY id")]
    return listing(rows, args)


def shipping_options(_: None, info: Info, where: Obj | None = None, **args: Any) -> list[Obj]:
    db = _db(info)
    rows = [dict(r) for r in db.execute("SELECT * FROM shipping_options ORDER BY id")]
    currencies = (where or {}).get("currencyId")
    if currencies is not None:  # the options some pricelist in those currencies uses by default
        used = {r["shipping_option_id"] for r in db.execute("SELECT * FROM pricelists")
                if CURRENCIES.index(r["currency"]) + 1 in currencies}
        rows = [r for r in rows if r["id"] in used]
    return listing(rows, {**args, "where": {k: v for k, v in (where or {}).items() if k != "currencyId"}})


def countries(_: None, info: Info, **args: Any) -> list[Obj]:
    return listing([_country(code) for code in sorted(catalogue.countries())], args)


# ---------------------------------------------------------------------------------------- checks

def _store_errors(db: sqlite3.Connection, given: Obj | None, path: str) -> tuple[sqlite3.Row | None, list[Obj]]:
    store_id = (given or {}).get("id")
    row = db.execute("SELECT * FROM stores WHERE id = ?", (store_id,)).fetchone()
    return row, ([] if row else [_error(f"Store {store_id} does not exist.", "input", path, "id")])


def _countries(given: list[Obj] | None, field: str, *, by: str) -> tuple[list[str], list[Obj]]:
    """Country references as codes; each must name a country, by id (markets) or code (pricelists)."""
    by_id: dict[Any, str] = {v: k for k, v in country_ids().items()}
    codes: list[str] = []
    errors: list[Obj] = []
    for index, ref in enumerate(given or ()):
        value = ref.get(by)
        code = by_id.get(value) if by == "id" else (str(value) if value in country_ids() else None)
        if code is None:
            errors.append(_error(f"Country {value} does not exist.", "input", field, index, by))
        else:
            codes.append(code)
    return codes, errors


def _dtc_only(store: sqlite3.Row | None, countries: list[str], field: str) -> list[Obj]:
    if store is not None and countries and store["type"] != "DIRECT_TO_CONSUMER":
        return [_error("Countries can only be added in a DTC (Retail) store.", "input", field)]
    return []


def _name_errors(db: sqlite3.Connection, table: str, name: str | None, store_id: int | None,
                 own_id: int | None = None) -> list[Obj]:
    if name is not None and not name.strip():
        return [_error("name must not be empty.", "input", "name")]
    scope = "" if store_id is None else " AND store_id = ?"
    params: tuple[Any, ...] = (name, own_id or 0) + (() if store_id is None else (store_id,))
    if name is not None and db.execute(f"SELECT 1 FROM {table} WHERE name = ? AND id != ?{scope}",
                                       params).fetchone():
        return [_error(f"name {name} is already used.", "input", "name")]
    return []


# ---------------------------------------------------------------------------------------- Mutation

def create_market(_: None, info: Info, input: Obj) -> Obj:
    db = _db(info)
    store, errors = _store_errors(db, input.get("store"), "store")
    codes, bad = _countries(input.get("addCountries"), "addCountries", by="id")
    errors += bad + _dtc_only(store, codes, "addCountries")
    errors += _name_errors(db, "markets", input["name"], store["id"] if store else None)
    if errors:
        return {"market": None, "userErrors": errors, "userWarnings": []}
    cursor = db.execute("INSERT INTO markets (name, store_id, comment, countries) VALUES (?, ?, ?, ?)",
                        (input["name"], store["id"] if store else 0, input.get("comment"),
                         dumps(sorted(set(codes)))))
    row = db.execute("SELECT * FROM markets WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return {"market": market_view(row, _stores(db)), "userErrors": [], "userWarnings": []}


def update_market(_: None, info: Info, id: int, input: Obj) -> Obj:
    db = _db(info)
    row = db.execute("SELECT * FROM markets WHERE id = ?", (id,)).fetchone()
    if row is None:
        return {"market": None, "userErrors": [_error(f"Market {id} does not exist.", "id")], "userWarnings": []}
    store = db.execute("SELECT * FROM stores WHERE id = ?", (row["store_id"],)).fetchone()
    added, errors = _countries(input.get("addCountries"), "addCountries", by="id")
    removed, bad = _countries(input.get("removeCountries"), "removeCountries", by="id")
    errors += bad + _dtc_only(store, added, "addCountries") + _name_errors(db, "markets", input.get("name"),
                                                                           row["store_id"], id)
    if errors:
        return {"market": None, "userErrors": errors, "userWarnings": []}
    countries = sorted((set(loads(row["countries"])) | set(added)) - set(removed))
    db.execute("UPDATE markets SET name = ?, comment = ?, countries = ? WHERE id = ?",
               (input.get("name") or row["name"], input["comment"] if "comment" in input else row["comment"],
                dumps(countries), id))
    fresh = db.execute("SELECT * FROM markets WHERE id = ?", (id,)).fetchone()
    return {"market": market_view(fresh, _stores(db)), "userErrors": [], "userWarnings": []}


def _shipping_errors(db: sqlite3.Connection, given: Obj | None) -> list[Obj]:
    if given is None or _shipping(db, given.get("id")) is not None:
        return []
    return [_error(f"Shipping option {given.get('id')} does not exist.", "input", "defaultShippingOption", "id")]


def create_pricelist(_: None, info: Info, input: Obj) -> Obj:
    db = _db(info)
    store, errors = _store_errors(db, input.get("store"), "store")
    codes, bad = _countries(input.get("addCountries"), "addCountries", by="code")
    errors += bad + _dtc_only(store, codes, "addCountries") + _shipping_errors(db, input.get("defaultShippingOption"))
    errors += _name_errors(db, "pricelists", input["name"], None)
    if input["currencyIsoCode"] not in CURRENCIES:
        errors.append(_error(f"Currency {input['currencyIsoCode']} does not exist.", "input", "currencyIsoCode"))
    if errors:
        return {"pricelist": None, "userErrors": errors, "userWarnings": []}
    shipping = (input.get("defaultShippingOption") or {}).get("id")
    cursor = db.execute("INSERT INTO pricelists (name, store_id, status, currency, shipping_option_id, countries) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (input["name"], store["id"] if store else 0,
                                                      input.get("status") or "ACTIVE", input["currencyIsoCode"],
                                                      shipping, dumps([])))
    _geolocate(db, int(cursor.lastrowid or 0), codes, [])
    row = db.execute("SELECT * FROM pricelists WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return {"pricelist": pricelist_view(db, row, _stores(db)), "userErrors": [], "userWarnings": []}


def _geolocate(db: sqlite3.Connection, pricelist_id: int, added: list[str], removed: list[str]) -> None:
    """A country geolocates to one pricelist of a store: adding it here takes it from the store's others."""
    row = db.execute("SELECT * FROM pricelists WHERE id = ?", (pricelist_id,)).fetchone()
    for other in db.execute("SELECT * FROM pricelists WHERE store_id = ? AND id != ?",
                            (row["store_id"], pricelist_id)).fetchall():
        left = [c for c in loads(other["countries"]) if c not in added]
        db.execute("UPDATE pricelists SET countries = ? WHERE id = ?", (dumps(left), other["id"]))
    countries = sorted((set(loads(row["countries"])) | set(added)) - set(removed))
    db.execute("UPDATE pricelists SET countries = ? WHERE id = ?", (dumps(countries), pricelist_id))


def update_pricelist(_: None, info: Info, id: int, input: Obj) -> Obj:
    db = _db(info)
    row = db.execute("SELECT * FROM pricelists WHERE id = ?", (id,)).fetchone()
    if row is None:
        return {"pricelist": None, "userErrors": [_error(f"Pricelist {id} does not exist.", "id")],
                "userWarnings": []}
    store = db.execute("SELECT * FROM stores WHERE id = ?", (row["store_id"],)).fetchone()
    added, errors = _countries(input.get("addCountries"), "addCountries", by="code")
    removed, bad = _countries(input.get("removeCountries"), "removeCountries", by="code")
    errors += bad + _dtc_only(store, added, "addCountries") + _shipping_errors(db, input.get("defaultShippingOption"))
    errors += _name_errors(db, "pricelists", input.get("name"), None, id)
    if errors:
        return {"pricelist": None, "userErrors": errors, "userWarnings": []}
    shipping = (input["defaultShippingOption"] or {}).get("id") if "defaultShippingOption" in input \
        else row["shipping_option_id"]
    db.execute("UPDATE pricelists SET name = ?, status = ?, shipping_option_id = ? WHERE id = ?",
               (input.get("name") or row["name"], input.get("status") or row["status"], shipping, id))
    _geolocate(db, id, added, removed)
    fresh = db.execute("SELECT * FROM pricelists WHERE id = ?", (id,)).fetchone()
    return {"pricelist": pricelist_view(db, fresh, _stores(db)), "userErrors": [], "userWarnings": []}


def delete_pricelist(_: None, info: Info, id: int) -> Obj:
    """"You can only delete a pricelist when it's not in use": here, while countries geolocate to it."""
    db = _db(info)
    row = db.execute("SELECT * FROM pricelists WHERE id = ?", (id,)).fetchone()
    if row is None:
        return {"userErrors": [_error(f"Pricelist {id} does not exist.", "id")], "userWarnings": []}
    if loads(row["countries"]):
        return {"userErrors": [_error(f"Pricelist {id} is in use: countries geolocate to it.", "id")],
                "userWarnings": []}
    db.execute("DELETE FROM pricelists WHERE id = ?", (id,))
    return {"userErrors": [], "userWarnings": []}


def create_warehouse(_: None, info: Info, input: Obj) -> Obj:
    db = _db(info)
    errors = _name_errors(db, "warehouses", input["name"], None)
    before = (input.get("beforeWarehouse") or {}).get("id")
    if before is not None and db.execute("SELECT 1 FROM warehouses WHERE id = ?", (before,)).fetchone() is None:
        errors.append(_error(f"Warehouse {before} does not exist.", "input", "beforeWarehouse", "id"))
    if errors:
        return {"warehouse": None, "userErrors": errors, "userWarnings": []}
    cursor = db.execute("INSERT INTO warehouses (name, status) VALUES (?, 'ACTIVE')", (input["name"],))
    row = db.execute("SELECT id, name, status FROM warehouses WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return {"warehouse": dict(row), "userErrors": [], "userWarnings": []}


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {"markets": markets, "pricelists": pricelists, "warehouses": warehouses,
              "shippingOptions": shipping_options, "countries": countries},
    "Mutation": {"createMarket": create_market, "updateMarket": update_market, "createPricelist": create_pricelist,
                 "updatePricelist": update_pricelist, "deletePricelist": delete_pricelist,
                 "createWarehouse": create_warehouse},
}
