"""Pricelists: read (`pricelists`, Pricelist:read; Country:read and ShippingOption:read for their
geolocation and default shipping option) and written through the API (`createPricelist`,
`updatePricelist`, `deletePricelist`: the PIM guide) where the target has the mutations. Centra sets a
pricelist's store and currency when it is created; changing either is done by hand."""

from __future__ import annotations

from typing import Any, ClassVar

from provisioner.config.models import Pricelist
from provisioner.config.resolve import DesiredState
from provisioner.resources.base import ApiKind, Obj, section_of


def _normalise(pricelist: Pricelist) -> Obj:
    found: Obj = {"store": pricelist.store, "status": pricelist.status, "currency": pricelist.currency,
                  "countries": sorted(set(pricelist.countries))}
    if pricelist.default_shipping_option is not None:
        found["default_shipping_option"] = pricelist.default_shipping_option
    return found


class Pricelists(ApiKind):
    kind = "pricelist"
    section = "pricelists"
    object_type = "Pricelist"
    root_field = "pricelists"
    permission = "Pricelist:read"
    set_fields = frozenset({"countries"})
    writes: ClassVar[dict[str, str]] = {"create": "create_pricelist", "update": "update_pricelist",
                                        "delete": "delete_pricelist"}
    manual_fields = frozenset({"store", "currency"})
    what = "pricelist"

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        found: dict[str, Obj] = {}
        for item in data.get(self.root_field) or []:
            shipping = item.get("defaultShippingOption")
            found.setdefault(item["name"], {
                "store": item["store"]["name"], "status": str(item["status"]).lower(),
                "currency": item["currency"]["code"],
                "countries": sorted(c["code"] for c in item["assignedToCountries"]),
                "default_shipping_option": shipping["name"] if shipping else None, "_id": item["id"]})
        return found

    def pricelist(self, state: DesiredState, name: str) -> Pricelist | None:
        section = section_of(state, self.section)
        return next((p for p in (section.items if section else ()) if isinstance(p, Pricelist) and p.name == name),
                    None)


KIND = Pricelists()
