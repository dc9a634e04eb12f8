"""Shipping options: read (`shippingOptions`, ShippingOption:read) and checked; Centra documents no
mutation for them, so they are made by hand in AMS (the runbook). Global-e's shipping code is the
option's URI."""

from __future__ import annotations

from typing import Any, ClassVar

from provisioner.resources.base import ApiKind, Obj


class ShippingOptions(ApiKind):
    kind = "shipping_option"
    section = "shipping_options"
    object_type = "ShippingOption"
    root_field = "shippingOptions"
    permission = "ShippingOption:read"
    set_fields: frozenset[str] = frozenset()
    writes: ClassVar[dict[str, str]] = {}
    what = "shipping option"

    def normalise(self, item: Any) -> Obj:
        return {"code": item.code}

    def live(self, data: Obj, stores: dict[int, str]) -> dict[str, Obj]:
        return {item["name"]: {"code": item["uri"], "_id": item["id"]} for item in data.get(self.root_field) or []}


KIND = ShippingOptions()
