"""Tax groups and their rules: readable (`taxGroups`, needs TaxRule:read), written by hand in AMS.
Whether prices include tax and whether shipping counts toward the order total are not exposed by the
API: attested."""

from __future__ import annotations

from typing import Any

from provisioner.config.fields import AllCountriesExcept
from provisioner.config.models import TaxGroup, TaxRule
from provisioner.config.resolve import DesiredState
from provisioner.reference import catalogue
from provisioner.resources.base import KindBase, Obj, Reveal, Setting, section_of

OPAQUE = ("include_tax_in_prices", "include_shipping_in_order_total")
APPLY_TAX_TYPES = {"ship_to_country": "SHIP_TO_COUNTRY", "billing_country": "BILLING_COUNTRY"}


def countries_of(rule: TaxRule) -> list[str]:
    if isinstance(rule.countries, AllCountriesExcept):
        return sorted(set(catalogue.countries()) - set(rule.countries.all_except))
    return sorted(set(rule.countries))


def _normalise(group: TaxGroup) -> Obj:
    return {"status": group.status, "default_in_stores": sorted(group.default_in_stores),
            "rules": {rule.name: {"display_name": rule.display_name, "code": rule.code, "rate": float(rule.rate),
                                  "apply_per": rule.apply_per, "countries": countries_of(rule),
                                  "apply_to_shipping": rule.apply_to_shipping,
                                  "apply_to_handling": rule.apply_to_handling}
                      for rule in group.rules}}


class TaxGroups(KindBase):
    kind = "tax_group"
    section = "tax_groups"
    object_type = "TaxGroup"
    root_field = "taxGroups"
    permission = "TaxRule:read"
    set_fields = frozenset({"default_in_stores", "rules.*.countries"})

    def normalise(self, item: Any) -> Obj:
        return _normalise(item)

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        known = {v: k for k, v in APPLY_TAX_TYPES.items()}

        def apply_per(value: str) -> str:  # per-state rules and others Centra documents: shown as Centra says
            return known.get(value, f"{value} (unknown to this tool)")
        return {group["name"]: {
            "status": group["status"].lower(),
            "default_in_stores": sorted(s["name"] for s in group["defaultInStores"]),
            "rules": {rule["name"]: {"display_name": rule["displayName"], "code": rule["code"],
                                     "rate": float(rule["rate"]), "apply_per": apply_per(str(rule["applyTaxType"])),
                                     "countries": sorted(c["code"] for c in rule["countries"]),
                                     "apply_to_shipping": rule["applyTaxToShipping"],
                                     "apply_to_handling": rule["applyTaxToHandling"]}
                      for rule in group["rules"]}}
            for group in data.get(self.root_field) or []}

    def settings(self, state: DesiredState, reveal: Reveal) -> dict[str, dict[str, Setting]]:
        section = section_of(state, self.section)
        result: dict[str, dict[str, Setting]] = {}
        for group in section.items if section else ():
            if isinstance(group, TaxGroup) and group.rules:
                result[group.name] = {f"rules.{rule.name}.{name}": Setting(getattr(rule, name))
                                      for rule in group.rules for name in OPAQUE}
        return result

    def groups(self, state: DesiredState) -> dict[str, TaxGroup]:
        section = section_of(state, self.section)
        return {g.name: g for g in (section.items if section else ()) if isinstance(g, TaxGroup)}


KIND = TaxGroups()
