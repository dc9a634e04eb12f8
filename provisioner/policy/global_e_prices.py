"""Global-e's price, warehouse and shipping requirements ("Calculating Prices", §1.1, §1.5 of its Centra
guide), checked over the store as it will be: the live objects the plan read, with the merchant file's
declared objects in their place (the plan makes them so), its `absent` ones gone, and an exclusive
section's undeclared ones gone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from provisioner.config.models import Market, OrderApiPlugin, Pricelist, ShippingOption, Warehouse
from provisioner.policy.context import Context, Obj
from provisioner.policy.findings import Hit, Rule


def _market(item: Market) -> Obj:
    return {"store": item.store, "countries": sorted(set(item.countries))}


def _pricelist(item: Pricelist) -> Obj:
    return {"store": item.store, "currency": item.currency, "countries": sorted(set(item.countries))}


def _warehouse(item: Warehouse) -> Obj:
    return {}


def _shipping(item: ShippingOption) -> Obj:
    return {"code": item.code}


def effective(ctx: Context, kind: str, section: str, view: Callable[[Any], Obj]) -> dict[str, Obj]:
    declared = getattr(ctx.state.spec, section)
    found = {} if declared is not None and declared.mode == "exclusive" else dict(ctx.live.get(kind, {}))
    for item in declared.items if declared is not None else ():
        if getattr(item, "absent", False):
            found.pop(item.name, None)
        else:
            found[item.name] = view(item)
    return found


def _unreadable(ctx: Context, *kinds: str) -> Hit | None:
    denied = [f"{kind.replace('_', ' ')}s ({ctx.unknown[kind]})" for kind in kinds if kind in ctx.unknown]
    return Hit(f"cannot check: the plan could not read {', '.join(denied)}", "warning") if denied else None


def _geolocation(ctx: Context) -> dict[tuple[str, str], tuple[str, Obj]]:
    """(store, country) -> the pricelist that country geolocates to, and its object."""
    found: dict[tuple[str, str], tuple[str, Obj]] = {}
    for name, pricelist in sorted(effective(ctx, "pricelist", "pricelists", _pricelist).items()):
        for country in pricelist.get("countries") or ():
            found.setdefault((str(pricelist.get("store")), country), (name, pricelist))
    return found


def _global_e_markets(ctx: Context) -> Iterator[tuple[str, Obj | None]]:
    global_e = ctx.state.spec.global_e
    markets = effective(ctx, "market", "markets", _market)
    for name in (global_e.markets or []) if global_e else []:
        yield name, markets.get(name)


def market_pricelists_check(ctx: Context) -> Iterator[Hit]:
    if ctx.state.spec.global_e is None:
        return
    blocked = _unreadable(ctx, "market", "pricelist")
    if blocked:
        yield blocked
        return
    if not ctx.state.spec.global_e.markets:
        yield Hit("no Global-e markets named (`global_e.markets`): which markets need a pricelist cannot be checked",
                  "warning")
    located = _geolocation(ctx)
    fixed = set(ctx.state.spec.global_e.fixed_prices or {})
    for name, market in _global_e_markets(ctx):
        if market is None:
            yield Hit(f"the Global-e market '{name}' does not exist and is not declared under `markets`")
            continue
        unassigned = [c for c in market["countries"] if (market["store"], c) not in located and c not in fixed]
        if not market["countries"]:
            yield Hit(f"the Global-e market '{name}' has no countries: no pricelist can be assigned to it")
        elif unassigned:
            yield Hit(f"the Global-e market '{name}' is not assigned to a pricelist in {', '.join(unassigned)}: "
                      "Global-e falls back to Centra's default pricelist there")


def base_currency_check(ctx: Context) -> Iterator[Hit]:
    global_e = ctx.state.spec.global_e
    if global_e is None or not global_e.markets:
        return
    blocked = _unreadable(ctx, "market", "pricelist")
    if blocked:
        yield blocked
        return
    if global_e.base_currency is None:
        yield Hit("no base currency (`global_e.base_currency`): Global-e's pricelists must all be in it")
        return
    located = _geolocation(ctx)
    fixed = set(global_e.fixed_prices or {})
    wrong: dict[str, str] = {}
    for _, market in _global_e_markets(ctx):
        for country in (market or {}).get("countries") or ():
            pricelist = located.get((market["store"], country)) if market else None
            if pricelist and country not in fixed and pricelist[1].get("currency") != global_e.base_currency:
                wrong[pricelist[0]] = str(pricelist[1].get("currency"))
    for name, currency in sorted(wrong.items()):
        yield Hit(f"the pricelist '{name}' of a Global-e market is in {currency}, not the base currency "
                  f"{global_e.base_currency}")


def fixed_prices_check(ctx: Context) -> Iterator[Hit]:
    global_e = ctx.state.spec.global_e
    if global_e is None or not global_e.fixed_prices:
        return
    blocked = _unreadable(ctx, "pricelist")
    if blocked:
        yield blocked
        return
    pricelists = effective(ctx, "pricelist", "pricelists", _pricelist)
    for country, currency in sorted(global_e.fixed_prices.items()):
        geolocating = sorted(name for name, p in pricelists.items() if country in (p.get("countries") or ()))
        if not geolocating:
            yield Hit(f"no pricelist geolocates {country}, a fixed-price country: its shoppers do not get its "
                      f"{currency} prices")
        for name in geolocating:
            if pricelists[name].get("currency") != currency:
                yield Hit(f"the pricelist '{name}' geolocates the fixed-price country {country} but is in "
                          f"{pricelists[name].get('currency')}; Global-e configured {currency} for it")


def primary_warehouse_check(ctx: Context) -> Iterator[Hit]:
    if ctx.state.spec.global_e is None:
        return
    plugins = ctx.state.spec.plugins
    wanted = sorted({p.primary_warehouse for p in (plugins.items if plugins else ())
                     if isinstance(p, OrderApiPlugin) and p.primary_warehouse})
    if not wanted:
        return
    blocked = _unreadable(ctx, "warehouse")
    if blocked:
        yield blocked
        return
    if ctx.state.spec.warehouses is None and "warehouse" not in ctx.live:
        yield Hit("warehouses are not managed (`warehouses`): whether the Order API's primary warehouse exists "
                  "cannot be checked", "warning")
        return
    warehouses = effective(ctx, "warehouse", "warehouses", _warehouse)
    for name in wanted:
        if name not in warehouses:
            yield Hit(f"the Order API plugin's primary warehouse '{name}' does not exist and is not declared")


def shipping_codes_check(ctx: Context) -> Iterator[Hit]:
    global_e = ctx.state.spec.global_e
    if global_e is None or not global_e.shipping_codes:
        return
    blocked = _unreadable(ctx, "shipping_option")
    if blocked:
        yield blocked
        return
    codes = {str(o.get("code")) for o in effective(ctx, "shipping_option", "shipping_options", _shipping).values()}
    missing = [code for code in global_e.shipping_codes if code not in codes]
    if missing:
        yield Hit(f"no shipping option has the Global-e code {', '.join(missing)}: Global-e cannot map its "
                  "shipping methods to the store's")


RULES = (
    Rule("global-e.market-pricelists", "critical", "Every Global-e market is assigned to a pricelist",
         "Name the Global-e markets in `global_e.markets` and geolocate each of their countries to a pricelist "
         "of the market's store (`pricelists[].countries`).", market_pricelists_check),
    Rule("global-e.base-currency", "critical", "Pricelists of Global-e markets are in the base currency",
         "Set `global_e.base_currency` and keep the pricelists of Global-e markets in it.", base_currency_check),
    Rule("global-e.fixed-prices", "critical", "A fixed-price country's pricelist: its currency, geolocated to it",
         "For each `global_e.fixed_prices` country, geolocate it to a pricelist in the currency Global-e "
         "configured for it.", fixed_prices_check),
    Rule("global-e.primary-warehouse", "critical", "The Order API plugin's primary warehouse exists",
         "Declare the warehouse under `warehouses` (the global-e preset declares `${primary_warehouse}`).",
         primary_warehouse_check),
    Rule("global-e.shipping-codes", "critical", "Shipping options carry the codes Global-e names",
         "Declare a shipping option for each `global_e.shipping_codes` code under `shipping_options`.",
         shipping_codes_check),
)
