"""Markets: read (`markets`, Market:read, Country:read for their countries) and written through the API
(`createMarket`, `updateMarket`: the PIM guide) where the target has the mutations. Centra documents no
way to move a market to another store or to delete one: those are done by hand."""

from __future__ import annotations

from typing import Any, ClassVar

from provisioner.config.models import Market
from provisioner.config.resolve import DesiredState
from provisioner.resources.base import ApiKind, Obj, section_of


def _normalise(market: Market) -> Obj:
    found: Obj = {"store": market.store, "countries": sorted(set(market.countries))}
    if market.comment is not None:
        found["comment"] = market.comment
    return found


class Markets(ApiKind):
    kind = "market"
    section = "markets"
    object_type = "Market"
    root_field = "markets"
    permission = "Market:read"
    set_fields = frozenset({"countries"})
    writes: ClassVar[dict[str, str]] = {"create": "create_market", "update": "update_market"}
    manual_fields = frozenset({"store"})
    what = "market"

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        # Names are unique within a store; a file names a market once, so the first of a name is it.
        found: dict[str, Obj] = {}
        for item in data.get(self.root_field) or []:
            found.setdefault(item["name"], {
                "store": item["store"]["name"], "countries": sorted(c["code"] for c in item["assignedToCountries"]),
                "comment": item.get("comment"), "_id": item["id"]})
        return found

    def market(self, state: DesiredState, name: str) -> Market | None:
        section = section_of(state, self.section)
        return next((m for m in (section.items if section else ()) if isinstance(m, Market) and m.name == name),
                    None)


KIND = Markets()
