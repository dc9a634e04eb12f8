"""The `api` executor for markets, pricelists and warehouses: the mutations of Centra's PIM and ERP
guides, each under the name the target's own schema gives it (capability discovery confirmed it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provisioner.centra.capabilities import Capabilities
from provisioner.centra.client import CentraClient, MutationRejected
from provisioner.engine.plan import live as plan_live
from provisioner.engine.plan.live import LiveState
from provisioner.engine.plan.model import Change
from provisioner.errors import ProvisionerError

KINDS = ("market", "pricelist", "warehouse")
FOUND = "found "  # how the outcome of a create another run made first begins: this run changed nothing
Mutate = Callable[[CentraClient, str, "str | None", dict[str, Any]], dict[str, Any]]


def _ids(client: CentraClient, operation: str, type_name: str, root: str, key: str) -> dict[str, int]:
    result = plan_live.run_listing(client, operation, type_name)
    rows = result.data.get(root) if isinstance(result.data, dict) else None
    if not isinstance(rows, list):
        raise ProvisionerError(f"cannot read {root} to find their ids")
    return {str(r[key]): int(r["id"]) for r in rows if isinstance(r, dict) and key in r and "id" in r}


_LISTINGS = {"market": ("market_names", "Market", "markets"), "pricelist": ("pricelist_names", "Pricelist",
                                                                          "pricelists"),
             "warehouse": ("warehouse_names", "Warehouse", "warehouses")}


def _create(client: CentraClient, change: Change, make: Callable[[], int]) -> str:
    """Create unless it exists now: another run (another checkout, sharing no lock with this one) may have
    made it since this run's plan read the store; the convergence re-plan then compares its fields."""
    what = change.kind.replace("_", " ")
    try:
        return f"created {what} {change.name} (id {make()})"
    except MutationRejected as exc:
        return found_instead(client, change, exc)


def found_instead(client: CentraClient, change: Change, exc: MutationRejected) -> str:
    """A create refused: found made by another run after this run's plan, or the refusal raised again."""
    existing = _ids(client, *_LISTINGS[change.kind], "name").get(change.name)
    if existing is None:
        raise exc
    return (f"{FOUND}{change.kind.replace('_', ' ')} {change.name} (id {existing}), made by another run after "
            "this run's plan; not created again")


def _members(change: Change) -> tuple[list[str], list[str]]:
    before = set((change.before or {}).get("countries") or [])
    after = set((change.after or {}).get("countries") or [])
    return sorted(after - before), sorted(before - after)


def _store(live: LiveState, name: str) -> dict[str, int]:
    stores = live.store_ids()
    if name not in stores:
        raise ProvisionerError(f"the store '{name}' does not exist in the target")
    return {"id": stores[name]}


def _shipping(client: CentraClient, live: LiveState, name: str | None) -> dict[str, int] | None:
    if name is None:
        return None
    known = {n: o["_id"] for n, o in live.objects.get("shipping_option", {}).items()}
    if name not in known:
        known = _ids(client, "shipping_options", "ShippingOption", "shippingOptions", "name")
    if name not in known:
        raise ProvisionerError(f"the shipping option '{name}' does not exist in the target")
    return {"id": known[name]}


def _market(client: CentraClient, caps: Capabilities, live: LiveState, change: Change, mutate: Mutate) -> str:
    after = change.after or {}
    added, removed = _members(change)
    countries = _ids(client, "countries", "Country", "countries", "code") if added or removed else {}
    unknown = sorted(set(added + removed) - set(countries))
    if unknown:
        raise ProvisionerError(f"the target has no country {', '.join(unknown)}")
    if change.action == "create":
        market_input: dict[str, Any] = {"name": change.name, "store": _store(live, after["store"]),
                                        "addCountries": [{"id": countries[c]} for c in added]}
        if "comment" in after:
            market_input["comment"] = after["comment"]
        return _create(client, change, lambda: int(mutate(client, "create_market", caps.create_market,
                                                          {"input": market_input})["market"]["id"]))
    market_id = live.objects["market"][change.name]["_id"]
    update: dict[str, Any] = {"addCountries": [{"id": countries[c]} for c in added],
                              "removeCountries": [{"id": countries[c]} for c in removed]}
    if "comment" in after:
        update["comment"] = after["comment"]
    mutate(client, "update_market", caps.update_market, {"id": market_id, "input": update})
    return f"updated market {change.name} (id {market_id})"


def _pricelist(client: CentraClient, caps: Capabilities, live: LiveState, change: Change, mutate: Mutate) -> str:
    if change.action == "delete":
        pricelist_id = live.objects["pricelist"][change.name]["_id"]
        mutate(client, "delete_pricelist", caps.delete_pricelist, {"id": pricelist_id})
        return f"deleted pricelist {change.name} (id {pricelist_id})"
    after = change.after or {}
    added, removed = _members(change)
    common: dict[str, Any] = {"status": str(after["status"]).upper()}
    if "default_shipping_option" in after:
        common["defaultShippingOption"] = _shipping(client, live, after["default_shipping_option"])
    if change.action == "create":
        pricelist_input = {"name": change.name, "store": _store(live, after["store"]),
                           "currencyIsoCode": after["currency"], "addCountries": [{"code": c} for c in added], **common}
        return _create(client, change, lambda: int(mutate(client, "create_pricelist", caps.create_pricelist,
                                                          {"input": pricelist_input})["pricelist"]["id"]))
    pricelist_id = live.objects["pricelist"][change.name]["_id"]
    mutate(client, "update_pricelist", caps.update_pricelist, {"id": pricelist_id, "input": {
        "addCountries": [{"code": c} for c in added], "removeCountries": [{"code": c} for c in removed], **common}})
    return f"updated pricelist {change.name} (id {pricelist_id})"


def execute(client: CentraClient, caps: Capabilities, live: LiveState, change: Change, mutate: Mutate) -> str:
    if change.kind == "market":
        return _market(client, caps, live, change, mutate)
    if change.kind == "pricelist":
        return _pricelist(client, caps, live, change, mutate)
    if change.kind == "warehouse" and change.action == "create":
        return _create(client, change, lambda: int(mutate(client, "create_warehouse", caps.create_warehouse,
                                                          {"input": {"name": change.name}})["warehouse"]["id"]))
    raise ProvisionerError(f"no api executor for {change.action} of {change.kind}")
